"""vitrt.Engine: one loaded model. Thin over the C++ engine (_vitrt); see docs/python.md."""
import os
from typing import NamedTuple

import numpy as np

from . import _vitrt
from ._vitrt import Error
from .images import as_array, image_items


class Prediction(NamedTuple):
    """One of an image's top-k classes (softmax probability, as `vitrt classify` prints it)."""
    label: str
    index: int
    prob: float


def load(path=None, device="cpu", precision="f32", threads=None, image_size=None, arch=None,
         max_image_pixels=None):
    """Loads a model: any form the CLI loads (timm / HF safetensors file or directory, transformers
    ViT directory, torchvision state dict, Google .npz); path None is the bundled ViT-Ti/16
    ($VITRT_MODEL when set). threads None = all cores. Errors raise vitrt.Error."""
    return Engine(path, device=device, precision=precision, threads=threads, image_size=image_size, arch=arch,
                  max_image_pixels=max_image_pixels)


def _count(value, name):
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise Error(f"{name} must be an integer or None, got {value!r}")
    return int(value)


def _float32_value(v):
    """The shortest decimal of a float32 (0.485, not 0.48500001430511475), as timm writes it."""
    return float(repr(np.float32(v)))


class Engine:
    """A loaded model. Calls from several Python threads are safe: the engine runs one batch at a
    time, and the GIL is released while images decode and while it runs."""

    def __init__(self, path=None, *, device="cpu", precision="f32", threads=None, image_size=None, arch=None,
                 max_image_pixels=None):
        self.path = _vitrt.default_model_path() if path is None else os.fsdecode(path)
        self.device, self.precision = device, precision
        self.threads = _count(threads, "threads")  # 0 = all cores
        self._e = _vitrt.Engine.load(os.fsencode(self.path), device, precision, self.threads,
                                     _count(image_size, "image_size"), arch or "", _count(max_image_pixels, "max_image_pixels"))
        self._labels = list(self._e.labels)
        dc = self._e.data_config()
        dc["mean"] = tuple(_float32_value(v) for v in dc["mean"])
        dc["std"] = tuple(_float32_value(v) for v in dc["std"])
        self._data_config = dc

    # --- what the model is -------------------------------------------------------------------
    @property
    def num_classes(self):
        return self._e.num_classes

    @property
    def labels(self):
        """Class names, index order (ImageNet's for 1000 classes without names in the checkpoint)."""
        return list(self._labels)

    @property
    def input_shape(self):
        """(3, H, W) of one preprocessed image."""
        return self._e.input_shape

    @property
    def data_config(self):
        """timm's data config (input_size, interpolation, mean, std, crop_pct, crop_mode): what
        preprocess() applies; timm.data.create_transform(**m.data_config) builds the same transform."""
        return dict(self._data_config)

    def info(self):
        """Architecture, parameters, FLOPs per image, dims, preprocessing, load notes, backend."""
        return self._e.info()

    def output_shape(self, output="logits"):
        """Per-image shape of an output: "logits", "embedding" or "tokens"."""
        return self._e.output_shape(output)

    def __repr__(self):
        return (f"vitrt.Engine({self.path!r}, device={self.device!r}, precision={self.precision!r}, "
                f"threads={self.threads or None})")

    # --- tensors in, tensors out -------------------------------------------------------------
    def __call__(self, x):
        """Logits [N, classes] (numpy float32) of preprocessed images x: float32 C-contiguous
        [N, 3, H, W] (numpy, torch CPU tensor, any DLPack or buffer object), read in place."""
        return self._e.run(as_array(x), "logits")

    def embed(self, x):
        """Pooled pre-logits features [N, D] (timm forward_head(..., pre_logits=True))."""
        return self._e.run(as_array(x), "embedding")

    def forward_features(self, x):
        """The token sequence after the final norm [N, T, D] (timm forward_features)."""
        return self._e.run(as_array(x), "tokens")

    # --- images ------------------------------------------------------------------------------
    def preprocess(self, images):
        """Decodes and preprocesses images exactly as the CLI does: float32 [N, 3, H, W].

        images: a path (str / os.PathLike), the bytes of a JPEG/PNG file, or a list of them. An
        image that cannot be read raises vitrt.Error with the CLI's message (classify() instead
        reports it per image)."""
        items, names = image_items(images)
        x = np.empty((len(items),) + tuple(self.input_shape), np.float32)
        for err in self._e.preprocess_into(items, names, x):
            if err is not None:
                raise Error(err)
        return x

    def classify(self, images, top_k=5, batch_size=8, logits=False):
        """Top-k classes per image, as `vitrt classify --json`: one dict per input, in order,
        {"image": name, "top_k": [Prediction(label, index, prob), ...]} (+ "logits" when asked),
        or {"image": name, "error": message} for an image that failed; the others still run."""
        top_k = _count(top_k, "top_k")
        if top_k < 1:
            raise Error(f"top_k must be at least 1 (got {top_k})")
        out = []
        for name, row, err in self._run_images(images, batch_size, "logits"):
            if err is not None:
                out.append({"image": name, "error": err})
                continue
            r = {"image": name, "top_k": [Prediction(*p) for p in self._e.top_k(row, top_k)]}
            if logits:
                r["logits"] = row
            out.append(r)
        return out

    def embed_images(self, images, batch_size=8, tokens=False):
        """embed() for image files or bytes, with classify()'s per-image errors: one dict per input,
        in order, {"image": name, "embedding": float32 [D] (or [T, D] with tokens=True)} or
        {"image": name, "error": message}."""
        out = []
        for name, row, err in self._run_images(images, batch_size, "tokens" if tokens else "embedding"):
            out.append({"image": name, "error": err} if err is not None else {"image": name, "embedding": row})
        return out

    def _run_images(self, images, batch_size, output):
        """(name, output row, None) or (name, None, error) per image, in order."""
        batch_size = _count(batch_size, "batch_size")
        if batch_size < 1:
            raise Error(f"batch_size must be at least 1 (got {batch_size})")
        items, names = image_items(images)
        for start in range(0, len(items), batch_size):
            yield from self._run_batch(items[start:start + batch_size], names[start:start + batch_size], output)

    def _run_batch(self, items, names, output):
        x = np.empty((len(items),) + tuple(self.input_shape), np.float32)
        errors = self._e.preprocess_into(items, names, x)
        ok = [i for i, e in enumerate(errors) if e is None]
        if ok:  # the images that decoded, as one batch (what the CLI does)
            y = self._e.run(x if len(ok) == len(items) else np.ascontiguousarray(x[ok]), output)
        k = 0
        for name, err in zip(names, errors):
            if err is not None:
                yield name, None, err
                continue
            row, k = y[k], k + 1
            if not np.isfinite(row).all():
                yield name, None, (name + ": the model produced non-finite outputs (NaN or Inf) for this image; the "
                                   "weights may hold NaN/Inf, or the activations overflow at this precision")
                continue
            yield name, row, None
