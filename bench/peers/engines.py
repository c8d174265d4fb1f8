"""Engines of the peer comparison and the run context (paths, environments, process running, raw
records). Shared by compare.py, steps.py and report.py."""
import json
import os
import shlex
import subprocess
import sys
import time

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
# report). Adding a vitrt precision to the int8 table is adding it here. w8a8 (static) needs
# calibrated input ranges, so it runs a file `vitrt quantize` writes (VITRT_STATIC_QUANTIZE); the
# others quantize the f32 file at load (--precision).
VITRT_INT8_PRECISIONS = ["w8a8", "w8a8-dynamic", "w8", "w4"]
# How the timed static w8a8 files are made from the random-weight models: every linear layer but
# the patch embedding and the head static w8a8, calibrated on the bundled sample photos. Speed
# does not depend on the range method, so the cheapest one (minmax) and no sensitivity pass (the
# default recipe's one w8a8-dynamic layer runs the same int8 GEMMs, with per-token scales). The
# accuracy of the default recipe is int8_check.py's business (on the real ViT-Ti/16).
VITRT_STATIC_QUANTIZE = ["--scheme", "w8a8", "--method", "minmax", "--auto-dynamic", "0", "--num", "8"]
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
                         "vitrt" if precision == "f32" else
                         "vitrt w8a8 static" if precision == "w8a8" else f"vitrt {precision}", precision, peer=False)
        self.static = precision == "w8a8"  # a quantized file (Ctx.static_weights), not --precision

    def model_args(self, ctx, model):
        """--model (and --precision) for every vitrt command run on this engine's version of model."""
        if self.static:
            return ["--model", ctx.static_weights(model)]
        return ["--model", ctx.weights(model), "--precision", self.precision]

    def bench_cmd(self, ctx, model, batch, warmup, runs):
        # `vitrt bench` reports one median per batch-size entry; the same batch size listed W + N
        # times with --runs 1 --warmup 0 gives one timing per iteration (the first W are the
        # warm-up and are dropped). The engine plans once per batch size, so entries after the first
        # reuse the plan exactly as a plain --runs loop does.
        return [ctx.vitrt, "bench", *self.model_args(ctx, model), "--batch", ",".join([str(batch)] * (warmup + runs)),
                "--runs", "1", "--warmup", "0", "--threads", str(ctx.threads), "--json"]

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

    def static_weights(self, model):
        """The static w8a8 file of a benchmark model (steps.make_static_files writes it)."""
        return os.path.join(self.work, vitmodels.file_stem(model) + ".w8a8.safetensors")

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

