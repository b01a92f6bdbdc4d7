"""MNIST, in Keras's layout: ((x_train, y_train), (x_test, y_test)) of uint8 arrays."""
import zipfile

import numpy as np

from fastnn.datasets import _files

__all__ = ["load_data"]

# Keras's copy and its sha256 (keras.datasets.mnist.load_data checks the same digest).
# Tests point _ORIGIN at a local server; it is not a setting.
_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FNAME = "mnist.npz"
_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28),
           "y_test": (10000,)}


def load_data(path="mnist.npz"):
    """Load MNIST: 60,000 training and 10,000 test images of 28x28 handwritten digits.

    The file is looked for in $FASTNN_DATA_DIR (or ~/.fastnn/datasets), then in Keras's
    cache (~/.keras/datasets, or $KERAS_HOME/datasets); otherwise it is downloaded once
    from Keras's public copy, checked against the sha256 digest Keras uses, and cached in
    ~/.fastnn/datasets (or $FASTNN_HOME/datasets).

    Args:
        path: The file's name relative to those folders, or an absolute path. Defaults to
            "mnist.npz".

    Returns:
        (x_train, y_train), (x_test, y_test): uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28) and (10000,); pixels 0-255, labels 0-9.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
        >>> x_train.shape
        (60000, 28, 28)
    """
    full = _files.find_or_download(path, _ORIGIN + _FNAME, _SHA256)
    if not zipfile.is_zipfile(full):
        raise ValueError(f"path: {full!r} is not a readable .npz file (not a zip archive)")
    try:
        with np.load(full, allow_pickle=False) as f:
            names = f.files
            arrays = {k: f[k] for k in _SHAPES if k in names}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"path: {full!r} is not a readable .npz file ({e})") from None
    missing = [k for k in _SHAPES if k not in arrays]
    if missing:
        raise ValueError(f"path: {full!r} is not an MNIST file: it has no "
                         f"{', '.join(missing)} (it holds {sorted(names)})")
    for k, a in arrays.items():
        dims = _SHAPES[k]
        if a.ndim != len(dims) or a.shape[1:] != dims[1:]:
            want = "(n" + "".join(f", {d}" for d in dims[1:]) + (",)" if len(dims) == 1 else ")")
            raise ValueError(f"path: {full!r} holds {k} of shape {a.shape}, expected {want}")
    for part in ("train", "test"):
        if len(arrays["x_" + part]) != len(arrays["y_" + part]):
            raise ValueError(f"path: {full!r} holds {len(arrays['x_' + part])} {part} images "
                             f"but {len(arrays['y_' + part])} labels")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
