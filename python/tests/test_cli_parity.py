"""The Python module gives the CLI's answers: logits, top-k and errors of `vitrt classify --json
--logits`, preprocessing (Python's preprocessed tensors fed to `vitrt forward` give the logits
`vitrt classify` computes from the files), and the features of `vitrt embed [--tokens]`.

Tolerance: none. The CLI prints every float with 9 significant digits, which is the float32
exactly, and both run the same engine with the same batch size and thread count, so logits and
probabilities must be equal bit for bit. The bundled model with the sample photos runs in every
clone; the real ViT-Ti/16 file with the 127 shared photos skips without ../shared/data."""
import os

import numpy as np
import pytest

import vitrt
from testenv import BUNDLED_MODEL, SHARED, SHARED_MODEL, cli_classify, run_cli

BATCH = 8


def check_same_as_cli(cli, model_path, images):
    m = vitrt.load(model_path)
    want = cli_classify(cli, model_path, images, BATCH)
    got = m.classify(images, top_k=5, batch_size=BATCH, logits=True)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g["image"] == w["image"]
        if "error" in w:
            assert g.get("error") == w["error"]
            continue
        np.testing.assert_array_equal(g["logits"], np.array(w["logits"], np.float32), err_msg=w["image"])
        assert [(p.label, p.index) for p in g["top_k"]] == [(p["label"], p["index"]) for p in w["top_k"]]
        assert [np.float32(p.prob) for p in g["top_k"]] == [np.float32(p["prob"]) for p in w["top_k"]]
    # The array path: preprocess + __call__ on the first batch.
    ok = [w for w in want[:BATCH] if "error" not in w]
    logits = m(m.preprocess([w["image"] for w in ok]))
    np.testing.assert_array_equal(logits, np.array([w["logits"] for w in ok], np.float32))
    return m, want


def test_bundled_model_matches_cli(cli, samples):
    check_same_as_cli(cli, BUNDLED_MODEL, samples + ["/nonexistent/photo.jpg"])


def test_real_vit_tiny_matches_cli_on_127_photos(cli, shared_images):
    m, want = check_same_as_cli(cli, SHARED_MODEL, shared_images)
    assert sum("error" in w for w in want) == 0


@pytest.mark.parametrize("model", ["bundled", "shared"])
def test_preprocessing_matches_cli(cli, samples, tmp_path, model, request):
    """m.preprocess(files) -> raw f32 -> `vitrt forward` = `vitrt classify` on the same files."""
    if model == "shared":
        images, path = request.getfixturevalue("shared_images")[:BATCH], SHARED_MODEL
    else:
        images, path = samples[:BATCH], BUNDLED_MODEL
    x = vitrt.load(path).preprocess(images)
    x.tofile(tmp_path / "x.f32")
    rc, _, err = run_cli(cli, "forward", "--model", path, "--input", str(tmp_path / "x.f32"), "--batch", str(len(images)),
                         "--output", str(tmp_path / "y.f32"))
    assert rc == 0, err
    y = np.fromfile(tmp_path / "y.f32", np.float32).reshape(len(images), -1)
    want = cli_classify(cli, path, images, len(images))
    np.testing.assert_array_equal(y, np.array([w["logits"] for w in want], np.float32))


def test_preprocessing_matches_stored_pil_inputs(shared_images):
    """The exact inputs the stored PyTorch logits were made from (PIL bicubic 248, centre crop 224,
    mean = std = 0.5): the same check as tests/image/test_image.cpp, through Python (1e-6, which is
    far below one 8-bit step, 2/255)."""
    m = vitrt.load(SHARED_MODEL)
    ref = os.path.join(SHARED, "reference/vit_tiny_patch16_224")
    for image, stem in [("images/pytorch_hub/dog.jpg", "dog"), ("images/vitcpp_assets/tench.jpg", "tench"),
                        ("images/imagenet_selected/n01514668_10054.JPEG", "n01514668_10054")]:
        want = np.fromfile(os.path.join(ref, stem + ".input_3x224x224.f32"), np.float32).reshape(1, 3, 224, 224)
        got = m.preprocess(os.path.join(SHARED, image))
        assert np.abs(got - want).max() <= 1e-6, image


@pytest.mark.parametrize("tokens", [False, True])
def test_embed_matches_cli(cli, samples, tmp_path, tokens):
    """m.embed / m.forward_features = `vitrt embed [--tokens]` (an .npy, rows in input order)."""
    out = tmp_path / "e.npy"
    rc, _, err = run_cli(cli, "embed", "--model", BUNDLED_MODEL, "--batch", str(BATCH), "--output", str(out),
                         *(["--tokens"] if tokens else []), *samples)
    assert rc == 0, err
    m = vitrt.load(BUNDLED_MODEL)
    x = m.preprocess(samples)
    want = np.load(out)
    got = np.concatenate([(m.forward_features if tokens else m.embed)(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])
    np.testing.assert_array_equal(got, want)
    rows = m.embed_images(samples, batch_size=BATCH, tokens=tokens)
    np.testing.assert_array_equal(np.stack([r["embedding"] for r in rows]), want)
