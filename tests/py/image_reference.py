#!/usr/bin/python3
"""Reference outputs for vitrt's image module, from the libraries it must match.

Run with Debian's /usr/bin/python3 (Pillow 9.4 linking the system libjpeg62-turbo,
python3-torchvision 0.14, python3-torch 1.13): tests/test_image_pil.cpp writes a job file and
compares our decoder, resizer and preprocessing against what this script writes.

    image_reference.py JOBS_FILE

JOBS_FILE has one tab-separated job per line:
    synth       OUT_DIR            write synthetic test images (PIL and a small PNG writer)
                                   plus OUT_DIR/list.txt naming them, and damaged
                                   files named in OUT_DIR/damaged.txt
    decode      IN OUT             Image.open(IN).convert("RGB")
    resize      IN W H INTERP OUT  ... .resize((W, H), INTERP)  (bicubic, bilinear, nearest)
    preprocess  IN H W CROP_PCT CROP_MODE INTERP M0,M1,M2 S0,S1,S2 OUT_TENSOR OUT_CROP
                                   timm 1.0 transforms_imagenet_eval with torchvision 0.14
Image outputs are little-endian int32 width, int32 height, then RGB bytes; tensors are raw
float32 CHW. A job that fails writes OUT.err holding the exception text instead (decoding
failures are part of what is compared).

timm itself is not installed here: the eval transform is rebuilt from torchvision ops following
timm/data/transforms_factory.py and timm/data/transforms.py (ResizeKeepRatio,
CenterCropOrPad) of timm 1.0.
"""
import io
import math
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

# torch/torchvision load lazily (load_torch): decoding and synthesis jobs do not need them, and
# importing torch takes seconds.
torch = T = F = TV_INTERP = None


def load_torch():
    global torch, T, F, TV_INTERP
    if torch is None:
        import torch as torch_
        import torchvision.transforms as T_
        import torchvision.transforms.functional as F_
        torch, T, F = torch_, T_, F_
        torch.set_num_threads(1)
        TV_INTERP = {
            "bicubic": T.InterpolationMode.BICUBIC,
            "bilinear": T.InterpolationMode.BILINEAR,
            "nearest": T.InterpolationMode.NEAREST,
        }

PIL_INTERP = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST}


def write_image(path, img):
    assert img.mode == "RGB"
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", img.width, img.height))
        f.write(img.tobytes())


def load_rgb(path):
    with Image.open(path) as im:
        return im.convert("RGB")


# --- timm 1.0 eval transform (center / squash / border) ------------------------------------

def keep_ratio_params(img, target_size, longest):
    img_h, img_w = img.height, img.width
    target_h, target_w = target_size
    ratio_h = img_h / target_h
    ratio_w = img_w / target_w
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
    return [round(x * f / ratio) for x, f in zip((img_h, img_w), (1.0, 1.0))]


class ResizeKeepRatio:
    def __init__(self, size, longest=0.0, interpolation="bilinear"):
        self.size = tuple(size)
        self.longest = float(longest)
        self.interpolation = TV_INTERP[interpolation]

    def __call__(self, img):
        return F.resize(img, keep_ratio_params(img, self.size, self.longest), self.interpolation)


