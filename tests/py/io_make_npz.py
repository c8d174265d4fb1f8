"""Writes .npz fixtures with numpy for test_io_npz, plus the arrays the reader must return.

Usage: /usr/bin/python3 io_make_npz.py OUT_DIR
Writes OUT_DIR/stored.npz (np.savez), OUT_DIR/compressed.npz (np.savez_compressed),
OUT_DIR/expected/<i>.bin (C-order bytes in the dtype vitrt returns: f16 stays f16, f32 stays
f32, f64 becomes f32 via numpy's own astype) and OUT_DIR/manifest.json listing them.
"""
import json
import os
import sys

import numpy as np


def arrays():
    rng = np.random.default_rng(20240521)
    a = {}
    blk = "Transformer/encoderblock_0/MlpBlock_3/Dense_0/"
    a[blk + "kernel"] = rng.standard_normal((192, 768), dtype=np.float32)
    a[blk + "bias"] = rng.standard_normal((768,), dtype=np.float32)
    a["Transformer/posembed_input/pos_embedding"] = rng.standard_normal((1, 197, 192)).astype("<f4")
    a["embedding/kernel"] = rng.standard_normal((16, 16, 3, 8)).astype("<f4")
    a["half/weights"] = rng.standard_normal((7, 5)).astype("<f2")
    specials = [0.0, -0.0, np.inf, -np.inf, 1e-40, -1e-45, 1e300, -1e300,
                3.4028235677973366e38, 3.4028235e38 * (1 + 2**-25), 1.0 / 3.0, np.pi]
    a["double/values"] = np.array(specials + list(rng.standard_normal(48)), dtype="<f8").reshape(3, 4, 5)
    a["fortran/f4"] = np.asfortranarray(rng.standard_normal((4, 5, 6)).astype("<f4"))
    a["fortran/f8"] = np.asfortranarray(rng.standard_normal((3, 7)))
    a["fortran/f2"] = np.asfortranarray(rng.standard_normal((6, 2, 3)).astype("<f2"))
    a["fortran/column"] = np.asfortranarray(rng.standard_normal((9, 1)).astype("<f4"))
    a["scalar"] = np.float32(3.5)
    a["scalar64"] = np.float64(-2.25)
    a["vector1"] = np.array([7.25], dtype="<f4")
    a["empty"] = np.zeros((0, 3), dtype="<f4")
    a["bigendian"] = np.arange(12, dtype=">f4").reshape(3, 4) * 0.5
    a["big"] = rng.standard_normal((1000, 1024), dtype=np.float32)
    return a


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "expected"), exist_ok=True)
    a = arrays()
    np.savez(os.path.join(out, "stored.npz"), **a)
    np.savez_compressed(os.path.join(out, "compressed.npz"), **a)
    manifest = []
    for i, (name, v) in enumerate(a.items()):
        v = np.asarray(v)
        if v.dtype.kind == "f" and v.dtype.itemsize == 2:
            want, dtype = v.astype("<f2"), "f16"
        else:
            with np.errstate(over="ignore"):  # 1e300 -> inf is the point of the test
                want, dtype = v.astype("<f4"), "f32"
        path = os.path.join(out, "expected", "%d.bin" % i)
        with open(path, "wb") as f:
            f.write(np.ascontiguousarray(want).tobytes(order="C"))
        manifest.append({"name": name, "dtype": dtype, "shape": list(v.shape), "file": path})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    main()
