"""vitrt: Vision Transformer inference (the C++ engine of this repository) from Python.

    import vitrt
    m = vitrt.load()                                  # bundled ViT-Ti/16, or any model the CLI loads
    x = m.preprocess(["photo.jpg"])                   # float32 [N, 3, H, W], exactly as the CLI
    logits = m(x)                                     # numpy [N, classes]; torch tensors work too
    m.classify(["photo.jpg"], top_k=5)                # [{"image", "top_k": [(label, index, prob)]}]

Errors raise vitrt.Error (a RuntimeError) with the CLI's message. docs/python.md has the whole API
and the Dask helper (vitrt.dask) for classifying or embedding millions of images on a cluster.
"""
import os as _os

# libgomp reads its spin policy once, when it is loaded (with _vitrt, unless torch loaded it
# first): spin briefly at barriers, then sleep, as the CLI does (tools/main.cpp says why).
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "10000"

from ._vitrt import DeviceUnavailable, Error, default_model_path  # noqa: E402
from .engine import Engine, Prediction, load  # noqa: E402
from .images import list_images  # noqa: E402

__version__ = "0.1.0"
__all__ = ["load", "Engine", "Prediction", "Error", "DeviceUnavailable", "list_images", "default_model_path"]