class CenterCropOrPad:
    def __init__(self, size, fill=0):
        self.size = tuple(size)
        self.fill = fill

    def __call__(self, img):
        crop_height, crop_width = self.size
        image_height, image_width = img.height, img.width
        if crop_width > image_width or crop_height > image_height:
            padding_ltrb = [
                (crop_width - image_width) // 2 if crop_width > image_width else 0,
                (crop_height - image_height) // 2 if crop_height > image_height else 0,
                (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
                (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
            ]
            img = F.pad(img, padding_ltrb, fill=self.fill, padding_mode="constant")
            image_height, image_width = img.height, img.width
            if crop_width == image_width and crop_height == image_height:
                return img
        crop_top = int(round((image_height - crop_height) / 2.0))
        crop_left = int(round((image_width - crop_width) / 2.0))
        return F.crop(img, crop_top, crop_left, crop_height, crop_width)


def eval_transforms(img_size, crop_pct, crop_mode, interpolation, mean, std):
    """(crop transform, tensor transform) as timm's transforms_imagenet_eval builds them."""
    scale_size = tuple(math.floor(x / crop_pct) for x in img_size)
    if crop_mode == "squash":
        tfl = [T.Resize(scale_size, interpolation=TV_INTERP[interpolation]), T.CenterCrop(img_size)]
    elif crop_mode == "border":
        fill = [round(255 * v) for v in mean]
        tfl = [
            ResizeKeepRatio(scale_size, interpolation=interpolation, longest=1.0),
            CenterCropOrPad(img_size, fill=fill),
        ]
    else:
        if scale_size[0] == scale_size[1]:
            tfl = [T.Resize(scale_size[0], interpolation=TV_INTERP[interpolation])]
        else:
            tfl = [ResizeKeepRatio(scale_size)]  # timm passes no interpolation here
        tfl += [T.CenterCrop(img_size)]
    tensor = T.Compose([T.ToTensor(), T.Normalize(mean=torch.tensor(mean), std=torch.tensor(std))])
    return T.Compose(tfl), tensor


# --- synthetic images ----------------------------------------------------------------------

def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_filter_rows(rows, bpp):
    """Applies filter types 0..4 in turn, so the decoder's unfiltering is exercised."""
    out = []
    prev = bytes(len(rows[0])) if rows else b""
    for i, row in enumerate(rows):
        ftype = i % 5
        r = bytearray(len(row))
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            r[x] = (row[x] - pred) & 0xFF
        out.append(bytes([ftype]) + bytes(r))
        prev = row
    return b"".join(out)


def pack_row(samples, bit_depth):
    if bit_depth == 16:
        return b"".join(struct.pack(">H", int(v)) for v in samples)
    if bit_depth == 8:
        return bytes(int(v) for v in samples)
    per_byte = 8 // bit_depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        for j in range(per_byte):
            v = int(samples[i + j]) if i + j < len(samples) else 0
            byte |= v << (8 - bit_depth * (j + 1))
        out.append(byte)
    return bytes(out)


# Adam7 passes: (x0, y0, dx, dy).
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
         (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(path, samples, color_type, bit_depth, plte=None, trns=None, interlace=False):
    """samples: uint array (h, w, channels). A small PNG writer for the modes PIL cannot save."""
    h, w, ch = samples.shape
    bpp = max(1, ch * bit_depth // 8)

    def encode(img):
        rows = [pack_row(img[y].reshape(-1), bit_depth) for y in range(img.shape[0])]
        return png_filter_rows(rows, bpp) if rows and rows[0] else b""

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode(sub)
    else:
        raw = encode(samples)
    data = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, int(interlace))
    data += png_chunk(b"IHDR", ihdr)
    data += png_chunk(b"gAMA", struct.pack(">I", 45455))  # ignored by PIL, must be by us
    if plte is not None:
        data += png_chunk(b"PLTE", bytes(plte))
    if trns is not None:
        data += png_chunk(b"tRNS", bytes(trns))
    comp = zlib.compress(raw, 9)
    half = len(comp) // 2
    data += png_chunk(b"IDAT", comp[:half]) + png_chunk(b"IDAT", comp[half:])  # split IDAT
    data += png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def photo(rng, w, h):
    """A smooth, photo-like RGB image (JPEG artefacts and resampling both matter on it)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        128 + 100 * np.sin(x / (w / 3.1) + 0.5) * np.cos(y / (h / 2.3)),
        128 + 90 * np.cos((x + 2 * y) / (w / 4.7)),
        255 * (x + y) / (w + h),
    ], axis=-1)
    img += rng.normal(0, 18, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def synth(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.RandomState(1234)
    names = []

    def save(name, im, **kw):
        im.save(os.path.join(out_dir, name), **kw)
        names.append(name)

    def png(name, *args, **kw):
        write_png(os.path.join(out_dir, name), *args, **kw)
        names.append(name)

    base = Image.fromarray(photo(rng, 97, 61))
    save("rgb_q90_420.jpg", base, quality=90)
    save("rgb_q95_444.jpg", base, quality=95, subsampling=0)
    save("rgb_q75_422.jpg", base, quality=75, subsampling=1)
    save("rgb_progressive.jpg", base, quality=85, progressive=True)
    save("rgb_optimized.jpg", base, quality=60, optimize=True)
    save("gray.jpg", base.convert("L"), quality=90)
    cmyk = np.concatenate([photo(rng, 53, 41), photo(rng, 53, 41)[..., :1]], axis=-1)
    save("cmyk.jpg", Image.fromarray(cmyk, "CMYK"), quality=92)
    save("landscape.jpg", Image.fromarray(photo(rng, 640, 360)), quality=88)
    save("portrait.jpg", Image.fromarray(photo(rng, 300, 500)), quality=88)
    save("tiny_5x3.jpg", Image.fromarray(photo(rng, 5, 3)), quality=95)
    save("strip_1x300.jpg", Image.fromarray(photo(rng, 1, 300)), quality=95)

    small = photo(rng, 45, 37)
    save("rgb.png", Image.fromarray(small))
    rgba = np.concatenate([small, rng.randint(0, 256, (37, 45, 1), dtype=np.uint8)], axis=-1)
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    la = np.stack([small[..., 0], small[..., 1]], axis=-1)
    save("la.png", Image.fromarray(la, "LA"))
    save("l.png", Image.fromarray(small[..., 1]))
    save("bilevel.png", Image.fromarray(small[..., 0]).convert("1"))
    pal = Image.fromarray(small).quantize(colors=200)
    save("p_trns.png", pal, transparency=bytes(range(0, 200)))
    pal16 = Image.fromarray(small).quantize(colors=16)
    save("p_4bit.png", pal16, bits=4)
    i16 = Image.new("I;16", (45, 37))
    i16.putdata([int(v) for v in rng.randint(0, 600, 45 * 37)])
    save("gray16_pil.png", i16)
    save("tiny_5x3.png", Image.fromarray(photo(rng, 5, 3)))
    save("one_pixel.png", Image.fromarray(photo(rng, 1, 1)))

    w, h = 23, 13
    for bits in (1, 2, 4, 8, 16):
        g = rng.randint(0, 1 << bits, (h, w, 1))
        png(f"gray{bits}.png", g, 0, bits)
    png("gray8_trns.png", rng.randint(0, 256, (h, w, 1)), 0, 8, trns=struct.pack(">H", 7))
    png("gray2_interlaced.png", rng.randint(0, 4, (h, w, 1)), 0, 2, interlace=True)
    png("gray16_interlaced.png", rng.randint(0, 1 << 16, (h, w, 1)), 0, 16, interlace=True)
    png("la16.png", rng.randint(0, 1 << 16, (h, w, 2)), 4, 16)
    png("rgb16.png", rng.randint(0, 1 << 16, (h, w, 3)), 2, 16)
    png("rgb8_trns.png", rng.randint(0, 256, (h, w, 3)), 2, 8, trns=struct.pack(">HHH", 1, 2, 3))
    png("rgb8_interlaced.png", rng.randint(0, 256, (h, w, 3)), 2, 8, interlace=True)
    png("rgba16.png", rng.randint(0, 1 << 16, (h, w, 4)), 6, 16)
    png("rgba16_interlaced.png", rng.randint(0, 1 << 16, (h, w, 4)), 6, 16, interlace=True)
    for bits in (1, 2, 4, 8):
        n = min(1 << bits, 40)
        plte = rng.randint(0, 256, 3 * n).tolist()
        idx = rng.randint(0, n, (h, w, 1))
        png(f"palette{bits}.png", idx, 3, bits, plte=plte, trns=bytes(range(0, 255, 37))[:n])
    # A short PLTE: indices past its end read PIL's default palette (a gray ramp).
    png("palette8_short.png", rng.randint(0, 256, (h, w, 1)), 3, 8, plte=[10, 20, 30, 200, 100, 50])
    png("palette4_interlaced.png", rng.randint(0, 16, (h, w, 1)), 3, 4,
        plte=rng.randint(0, 256, 48).tolist(), interlace=True)

    with open(os.path.join(out_dir, "list.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    damaged(out_dir, rng)


def png_chunks(data):
    """[(type, payload, crc)] of a PNG file."""
    pos, out = 8, []
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        out.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length],
                    data[pos + 8 + length:pos + 12 + length]))
        pos += 12 + length
    return out


def join_chunks(chunks):
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(d)) + t + d + c for t, d, c in chunks)


def damaged(out_dir, rng):
    """Damaged files that PIL either rejects or decodes (with a result to match): the decoder
    must fail exactly when PIL does. Listed in OUT_DIR/damaged.txt."""
    names = []

    def put(name, data):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        names.append(name)

    buf = io.BytesIO()
    Image.fromarray(photo(rng, 40, 30)).save(buf, "PNG")
    png = buf.getvalue()
    chunks = png_chunks(png)
    bad = b"\0\0\0\0"
    text = (b"tEXt", b"Comment\0hello", struct.pack(">I", zlib.crc32(b"tEXtComment\0hello")))
    put("idat_bad_crc.png", join_chunks([c if c[0] != b"IDAT" else (c[0], c[1], bad)
                                         for c in chunks]))
    put("ihdr_bad_crc.png", join_chunks([c if c[0] != b"IHDR" else (c[0], c[1], bad)
                                         for c in chunks]))
    put("text_bad_crc.png", join_chunks(chunks[:1] + [(text[0], text[1], bad)] + chunks[1:]))
    put("text_bad_crc_after_idat.png", join_chunks(chunks[:-1] + [(text[0], text[1], bad)]
                                                   + chunks[-1:]))
    unknown = (b"ABCD", b"xyz", struct.pack(">I", zlib.crc32(b"ABCDxyz")))
    put("unknown_critical_chunk.png", join_chunks(chunks[:1] + [unknown] + chunks[1:]))
    put("no_iend.png", join_chunks(chunks[:-1]))
    put("trailing_garbage.png", png + bytes(range(200)))
    put("idat_cut.png", png[:len(png) * 2 // 3])

    buf = io.BytesIO()
    Image.fromarray(photo(rng, 120, 90)).save(buf, "JPEG", quality=90)
    jpg = bytearray(buf.getvalue())
    put("trailing_garbage.jpg", bytes(jpg) + b"\x00garbage" * 20)
    mid = bytearray(jpg)
    for k in range(len(mid) // 2, len(mid) // 2 + 12):
        mid[k] = 0x5A  # corrupt entropy-coded data: libjpeg warns and goes on
    put("entropy_garbage.jpg", bytes(mid))
    marker = bytearray(jpg)
    marker[len(marker) * 2 // 3:len(marker) * 2 // 3 + 2] = b"\xff\xd0"  # stray RST marker
    put("stray_marker.jpg", bytes(marker))
    put("eoi_only_missing.jpg", bytes(jpg[:-2]))
    with open(os.path.join(out_dir, "damaged.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


# --- jobs ----------------------------------------------------------------------------------

def floats(s):
    return [float(v) for v in s.split(",")]


def run_job(fields):
    kind = fields[0]
    if kind == "synth":
        synth(fields[1])
        return
    out = fields[-1] if kind != "preprocess" else fields[-2]
    try:
        if kind == "decode":
            write_image(fields[2], load_rgb(fields[1]))
        elif kind == "resize":
            _, src, w, h, interp, dst = fields
            img = load_rgb(src).resize((int(w), int(h)), PIL_INTERP[interp])
            write_image(dst, img)
        elif kind == "preprocess":
            _, src, h, w, crop_pct, mode, interp, mean, std, out_tensor, out_crop = fields
            load_torch()
            crop_tf, tensor_tf = eval_transforms(
                (int(h), int(w)), float(crop_pct), mode, interp, floats(mean), floats(std))
            crop = crop_tf(load_rgb(src))
            write_image(out_crop, crop)
            x = tensor_tf(crop)
            assert x.dtype == torch.float32 and x.is_contiguous()
            with open(out_tensor, "wb") as f:
                f.write(x.numpy().astype("<f4").tobytes())
        else:
            raise ValueError(f"unknown job {kind!r}")
    except Exception as e:  # noqa: BLE001 - the error text is the reference output
        with open(out + ".err", "w") as f:
            f.write(f"{type(e).__name__}: {e}\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    # "Palette images with Transparency expressed in bytes ...": expected, and noise here.
    warnings.filterwarnings("ignore", category=UserWarning)
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                run_job(line.split("\t"))


if __name__ == "__main__":
    main()
