"""vitrt.load and what a loaded model says about itself; load errors carry the CLI's message.
Bundled model only (runs in every clone). Exact checks: metadata has no tolerance."""
import pathlib

import numpy as np
import pytest

import vitrt
from testenv import BUNDLED_MODEL, cli_error


def test_load_forms(bundled):
    assert vitrt.load().num_classes == 1000  # default: the bundled model
    m = vitrt.load(pathlib.Path(BUNDLED_MODEL), threads=1)
    assert m.threads == 1 and "threads=1" in repr(m)
    assert isinstance(m, vitrt.Engine)
    assert vitrt.Engine(BUNDLED_MODEL).num_classes == 1000


def test_metadata(bundled):
    assert bundled.num_classes == 1000
    assert len(bundled.labels) == 1000 and bundled.labels[0] == "tench"
    assert bundled.input_shape == (3, 224, 224)
    assert bundled.output_shape("logits") == (1000,)
    assert bundled.output_shape("embedding") == (192,)
    assert bundled.output_shape("tokens") == (197, 192)
    info = bundled.info()
    assert info["architecture"] == "vit_tiny_patch16_224"
    assert info["parameters"] == 5717416
    assert info["input_size"] == (3, 224, 224)
    assert info["fields"] and info["preprocess"] and info["backend"].startswith("cpu")
    with pytest.raises(vitrt.Error, match="unknown output"):
        bundled.output_shape("pixels")


def test_data_config_has_timms_keys_and_values(bundled):
    """timm.data.create_transform(**m.data_config) takes exactly these keys and value types."""
    assert bundled.data_config == {
        "input_size": (3, 224, 224),
        "interpolation": "bicubic",
        "mean": (0.5, 0.5, 0.5),
        "std": (0.5, 0.5, 0.5),
        "crop_pct": 0.9,
        "crop_mode": "center",
    }
    dc = bundled.data_config
    dc["mean"] = None  # a copy: the engine's stays intact
    assert bundled.data_config["mean"] == (0.5, 0.5, 0.5)


def test_error_is_a_runtime_error():
    assert issubclass(vitrt.Error, RuntimeError)
    assert issubclass(vitrt.DeviceUnavailable, vitrt.Error)


@pytest.mark.parametrize("args, kwargs", [
    (["--model", "/nonexistent/model.safetensors"], {"path": "/nonexistent/model.safetensors"}),
    (["--precision", "f64"], {"precision": "f64"}),
    (["--device", "tpu"], {"device": "tpu"}),
])
def test_load_errors_match_the_cli(cli, samples, args, kwargs):
    expected = cli_error(cli, "classify", *args, samples[0])
    kwargs.setdefault("path", BUNDLED_MODEL)
    with pytest.raises(vitrt.Error) as e:
        vitrt.load(**kwargs)
    assert str(e.value) == expected


def test_bad_options_raise():
    with pytest.raises(vitrt.Error, match="threads"):
        vitrt.load(BUNDLED_MODEL, threads=-1)
    with pytest.raises(vitrt.Error, match="threads must be an integer"):
        vitrt.load(BUNDLED_MODEL, threads="2")
    with pytest.raises(vitrt.Error, match="image size"):
        vitrt.load(BUNDLED_MODEL, image_size=100000)


def test_cuda_without_a_gpu_is_a_clear_error():
    try:
        m = vitrt.load(BUNDLED_MODEL, device="cuda")
    except vitrt.Error as e:
        assert "cuda" in str(e).lower()
        return
    pytest.skip(f"a GPU is present here: {m.info()['backend']}")


def test_other_resolution(samples):
    m = vitrt.load(BUNDLED_MODEL, image_size=160)
    assert m.input_shape == (3, 160, 160) and m.data_config["input_size"] == (3, 160, 160)
    x = m.preprocess(samples[:1])
    assert x.shape == (1, 3, 160, 160)
    assert np.isfinite(m(x)).all()
