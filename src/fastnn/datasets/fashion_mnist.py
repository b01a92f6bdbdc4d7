"""Fashion-MNIST, in Keras's layout: ((x_train, y_train), (x_test, y_test)) of uint8 arrays."""
import gzip
import os
import tempfile
import urllib.request

import numpy as np

from fastnn.datasets.mnist import _data_dir

__all__ = ["load_data"]

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def _fetch(folder, fname):
    full = os.path.join(folder, fname)
    if not os.path.exists(full):
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        os.close(fd)
        try:
            urllib.request.urlretrieve(ORIGIN + fname, tmp)
            os.replace(tmp, full)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return full


def _read_idx(path, magic, dims):
    """One gzipped IDX file of unsigned bytes: the header is checked, the data returned."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = np.frombuffer(raw, ">u4", count=1 + len(dims))
    if int(header[0]) != magic:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes with {len(dims)} "
                         f"dimension(s) (magic number {int(header[0]):#x}, expected "
                         f"{magic:#x})")
    shape = tuple(int(n) for n in header[1:])
    if shape[1:] != dims[1:]:
        raise ValueError(f"{path}: expected items of shape {dims[1:]}, the file holds "
                         f"{shape[1:]}")
    data = np.frombuffer(raw, np.uint8, offset=4 * len(header))
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: the header promises {int(np.prod(shape))} bytes, the file "
                         f"holds {data.size}")
    return data.reshape(shape)


def load_data():
    """Load Fashion-MNIST: 60,000 training and 10,000 test images of 28x28 clothing items.

    The labels are 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
    6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot. The four original IDX files
    (``{train,t10k}-{labels-idx1,images-idx3}-ubyte.gz``) are read from the folder
    ``fashion-mnist`` in $FASTNN_DATA_DIR (or ~/.fastnn/datasets) when present there, and
    otherwise downloaded once from Keras's public copy and cached there.

    Returns:
        (x_train, y_train), (x_test, y_test): uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28) and (10000,).
    """
    folder = os.path.join(_data_dir(), "fashion-mnist")
    paths = [_fetch(folder, f) for f in FILES]
    y_train = _read_idx(paths[0], 0x801, (None,))
    x_train = _read_idx(paths[1], 0x803, (None, 28, 28))
    y_test = _read_idx(paths[2], 0x801, (None,))
    x_test = _read_idx(paths[3], 0x803, (None, 28, 28))
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{folder}: the image and label files hold different numbers of "
                         f"items")
    return (x_train, y_train), (x_test, y_test)
