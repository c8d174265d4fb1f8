#!/usr/bin/python3
"""Writes random-weight ViT checkpoints with timm's key names, for benchmarks.

Usage: /usr/bin/python3 bench/make_models.py OUT_DIR [vit_base_patch16_224 ...]
Each model lands in OUT_DIR/<name>.safetensors with metadata {"model": name}, so vitrt resolves
the architecture from the name. Only numpy is needed (Debian python3-numpy).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from vitmodels import save_safetensors  # noqa: E402  (one safetensors writer for all bench scripts)

SIZES = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16),
         "huge": (1280, 32, 16)}


def vit_tensors(name, rng):
    parts = name.split("_")
    dim, depth, _ = SIZES[parts[1]]
    patch = int(parts[2].replace("patch", ""))
    img = int(parts[3])
    grid = img // patch
    t = {}
    def w(*shape, fan_in=None):
        fan_in = fan_in or shape[-1]
        return (rng.standard_normal(shape, dtype=np.float32) / np.sqrt(fan_in)).astype(np.float32)
    def v(n, mean=0.0):
        return (mean + 0.2 * rng.standard_normal(n, dtype=np.float32)).astype(np.float32)
    t["cls_token"] = v((1, 1, dim))
    t["pos_embed"] = 0.5 * rng.standard_normal((1, grid * grid + 1, dim), dtype=np.float32)
    t["patch_embed.proj.weight"] = w(dim, 3, patch, patch, fan_in=3 * patch * patch)
    t["patch_embed.proj.bias"] = v(dim)
    for i in range(depth):
        p = f"blocks.{i}."
        t[p + "norm1.weight"], t[p + "norm1.bias"] = v(dim, 1.0), v(dim)
        t[p + "attn.qkv.weight"], t[p + "attn.qkv.bias"] = w(3 * dim, dim), v(3 * dim)
        t[p + "attn.proj.weight"], t[p + "attn.proj.bias"] = w(dim, dim), v(dim)
        t[p + "norm2.weight"], t[p + "norm2.bias"] = v(dim, 1.0), v(dim)
        t[p + "mlp.fc1.weight"], t[p + "mlp.fc1.bias"] = w(4 * dim, dim), v(4 * dim)
        t[p + "mlp.fc2.weight"], t[p + "mlp.fc2.bias"] = w(dim, 4 * dim), v(dim)
    t["norm.weight"], t["norm.bias"] = v(dim, 1.0), v(dim)
    t["head.weight"], t["head.bias"] = w(1000, dim), v(1000)
    return t


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224",
                             "vit_large_patch16_224"]
    rng = np.random.default_rng(0)
    for n in names:
        save_safetensors(f"{out}/{n}.safetensors", vit_tensors(n, rng), {"format": "pt", "model": n})
        print(f"{out}/{n}.safetensors")


if __name__ == "__main__":
    main()
