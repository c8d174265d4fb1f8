"""The measuring steps of the peer comparison: machine facts, models, probes, output checks, the
oneDNN GEMM rate, memory and start-up, the alternating timing rounds and the int8 accuracy check."""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile

import numpy as np

import vitmodels
from engines import CHECK_BATCH, FC1, HERE, Failure, Ort, Vitrt, last_json, log

# ---------------------------------------------------------------------------------------------
# Steps


def machine_info(ctx):
    model, flags = "unknown", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    def git(*args):
        try:
            return subprocess.run(["git", "-C", ctx.repo, *args], capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
        "avx512f": "avx512f" in flags, "avx512_bf16": "avx512_bf16" in flags,
        "amx": sorted(f for f in flags if f.startswith("amx")),
        "vitrt_commit": commit + ("-dirty" if dirty else ""),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "loadavg_start": os.getloadavg(),
    }


def make_models(ctx, models):
    log(f"== models in {ctx.work} (cached between runs)")
    try:
        out, err, dt = ctx.run(["/usr/bin/python3", os.path.join(HERE, "make_peer_models.py")] +
                               (["--int8"] if ctx.a.int8 else []) + [ctx.work, *models],
                               env=ctx.torch_env(), what="make_peer_models.py", timeout=3600)
    except Failure as e:
        raise SystemExit(f"run.sh: error: cannot create the benchmark models:\n{e}")
    log(out.rstrip())


def probe_engines(ctx, engines):
    """vitrt precisions other than f32 are used only when this vitrt build accepts them."""
    for e in engines:
        if isinstance(e, Vitrt) and e.precision != "f32":
            try:
                ctx.run([ctx.vitrt, "bench", *e.model_args(ctx, ctx.a.models[0]), "--batch", "1", "--runs", "1",
                         "--warmup", "0", "--threads", str(ctx.threads), "--json"], what=f"{e.label} probe")
            except Failure as f:
                first = [l for l in str(f).splitlines()[1:] if l.strip()]
                e.unavailable = (first[-1].strip() if first else str(f))[:200]
                log(f"   {e.label}: not available in this build ({e.unavailable})")
                ctx.record("unavailable", engine=e.key, reason=e.unavailable)


def check_outputs(ctx, model, engines):
    """Fixed seeded batch-2 input through every engine; max |diff| vs PyTorch fp32 eager."""
    x = os.path.join(ctx.work, f"check_input_b{CHECK_BATCH}.f32")
    tmp = tempfile.mkdtemp(prefix="vitrt-check-", dir=ctx.work)
    outs, res = {}, {}
    for e in engines:
        if e.unavailable:
            continue
        y = os.path.join(tmp, e.key + ".f32")
        if isinstance(e, Vitrt):
            cmd = [ctx.vitrt, "forward", *e.model_args(ctx, model), "--input", x, "--batch", str(CHECK_BATCH),
                   "--output", y, "--threads", str(ctx.threads)]
        elif isinstance(e, Ort):
            cmd = ["node", os.path.join(HERE, "ort_bench.js"), "--model", e.onnx(ctx, model), "--threads", str(ctx.threads),
                   "--check-input", x, "--check-batch", str(CHECK_BATCH), "--check-output", y] + ctx.ort_spin_args()
        else:
            cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), "--model-name", model,
                   "--weights", ctx.weights(model), "--variant", e.variant, "--threads", str(ctx.threads),
                   "--check-input", x, "--check-batch", str(CHECK_BATCH), "--check-output", y]
        try:
            ctx.run(cmd, env=e.env(ctx), what=f"{model} {e.label} output check")
            outs[e.key] = np.fromfile(y, dtype="<f4").reshape(CHECK_BATCH, -1)
        except (Failure, ValueError) as f:
            ctx.fail(f"{model} {e.label} output check", str(f))
            ctx.record("check", model=model, engine=e.key, ok=False, error=str(f))
            res[e.key] = {"error": str(f)}
    shutil.rmtree(tmp, ignore_errors=True)
    ref = outs.get("torch_eager")
    if ref is None:
        ctx.fail(f"{model} output check", "no PyTorch fp32 eager reference: nothing compared")
        return res
    max_logit = float(np.abs(ref).max())
    tol = 1e-3 * max(1.0, max_logit)
    log(f"   output check, batch {CHECK_BATCH}, vs PyTorch fp32 eager (max |logit| {max_logit:.3f}, "
        f"fp32 tolerance {tol:.2e}):")
    for k, y in outs.items():
        if k == "torch_eager":
            continue
        e = next(e for e in engines if e.key == k)
        diff = float(np.abs(y - ref).max()) if y.shape == ref.shape else float("inf")
        cos = float(min((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b)) for a, b in zip(y, ref))) \
            if y.shape == ref.shape else 0.0
        asserted = e.precision == "f32"
        ok = diff <= tol if asserted else True
        res[k] = {"max_abs_diff": diff, "tolerance": tol if asserted else None, "ok": ok, "cosine_min": cos,
                  "precision": e.precision,
                  "argmax_agree": bool(y.shape == ref.shape and (y.argmax(1) == ref.argmax(1)).all())}
        ctx.record("check", model=model, engine=k, max_abs_logit=max_logit, **res[k])
        log(f"     {e.label:18s} max |diff| {diff:.3e}  cosine {cos:.6f}  " +
            (("ok" if ok else "MISMATCH") if asserted else f"({e.precision}: reported, not asserted)"))
        if not ok:
            ctx.fail(f"{model} {e.label} output check", f"max |diff| {diff:.3e} > {tol:.2e} vs PyTorch fp32")
    return res


