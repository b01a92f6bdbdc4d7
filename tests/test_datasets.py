"""fastnn.datasets: where mnist and fashion_mnist look for their files ($FASTNN_DATA_DIR,
then Keras's cache), and their download through get_file from a local HTTP server serving
copies of the real files, with the hash checks (the arrays against tf.keras's are in
tests/parity/test_datasets_parity.py)."""
import gzip
import hashlib
import os
import pathlib
import shutil

import numpy as np
import pytest

from fastnn.datasets import fashion_mnist, mnist
from tests.conftest import serve_directory

PREPARED = pathlib.Path(os.environ.get("FASTNN_DATA_DIR") or
                        pathlib.Path.home() / ".fastnn" / "datasets")


def _need_prepared():
    files = [PREPARED / "mnist.npz"] + [PREPARED / "fashion-mnist" / f
                                        for f in fashion_mnist.FILES]
    if not all(f.exists() for f in files):
        pytest.skip("MNIST / Fashion-MNIST are not prepared: run "
                    "../shared/data/prepare-datasets and set FASTNN_DATA_DIR (CI does both)")


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty data folder, Keras cache and fastnn cache: nothing is found locally."""
    dirs = {k: tmp_path / k for k in ("data", "keras", "fastnn_home", "home")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("FASTNN_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("KERAS_HOME", str(dirs["keras"]))
    monkeypatch.setenv("FASTNN_HOME", str(dirs["fastnn_home"]))
    monkeypatch.setenv("HOME", str(dirs["home"]))
    return dirs


def _fake_mnist(path, n=3, value=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=np.full((n, 28, 28), value, np.uint8),
             y_train=np.arange(n, dtype=np.uint8), x_test=np.full((1, 28, 28), value, np.uint8),
             y_test=np.zeros(1, np.uint8))


def _fake_fashion(folder, n=2, value=0):
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.array([0x801, n], ">u4").tobytes() + bytes(range(n))
    images = np.array([0x803, n, 28, 28], ">u4").tobytes() + bytes([value]) * (n * 784)
    for name, data in zip(fashion_mnist.FILES, [labels, images, labels, images]):
        with gzip.open(folder / name, "wb") as f:
            f.write(data)


# ---- where the files are looked for ----------------------------------------------------

def test_mnist_shapes_and_dtypes_of_the_real_data():
    _need_prepared()
    (x, y), (xt, yt) = mnist.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,),
                                                      (10000, 28, 28), (10000,))
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert x.max() == 255 and sorted(set(y.tolist())) == list(range(10))
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,),
                                                      (10000, 28, 28), (10000,))
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8


def test_data_dir_first_then_the_keras_cache(homes, monkeypatch):
    monkeypatch.setattr(mnist, "_ORIGIN", "http://127.0.0.1:9/")  # never reached
    monkeypatch.setattr(fashion_mnist, "_ORIGIN", "http://127.0.0.1:9/")
    _fake_mnist(homes["keras"] / "datasets" / "mnist.npz", n=4)
    _fake_fashion(homes["keras"] / "datasets" / "fashion-mnist", n=5)
    assert len(mnist.load_data()[0][0]) == 4
    assert len(fashion_mnist.load_data()[0][0]) == 5
    _fake_mnist(homes["data"] / "mnist.npz", n=2)
    _fake_fashion(homes["data"] / "fashion-mnist", n=3)
    assert len(mnist.load_data()[0][0]) == 2
    assert len(fashion_mnist.load_data()[0][0]) == 3
    # without KERAS_HOME, Keras's cache is ~/.keras/datasets
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.delenv("FASTNN_DATA_DIR")
    _fake_mnist(homes["home"] / ".keras" / "datasets" / "mine.npz", n=6)
    assert len(mnist.load_data("mine.npz")[0][0]) == 6
    # without FASTNN_DATA_DIR, the data folder is $FASTNN_HOME/datasets
    _fake_mnist(homes["fastnn_home"] / "datasets" / "mine.npz", n=7)
    assert len(mnist.load_data("mine.npz")[0][0]) == 7


def test_mnist_path_argument(homes, tmp_path):
    _fake_mnist(tmp_path / "elsewhere" / "digits.npz", n=5)
    assert len(mnist.load_data(str(tmp_path / "elsewhere" / "digits.npz"))[0][0]) == 5
    assert len(mnist.load_data(tmp_path / "elsewhere" / "digits.npz")[0][0]) == 5
    _fake_mnist(homes["data"] / "sub" / "d.npz", n=1)
    assert len(mnist.load_data("sub/d.npz")[0][0]) == 1
    with pytest.raises(TypeError, match="^path: expected a file name or path"):
        mnist.load_data(3)


def test_mnist_rejects_damaged_files(homes):
    (homes["data"] / "bad.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match=r"^path: .*bad\.npz' is not a readable \.npz file"):
        mnist.load_data("bad.npz")
    np.savez(homes["data"] / "keys.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="is not an MNIST file: it has no y_train, x_test, "
                                         "y_test"):
        mnist.load_data("keys.npz")
    np.savez(homes["data"] / "shape.npz", x_train=np.zeros((2, 27, 28), np.uint8),
             y_train=np.zeros(2), x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(ValueError, match=r"holds x_train of shape \(2, 27, 28\), expected "
                                         r"\(n, 28, 28\)"):
        mnist.load_data("shape.npz")
    np.savez(homes["data"] / "count.npz", x_train=np.zeros((2, 28, 28), np.uint8),
             y_train=np.zeros(3), x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(ValueError, match="holds 2 train images but 3 labels"):
        mnist.load_data("count.npz")


# ---- downloads ---------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path):
    """A local copy of Keras's download folder: the prepared real files."""
    _need_prepared()
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(PREPARED / "mnist.npz", root / "mnist.npz")
    for f in fashion_mnist.FILES:
        shutil.copy(PREPARED / "fashion-mnist" / f, root / f)
    with serve_directory(root) as (httpd, url):
        yield httpd, root, url


