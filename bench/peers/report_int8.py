"""The int8 section of the peer comparison's report (--int8): every int8 engine against its own f32
and the best fp32 peer, the int8 targets, the memory of the weight-only schemes, and the accuracy
check on the real ViT-Ti/16."""
from engines import TARGET_MODEL, VITRT_STATIC_QUANTIZE
from report import best_fp32_peer, verdict

# Each int8 engine's own f32 baseline (vitrt's int8 engines: vitrt f32).
OWN_F32 = {"torch_int8": "torch_eager", "torch_int8_mlp": "torch_eager", "ort_int8": "ort"}


def ok(s):
    return s is not None and "error" not in s


def int8_targets(results):
    """(target, measured, PASS/FAIL/None) for vitrt's static w8a8 on TARGET_MODEL (issue #10)."""
    r1, r8 = results.get((TARGET_MODEL, 1), {}), results.get((TARGET_MODEL, 8), {})
    s1, s8 = r1.get("vitrt_w8a8"), r8.get("vitrt_w8a8")
    out = []

    def ratio(name, num, den, passes, latency):
        """Latency ratio num/den (latency=True) or throughput ratio num/den; passes(x) decides."""
        if not (ok(num) and ok(den)):
            out.append((name, "not measured", None))
            return
        key, unit = ("median_ms", "ms") if latency else ("images_per_s", "img/s")
        x = num[key] / den[key]
        out.append((name, f"{x:.2f}x ({num[key]:.1f} / {den[key]:.1f} {unit})", passes(x)))

    ratio("static w8a8 batch-8 throughput >= 2.2x vitrt f32", s8, r8.get("vitrt"), lambda x: x >= 2.2, False)
    ratio("static w8a8 batch-8 throughput >= 1.2x vitrt bf16", s8, r8.get("vitrt_bf16"), lambda x: x >= 1.2, False)
    ratio("static w8a8 batch-1 latency <= 0.55x vitrt f32", s1, r1.get("vitrt"), lambda x: x <= 0.55, True)
    for b, r, s in ((1, r1, s1), (8, r8, s8)):
        for key, label in (("torch_int8", "PyTorch int8"), ("ort_int8", "ONNX Runtime int8")):
            ratio(f"static w8a8 batch-{b} faster than {label} (latency ratio < 1)", s, r.get(key), lambda x: x < 1, True)
    return out


def int8_report(ctx, engines, results, memory_rows):
    a = ctx.a
    L = ["## Int8 rows", "",
         "vitrt w8a8 static: a file `vitrt quantize " + " ".join(VITRT_STATIC_QUANTIZE) + " --calib samples/` "
         "writes from each timed model (u8 per-tensor calibrated inputs, s8 per-channel weights; patch embedding "
         "and head f32). vitrt w8a8-dynamic, w8, w4: the f32 file quantized at load (`--precision`). "
         "PyTorch int8: `quantize_dynamic({nn.Linear}, qint8)`, quantized engine onednn (Debian's torch has no "
         "FBGEMM), attention rewritten with nn.Linear so all Linears are int8. ONNX Runtime int8: `onnx_int8.py` "
         "(DynamicQuantizeLinear + MatMulInteger + scale Mul per Linear, as quantize_dynamic emits; per-tensor u8 "
         "activations, per-tensor s8 weights). Speed-up = f32 median / int8 median of the same engine.", "",
         "| model | batch | engine | median ms | img/s | speed-up vs its f32 | vs best fp32 peer |",
         "|---|---|---|---|---|---|---|"]
    int8_engines = [e for e in engines if e.precision not in ("f32", "bf16") and not e.unavailable]
    for model in a.models:
        for b in a.batch:
            res = results.get((model, b), {})
            best, _ = best_fp32_peer(res)
            for e in int8_engines:
                s = res.get(e.key)
                if not ok(s):
                    L.append(f"| {model} | {b} | {e.label} | FAILED | | | |")
                    continue
                base = res.get(OWN_F32.get(e.key, "vitrt"))
                up = f"{base['median_ms'] / s['median_ms']:.2f}x" if ok(base) else "-"
                vs = f"{best[1]['median_ms'] / s['median_ms']:.2f}x" if best else "-"
                L.append(f"| {model} | {b} | {e.label} | {s['median_ms']:.2f} | {s['images_per_s']:.2f} | {up} | {vs} |")
    for e in engines:
        if e.unavailable and e.precision not in ("f32", "bf16"):
            L += ["", f"{e.label}: not available ({e.unavailable})."]
    L.append("")

    L += [f"### Int8 targets ({TARGET_MODEL}, vitrt static w8a8)", "", "| target | measured | result |", "|---|---|---|"]
    for name, measured, res in int8_targets(results):
        L.append(f"| {name} | {measured} | {verdict(res)} |")
    L.append("")

    if memory_rows:
        f32 = next((m for m in memory_rows if m["label"] == "f32"), None)
        L += [f"### Weight-only memory ({memory_rows[0]['model']}, `vitrt bench --batch 1 --runs 1`, peak RSS)", "",
              "| weights | file MiB | peak RSS MiB | RSS vs f32 | load ms | first run ms |", "|---|---|---|---|---|---|"]
        for m in memory_rows:
            rel = f"{m['peak_rss_mib'] / f32['peak_rss_mib']:.2f}x" if f32 else "-"
            L.append(f"| {m['label']} | {m['weights_mib']:.0f} | {m['peak_rss_mib']:.0f} | {rel} | {m['load_ms']:.0f} | "
                     f"{m['first_run_ms']:.0f} |")
        L.append("")

    chk = getattr(ctx, "int8_check", None)
    if chk:
        L += [f"### Int8 accuracy check: real ViT-Ti/16, {chk['images']} labelled shared images (`int8_check.py`)", ""]
        if chk.get("static_recipe"):
            L += [f"vitrt w8a8 (static): `{chk['static_recipe']}` (calibration images disjoint from these).", ""]
        L += ["| engine | top-1 (labels) | top-1 agreement vs PyTorch f32 | logit cosine mean | worst |",
              "|---|---|---|---|---|"]
        for r in chk["rows"]:
            L.append(f"| {r['engine']} | {r['top1']:.2f} % | {r['agreement_top1']:.2f} % | {r['cosine_mean']:.6f} | "
                     f"{r['cosine_min']:.6f} |")
        L.append("")
    else:
        L += ["Int8 accuracy check on real images: " + getattr(ctx, "int8_check_note", "not run") + ".", ""]
    return L
