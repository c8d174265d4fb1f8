#!/usr/bin/python3
"""The peer comparison itself (bench/peers/run.sh installs and builds, then runs this).

For each model and batch size, --rounds rounds; in each round every engine runs --warmup untimed and
--runs timed iterations in a process of its own (the engine order rotates from round to round).
Reported per engine: the median over all timed iterations of all rounds, the min, the max and the
spread (max - min) / median. Before timing, one fixed batch-2 input goes through every engine and
the logits are compared with PyTorch fp32 eager. Also measured in the same run: the oneDNN fp32 (and
bf16) GEMM rate for the ViT-B fc1 shape, vitrt's peak RSS and load-to-first-result.
Writes bench/results/cpu_peers_<date>[_quick].md and .jsonl (raw records) and prints the table.
Exit status 1 when any engine failed or disagreed with PyTorch; the tables still get written.
"""
import argparse
import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vitmodels  # noqa: E402
from engines import (OPENBLAS_DIR, QUICK_MODELS, TORCH_FP32, VITRT_INT8_PRECISIONS, Ctx, Ort, Torch,  # noqa: E402
                     Vitrt, log, warn)
from int8_steps import int8_check, int8_memory, make_static_files  # noqa: E402
from report import failure_summary, report  # noqa: E402
from report_int8 import int8_report  # noqa: E402
from steps import bench, check_outputs, gemm_rates, machine_info, make_models, memory_startup, probe_engines  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", required=True)
    p.add_argument("--vitrt", required=True, help="vitrt CLI binary")
    p.add_argument("--work-dir", required=True, help="models, check tensors, gemm_rate binary")
    p.add_argument("--gemm-rate", required=True, help="compiled gemm_rate.cpp")
    p.add_argument("--quick", action="store_true", help="ViT-Ti/16 and ViT-B/16 only, 2 rounds x (2 + 3)")
    p.add_argument("--models", help="comma list (default: ViT-Ti/16,ViT-S/16,ViT-B/16,ViT-L/16)")
    p.add_argument("--batch", default="1,8", help="batch sizes (default 1,8)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every engine (default: all cores)")
    p.add_argument("--rounds", type=int, help="rounds per model and batch (default 3; --quick 2)")
    p.add_argument("--warmup", type=int, help="untimed runs per engine per round (default 2)")
    p.add_argument("--runs", type=int, help="timed runs per engine per round (default 5; --quick 3)")
    p.add_argument("--torch-variants", default="eager,jit,jit_ofi",
                   help="PyTorch fp32 configurations tried; the fastest is 'PyTorch best' (default eager,jit,jit_ofi)")
    p.add_argument("--no-torch-bf16", action="store_true", help="skip the PyTorch bf16 variant")
    p.add_argument("--int8", action="store_true",
                   help="also time int8: PyTorch int8, ONNX Runtime int8 (dynamic) and vitrt " +
                        ",".join(VITRT_INT8_PRECISIONS) + " (w8a8 = static, from a `vitrt quantize` file; those this "
                        "build accepts), after an accuracy check of each on the real ViT-Ti/16 (int8_check.py); "
                        "and the peak RSS of w8 / w4 on --int8-memory-model")
    p.add_argument("--int8-memory-model", default=None,
                   help="model for the w8 / w4 memory rows with --int8 (default ViT-L/16; --quick: ViT-B/16; "
                        "'none' skips them)")
    p.add_argument("--int8-check-images", type=int, default=0,
                   help="images for that check (default: all 117; --quick: 32)")
    p.add_argument("--vitrt-precisions", default="f32,bf16",
                   help="vitrt --precision values timed (default f32,bf16; each one other than f32 is probed first)")
    p.add_argument("--peer-wait", choices=("passive", "default"), default="passive",
                   help="peers' idle threads: passive (default; OMP_WAIT_POLICY=passive for PyTorch, "
                        "allow_spinning=0 for ONNX Runtime), as the vitrt CLI runs, or their runtime defaults "
                        "(ONNX Runtime and GNU OpenMP spin); spinning peers slow down several-fold when other "
                        "work shares the cores")
    p.add_argument("--results-dir", help="default: <repo>/bench/results")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per engine process (default 1800)")
    p.add_argument("--cmdline", default="", help=argparse.SUPPRESS)  # run.sh's own arguments, for the report
    a = p.parse_args()
    a.models = a.models.split(",") if a.models else (QUICK_MODELS if a.quick else list(vitmodels.SPECS))
    for m in a.models:
        if m not in vitmodels.SPECS:
            p.error(f"unknown model {m!r}; known: {', '.join(vitmodels.SPECS)}")
    a.batch = [int(b) for b in a.batch.split(",")]
    a.rounds = a.rounds or (2 if a.quick else 3)
    a.warmup = 2 if a.warmup is None else a.warmup
    a.runs = a.runs or (3 if a.quick else 5)
    a.int8_check_images = a.int8_check_images or (32 if a.quick else 0)
    if a.int8_memory_model is None:
        a.int8_memory_model = "ViT-B/16" if a.quick else "ViT-L/16"
    if a.int8_memory_model not in vitmodels.SPECS and a.int8_memory_model != "none":
        p.error(f"unknown --int8-memory-model {a.int8_memory_model!r}; known: {', '.join(vitmodels.SPECS)}, none")
    variants = [v for v in a.torch_variants.split(",") if v]
    for v in variants:
        if v not in TORCH_FP32:
            p.error(f"unknown PyTorch variant {v!r}; known: {', '.join(TORCH_FP32)}")
    if "eager" not in variants:
        variants.insert(0, "eager")  # the output reference
    if a.threads < 1 or a.rounds < 1 or a.runs < 1 or a.warmup < 0:
        p.error("threads, rounds and runs must be >= 1, warmup >= 0")
    results_dir = a.results_dir or os.path.join(a.repo, "bench", "results")

    t_start = time.time()
    ctx = Ctx(a)
    mach = machine_info(ctx)
    log(f"== {mach['cpu']} ({mach['cores']} cores), vitrt {mach['vitrt_commit']}, {a.threads} threads, models "
        f"{', '.join(a.models)}, batch {a.batch}, {a.rounds} rounds x ({a.warmup} + {a.runs})")
    make_models(ctx, a.models)

    vprec = [x for x in a.vitrt_precisions.split(",") if x]
    if "f32" not in vprec:
        vprec.insert(0, "f32")  # the vitrt baseline of every ratio
    if a.int8:
        vprec += [x for x in VITRT_INT8_PRECISIONS if x not in vprec]
    engines = [Vitrt(x) for x in vprec] + [Ort()] + [Torch(v) for v in variants] + \
              ([] if a.no_torch_bf16 else [Torch("bf16")]) + ([Torch("int8"), Ort("int8")] if a.int8 else [])
    if a.int8:
        make_static_files(ctx, a.models, engines)  # before the probe, which runs them
    probe_engines(ctx, engines)
    if a.int8:
        int8_check(ctx, engines)

    log("== oneDNN GEMM rate")
    bf16_cpu = mach["avx512_bf16"] or "amx_bf16" in mach["amx"]
    gemm = gemm_rates(ctx, bf16_cpu, "start")

    results, checks, mem = {}, {}, {}
    for model in a.models:
        log(f"== {model} ({vitmodels.gflop_per_image(model):.2f} GFLOP/image)")
        checks[model] = check_outputs(ctx, model, engines)
        for b in a.batch:
            results[(model, b)] = bench(ctx, model, b, engines)
        mem[model] = memory_startup(ctx, model)
        gemm += gemm_rates(ctx, bf16_cpu, f"after {model}")
    int8_mem = int8_memory(ctx, a.int8_memory_model) if a.int8 and a.int8_memory_model != "none" else []
    mach["loadavg_end"] = os.getloadavg()

    # Versions, from what the processes reported.
    for r in ctx.records:
        if r["kind"] != "bench":
            continue
        info = r["info"]
        if r["engine"] == "vitrt":
            mach.setdefault("vitrt_binary_commit", info.get("commit"))
            mach.setdefault("vitrt_backend", info.get("backend"))
        elif r["engine"] == "ort":
            mach.setdefault("ort_version", info.get("onnxruntime"))
        elif r["engine"].startswith("torch_"):
            mach.setdefault("torch_version", info.get("torch"))
            blas = [b for b in info.get("blas", []) if "openblas" in b and "libopenblas" in b]
            mach.setdefault("torch_blas", blas[0] if blas else ", ".join(info.get("blas", [])) or "none mapped")
    try:  # also when every ONNX Runtime process failed
        with open(os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")) as f:
            mach.setdefault("ort_version", json.load(f)["version"])
    except (OSError, ValueError, KeyError):
        pass
    if mach.get("torch_blas", "").find("openblas-openmp") < 0 and "torch_blas" in mach:
        ctx.fail("PyTorch BLAS", f"expected {OPENBLAS_DIR}, the processes mapped {mach['torch_blas']}")

    elapsed = time.time() - t_start
    md = report(ctx, mach, engines, results, checks, gemm, mem, elapsed,
                int8_report(ctx, engines, results, int8_mem) if a.int8 else [])
    os.makedirs(results_dir, exist_ok=True)
    stem = os.path.join(results_dir, f"cpu_peers_{datetime.date.today().isoformat()}" + ("_quick" if a.quick else ""))
    with open(stem + ".md", "w") as f:
        f.write(md + "\n")
    with open(stem + ".jsonl", "w") as f:
        f.write(json.dumps({"kind": "machine", **mach, "args": vars(a) | {"batch": a.batch}}) + "\n")
        for r in ctx.records:
            f.write(json.dumps(r) + "\n")
    log("")
    log(md)
    log(f"\nwritten: {stem}.md, {stem}.jsonl ({elapsed / 60:.1f} min)")
    if ctx.failures:
        warn(f"{len(ctx.failures)} failure(s):")
        for f in ctx.failures:
            warn("  " + failure_summary(f))
        sys.exit(1)


if __name__ == "__main__":
    main()
