"""The peer comparison's report: tables and targets (the int8 section: report_int8.py)."""
import os

from engines import CHECK_BATCH, FC1, TARGET_MODEL, TORCH_NOT_FP32

# Report


def fmt_ms(s, ran=True):
    if not ran:
        return "skipped"
    return "FAILED" if s is None or "error" in s else f"{s['median_ms']:.1f}"


def best_fp32_peer(res):
    """(key, stats) of the fastest fp32 peer, and the best PyTorch fp32 variant."""
    torch = [(k, s) for k, s in res.items() if k.startswith("torch_") and k not in TORCH_NOT_FP32 and "error" not in s]
    tbest = min(torch, key=lambda kv: kv[1]["median_ms"]) if torch else None
    peers = ([("ort", res["ort"])] if "ort" in res and "error" not in res["ort"] else []) + ([tbest] if tbest else [])
    best = min(peers, key=lambda kv: kv[1]["median_ms"]) if peers else None
    return best, tbest


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def report(ctx, mach, engines, results, checks, gemm, mem, elapsed, int8_lines=()):
    """The whole report as markdown; int8_lines (report_int8.int8_report, with --int8) go after the
    per-engine table."""
    a = ctx.a
    L = []
    L.append(f"# vitrt vs CPU peers, {mach['date']}" + (" (quick)" if a.quick else ""))
    L.append("")
    L.append(f"- machine: {mach['cpu']}, {mach['cores']} cores, Linux {mach['kernel']}; avx512f "
             f"{'yes' if mach['avx512f'] else 'no'}, avx512_bf16 {'yes' if mach['avx512_bf16'] else 'no'}, amx "
             f"{', '.join(mach['amx']) or 'no'}")
    L.append(f"- load average (1/5/15 min) at start {'/'.join(f'{x:.1f}' for x in mach['loadavg_start'])}, at end "
             f"{'/'.join(f'{x:.1f}' for x in mach['loadavg_end'])} (above {mach['cores']}: other work shared the CPU)")
    L.append(f"- vitrt commit {mach['vitrt_commit']} (binary {mach.get('vitrt_binary_commit', '?')}, "
             f"{mach.get('vitrt_backend', '?')}); ONNX Runtime {mach.get('ort_version', '?')} (npm onnxruntime-node, "
             f"CPU EP); PyTorch {mach.get('torch_version', '?')} (Debian python3-torch, OpenBLAS "
             f"{os.path.basename(mach.get('torch_blas', '?'))}, OPENBLAS_CORETYPE=SkylakeX)")
    inherited = os.environ.get("OMP_WAIT_POLICY")
    spin = os.environ.get("GOMP_SPINCOUNT")
    L.append("- idle threads: vitrt " + (f"OMP_WAIT_POLICY={inherited} (inherited)" if inherited else
                                         f"GOMP_SPINCOUNT={spin} (inherited)" if spin else
                                         "GOMP_SPINCOUNT=10000, a brief spin then sleep (the CLI's default)") +
             "; peers " +
             ("passive (PyTorch OMP_WAIT_POLICY=passive, ONNX Runtime allow_spinning=0)" if a.peer_wait == "passive"
              else "at their runtime defaults (ONNX Runtime spins" +
              (f", PyTorch inherits OMP_WAIT_POLICY={inherited})" if inherited else ", GNU OpenMP spins a while)")))
    L.append(f"- threads {ctx.threads} for every engine; batch sizes {','.join(map(str, a.batch))}; {a.rounds} rounds x "
             f"({a.warmup} warm-up + {a.runs} timed) per engine, each round a fresh process, engines alternating; "
             f"times: median over all timed runs, min, spread = (max - min) / median")
    L.append(f"- run took {elapsed / 60:.1f} min; command: `{('bench/peers/run.sh ' + a.cmdline).strip()}`")
    L.append("")

    L.append("## Latency and throughput (fp32 unless marked)")
    L.append("")
    L.append("Best peer = the faster of ONNX Runtime and PyTorch (best fp32 variant). Ratio at batch 1: vitrt "
             "latency / best-peer latency (target <= 0.85); at batch >= 2: vitrt throughput / best-peer "
             "throughput (target >= 1.2). GEMM eff. (batch 8 rows): vitrt GFLOP/s / oneDNN fp32 GEMM GFLOP/s "
             "for the ViT-B fc1 shape at batch 8 (target >= 0.85 for ViT-B/16).")
    L.append("")
    has_vbf16 = any(e.key == "vitrt_bf16" and not e.unavailable for e in engines)
    head = ["model", "batch", "vitrt ms", "ORT ms", "PyTorch best ms", "PyTorch bf16 ms"] + \
           (["vitrt bf16 ms"] if has_vbf16 else []) + \
           ["vitrt img/s", "best peer img/s", "vitrt GFLOP/s", "ratio vs best peer", "GEMM eff."]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    g32 = max((g["gflops"] for g in gemm if g["precision"] == "f32"), default=None)
    for model in a.models:
        for b in a.batch:
            res = results.get((model, b), {})
            v = res.get("vitrt")
            best, tbest = best_fp32_peer(res)
            tb = f"{fmt_ms(tbest[1])} ({tbest[0][6:]})" if tbest else "FAILED"
            row = [model, str(b), fmt_ms(v), fmt_ms(res.get("ort")), tb,
                   fmt_ms(res.get("torch_bf16"), any(e.key == "torch_bf16" for e in engines))]
            if has_vbf16:
                row.append(fmt_ms(res.get("vitrt_bf16")))
            ok_v = v is not None and "error" not in v
            row.append(f"{v['images_per_s']:.2f}" if ok_v else "-")
            row.append(f"{best[1]['images_per_s']:.2f} ({'ORT' if best[0] == 'ort' else 'PyTorch'})" if best else "-")
            row.append(f"{v['gflops']:.1f}" if ok_v else "-")
            if ok_v and best:
                row.append(f"{v['median_ms'] / best[1]['median_ms']:.2f}x latency" if b == 1 else
                           f"{v['images_per_s'] / best[1]['images_per_s']:.2f}x throughput")
            else:
                row.append("-")
            row.append(f"{100 * v['gflops'] / g32:.0f}%" if ok_v and g32 and b == 8 else "-")
            L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Every engine")
    L.append("")
    L.append("| model | batch | engine | median ms | min ms | max ms | spread | timed runs | img/s | GFLOP/s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for model in a.models:
        for b in a.batch:
            res = results.get((model, b), {})
            for e in engines:
                if e.unavailable:
                    continue
                s = res.get(e.key)
                if s is None or "error" in s:
                    L.append(f"| {model} | {b} | {e.label} | FAILED (see log) | | | | | | |")
                else:
                    L.append(f"| {model} | {b} | {e.label} | {s['median_ms']:.2f} | {s['min_ms']:.2f} | "
                             f"{s['max_ms']:.2f} | {s['spread_pct']:.0f}% | {s['n']} | {s['images_per_s']:.2f} | "
                             f"{s['gflops']:.1f} |")
    for e in engines:
        if e.unavailable:
            L.append("")
            L.append(f"{e.label}: not available in this vitrt build ({e.unavailable}).")
    L.append("")

    L.extend(int8_lines)
    L.append(f"## Output agreement (batch {CHECK_BATCH}, fixed seeded input, vs PyTorch fp32 eager)")
    L.append("")
    L.append("| model | engine | max abs diff | worst cosine | tolerance | argmax agrees | result |")
    L.append("|---|---|---|---|---|---|---|")
    for model in a.models:
        for e in engines:
            lab, c = e.label, checks.get(model, {}).get(e.key)
            if c is None:
                continue
            if "error" in c:
                L.append(f"| {model} | {lab} | - | - | - | - | FAILED (did not run, see below) |")
                continue
            L.append(f"| {model} | {lab} | {c['max_abs_diff']:.2e} | {c['cosine_min']:.6f} | "
                     f"{'%.2e' % c['tolerance'] if c['tolerance'] else 'not asserted (' + e.precision + ')'} | "
                     f"{'yes' if c['argmax_agree'] else 'no'} | {'ok' if c['ok'] else 'MISMATCH'} |")
    L.append("")

    L.append(f"## oneDNN GEMM rate (fc1 shape M={FC1[0]} K={FC1[1]} N={FC1[2]}, {ctx.threads} threads, "
             "median of 20, weights pre-reordered)")
    L.append("")
    L.append("| precision | when | GFLOP/s | ms | kernel |")
    L.append("|---|---|---|---|---|")
    for g in gemm:
        L.append(f"| {g['precision']} | {g['when']} | {g['gflops']:.1f} | {g['median_ms']:.2f} | {g['impl']} |")
    L.append("")
    L.append("Measured at the start and after each model; the efficiency denominator is the highest fp32 rate "
             "(the least disturbed measurement).")
    L.append("")

    L.append("## vitrt memory and start-up (`vitrt bench --batch 1 --runs 1 --warmup 0`, warm page cache)")
    L.append("")
    L.append("| model | weights MiB | peak RSS MiB | limit (weights x 1.15 + 64) | load ms | first run ms | "
             "load-to-first-result ms |")
    L.append("|---|---|---|---|---|---|---|")
    for m in mem.values():
        if m and m.get("label", "f32") == "f32":
            L.append(f"| {m['model']} | {m['weights_mib']:.0f} | {m['peak_rss_mib']:.0f} | {m['rss_limit_mib']:.0f} | "
                     f"{m['load_ms']:.0f} | {m['first_run_ms']:.0f} | {m['load_to_first_ms']:.0f} |")
    L.append("")

    L.append(f"## Targets ({TARGET_MODEL})")
    L.append("")
    L.append("| target | measured | result |")
    L.append("|---|---|---|")
    for name, measured, ok in targets(ctx, results, gemm, mem):
        L.append(f"| {name} | {measured} | {verdict(ok)} |")
    L.append("")
    if ctx.failures:
        L.append("## Failures")
        L.append("")
        for f in ctx.failures:
            L.append("- " + failure_summary(f))
        L.append("")
    return "\n".join(L)


def failure_summary(msg):
    """First line (what, status, command) and the last line of the error output."""
    lines = [l.strip() for l in msg.splitlines() if l.strip()]
    first = lines[0]
    reason = next((l for l in lines[1:] if not l.startswith("at ")), None)
    return first if reason is None else f"{first} -> {reason}"


def targets(ctx, results, gemm, mem):
    m = TARGET_MODEL
    out = []
    def get(b):
        return results.get((m, b), {})
    r1, r8 = get(1), get(8)
    v1, v8 = r1.get("vitrt"), r8.get("vitrt")
    ok = lambda s: s is not None and "error" not in s  # noqa: E731
    best1, _ = best_fp32_peer(r1)
    best8, _ = best_fp32_peer(r8)
    if ok(v1) and best1:
        x = v1["median_ms"] / best1[1]["median_ms"]
        out.append(("fp32 batch-1 latency <= 0.85x best peer", f"{x:.2f}x", x <= 0.85))
    else:
        out.append(("fp32 batch-1 latency <= 0.85x best peer", "not measured", None))
    if ok(v8) and best8:
        x = v8["images_per_s"] / best8[1]["images_per_s"]
        out.append(("fp32 batch-8 throughput >= 1.2x best peer", f"{x:.2f}x", x >= 1.2))
    else:
        out.append(("fp32 batch-8 throughput >= 1.2x best peer", "not measured", None))
    g32 = max((g["gflops"] for g in gemm if g["precision"] == "f32"), default=None)
    if ok(v8) and g32:
        x = v8["gflops"] / g32
        out.append(("fp32 batch-8 >= 85% of the oneDNN fc1 GEMM rate",
                    f"{100 * x:.0f}% ({v8['gflops']:.1f} / {g32:.1f} GFLOP/s)", x >= 0.85))
    else:
        out.append(("fp32 batch-8 >= 85% of the oneDNN fc1 GEMM rate", "not measured", None))
    vb = r8.get("vitrt_bf16")
    tb = r8.get("torch_bf16")
    if ok(vb) and best8:
        x = vb["images_per_s"] / best8[1]["images_per_s"]
        out.append(("bf16 batch-8 throughput >= 2.2x best peer fp32", f"{x:.2f}x", x >= 2.2))
    else:
        out.append(("bf16 batch-8 throughput >= 2.2x best peer fp32",
                    "vitrt bf16 not available" if not ok(vb) else "not measured", None))
    if ok(vb) and ok(tb):
        x = vb["images_per_s"] / tb["images_per_s"]
        out.append(("bf16 batch-8 throughput >= 1.8x PyTorch bf16", f"{x:.2f}x", x >= 1.8))
    else:
        out.append(("bf16 batch-8 throughput >= 1.8x PyTorch bf16",
                    "vitrt bf16 not available" if not ok(vb) else "not measured", None))
    mm = mem.get(m)
    if mm:
        out.append(("peak RSS <= weights x 1.15 + 64 MiB",
                    f"{mm['peak_rss_mib']:.0f} MiB (limit {mm['rss_limit_mib']:.0f})",
                    mm["peak_rss_mib"] <= mm["rss_limit_mib"]))
        out.append(("load-to-first-result <= 1 s", f"{mm['load_to_first_ms']:.0f} ms", mm["load_to_first_ms"] <= 1000))
    else:
        out.append(("peak RSS <= weights x 1.15 + 64 MiB", "not measured", None))
        out.append(("load-to-first-result <= 1 s", "not measured", None))
    return out


# ---------------------------------------------------------------------------------------------

