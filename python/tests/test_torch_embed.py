"""m.embed and m.forward_features of the real ViT-Ti/16 (the bundled model: Google's AugReg weights,
so this runs in every clone) against PyTorch (Debian python3-torch) on the same weights and the
same preprocessed images (the sample photos): tests/py/torch_reference.py's timm_forward
(timm's VisionTransformer in plain torch), with the classifier replaced by the identity so that it
returns the pooled pre-logits features.

Tolerance: max |ours - torch f32| <= 1e-4 x max(1, max |torch|), the bound tests/models uses for
timm-semantics ViTs (docs/accuracy.md). Measured on the 9 samples: features reach ~23, the
difference is ~5e-5, the size of torch's own f32-vs-f64 difference (~2e-5); the test prints both."""
import json
import os
import sys

import numpy as np
import pytest

import vitrt
from testenv import BUNDLED_MODEL, SOURCE_DIR

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests/py"))
from torch_reference import timm_forward  # noqa: E402



def read_safetensors(path):
    """name -> torch tensor (F32 files only; what the shared ViT-Ti/16 is)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", (k, v["dtype"])
        b, e = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data, np.float32, (e - b) // 4, b).reshape(v["shape"]).copy())
    return out


def features(sd, x, global_pool, dtype):
    sd = {k: v.to(dtype) for k, v in sd.items()}
    D = sd["head.weight"].shape[1]
    sd["head.weight"], sd["head.bias"] = torch.eye(D, dtype=dtype), torch.zeros(D, dtype=dtype)
    with torch.no_grad():
        return timm_forward(sd, torch.from_numpy(x).to(dtype), heads=3, global_pool=global_pool).double().numpy()


@pytest.fixture(scope="module")
def case(samples):
    m = vitrt.load(BUNDLED_MODEL)
    return m, m.preprocess(samples), read_safetensors(os.path.join(BUNDLED_MODEL, "model.safetensors"))


def check(name, ours, sd, x, pool):
    ref32, ref64 = features(sd, x, pool, torch.float32), features(sd, x, pool, torch.float64)
    diff, floor = np.abs(ours - ref32).max(), np.abs(ref32 - ref64).max()
    scale = max(1.0, np.abs(ref32).max())
    print(f"{name}: max |ours - torch f32| = {diff:.3g}, |torch f32 - f64| = {floor:.3g}, max |feature| = {scale:.3g}")
    assert diff <= 1e-4 * scale


def test_embed_matches_torch(case):
    m, x, sd = case
    emb = m.embed(x)
    assert emb.shape == (len(x), 192)
    check("embed", emb, sd, x, "token")


def test_forward_features_match_torch(case):
    """The class token and the mean of the patch tokens of forward_features (what timm's token
    and avg pooling read from the same sequence)."""
    m, x, sd = case
    tokens = m.forward_features(x)
    assert tokens.shape == (len(x), 197, 192)
    check("forward_features token 0", tokens[:, 0], sd, x, "token")
    check("forward_features patch mean", tokens[:, 1:].astype(np.float64).mean(axis=1), sd, x, "avg")
