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
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vitmodels  # noqa: E402

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
CHECK_BATCH = 2
FC1 = (1576, 768, 3072)  # ViT-B/16 fc1 at batch 8: 8 x 197 tokens, 768 -> 3072
QUICK_MODELS = ["ViT-Ti/16", "ViT-B/16"]
TORCH_FP32 = ("eager", "jit", "jit_ofi")
TARGET_MODEL = "ViT-B/16"
# vitrt precisions timed with --int8 (each probed first: a build that refuses one says so in the
# report). Adding a vitrt precision to the int8 table is adding it here.
VITRT_INT8_PRECISIONS = ["w8a8", "w8a8-dynamic", "w8", "w4"]
# PyTorch variants that are not fp32 (never "PyTorch best").
TORCH_NOT_FP32 = ("torch_bf16", "torch_int8", "torch_int8_mlp")


class Failure(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print(f"!! {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Engines


class Engine:
    """One configuration timed in its own processes. key: stable id; label: table name."""

    def __init__(self, key, label, precision, peer):
        self.key, self.label, self.precision, self.peer = key, label, precision, peer
        self.unavailable = None  # reason, when the engine cannot run at all on this box

    def bench_cmd(self, ctx, model, batch, warmup, runs):
        raise NotImplementedError

    def parse_times(self, out, warmup, runs):
        """times_ms of the timed runs, plus extra fields worth keeping."""
        j = last_json(out)
        return j["times_ms"], {k: v for k, v in j.items() if k != "times_ms"}

    def env(self, ctx):
        return ctx.base_env()


class Vitrt(Engine):
    def __init__(self, precision):
        super().__init__("vitrt" if precision == "f32" else f"vitrt_{precision}",
                         "vitrt" if precision == "f32" else f"vitrt {precision}", precision, peer=False)

    def bench_cmd(self, ctx, model, batch, warmup, runs):
        # `vitrt bench` reports one median per batch-size entry; the same batch size listed W + N
        # times with --runs 1 --warmup 0 gives one timing per iteration (the first W are the
        # warm-up and are dropped). The engine plans once per batch size, so entries after the first
        # reuse the plan exactly as a plain --runs loop does.
        return [ctx.vitrt, "bench", "--model", ctx.weights(model), "--batch", ",".join([str(batch)] * (warmup + runs)),
                "--runs", "1", "--warmup", "0", "--threads", str(ctx.threads), "--precision", self.precision, "--json"]

    def parse_times(self, out, warmup, runs):
        j = last_json(out)
        rows = j["results"][warmup:]
        if len(rows) != runs:
            raise Failure(f"vitrt bench returned {len(j['results'])} rows, expected {warmup + runs}")
        extra = {k: v for k, v in j.items() if k != "results"}
        return [r["median_ms"] for r in rows], extra


class Ort(Engine):
    """precision f32: the exported model; int8: onnx_int8.py's dynamic int8 graph of it."""

    def __init__(self, precision="f32"):
        super().__init__("ort" if precision == "f32" else f"ort_{precision}",
                         "ONNX Runtime" if precision == "f32" else f"ONNX Runtime {precision}", precision, peer=True)

    def onnx(self, ctx, model):
        return ctx.onnx(model) if self.precision == "f32" else ctx.onnx(model, self.precision)

    def bench_cmd(self, ctx, model, batch, warmup, runs):
        return ["node", os.path.join(HERE, "ort_bench.js"), "--model", self.onnx(ctx, model), "--threads",
                str(ctx.threads), "--batch", str(batch), "--warmup", str(warmup), "--runs", str(runs)] + \
            ctx.ort_spin_args()


class Torch(Engine):
    def __init__(self, variant):
        prec = "bf16" if variant == "bf16" else "int8" if variant.startswith("int8") else "f32"
        super().__init__(f"torch_{variant}", f"PyTorch {variant}", prec, peer=True)
        self.variant = variant

    def env(self, ctx):
        return ctx.torch_env()

    def bench_cmd(self, ctx, model, batch, warmup, runs):
        return ["/usr/bin/python3", os.path.join(HERE, "torch_bench.py"), "--model-name", model,
                "--weights", ctx.weights(model), "--variant", self.variant, "--threads", str(ctx.threads),
                "--batch", str(batch), "--warmup", str(warmup), "--runs", str(runs)]


def last_json(out):
    for line in reversed(out.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise Failure("no JSON object in the output")


# ---------------------------------------------------------------------------------------------
# Context: paths, environment, process running, raw records


class Ctx:
    def __init__(self, a):
        self.a = a
        self.repo, self.vitrt, self.work, self.threads = a.repo, a.vitrt, a.work_dir, a.threads
        self.records = []
        self.failures = []  # human-readable, repeated at the end

    def weights(self, model):
        return os.path.join(self.work, vitmodels.file_stem(model) + ".safetensors")

    def onnx(self, model, precision=None):
        return os.path.join(self.work, vitmodels.file_stem(model) + (f".{precision}" if precision else "") + ".onnx")

    def base_env(self):
        e = dict(os.environ)
        e["OMP_NUM_THREADS"] = str(self.threads)
        return e

    def ort_spin_args(self):
        return ["--no-spin", "1"] if self.a.peer_wait == "passive" else []

    def torch_env(self):
        e = self.base_env()
        if self.a.peer_wait == "passive":
            e["OMP_WAIT_POLICY"] = "passive"
        e["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + e["LD_LIBRARY_PATH"] if e.get("LD_LIBRARY_PATH") else "")
        e["OPENBLAS_CORETYPE"] = "SkylakeX"  # the environment may say Haswell: use the AVX-512 kernels
        return e

    def record(self, kind, **kw):
        r = {"kind": kind, **kw}
        self.records.append(r)
        return r

    def fail(self, what, detail):
        msg = detail if detail.startswith(what) else f"{what}: {detail}"
        self.failures.append(msg)
        warn(msg)

    def run(self, cmd, env=None, what="", timeout=None):
        """(stdout, stderr, seconds); raises Failure with the command and its stderr tail."""
        t = time.perf_counter()
        try:
            p = subprocess.run(cmd, env=env or self.base_env(), capture_output=True, text=True,
                               timeout=timeout or self.a.timeout, cwd=self.repo)
        except subprocess.TimeoutExpired:
            raise Failure(f"{what} timed out after {timeout or self.a.timeout} s: {shlex.join(cmd)}")
        except OSError as e:
            raise Failure(f"{what} could not start ({e}): {shlex.join(cmd)}")
        dt = time.perf_counter() - t
        if p.returncode != 0:
            tail = "\n    ".join((p.stderr.strip() or p.stdout.strip() or "(no output)").splitlines()[-12:])
            raise Failure(f"{what} exited with status {p.returncode}: {shlex.join(cmd)}\n    {tail}")
        return p.stdout, p.stderr, dt


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
                ctx.run([ctx.vitrt, "bench", "--model", ctx.weights(ctx.a.models[0]), "--batch", "1", "--runs", "1",
                         "--warmup", "0", "--threads", str(ctx.threads), "--precision", e.precision, "--json"],
                        what=f"{e.label} probe")
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
            cmd = [ctx.vitrt, "forward", "--model", ctx.weights(model), "--input", x, "--batch", str(CHECK_BATCH),
                   "--output", y, "--threads", str(ctx.threads), "--precision", e.precision]
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


def memory_startup(ctx, model, reps=3):
    """Peak RSS (/usr/bin/time %M) of `vitrt bench --batch 1 --runs 1 --warmup 0` and load-to-first-result
    (its load_ms + the first run), warm page cache; the median of reps processes."""
    rows = []
    for i in range(reps):
        with tempfile.NamedTemporaryFile(dir=ctx.work, suffix=".time") as tf:
            cmd = ["/usr/bin/time", "-f", "%M", "-o", tf.name, ctx.vitrt, "bench", "--model", ctx.weights(model),
                   "--batch", "1", "--runs", "1", "--warmup", "0", "--threads", str(ctx.threads), "--json"]
            try:
                out, _, wall = ctx.run(cmd, what=f"{model} vitrt memory/start-up")
            except Failure as f:
                ctx.fail(f"{model} vitrt memory/start-up", str(f))
                return None
            j = last_json(out)
            rss_kib = int(open(tf.name).read().split()[-1])
        rows.append({"rss_mib": rss_kib / 1024, "load_ms": j["load_ms"], "first_ms": j["results"][0]["median_ms"],
                     "process_s": wall})
    w = os.path.getsize(ctx.weights(model)) / 2**20
    r = {"model": model, "weights_mib": w, "peak_rss_mib": max(x["rss_mib"] for x in rows),
         "load_ms": statistics.median(x["load_ms"] for x in rows),
         "first_run_ms": statistics.median(x["first_ms"] for x in rows),
         "load_to_first_ms": statistics.median(x["load_ms"] + x["first_ms"] for x in rows),
         "process_s": statistics.median(x["process_s"] for x in rows), "reps": reps}
    r["rss_limit_mib"] = w * 1.15 + 64
    ctx.record("memory", **r)
    log(f"   vitrt peak RSS {r['peak_rss_mib']:.0f} MiB (weights {w:.0f} MiB, limit {r['rss_limit_mib']:.0f}); "
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


# ---------------------------------------------------------------------------------------------
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


def report(ctx, mach, engines, results, checks, gemm, mem, elapsed):
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

    if a.int8:
        L.extend(int8_report(ctx, engines, results))
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
        if m:
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


def int8_report(ctx, engines, results):
    """The int8 rows: each engine against its own fp32 and against the best fp32 peer; then the
    accuracy check on the real ViT-Ti/16 that ran before the timing."""
    a = ctx.a
    own = {"torch_int8": "torch_eager", "torch_int8_mlp": "torch_eager", "ort_int8": "ort"}
    L = ["## Int8 (dynamic) rows", "",
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
                if s is None or "error" in s:
                    L.append(f"| {model} | {b} | {e.label} | FAILED | | | |")
                    continue
                base = res.get(own.get(e.key, "vitrt"))
                up = f"{base['median_ms'] / s['median_ms']:.2f}x" if base and "error" not in base else "-"
                vs = f"{best[1]['median_ms'] / s['median_ms']:.2f}x" if best else "-"
                L.append(f"| {model} | {b} | {e.label} | {s['median_ms']:.2f} | {s['images_per_s']:.2f} | {up} | {vs} |")
    for e in engines:
        if e.unavailable and e.precision not in ("f32", "bf16"):
            L.append("")
            L.append(f"{e.label}: not in this vitrt build yet ({e.unavailable}).")
    L.append("")
    chk = getattr(ctx, "int8_check", None)
    if chk:
        L.append(f"### Int8 accuracy check: real ViT-Ti/16, {chk['images']} labelled shared images (`int8_check.py`)")
        L.append("")
        L.append("| engine | top-1 (labels) | top-1 agreement vs PyTorch f32 | logit cosine mean | worst |")
        L.append("|---|---|---|---|---|")
        for r in chk["rows"]:
            L.append(f"| {r['engine']} | {r['top1']:.2f} % | {r['agreement_top1']:.2f} % | {r['cosine_mean']:.6f} | "
                     f"{r['cosine_min']:.6f} |")
        L.append("")
    elif a.int8:
        L.append("Int8 accuracy check on real images: " + getattr(ctx, "int8_check_note", "not run") + ".")
        L.append("")
    return L


def int8_check(ctx, engines):
    """int8_check.py on the real ViT-Ti/16 (needs ../shared/data): printed, kept for the report."""
    a = ctx.a
    shared = os.environ.get("VITRT_SHARED_DATA", os.path.join(ctx.repo, "..", "shared", "data"))
    if not os.path.isdir(os.path.join(shared, "images")):
        ctx.int8_check_note = f"skipped: no shared data at {shared}"
        log(f"   int8 check {ctx.int8_check_note}")
        return
    precs = ["f32"] + [e.precision for e in engines if isinstance(e, Vitrt) and e.precision not in ("f32", "bf16")
                       and not e.unavailable]
    out_json = os.path.join(ctx.work, "int8_check.json")
    cmd = ["/usr/bin/python3", os.path.join(HERE, "int8_check.py"), "--shared", shared, "--num",
           str(a.int8_check_images), "--work-dir", os.path.join(ctx.work, "int8_check"), "--vitrt", ctx.vitrt,
           "--vitrt-precisions", ",".join(precs), "--threads", str(ctx.threads), "--json", out_json]
    log("== int8 accuracy check on the real ViT-Ti/16 (before timing)")
    try:
        out, _, _ = ctx.run(cmd, env=ctx.torch_env(), what="int8_check.py")
    except Failure as f:
        ctx.fail("int8 accuracy check", str(f))
        if os.path.exists(out_json):
            ctx.int8_check = json.load(open(out_json))
        return
    log(out.rstrip())
    ctx.int8_check = json.load(open(out_json))
    ctx.record("int8_check", **ctx.int8_check)


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
                   help="also time dynamic int8: PyTorch int8, ONNX Runtime int8 and vitrt " +
                        ",".join(VITRT_INT8_PRECISIONS) + " (those this build accepts), after an accuracy check of "
                        "each on the real ViT-Ti/16 (int8_check.py)")
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
    md = report(ctx, mach, engines, results, checks, gemm, mem, elapsed)
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
