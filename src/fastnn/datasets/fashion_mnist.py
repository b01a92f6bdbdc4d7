"""Fashion-MNIST, in Keras's layout: ((x_train, y_train), (x_test, y_test)) of uint8 arrays."""
import gzip
import os

import numpy as np

from fastnn.datasets import _files

__all__ = ["load_data"]

# Keras's copy of Zalando's four files. Keras checks no digest for them; fastnn checks the
# md5 digests Zalando publishes (github.com/zalandoresearch/fashion-mnist), which are those
# of the very files Keras serves (the same names and byte sizes: 29515, 26421880, 5148 and
# 4422102). Tests point _ORIGIN at a local server; it is not a setting.
_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
_MD5 = {"train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79"}
_FOLDER = "fashion-mnist"  # the folder Keras caches them in, under datasets/


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
    6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot. Each of the four original IDX files
    (``{train,t10k}-{labels-idx1,images-idx3}-ubyte.gz``) is looked for in the folder
    ``fashion-mnist`` of $FASTNN_DATA_DIR (or ~/.fastnn/datasets), then of Keras's cache
    (~/.keras/datasets, or $KERAS_HOME/datasets); otherwise it is downloaded once from
    Keras's public copy, checked against Zalando's published md5 digest, and cached in
    ~/.fastnn/datasets/fashion-mnist (or under $FASTNN_HOME).

    Returns:
        (x_train, y_train), (x_test, y_test): uint8 arrays of shapes (60000, 28, 28),
        (60000,), (10000, 28, 28) and (10000,).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_data()
    """
    paths = [_files.find_or_download(os.path.join(_FOLDER, f), _ORIGIN + f, _MD5[f])
             for f in FILES]
    y_train = _read_idx(paths[0], 0x801, (None,))
    x_train = _read_idx(paths[1], 0x803, (None, 28, 28))
    y_test = _read_idx(paths[2], 0x801, (None,))
    x_test = _read_idx(paths[3], 0x803, (None, 28, 28))
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{os.path.dirname(paths[0])}: the image and label files hold "
                         f"different numbers of items")
    return (x_train, y_train), (x_test, y_test)
