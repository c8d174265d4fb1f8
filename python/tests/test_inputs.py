"""Arrays in, arrays out: zero-copy inputs (numpy, torch, buffer objects), outputs, the checks on
bad inputs, preprocess() and classify() of files and bytes. Bundled model only.

Tolerances: none. The same engine on the same input gives the same bits, so every comparison
here is exact (numpy vs torch input, bytes vs path, batch vs classify, thread vs thread)."""
import pathlib

import numpy as np
import pytest

import vitrt


@pytest.fixture(scope="module")
def x(bundled, samples):
    return bundled.preprocess(samples[:3])


def test_numpy_input_is_not_copied(bundled, x):
    for f in (bundled, bundled.embed, bundled.forward_features):
        f(x)
        assert bundled._e.last_input_address == x.ctypes.data


def test_outputs(bundled, x):
    logits, emb, tok = bundled(x), bundled.embed(x), bundled.forward_features(x)
    assert logits.shape == (3, 1000) and emb.shape == (3, 192) and tok.shape == (3, 197, 192)
    assert logits.dtype == emb.dtype == tok.dtype == np.float32
    assert all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in (logits, emb, tok))
    # ViT-Ti pools the class token after the final norm: the embedding is token 0.
    np.testing.assert_array_equal(tok[:, 0], emb)


def test_torch_tensor_in_numpy_out(bundled, x):
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(x.copy())
    y = bundled(t)
    assert isinstance(y, np.ndarray)
    assert bundled._e.last_input_address == t.data_ptr()  # read in place through DLPack
    np.testing.assert_array_equal(y, bundled(x))
    with pytest.raises(vitrt.Error, match="detach"):
        bundled(t.clone().requires_grad_(True))
    with pytest.raises(vitrt.Error, match="float32"):
        bundled(t.double())


def test_buffer_protocol_input(bundled, x):
    mv = memoryview(x)
    y = bundled(mv)
    assert bundled._e.last_input_address == x.ctypes.data
    np.testing.assert_array_equal(y, bundled(x))


@pytest.mark.parametrize("make, message", [
    (lambda x: x.astype(np.float64), r"got dtype float64 \(convert with x.astype\(numpy.float32\)\)"),
    (lambda x: x.astype(np.float16), "got dtype float16"),
    (lambda x: (x * 100).astype(np.int32), "got dtype int32"),
    (lambda x: x.astype(">f4"), "got dtype >f4"),
    (lambda x: x[0], r"got 3 dimensions, shape \(3, 224, 224\) \(one image: add the batch dimension, x\[None\]\)"),
    (lambda x: x.reshape(-1), "got 1 dimensions"),
    (lambda x: x[:, :, :200], r"got shape \(3, 3, 200, 224\)"),
    (lambda x: np.ascontiguousarray(x.transpose(0, 2, 3, 1)), "channels last"),
    (lambda x: x[:0], "got a batch of 0"),
    (lambda x: np.asfortranarray(x), "non-contiguous array"),
    (lambda x: x.transpose(0, 1, 3, 2), "non-contiguous array"),
    (lambda x: np.frombuffer(b"\0" + x.tobytes(), np.float32, count=x.size, offset=1).reshape(x.shape), "4-byte aligned"),
    (lambda x: [[1.0]], "got list"),
    (lambda x: "photo.jpg", "got str"),
])
def test_bad_inputs_raise_with_a_clear_message(bundled, x, make, message):
    bad = make(x)
    for f in (bundled, bundled.embed, bundled.forward_features):
        with pytest.raises(vitrt.Error, match=message) as e:
            f(bad)
        if not isinstance(bad, (list, str)):
            assert "expected a C-contiguous float32 array [N, 3, 224, 224]" in str(e.value)
    np.testing.assert_array_equal(bundled(x), bundled(x.copy()))  # still healthy


@pytest.mark.parametrize("value, name", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "Inf")])
def test_non_finite_input_raises(bundled, x, value, name):
    bad = x.copy()
    bad[2, 1, 5, 7] = value
    with pytest.raises(vitrt.Error, match=f"input image 2 holds {name} \\(at flat index {224 * 224 + 5 * 224 + 7}\\)"):
        bundled(bad)


def test_preprocess_paths_bytes_and_path_objects(bundled, samples, x):
    raw = pathlib.Path(samples[1]).read_bytes()
    np.testing.assert_array_equal(bundled.preprocess(samples[1]), x[1:2])
    np.testing.assert_array_equal(bundled.preprocess(pathlib.Path(samples[1])), x[1:2])
    for b in (raw, bytearray(raw), memoryview(raw), np.frombuffer(raw, np.uint8)):
        np.testing.assert_array_equal(bundled.preprocess(b), x[1:2])
    mixed = bundled.preprocess([samples[0], raw, pathlib.Path(samples[2])])
    np.testing.assert_array_equal(mixed, x)
    assert bundled.preprocess([]).shape == (0, 3, 224, 224)


def test_preprocess_errors(bundled, cli, samples):
    from testenv import cli_error

    missing = "/nonexistent/photo.jpg"
    with pytest.raises(vitrt.Error) as e:
        bundled.preprocess([samples[0], missing])
    assert str(e.value) == cli_error(cli, "classify", missing)
    with pytest.raises(vitrt.Error, match="<bytes 0>"):
        bundled.preprocess(b"not an image")
    with pytest.raises(vitrt.Error, match="image 1 is a int"):
        bundled.preprocess([samples[0], 7])


def test_classify_reports_errors_per_image(bundled, samples, x):
    raw = pathlib.Path(samples[1]).read_bytes()
    images = [samples[0], "/nonexistent/photo.jpg", raw, b"garbage", samples[2]]
    r = bundled.classify(images, top_k=3, batch_size=2, logits=True)
    assert [d["image"] for d in r] == [samples[0], "/nonexistent/photo.jpg", "<bytes 2>", "<bytes 3>", samples[2]]
    assert "No such file" in r[1]["error"] and "<bytes 3>" in r[3]["error"]
    logits = bundled(x)
    for d, row in zip((r[0], r[2], r[4]), logits):
        np.testing.assert_array_equal(d["logits"], row)
        assert len(d["top_k"]) == 3
        top = d["top_k"][0]
        assert isinstance(top, vitrt.Prediction) and top.index == int(np.argmax(row))
        assert top.label == bundled.labels[top.index] and 0 < top.prob <= 1
    assert r[0]["top_k"][0].label == "Granny Smith"  # samples/apple.jpg
    with pytest.raises(vitrt.Error, match="top_k"):
        bundled.classify(samples[:1], top_k=0)


def test_embed_images(bundled, samples, x):
    r = bundled.embed_images([samples[0], "/nonexistent.png"], batch_size=4)
    np.testing.assert_array_equal(r[0]["embedding"], bundled.embed(x[:1])[0])
    assert "error" in r[1]
    t = bundled.embed_images(samples[:1], tokens=True)[0]["embedding"]
    assert t.shape == (197, 192)