def gemm_rates(ctx, bf16, when):
    cmd = [ctx.a.gemm_rate, "--m", str(FC1[0]), "--k", str(FC1[1]), "--n", str(FC1[2]), "--threads",
           str(ctx.threads), "--reps", "20"] + (["--bf16"] if bf16 else [])
    env = ctx.base_env()
    if "OMP_WAIT_POLICY" not in env:
        env.setdefault("GOMP_SPINCOUNT", "10000")  # as the vitrt CLI runs
    try:
        out, _, _ = ctx.run(cmd, env=env, what="gemm_rate")
    except Failure as f:
        ctx.fail("oneDNN GEMM rate", str(f))
        return []
    rows = [dict(json.loads(l), when=when) for l in out.splitlines() if l.startswith("{")]
    for r in rows:
        ctx.record("gemm", **r)
        log(f"   oneDNN {r['precision']} matmul {FC1[0]}x{FC1[1]}x{FC1[2]} ({when}): {r['gflops']:.1f} GFLOP/s "
            f"({r['median_ms']:.2f} ms, {r['impl']})")
    if bf16 and not any(r["precision"] == "bf16" for r in rows):
        ctx.fail("oneDNN bf16 GEMM rate", "gemm_rate printed no bf16 result")
    return rows


def memory_startup(ctx, model, reps=3, weights=None, extra_args=(), label="f32"):
    """Peak RSS (/usr/bin/time %M) of `vitrt bench --batch 1 --runs 1 --warmup 0` and load-to-first-result
    (its load_ms + the first run), warm page cache; the median of reps processes. weights: the file
    (default: the model's f32 file); extra_args: e.g. --precision w4; label: what the row is."""
    weights = weights or ctx.weights(model)
    rows = []
    for i in range(reps):
        with tempfile.NamedTemporaryFile(dir=ctx.work, suffix=".time") as tf:
            cmd = ["/usr/bin/time", "-f", "%M", "-o", tf.name, ctx.vitrt, "bench", "--model", weights, *extra_args,
                   "--batch", "1", "--runs", "1", "--warmup", "0", "--threads", str(ctx.threads), "--json"]
            try:
                out, _, wall = ctx.run(cmd, what=f"{model} vitrt {label} memory/start-up")
            except Failure as f:
                ctx.fail(f"{model} vitrt {label} memory/start-up", str(f))
                return None
            j = last_json(out)
            rss_kib = int(open(tf.name).read().split()[-1])
        rows.append({"rss_mib": rss_kib / 1024, "load_ms": j["load_ms"], "first_ms": j["results"][0]["median_ms"],
                     "process_s": wall})
    w = os.path.getsize(weights) / 2**20
    r = {"model": model, "label": label, "weights_mib": w, "peak_rss_mib": max(x["rss_mib"] for x in rows),
         "load_ms": statistics.median(x["load_ms"] for x in rows),
         "first_run_ms": statistics.median(x["first_ms"] for x in rows),
         "load_to_first_ms": statistics.median(x["load_ms"] + x["first_ms"] for x in rows),
         "process_s": statistics.median(x["process_s"] for x in rows), "reps": reps}
    r["rss_limit_mib"] = w * 1.15 + 64
    ctx.record("memory", **r)
    log(f"   vitrt {label} peak RSS {r['peak_rss_mib']:.0f} MiB (weights {w:.0f} MiB, limit {r['rss_limit_mib']:.0f}); "
        f"load {r['load_ms']:.0f} ms + first run {r['first_run_ms']:.0f} ms = {r['load_to_first_ms']:.0f} ms")
    return r


def stats(times):
    med = statistics.median(times)
    return {"median_ms": med, "min_ms": min(times), "max_ms": max(times),
            "spread_pct": 100.0 * (max(times) - min(times)) / med, "n": len(times)}


def bench(ctx, model, batch, engines):
    a = ctx.a
    live = [e for e in engines if not e.unavailable]
    times = {e.key: [] for e in live}
    broken = {}
    for r in range(a.rounds):
        order = live[r % len(live):] + live[:r % len(live)]  # rotate: no engine always runs first
        for e in order:
            if e.key in broken:
                continue
            what = f"{model} batch {batch} round {r + 1}/{a.rounds} {e.label}"
            try:
                out, err, wall = ctx.run(e.bench_cmd(ctx, model, batch, a.warmup, a.runs), env=e.env(ctx), what=what)
                t, extra = e.parse_times(out, a.warmup, a.runs)
            except (Failure, KeyError, ValueError) as f:
                broken[e.key] = str(f)
                ctx.fail(what, str(f))
                ctx.record("bench_error", model=model, batch=batch, engine=e.key, round=r + 1, error=str(f))
                continue
            times[e.key] += t
            ctx.record("bench", model=model, batch=batch, engine=e.key, round=r + 1, warmup=a.warmup, runs=a.runs,
                       threads=ctx.threads, times_ms=t, process_s=wall, info=extra)
            log(f"   [{model} b={batch} round {r + 1}/{a.rounds}] {e.label:16s} median {statistics.median(t):9.2f} ms "
                f"(min {min(t):.2f}, {len(t)} runs, process {wall:.1f} s)")
    res = {}
    for e in live:
        if e.key in broken:
            res[e.key] = {"error": broken[e.key]}
        else:
            s = stats(times[e.key])
            s["images_per_s"] = batch / (s["median_ms"] / 1e3)
            s["gflops"] = vitmodels.gflop_per_image(model) * batch / (s["median_ms"] / 1e3)
            res[e.key] = s
            ctx.record("summary", model=model, batch=batch, engine=e.key, **s)
    return res
