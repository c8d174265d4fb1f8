#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets to fuzz/corpus/<target>/: small, valid (and a few
edge-case) inputs made here with numpy, Pillow and the standard library, so every file is ours
(no third-party images). Deterministic: rerunning rewrites the same bytes. The quantized seeds are
tiny ViTs quantized by the vitrt CLI itself (`vitrt quantize`), so they are what it writes.

    /usr/bin/python3 fuzz/make_corpus.py [path/to/vitrt]   (Debian python3-numpy, python3-pil;
                                                            default build/vitrt; quantized seeds
                                                            are skipped without it)
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=True):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def make_safetensors():
    f32 = np.arange(6, dtype="<f4").tobytes()
    put("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], f32)}, {"format": "pt"}))
    put("safetensors", "mixed.safetensors", safetensors({
        "a": ("F32", [2, 2], np.ones(4, "<f4").tobytes()),
        "h": ("F16", [3], np.ones(3, "<f2").tobytes()),
        "b": ("BF16", [1], b"\x80\x3f"),
        "n": ("I64", [], struct.pack("<q", 7)),
        "u": ("U8", [0], b""),
        "s": ("F32", [], struct.pack("<f", 1.5)),
    }, {"format": "pt", "model": "vit_tiny_patch16_224", "create_model_kwargs": "{\"num_classes\": 3}"}))
    put("safetensors", "unpadded.safetensors", safetensors({"x": ("F16", [1, 1], b"\x00\x3c")}, pad=False))
    put("safetensors", "empty.safetensors", safetensors({}))


def npy(arr, fortran=False):
    b = io.BytesIO()
    np.lib.format.write_array(b, np.asfortranarray(arr) if fortran else arr, version=(1, 0))
    return b.getvalue()


def make_npz():
    arrays = {
        "Transformer/encoder_norm/scale": np.ones(4, "<f4"),
        "embedding/kernel": np.arange(12, dtype="<f4").reshape(2, 2, 3),
        "head/bias": np.zeros(3, "<f8"),
        "half": np.ones((2, 2), "<f2"),
    }
    for name, method in (("stored.npz", zipfile.ZIP_STORED), ("deflated.npz", zipfile.ZIP_DEFLATED)):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", method) as z:
            for k, v in arrays.items():
                z.writestr(zipfile.ZipInfo(k + ".npy", (1980, 1, 1, 0, 0, 0)), npy(v), compress_type=method)
        put("npz", name, b.getvalue())
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("fortran.npy", (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            f.write(npy(np.arange(6, dtype="<f4").reshape(2, 3), fortran=True))
        z.writestr(zipfile.ZipInfo("dir/", (1980, 1, 1, 0, 0, 0)), b"")
        z.writestr(zipfile.ZipInfo("notes.txt", (1980, 1, 1, 0, 0, 0)), b"not a tensor")
    put("npz", "zip64_fortran.npz", b.getvalue())


# The tiny ViT the config target loads its configs against (fuzz_config.cpp writes the same):
# 8 wide, 1 block, patch 4, 8x8 pixels, 3 classes; `heads` in its metadata.
TINY = dict(embed_dim=8, depth=1, patch_size=4, img_size=8, num_heads=2, num_classes=3, mlp=32)


def tiny_vit(metadata):
    d, p, m, k = TINY["embed_dim"], TINY["patch_size"], TINY["mlp"], TINY["num_classes"]
    t = (TINY["img_size"] // p) ** 2 + 1
    shapes = {"patch_embed.proj.weight": [d, 3, p, p], "patch_embed.proj.bias": [d], "cls_token": [1, 1, d],
              "pos_embed": [1, t, d], "blocks.0.attn.qkv.weight": [3 * d, d], "blocks.0.attn.qkv.bias": [3 * d],
              "blocks.0.attn.proj.weight": [d, d], "blocks.0.attn.proj.bias": [d], "blocks.0.mlp.fc1.weight": [m, d],
              "blocks.0.mlp.fc1.bias": [m], "blocks.0.mlp.fc2.weight": [d, m], "blocks.0.mlp.fc2.bias": [d],
              "head.weight": [k, d], "head.bias": [k]}
    for n in ("blocks.0.norm1", "blocks.0.norm2", "norm"):
        shapes[n + ".weight"], shapes[n + ".bias"] = [d], [d]
    rng = np.random.default_rng(1)
    tensors = {}
    for name, shape in sorted(shapes.items()):
        a = rng.standard_normal(shape).astype("<f4") * 0.1
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
            a = np.ones(shape, "<f4")
        tensors[name] = ("F32", shape, a.tobytes())
    return safetensors(tensors, metadata)


def make_config():
    put("config", "timm.json", json.dumps({
        "architecture": "vit_tiny_patch16_224", "num_classes": 3, "num_features": 192,
        "global_pool": "token", "model_args": {"img_size": 224, "class_token": True},
        "pretrained_cfg": {"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.9,
                           "crop_mode": "center", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                           "num_classes": 3},
        "label_names": ["a", "b", "c"]}).encode())
    put("config", "transformers.json", json.dumps({
        "architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": 192,
        "num_hidden_layers": 12, "num_attention_heads": 3, "image_size": 224, "patch_size": 16,
        "id2label": {"0": "a", "1": "b", "2": "c"}, "label2id": {"a": 0, "b": 1, "c": 2},
        "do_resize": True, "size": {"height": 224, "width": 224}, "resample": 3,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}).encode())
    put("config", "other.json", b'{"name": "\\u00e9", "x": [1, 2.5e3, null, true]}')
    # Configs that match the tiny ViT, so the fuzzer starts from inputs that load and run.
    args = {k: TINY[k] for k in ("embed_dim", "depth", "patch_size", "img_size", "num_heads")}
    put("config", "tiny_timm.json", json.dumps({
        "architecture": "vit_tiny_patch16_224", "num_classes": 3, "global_pool": "token",
        "model_args": dict(args, mlp_ratio=4.0, layer_norm_eps=1e-6, qkv_bias=True, init_values=None),
        "pretrained_cfg": {"input_size": [3, 8, 8], "interpolation": "bilinear", "crop_pct": 0.875,
                           "crop_mode": "squash", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "label_names": ["a", "b", "c"]}).encode())
    put("config", "tiny_timm_border.json", json.dumps({
        "architecture": "deit_tiny_patch16_224", "model_args": dict(args, no_embed_class=False, global_pool="avg"),
        "pretrained_cfg": {"input_size": [3, 12, 16], "interpolation": "nearest", "crop_pct": 1.2,
                           "crop_mode": "border", "mean": 0.5, "std": 0.5}}).encode())
    put("config", "tiny_transformers.json", json.dumps({
        "architectures": ["ViTForImageClassification"], "model_type": "vit", "hidden_size": 8,
        "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "image_size": 8,
        "patch_size": 4, "num_channels": 3, "qkv_bias": True, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
        "id2label": {"0": "a", "1": "b", "2": "\u00e9"},
        "do_resize": True, "size": {"height": 12, "width": 12}, "do_center_crop": True,
        "crop_size": {"height": 8, "width": 8}, "resample": 2,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}).encode())


def make_quantized(vitrt):
    """Tiny ViTs quantized by `vitrt quantize`, one per scheme (calibrated on two samples)."""
    if not vitrt or not os.path.exists(vitrt):
        print("make_corpus.py: no vitrt binary (%s): quantized seeds not written" % vitrt)
        return
    samples = os.path.join(os.path.dirname(ROOT), "..", "samples")
    tmp = tempfile.mkdtemp()
    try:
        model = os.path.join(tmp, "tiny.safetensors")
        with open(model, "wb") as f:
            f.write(tiny_vit({"format": "pt", "create_model_kwargs": json.dumps({"num_heads": 2})}))
        calib = os.path.join(tmp, "calib")
        os.mkdir(calib)
        for name in ("tench.jpg", "cheetah.jpg"):
            shutil.copy(os.path.join(samples, name), calib)
        for scheme, extra in (("w8", ["--quantize-head"]), ("w4", ["--group", "4"]), ("w8a8-dynamic", []),
                              ("w8a8", ["--method", "minmax", "--quantize-head"])):
            out = os.path.join(tmp, scheme + ".safetensors")
            subprocess.run([vitrt, "quantize", "--model", model, "--calib", calib, "--scheme", scheme, "--threads", "1",
                            "-o", out] + extra, check=True, stdout=subprocess.DEVNULL)
            with open(out, "rb") as f:
                data = f.read()
            assert len(data) < 65536, (scheme, len(data))
            put("quantized", scheme + ".safetensors", data)
    finally:
        shutil.rmtree(tmp)


def make_http():
    """KServe v2 infer requests for the [N, 3, 4, 4] model of fuzz_http.cpp, and names."""
    x = [round(0.01 * i, 2) for i in range(48)]
    nested = [[[x[c * 16 + r * 4: c * 16 + r * 4 + 4] for r in range(4)] for c in range(3)]]
    inp = {"name": "input", "datatype": "FP32", "shape": [1, 3, 4, 4]}
    put("http", "flat.json", json.dumps({"id": "r1", "inputs": [dict(inp, data=x)]}).encode())
    put("http", "nested_classification.json", json.dumps({
        "inputs": [dict(inp, data=nested)],
        "outputs": [{"name": "logits", "parameters": {"classification": 2}}]}).encode())
    put("http", "batch2_embedding.json", json.dumps({
        "id": "caf\u00e9", "inputs": [dict(inp, shape=[2, 3, 4, 4], data=x + x)],
        "outputs": [{"name": "embedding"}]}).encode())
    put("http", "binary.json", json.dumps({
        "inputs": [dict(inp, parameters={"binary_data_size": 192})],
        "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode())
    put("http", "top_k.txt", b"5")
    put("http", "name_utf8.txt", "photo \u00e9t\u00e9 \U0001F600.jpg".encode())
    put("http", "name_latin1.txt", b"caf\xe9 \"q\"\n.jpg")


def make_images():
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), "RGB")
    gray = rgb.convert("L")

    def jpeg(img, **kw):
        b = io.BytesIO()
        img.save(b, "JPEG", **kw)
        return b.getvalue()

    put("jpeg", "rgb_420.jpg", jpeg(rgb, quality=75))
    put("jpeg", "rgb_444.jpg", jpeg(rgb, quality=90, subsampling=0))
    put("jpeg", "progressive.jpg", jpeg(rgb, quality=75, progressive=True))
    put("jpeg", "gray.jpg", jpeg(gray))
    put("jpeg", "cmyk.jpg", jpeg(rgb.convert("CMYK")))
    put("jpeg", "restart.jpg", jpeg(rgb, quality=50, optimize=True))

    def png(img, **kw):
        b = io.BytesIO()
        img.save(b, "PNG", **kw)
        return b.getvalue()

    put("png", "rgb.png", png(rgb))
    put("png", "rgba.png", png(rgb.convert("RGBA")))
    put("png", "gray.png", png(gray))
    put("png", "gray1.png", png(gray.convert("1")))
    put("png", "palette.png", png(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), bits=4))
    put("png", "gray16.png", png(Image.fromarray(rng.integers(0, 65536, (5, 7), dtype=np.uint16).astype(np.int32), "I")))
    put("png", "la.png", png(gray.convert("LA")))
    # Interlaced (Adam7) and 16-bit RGB by hand: Pillow writes neither.
    put("png", "interlaced_rgb16.png", adam7_png(rng.integers(0, 65536, (9, 11, 3), dtype=np.uint16)))


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def adam7_png(pixels):
    h, w, _ = pixels.shape
    raw = b""
    for y0, x0, dy, dx in ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)):
        sub = pixels[y0::dy, x0::dx]
        if sub.size == 0:
            continue
        for row in sub:
            raw += b"\x00" + row.astype(">u2").tobytes()
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 1)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    make_safetensors()
    make_npz()
    make_config()
    make_images()
    make_http()
    make_quantized(sys.argv[1] if len(sys.argv) > 1 else
                   os.path.join(os.path.dirname(ROOT), "..", "build", "vitrt"))
