"""MNIST, in Keras's layout: ((x_train, y_train), (x_test, y_test)) of uint8 arrays."""
import os
import tempfile
import urllib.request

import numpy as np

__all__ = ["load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def _data_dir():
    return os.environ.get("FASTNN_DATA_DIR") or os.path.join(
        os.environ.get("FASTNN_HOME") or os.path.expanduser("~/.fastnn"), "datasets")


def load_data(path="mnist.npz"):
    """Load MNIST: 60,000 training and 10,000 test images of 28x28 digits.

    The file is read from $FASTNN_DATA_DIR (or ~/.fastnn/datasets) when present there, and
    otherwise downloaded once from Keras's public copy and cached.

    Args:
        path: the file name in the data folder. Defaults to "mnist.npz".

    Returns:
        (x_train, y_train), (x_test, y_test): uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28) and (10000,).
    """
    folder = _data_dir()
    full = path if os.path.isabs(path) else os.path.join(folder, path)
    if not os.path.exists(full):
        os.makedirs(os.path.dirname(full), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(full), suffix=".part")
        os.close(fd)
        try:
            urllib.request.urlretrieve(ORIGIN, tmp)
            os.replace(tmp, full)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    with np.load(full, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
