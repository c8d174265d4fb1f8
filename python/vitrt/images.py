"""What the engine accepts as images and tensors, turned into what the binding takes, never copying."""
import os

import numpy as np

from ._vitrt import Error

_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def list_images(paths):
    """The CLI's image listing: files are kept as given (a missing one fails later, per image);
    directories are walked recursively for .jpg/.jpeg/.png (any case), sorted."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for p in paths:
        p = os.fspath(p)
        if not os.path.isdir(p):
            out.append(p)
            continue
        found = []
        for root, _dirs, files in os.walk(p):
            found += [os.path.join(root, f) for f in files if f.lower().endswith(_IMAGE_EXTENSIONS)]
        out += sorted(found)
    return out


def image_items(images):
    """(items, names) for the binding: paths as str, encoded images as bytes-like objects (bytes,
    bytearray, memoryview, a uint8 numpy array of a file's content), each named for messages.

    A single path or bytes object (or 1-D uint8 array) is one image; otherwise an iterable of them."""
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview)) or (
            isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 1):
        images = [images]
    items, names = [], []
    for i, im in enumerate(images):
        if isinstance(im, os.PathLike):
            im = os.fsdecode(im)
        if isinstance(im, str):
            names.append(im)
        elif _is_buffer(im):
            names.append(f"<bytes {i}>")
        else:
            raise Error(f"image {i} is a {type(im).__name__}; expected a path (str or os.PathLike) or the "
                        "bytes of a JPEG/PNG file")
        items.append(im)
    return items, names


def _is_buffer(obj):
    try:
        memoryview(obj)
        return True
    except TypeError:
        return False


def as_array(x):
    """A numpy view of x without copying: numpy arrays as they are, torch tensors (and anything
    else with __dlpack__) through numpy.from_dlpack, other buffer-protocol objects through
    numpy.asarray. The binding then checks dtype, shape and layout."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (RuntimeError, TypeError, BufferError) as e:
            raise Error(f"cannot read this {type(x).__name__} in place through DLPack: {e} "
                        "(CPU tensors only; .detach() a tensor that requires grad)") from e
    if _is_buffer(x) or hasattr(x, "__array_interface__"):
        return np.asarray(x)
    raise Error(f"expected a float32 array [N, 3, H, W] (numpy, a torch CPU tensor, or any DLPack or "
                f"buffer-protocol object); got {type(x).__name__}")
