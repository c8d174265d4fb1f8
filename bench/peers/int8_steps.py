"""The int8 parts of the peer comparison (--int8): the static w8a8 files vitrt times, the memory of
the weight-only schemes on a big model, and the accuracy check on the real ViT-Ti/16."""
import json
import os

from engines import HERE, VITRT_STATIC_QUANTIZE, Failure, Vitrt, log
from steps import memory_startup
import vitmodels


def newer(path, *than):
    return os.path.exists(path) and all(os.path.getmtime(path) >= os.path.getmtime(t) for t in than)


def make_static_files(ctx, models, engines):
    """`vitrt quantize` of each timed model into static w8a8 (VITRT_STATIC_QUANTIZE, calibrated on
    the repository's sample photos); rebuilt when older than the model or the vitrt binary. A
    failure marks the static engine unavailable (named in the report)."""
    static = [e for e in engines if isinstance(e, Vitrt) and e.static]
    if not static:
        return
    log("== static w8a8 files: vitrt quantize " + " ".join(VITRT_STATIC_QUANTIZE) + " --calib samples/")
    for m in models:
        dst, src = ctx.static_weights(m), ctx.weights(m)
        if newer(dst, src, ctx.vitrt):
            log(f"  {m}: cached ({dst})")
            continue
        cmd = [ctx.vitrt, "quantize", "--model", src, "--calib", os.path.join(ctx.repo, "samples"),
               *VITRT_STATIC_QUANTIZE, "--threads", str(ctx.threads), "-o", dst]
        try:
            out, _, dt = ctx.run(cmd, what=f"{m} vitrt quantize (static w8a8)")
        except Failure as f:
            ctx.fail(f"{m} vitrt quantize (static w8a8)", str(f))
            for e in static:
                e.unavailable = f"vitrt quantize failed for {m}"
            return
        log(f"  {m}: {out.strip().splitlines()[0] if out.strip() else dst} ({dt:.0f} s)")


def int8_memory(ctx, model):
    """Peak RSS and start-up of the weight-only schemes on `model`: its f32 file as it is, quantized
    at load (--precision w8 / w4), and the w8 / w4 files `vitrt quantize` writes (what a deployment
    ships). The model is the timed one when it is timed, else written by bench/make_models.py
    (random weights, numpy only) into WORK/memory/."""
    stem = vitmodels.file_stem(model)
    if model in ctx.a.models:
        src = ctx.weights(model)
    else:
        d = os.path.join(ctx.work, "memory")
        src = os.path.join(d, stem + ".safetensors")
        if not os.path.exists(src):
            log(f"== {model} for the int8 memory rows: bench/make_models.py")
            try:
                ctx.run(["/usr/bin/python3", os.path.join(ctx.repo, "bench", "make_models.py"), d, stem],
                        what="make_models.py", timeout=3600)
            except Failure as f:
                ctx.fail(f"{model} int8 memory", str(f))
                return []
    log(f"== {model} memory: f32, w8, w4 (at load and as quantized files)")
    rows = [memory_startup(ctx, model, weights=src, label="f32")]
    for scheme in ("w8", "w4"):
        rows.append(memory_startup(ctx, model, weights=src, extra_args=["--precision", scheme],
                                   label=f"{scheme} (f32 file, quantized at load)"))
        q = os.path.join(os.path.dirname(src), f"{stem}.{scheme}.safetensors")
        if not newer(q, src, ctx.vitrt):
            try:
                ctx.run([ctx.vitrt, "quantize", "--model", src, "--scheme", scheme, "--threads", str(ctx.threads),
                         "-o", q], what=f"{model} vitrt quantize --scheme {scheme}", timeout=3600)
            except Failure as f:
                ctx.fail(f"{model} vitrt quantize --scheme {scheme}", str(f))
                continue
        rows.append(memory_startup(ctx, model, weights=q, label=f"{scheme} (quantized file)"))
    return [r for r in rows if r]


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

