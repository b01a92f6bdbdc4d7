"""fastnn.datasets against keras.datasets: the same arrays from the same files."""
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from fastnn.datasets import fashion_mnist


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
