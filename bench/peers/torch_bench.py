#!/usr/bin/python3
"""PyTorch peer: times one configuration of the torchvision ViT, or writes its logits for a fixed input.

Usage:
  torch_bench.py --model-name ViT-B/16 --weights M.safetensors --variant V --threads T
                 (--batch B --warmup W --runs N | --check-input x.f32 --check-batch 2 --check-output y.f32)
Variants:
  eager        fp32, model.eval(), torch.inference_mode()
  jit          fp32, torch.jit.trace + torch.jit.freeze
  jit_ofi      fp32, torch.jit.trace + torch.jit.optimize_for_inference (freeze + oneDNN conversions)
  bf16         the whole model cast with model.to(torch.bfloat16), bf16 input, eager (not autocast)
  int8         dynamic int8: torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8) after the
               attention is rewritten with qkv/proj nn.Linear (vitmodels.linear_attention), so every
               Linear is int8 (s8 per-tensor weights, u8 per-tensor activations quantized at run time),
               quantized engine 'onednn' (Debian's torch has no FBGEMM); eager
  int8_mlp     the same on the stock torchvision module: only the MLP and the head are quantized
               (torchvision's nn.MultiheadAttention is out of quantize_dynamic's reach)
Prints one JSON object (times_ms: every timed run). run.sh starts it with /usr/bin/python3,
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp and OPENBLAS_CORETYPE=SkylakeX.
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import vitmodels  # noqa: E402

VARIANTS = ("eager", "jit", "jit_ofi", "bf16", "int8", "int8_mlp")


def blas_library():
    """Which BLAS the process really mapped (the LD_LIBRARY_PATH override is easy to get wrong)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.split()[-1].lower()}
        return sorted(libs)
    except OSError:
        return []


def prepare(variant, model, example):
    """Returns (callable, input dtype)."""
    if variant == "bf16":
        return model.to(torch.bfloat16), torch.bfloat16
    if variant in ("int8", "int8_mlp"):
        return vitmodels.quantize_dynamic_int8(model, all_linears=variant == "int8"), torch.float32
    if variant == "eager":
        return model, torch.float32
    with torch.inference_mode(False), torch.no_grad():
        traced = torch.jit.trace(model, example)
        if variant == "jit":
            return torch.jit.freeze(traced.eval()), torch.float32
        return torch.jit.optimize_for_inference(traced.eval()), torch.float32


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model-name", required=True, choices=list(vitmodels.SPECS))
    p.add_argument("--weights", required=True)
    p.add_argument("--variant", required=True, choices=VARIANTS)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--check-input")
    p.add_argument("--check-batch", type=int, default=2)
    p.add_argument("--check-output")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    model = vitmodels.load_torchvision(a.model_name, a.weights)
    checking = a.check_input is not None
    batch = a.check_batch if checking else a.batch
    if checking:
        x = torch.from_numpy(np.fromfile(a.check_input, dtype="<f4").reshape(batch, 3, vitmodels.IMAGE, vitmodels.IMAGE))
    else:
        x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, 3, vitmodels.IMAGE, vitmodels.IMAGE),
                                                                        dtype=np.float32))
    fn, dtype = prepare(a.variant, model, x)
    x = x.to(dtype)
    load_ms = (time.perf_counter() - T0) * 1e3

    info = {"engine": "pytorch", "variant": a.variant, "model": a.model_name, "batch": batch, "threads": a.threads,
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "blas": blas_library(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""), "load_ms": load_ms,
            "quantized_engine": torch.backends.quantized.engine if a.variant.startswith("int8") else None}
    with torch.inference_mode():
        if checking:
            y = fn(x).float().numpy()
            y.astype("<f4").tofile(a.check_output)
            info["max_abs_logit"] = float(np.abs(y).max())
            print(json.dumps(info))
            return
        for _ in range(a.warmup):
            fn(x)
        times = []
        for _ in range(a.runs):
            s = time.perf_counter()
            fn(x)
            times.append((time.perf_counter() - s) * 1e3)
    info["times_ms"] = times
    print(json.dumps(info))


if __name__ == "__main__":
    main()
