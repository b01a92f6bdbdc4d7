"""fastnn.datasets against keras.datasets: the same arrays from the same files."""
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from fastnn.datasets import fashion_mnist, mnist

PREPARED = pathlib.Path(os.environ.get("FASTNN_DATA_DIR") or
                        pathlib.Path.home() / ".fastnn" / "datasets")


def test_fashion_mnist_load_data_equals_keras(tmp_path, monkeypatch):
    folder = pathlib.Path(os.environ.get("FASTNN_DATA_DIR") or
                          pathlib.Path.home() / ".fastnn" / "datasets") / "fashion-mnist"
    if not all((folder / f).exists() for f in fashion_mnist.FILES):
        pytest.skip("Fashion-MNIST is not prepared: run ../shared/data/prepare-datasets and "
                    "set FASTNN_DATA_DIR (CI does both)")
    # Keras reads the same four files from its cache folder, where links to them are put.
    cache = tmp_path / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for f in fashion_mnist.FILES:
        (cache / f).symlink_to(folder / f)
    from keras.src.backend import config
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path))
    theirs = tf.keras.datasets.fashion_mnist.load_data()
    ours = fashion_mnist.load_data()
    for (a, b), (c, d) in [(ours[0], theirs[0]), (ours[1], theirs[1])]:
        for mine, ref in ((a, c), (b, d)):
            assert mine.dtype == ref.dtype == np.uint8 and mine.shape == ref.shape
            np.testing.assert_array_equal(mine, ref)
    (x, y), (xt, yt) = ours
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28)
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10


def test_fashion_mnist_rejects_a_damaged_file(tmp_path, monkeypatch):
    import gzip
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    labels = np.array([0x801, 3], ">u4").tobytes() + bytes([1, 2, 3])
    images = np.array([0x803, 3, 28, 28], ">u4").tobytes() + bytes(3 * 28 * 28)
    for name, data in zip(fashion_mnist.FILES, [labels, images, labels, images[:-1]]):
        with gzip.open(folder / name, "wb") as f:
            f.write(data)
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="t10k-images.*promises 2352 bytes, the file holds 2351"):
        fashion_mnist.load_data()
    with gzip.open(folder / fashion_mnist.FILES[3], "wb") as f:
        f.write(images)
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert x.shape == (3, 28, 28) and y.tolist() == [1, 2, 3]


def _same(ours, theirs):
    for (a, b), (c, d) in [(ours[0], theirs[0]), (ours[1], theirs[1])]:
        for mine, ref in ((a, c), (b, d)):
            assert mine.dtype == ref.dtype == np.uint8 and mine.shape == ref.shape
            np.testing.assert_array_equal(mine, ref)


def test_mnist_load_data_equals_keras(monkeypatch):
    path = PREPARED / "mnist.npz"
    if not path.exists():
        pytest.skip("MNIST is not prepared: run ../shared/data/prepare-datasets and set "
                    "FASTNN_DATA_DIR (CI does both)")
    # Keras would download its own copy (the prepared file has another sha256): hand it the
    # prepared file instead, so that both read the same bytes
    from keras.src.datasets import mnist as keras_mnist
    asked = []
    monkeypatch.setattr(keras_mnist, "get_file",
                        lambda fname, origin, file_hash: asked.append((fname, origin,
                                                                       file_hash)) or str(path))
    theirs = tf.keras.datasets.mnist.load_data()
    assert asked == [("mnist.npz", mnist._ORIGIN + "mnist.npz", mnist._SHA256)]
    ours = mnist.load_data()
    _same(ours, theirs)
    assert ours[0][0].shape == (60000, 28, 28) and ours[1][0].shape == (10000, 28, 28)


def test_both_read_the_keras_cache(tmp_path, monkeypatch):
    """Files tf.keras finds in its cache, fastnn finds there too (after $FASTNN_DATA_DIR)."""
    folder = PREPARED / "fashion-mnist"
    if not all((folder / f).exists() for f in fashion_mnist.FILES) or \
            not (PREPARED / "mnist.npz").exists():
        pytest.skip("the datasets are not prepared: run ../shared/data/prepare-datasets")
    cache = tmp_path / "keras" / "datasets"
    (cache / "fashion-mnist").mkdir(parents=True)
    for f in fashion_mnist.FILES:
        (cache / "fashion-mnist" / f).symlink_to(folder / f)
    (cache / "mnist.npz").symlink_to(PREPARED / "mnist.npz")
    from keras.src.backend import config
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("FASTNN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("FASTNN_HOME", str(tmp_path / "fastnn"))
    monkeypatch.setattr(fashion_mnist, "_ORIGIN", "http://127.0.0.1:9/")  # no download
    monkeypatch.setattr(mnist, "_ORIGIN", "http://127.0.0.1:9/")
    _same(fashion_mnist.load_data(), tf.keras.datasets.fashion_mnist.load_data())
    with np.load(PREPARED / "mnist.npz") as f:
        ref = ((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"]))
    _same(mnist.load_data(), ref)
    assert not (tmp_path / "fastnn").exists() or not any((tmp_path / "fastnn").rglob("*.*"))
