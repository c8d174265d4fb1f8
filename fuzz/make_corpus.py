#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets to fuzz/corpus/<target>/: small, valid (and a few
edge-case) inputs made here with numpy, Pillow and the standard library, so every file is ours
(no third-party images). Deterministic: rerunning rewrites the same bytes.

    /usr/bin/python3 fuzz/make_corpus.py   (Debian python3-numpy, python3-pil)
"""
import io
import json
import os
import struct
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