def _digest(path, algorithm):
    return hashlib.new(algorithm, pathlib.Path(path).read_bytes()).hexdigest()


def test_the_known_hashes_are_keras_and_zalando_digests():
    assert mnist._SHA256 == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert mnist._ORIGIN + "mnist.npz" == \
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
    assert fashion_mnist._MD5["train-images-idx3-ubyte.gz"] == \
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert sorted(fashion_mnist._MD5) == sorted(fashion_mnist.FILES)


def test_mnist_download_with_a_hash_mismatch_keeps_nothing(homes, server, monkeypatch, capsys):
    httpd, root, base = server
    monkeypatch.setattr(mnist, "_ORIGIN", base)
    # the prepared copy is not Keras's file byte for byte: Keras's sha256 must refuse it
    assert _digest(root / "mnist.npz", "sha256") != mnist._SHA256
    with pytest.raises(ValueError, match=f"^file_hash: the downloaded file's sha256 hash is "
                                         f"{_digest(root / 'mnist.npz', 'sha256')}, expected "
                                         f"{mnist._SHA256}"):
        mnist.load_data()
    assert httpd.requests == ["/mnist.npz"]
    assert "Downloading data from " + base + "mnist.npz" in capsys.readouterr().out
    leftovers = [p for p in homes["fastnn_home"].rglob("*") if p.is_file()]
    assert leftovers == []


def test_mnist_downloads_once_and_checks_the_hash(homes, server, monkeypatch):
    httpd, root, base = server
    monkeypatch.setattr(mnist, "_ORIGIN", base)
    monkeypatch.setattr(mnist, "_SHA256", _digest(root / "mnist.npz", "sha256"))
    (x, y), (xt, yt) = mnist.load_data()
    cached = homes["fastnn_home"] / "datasets" / "mnist.npz"
    assert cached.read_bytes() == (root / "mnist.npz").read_bytes()
    with np.load(PREPARED / "mnist.npz") as ref:
        np.testing.assert_array_equal(x, ref["x_train"])
        np.testing.assert_array_equal(yt, ref["y_test"])
    mnist.load_data()
    assert httpd.requests == ["/mnist.npz"]  # the second call read the cache
    # a cached file that no longer matches the hash is fetched again
    cached.write_bytes(b"damaged")
    assert len(mnist.load_data()[0][0]) == 60000
    assert httpd.requests == ["/mnist.npz"] * 2


def test_fashion_mnist_download_with_a_hash_mismatch_keeps_nothing(homes, server, monkeypatch):
    httpd, root, base = server
    monkeypatch.setattr(fashion_mnist, "_ORIGIN", base)
    # Debian's copies are recompressed: Zalando's md5 digests must refuse them
    with pytest.raises(ValueError, match="^file_hash: the downloaded file's md5 hash is "
                                         f"{_digest(root / fashion_mnist.FILES[0], 'md5')}"):
        fashion_mnist.load_data()
    assert httpd.requests == ["/" + fashion_mnist.FILES[0]]
    assert [p for p in homes["fastnn_home"].rglob("*") if p.is_file()] == []


def test_fashion_mnist_downloads_into_keras_layout(homes, server, monkeypatch):
    httpd, root, base = server
    monkeypatch.setattr(fashion_mnist, "_ORIGIN", base)
    monkeypatch.setattr(fashion_mnist, "_MD5", {f: _digest(root / f, "md5")
                                                for f in fashion_mnist.FILES})
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert x.shape == (60000, 28, 28) and yt.shape == (10000,)
    folder = homes["fastnn_home"] / "datasets" / "fashion-mnist"
    assert sorted(os.listdir(folder)) == sorted(fashion_mnist.FILES)
    fashion_mnist.load_data()
    assert sorted(httpd.requests) == sorted("/" + f for f in fashion_mnist.FILES)
    monkeypatch.setenv("FASTNN_DATA_DIR", str(PREPARED))
    (x2, y2), (xt2, yt2) = fashion_mnist.load_data()
    for a, b in ((x, x2), (y, y2), (xt, xt2), (yt, yt2)):
        np.testing.assert_array_equal(a, b)
