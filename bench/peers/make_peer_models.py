#!/usr/bin/python3
"""Writes the benchmark models every engine runs, and the fixed check input.

Usage: /usr/bin/python3 bench/peers/make_peer_models.py [--int8] WORK_DIR MODEL [MODEL ...]   (MODEL: ViT-Ti/16 ...)

Per model, from one seeded torchvision VisionTransformer (vitmodels.randomize):
  WORK_DIR/<timm name>.safetensors   torchvision key names, F32, metadata {"model": <timm name>} (vitrt)
  WORK_DIR/<timm name>.onnx          torch.onnx.export, opset 17, dynamic batch axis (ONNX Runtime)
  WORK_DIR/<timm name>.stamp         generator version + seed: the cache key
  WORK_DIR/<timm name>.int8.onnx     with --int8: the ONNX model in dynamic int8 (onnx_int8.py,
                                     per-tensor s8 weights), rebuilt when older than the f32 ONNX
PyTorch itself rebuilds the module from the safetensors file (vitmodels.load_torchvision).
Also WORK_DIR/check_input_b2.f32: a seeded N(0, 1) batch of 2 images [2, 3, 224, 224], f32 LE.
Files whose stamp matches are kept, so reruns are fast.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vitmodels  # noqa: E402

CHECK_BATCH = 2


def stamp_for(name, seed):
    return json.dumps({"generator": vitmodels.GENERATOR_VERSION, "model": name, "seed": seed,
                       "spec": vitmodels.SPECS[name]}, sort_keys=True)


def make(work, name, seed):
    import torch

    stem = os.path.join(work, vitmodels.file_stem(name))
    st, onnx, stamp = stem + ".safetensors", stem + ".onnx", stem + ".stamp"
    want = stamp_for(name, seed)
    if all(os.path.exists(p) for p in (st, onnx, stamp)) and open(stamp).read() == want:
        print(f"  {name}: cached ({st}, {onnx})", flush=True)
        return
    t0 = time.time()
    for p in (stamp, st, onnx):
        if os.path.exists(p):
            os.remove(p)
    torch.manual_seed(seed)
    model = vitmodels.randomize(vitmodels.build_torchvision(name), seed).eval()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    vitmodels.save_safetensors(st + ".tmp", state, {"format": "pt", "model": vitmodels.file_stem(name),
                                                    "source": "torchvision VisionTransformer, random weights",
                                                    "seed": str(seed)})
    os.replace(st + ".tmp", st)
    # Export with grad enabled so nn.MultiheadAttention takes its exportable (non fast-path) branch.
    x = torch.randn(1, 3, vitmodels.IMAGE, vitmodels.IMAGE)
    torch.onnx.export(model, x, onnx + ".tmp", opset_version=17, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    os.replace(onnx + ".tmp", onnx)
    with open(stamp, "w") as f:
        f.write(want)
    print(f"  {name}: wrote {st} ({os.path.getsize(st) / 2**20:.0f} MiB) and {onnx} "
          f"({os.path.getsize(onnx) / 2**20:.0f} MiB) in {time.time() - t0:.0f} s", flush=True)


def make_int8(work, name):
    import onnx
    import onnx_int8

    src = os.path.join(work, vitmodels.file_stem(name) + ".onnx")
    dst = os.path.join(work, vitmodels.file_stem(name) + ".int8.onnx")
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        print(f"  {name}: cached ({dst})", flush=True)
        return
    m = onnx.load(src)
    count = onnx_int8.convert(m)
    onnx.save(m, dst + ".tmp")
    os.replace(dst + ".tmp", dst)
    print(f"  {name}: wrote {dst} ({count['MatMul']} MatMul + {count['Gemm']} Gemm in dynamic int8)", flush=True)


def main():
    args = sys.argv[1:]
    int8 = "--int8" in args
    args = [x for x in args if x != "--int8"]
    if len(args) < 2:
        sys.exit(__doc__)
    work, names = args[0], args[1:]
    os.makedirs(work, exist_ok=True)
    for n in names:
        if n not in vitmodels.SPECS:
            sys.exit(f"unknown model {n!r}; known: {', '.join(vitmodels.SPECS)}")
    x = np.random.default_rng(1234).standard_normal((CHECK_BATCH, 3, vitmodels.IMAGE, vitmodels.IMAGE),
                                                     dtype=np.float32)
    x.astype("<f4").tofile(os.path.join(work, f"check_input_b{CHECK_BATCH}.f32"))
    for i, n in enumerate(vitmodels.SPECS):  # seed by position in SPECS: the same weights whatever is asked for
        if n in names:
            make(work, n, seed=1000 + i)
            if int8:
                make_int8(work, n)


if __name__ == "__main__":
    main()
