#!/usr/bin/env python3
"""vitrt --device cuda vs PyTorch (eager with SDPA, and torch.compile) on one NVIDIA GPU.

Same weights (random, timm-named safetensors from bench/make_models.py), same precision, same batch
sizes. Prints one table (throughput, ratios, % of the GPU's dense peak) and writes it, with the raw
records, to bench/results/cuda_vs_torch_<date>.{md,jsonl}. See bench/cuda/README.md.

  python3 bench/cuda/bench_vs_torch.py                        # ViT-B/16 and ViT-L/16, batch 1,8,64,256, bf16
  python3 bench/cuda/bench_vs_torch.py --models vit_base_patch16_224 --batch 1,64 --no-compile

Timing: vitrt's numbers are `vitrt bench --json` medians of Engine::run, which is host to host (f32
images uploaded, logits downloaded). PyTorch is timed twice: host to host the same way (pageable f32
input -> .cuda() -> model -> logits .cpu()), and device-resident (input already on the GPU, CUDA
events, output left there), the usual way PyTorch numbers are quoted. Ratios are given against both.
Before timing, vitrt's logits (vitrt forward) are compared with PyTorch f32 on the same input; if
they disagree (cosine < 0.99 or a different top-1) the script exits with status 1 and no table.
torch.compile runs with dynamic=False (one static graph per batch size, as vitrt plans).
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Dense (no sparsity) tensor-core peaks in TFLOP/s, from NVIDIA's datasheets.
PEAKS = {  # (substring of the nvidia-smi name, precision) -> TFLOP/s
    ("H100 PCIe", "bf16"): 756, ("H100 PCIe", "f16"): 756, ("H100 PCIe", "tf32"): 378,
    ("H100", "bf16"): 989, ("H100", "f16"): 989, ("H100", "tf32"): 495,  # SXM (HBM3)
    ("H200", "bf16"): 989, ("H200", "f16"): 989, ("H200", "tf32"): 495,
    ("A100", "bf16"): 312, ("A100", "f16"): 312, ("A100", "tf32"): 156,
}


def gpu_name():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[0]
        return out
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


def peak_tflops(name, precision):
    # "NVIDIA H100 80GB HBM3" is the SXM part; "NVIDIA H100 PCIe" the PCIe card.
    for (key, prec), tf in PEAKS.items():
        if key in name and prec == precision:
            return tf
    return None


def torch_dtype(torch, precision):
    return {"f32": torch.float32, "tf32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[precision]


def make_models(names, work):
    os.makedirs(work, exist_ok=True)
    missing = [n for n in names if not os.path.exists(os.path.join(work, n + ".safetensors"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_models.py"), work] + missing, check=True)
    return {n: os.path.join(work, n + ".safetensors") for n in names}


def load_torch_model(torch, name, path, precision):
    import timm
    from safetensors.torch import load_file
    m = timm.create_model(name, pretrained=False, num_classes=1000)
    m.load_state_dict(load_file(path))
    return m.eval().cuda().to(torch_dtype(torch, precision))


def time_torch(torch, fn, x_host, dtype, warmup, runs):
    """Median ms, device-resident (CUDA events) and host to host (wall clock)."""
    x_dev = x_host.cuda().to(dtype)
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x_dev)
        torch.cuda.synchronize()
        dev = []
        for _ in range(runs):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn(x_dev)
            b.record()
            b.synchronize()
            dev.append(a.elapsed_time(b))
        h2h = []
        for _ in range(runs):
            t = time.perf_counter()
            y = fn(x_host.cuda().to(dtype)).float().cpu()
            h2h.append((time.perf_counter() - t) * 1e3)
            del y
    return statistics.median(dev), statistics.median(h2h)


def vitrt_bench(vitrt, path, precision, batches, warmup, runs):
    cmd = [vitrt, "bench", "--device", "cuda", "--precision", precision, "--model", path, "--batch",
           ",".join(map(str, batches)), "--warmup", str(warmup), "--runs", str(runs), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def vitrt_logits(vitrt, path, precision, x):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        xi, yo = os.path.join(d, "x.f32"), os.path.join(d, "y.f32")
        x.astype("<f4").tofile(xi)
        subprocess.run([vitrt, "forward", "--device", "cuda", "--precision", precision, "--model", path, "--input", xi,
                        "--batch", str(x.shape[0]), "--output", yo], check=True, capture_output=True)
        return np.fromfile(yo, dtype="<f4").reshape(x.shape[0], -1)


def agreement(torch, vitrt, name, path, precision):
    """vitrt (this precision) vs PyTorch f32 on the same two random images: (min cosine, top-1 agreeing)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 224, 224), dtype=np.float32)
    ref_model = load_torch_model(torch, name, path, "f32")
    with torch.inference_mode():
        ref = ref_model(torch.from_numpy(x).cuda()).float().cpu().numpy()
    del ref_model
    got = vitrt_logits(vitrt, path, precision, x)
    cos = min(float(np.dot(r, g) / np.linalg.norm(r) / np.linalg.norm(g)) for r, g in zip(ref, got))
    top1 = int(sum(int(np.argmax(r) == np.argmax(g)) for r, g in zip(ref, got)))
    return cos, top1, len(ref)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vitrt", default=os.path.join(ROOT, "build", "vitrt"))
    ap.add_argument("--models", default="vit_base_patch16_224,vit_large_patch16_224")
    ap.add_argument("--batch", default="1,8,64,256")
    ap.add_argument("--precision", default="bf16", help="one or more of f32,tf32,f16,bf16 (comma-separated)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--work-dir", default=os.environ.get("VITRT_BENCH_DIR", "/tmp/vitrt-cuda-bench"))
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (it compiles once per batch size)")
    ap.add_argument("--compile-mode", default="default",
                    help="torch.compile mode: default (fast to compile), reduce-overhead (adds CUDA graphs, as vitrt), "
                         "max-autotune-no-cudagraphs (best GEMMs, minutes of compilation per batch size)")
    ap.add_argument("--out", default=None, help="markdown report (default bench/results/cuda_vs_torch_<date>.md)")
    a = ap.parse_args()
    precisions = a.precision.split(",")
    for p in precisions:
        if p not in ("f32", "tf32", "f16", "bf16"):
            ap.error(f"unknown precision {p!r} (f32, tf32, f16, bf16)")

    import torch
    names = a.models.split(",")
    batches = [int(b) for b in a.batch.split(",")]
    gpu = gpu_name()
    paths = make_models(names, a.work_dir)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    records, rows = [], []
    for precision in precisions:
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        peak = peak_tflops(gpu, precision)
        for name in names:
            path = paths[name]
            # Agreement first: a fast wrong answer is not a benchmark result.
            cos, top1, n = agreement(torch, a.vitrt, name, path, precision)
            print(f"{name}: vitrt {precision} vs torch f32 logits: min cosine {cos:.6f}, top-1 agree {top1}/{n}", flush=True)
            if not (cos >= 0.99 and top1 == n):
                print(f"FAIL: vitrt {precision} disagrees with PyTorch on {name} (cosine {cos:.6f} < 0.99 or top-1 "
                      f"{top1}/{n}); no timings reported", file=sys.stderr, flush=True)
                sys.exit(1)

            v = vitrt_bench(a.vitrt, path, precision, batches, a.warmup, a.runs)
            gflop = v["gflop_per_image"]
            model = load_torch_model(torch, name, path, precision)
            dtype = torch_dtype(torch, precision)
            variants = {"eager": model}
            if not a.no_compile:
                # Static shapes, as vitrt plans per batch size: one compiled graph per batch.
                variants["compile"] = torch.compile(model, mode=a.compile_mode, dynamic=False)
            for r in v["results"]:
                b = r["batch"]
                xh = torch.randn(b, 3, 224, 224)
                row = {"model": name, "precision": precision, "batch": b, "vitrt_ms": r["median_ms"],
                       "vitrt_img_s": r["images_per_s"]}
                for tag, fn in variants.items():
                    t0 = time.perf_counter()
                    dev_ms, h2h_ms = time_torch(torch, fn, xh, dtype, a.warmup, a.runs)
                    row[f"{tag}_dev_ms"], row[f"{tag}_h2h_ms"] = dev_ms, h2h_ms
                    print(f"  {name} {precision} b={b} torch {tag}: {dev_ms:.3f} ms on device, {h2h_ms:.3f} ms host to "
                          f"host ({time.perf_counter() - t0:.0f} s incl. compile/warm-up)", flush=True)
                row["pct_peak"] = (100.0 * row["vitrt_img_s"] * gflop * 1e9 / (peak * 1e12)) if peak else None
                row["gflop_per_image"], row["cosine"], row["top1_agree"] = gflop, cos, top1
                rows.append(row)
                records.append(dict(row, gpu=gpu, commit=commit, backend=v["backend"]))
            del variants, model
            torch.cuda.empty_cache()

    stamp = datetime.datetime.now().strftime("%Y-%m-%d")
    lines = [f"# vitrt cuda vs PyTorch ({', '.join(precisions)})", "",
             f"- GPU: {gpu}; dense peak used for %: " + ", ".join(f"{p} {peak_tflops(gpu, p)} TFLOP/s" for p in precisions),
             f"- vitrt commit {commit}; PyTorch {torch.__version__}; {a.warmup} warm-up + {a.runs} timed runs, medians",
             f"- vitrt = Engine::run host to host (f32 images in, f32 logits out), CUDA graph replay",
             f"- torch h2h = same work host to host; torch dev = input already on the GPU (CUDA events)",
             f"- torch.compile mode: {a.compile_mode + ', dynamic=False' if not a.no_compile else 'not run'}", "",
             "| model | prec | batch | vitrt img/s | % peak | eager h2h img/s | eager dev img/s | compile h2h img/s | "
             "compile dev img/s | vitrt / eager h2h | vitrt / compile h2h | vitrt / compile dev |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def ips(b, ms):
        return b / (ms / 1e3) if ms else None

    def f(v, fmt="{:.0f}"):
        return fmt.format(v) if v is not None else "-"

    for r in rows:
        b = r["batch"]
        e_h, e_d = ips(b, r.get("eager_h2h_ms")), ips(b, r.get("eager_dev_ms"))
        c_h, c_d = ips(b, r.get("compile_h2h_ms")), ips(b, r.get("compile_dev_ms"))
        v = r["vitrt_img_s"]
        lines.append(f"| {r['model']} | {r['precision']} | {b} | {v:.0f} | {f(r['pct_peak'], '{:.1f}')} | {f(e_h)} | "
                     f"{f(e_d)} | {f(c_h)} | {f(c_d)} | {f(v / e_h if e_h else None, '{:.2f}')} | "
                     f"{f(v / c_h if c_h else None, '{:.2f}')} | {f(v / c_d if c_d else None, '{:.2f}')} |")
    report = "\n".join(lines) + "\n"
    print("\n" + report)
    out = a.out or os.path.join(ROOT, "bench", "results", f"cuda_vs_torch_{stamp}.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        fh.write(report)
    with open(os.path.splitext(out)[0] + ".jsonl", "w") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
