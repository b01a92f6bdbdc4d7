"""fastnn.utils: to_categorical, normalize, get_file and the custom-object helpers.

Values are checked by hand and, where tf.keras defines the behaviour, against tf.keras
(those tests skip when TensorFlow is not installed).
"""
import numpy as np
import pytest

from fastnn import utils


@pytest.fixture(scope="module")
def tku():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    return tf.keras.utils


# ---- to_categorical ----------------------------------------------------------------------

def test_to_categorical_hand_worked():
    out = utils.to_categorical([0, 2, 1], num_classes=4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]])


def test_to_categorical_infers_classes_and_drops_trailing_one():
    y = np.array([[3], [0], [1]])
    out = utils.to_categorical(y)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out.argmax(-1), [3, 0, 1])


def test_to_categorical_dtype_and_float_labels():
    out = utils.to_categorical(np.array([1.0, 0.0]), 2, dtype="int32")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])


@pytest.mark.parametrize("y, kwargs, exc, word", [
    ([0, 3], {"num_classes": 3}, ValueError, "y"),
    ([-1, 0], {}, ValueError, "y"),
    ([0.5], {}, ValueError, "y"),
    (["a"], {}, TypeError, "y"),
    ([0, 1], {"num_classes": 0}, ValueError, "num_classes"),
    ([0, 1], {"num_classes": 2.5}, TypeError, "num_classes"),
    ([], {}, ValueError, "num_classes"),
    ([0], {"dtype": "nope"}, TypeError, "dtype"),
])
def test_to_categorical_bad_input(y, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        utils.to_categorical(y, **kwargs)


@pytest.mark.parametrize("y, num_classes", [
    ([0, 1, 2, 3], None), ([0, 1, 2, 3], 6), (np.array([[1], [0], [2]]), None),
    (np.array([[1], [0], [2]]), 5), (np.array([[0, 1], [2, 1]]), None),
    (np.array([[[1]], [[0]]]), 3), (np.array([2]), None), (np.array([[2]]), 4), (3, 5),
    (np.arange(10).reshape(2, 5, 1), None), (np.zeros((0,), np.int64), 3),
    (np.array([1.0, 2.0]), None), (np.array([1, 0], np.uint8), 2),
])
def test_to_categorical_matches_tf_keras(tku, y, num_classes):
    want = tku.to_categorical(y, num_classes)
    got = utils.to_categorical(y, num_classes)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # Keras 3 returns float64, fastnn float32


# ---- normalize ---------------------------------------------------------------------------

def test_normalize_hand_worked():
    out = utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(np.array([[1.0, -3.0]]), order=1),
                               [[0.25, -0.75]])


@pytest.mark.parametrize("x, axis, order", [
    (np.array([3.0, 4.0]), -1, 2),
    (np.array([3.0, 4.0]), 0, 2),
    (np.array([[3.0, 4.0], [0.0, 0.0]], np.float32), -1, 2),
    (np.array([[3.0, 4.0], [0.0, 0.0]], np.float32), 1, 2),
    (np.arange(24.0).reshape(2, 3, 4) - 10, -1, 1),
    (np.arange(24.0).reshape(2, 3, 4) - 10, 1, np.inf),
    (np.arange(24.0).reshape(2, 3, 4) - 10, 2, 3),
    (np.zeros((3, 5), np.float32), -1, 2),
    (np.array([[1, 2, 0], [0, 0, 0]]), -1, 2),
    (np.random.default_rng(0).standard_normal((7, 9)).astype(np.float32), -1, 2),
])
def test_normalize_matches_tf_keras(tku, x, axis, order):
    want = tku.normalize(x, axis=axis, order=order)
    got = utils.normalize(x, axis=axis, order=order)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_normalize_axis0_matches_tf_keras_tensor_path(tku):
    # Keras's NumPy branch rewrites axis=0 to -1 (`axis or -1`) and then broadcasts the
    # wrong way; its tensor branch normalises along axis 0 as documented. fastnn does that.
    import tensorflow as tf
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    x[:, 1] = 0
    want = np.asarray(tku.normalize(tf.constant(x), axis=0))
    np.testing.assert_allclose(utils.normalize(x, axis=0), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("x, kwargs, exc, word", [
    (np.ones(3), {"axis": 1}, ValueError, "axis"),
    (np.ones(3), {"axis": None}, TypeError, "axis"),
    (np.ones(3), {"order": "fro"}, TypeError, "order"),
    (np.array(["a"]), {}, TypeError, "x"),
    (np.float32(2.0), {}, ValueError, "x"),
])
def test_normalize_bad_input(x, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        utils.normalize(x, **kwargs)


# ---- get_file ----------------------------------------------------------------------------

import hashlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import tarfile  # noqa: E402
import zipfile  # noqa: E402

from fastnn.utils import file_utils  # noqa: E402
from tests.conftest import RecordingHandler, serve_directory  # noqa: E402

PAYLOAD = b"fastnn get_file payload\n" * 1000


class _Handler(RecordingHandler):
    def do_GET(self):
        if self.path == "/broken":
            self.server.requests.append(self.path)  # promises more than it sends, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "data.bin").write_bytes(PAYLOAD)
    with serve_directory(root, _Handler) as (httpd, url):
        yield httpd, root, url.rstrip("/")


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _md5(data):
    return hashlib.md5(data).hexdigest()


def _tar(path, files, mode="w:gz", extra=None):
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)


def _zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def test_get_file_downloads_once_with_progress(server, tmp_path, capsys):
    httpd, _, base = server
    cache = tmp_path / "cache"
    path = utils.get_file("data.bin", f"{base}/data.bin", cache_dir=str(cache),
                          file_hash=_sha256(PAYLOAD))
    assert path == str(cache / "datasets" / "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    out = capsys.readouterr().out
    assert f"Downloading data from {base}/data.bin" in out and str(len(PAYLOAD)) in out
    again = utils.get_file("data.bin", f"{base}/data.bin", cache_dir=str(cache),
                           file_hash=_sha256(PAYLOAD))
    assert again == path and httpd.requests == ["/data.bin"]  # served from the cache
    utils.get_file("data.bin", f"{base}/data.bin", cache_dir=str(cache), force_download=True)
    assert len(httpd.requests) == 2
    assert os.listdir(cache / "datasets") == ["data.bin"]  # no temporary files left


def test_get_file_cache_locations(server, tmp_path, monkeypatch):
    _, _, base = server
    monkeypatch.setenv("FASTNN_HOME", str(tmp_path / "home_env"))
    path = utils.get_file(origin=f"{base}/data.bin")  # fname from the URL
    assert path == str(tmp_path / "home_env" / "datasets" / "data.bin")
    monkeypatch.delenv("FASTNN_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    path = utils.get_file("d.bin", f"{base}/data.bin", cache_subdir="models")
    assert path == str(tmp_path / "user" / ".fastnn" / "models" / "d.bin")
    absolute = tmp_path / "elsewhere"
    path = utils.get_file("d.bin", f"{base}/data.bin", cache_subdir=str(absolute))
    assert path == str(absolute / "d.bin")


def test_get_file_hashes(server, tmp_path):
    httpd, _, base = server
    cache = str(tmp_path / "c")
    target = tmp_path / "c" / "datasets" / "data.bin"
    for kwargs in ({"file_hash": _sha256(PAYLOAD)}, {"file_hash": _md5(PAYLOAD)},
                   {"md5_hash": _md5(PAYLOAD)},
                   {"file_hash": _md5(PAYLOAD), "hash_algorithm": "md5"},
                   {"file_hash": _sha256(PAYLOAD).upper(), "hash_algorithm": "sha256"}):
        utils.get_file("data.bin", f"{base}/data.bin", cache_dir=cache, force_download=True,
                       **kwargs)
    with pytest.raises(ValueError, match="sha256 hash.*deleted"):
        utils.get_file("data.bin", f"{base}/data.bin", cache_dir=cache, force_download=True,
                       file_hash=_sha256(b"other"))
    assert not target.exists()
    with pytest.raises(ValueError, match="md5"):
        utils.get_file("data.bin", f"{base}/data.bin", cache_dir=cache, md5_hash=_md5(b"x"))
    assert not target.exists()
    target.write_bytes(b"stale")  # a damaged cached copy is fetched again
    n = len(httpd.requests)
    path = utils.get_file("data.bin", f"{base}/data.bin", cache_dir=cache,
                          file_hash=_sha256(PAYLOAD))
    assert open(path, "rb").read() == PAYLOAD and len(httpd.requests) == n + 1
    assert file_utils.validate_file(path, _sha256(PAYLOAD))
    assert not file_utils.validate_file(path, _md5(b"x"))


def test_get_file_file_urls(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    path = utils.get_file("copy.bin", src.as_uri(), cache_dir=str(tmp_path / "c"),
                          file_hash=_sha256(PAYLOAD))
    assert open(path, "rb").read() == PAYLOAD
    with pytest.raises(OSError, match="origin"):
        utils.get_file("nope.bin", (tmp_path / "missing.bin").as_uri(),
                       cache_dir=str(tmp_path / "c"))


def test_get_file_http_errors_leave_nothing(server, tmp_path):
    _, _, base = server
    cache = tmp_path / "c"
    with pytest.raises(ValueError, match="origin.*404"):
        utils.get_file("x.bin", f"{base}/missing.bin", cache_dir=str(cache))
    with pytest.raises(OSError, match="origin.*broke off|origin.*stopped"):
        utils.get_file("b.bin", f"{base}/broken", cache_dir=str(cache))
    assert os.listdir(cache / "datasets") == []


@pytest.mark.parametrize("suffix, mode", [(".tar.gz", "w:gz"), (".tar.bz2", "w:bz2"),
                                          (".tar", "w"), (".zip", None)])
def test_get_file_extracts_archives(server, tmp_path, suffix, mode):
    _, root, base = server
    files = {"pkg/a.txt": b"alpha", "pkg/sub/b.txt": b"beta"}
    archive = root / f"arch{suffix}"
    _zip(archive, files) if mode is None else _tar(archive, files, mode)
    path = utils.get_file(f"arch{suffix}", f"{base}/arch{suffix}", extract=True,
                          cache_dir=str(tmp_path / "c"))
    assert path == str(tmp_path / "c" / "datasets" / "arch_extracted")
    assert open(os.path.join(path, "pkg", "sub", "b.txt"), "rb").read() == b"beta"
    assert os.path.exists(tmp_path / "c" / "datasets" / f"arch{suffix}")


def test_get_file_untar(server, tmp_path):
    _, root, base = server
    _tar(root / "t.tar.gz", {"x.txt": b"x"})
    path = utils.get_file("t", f"{base}/t.tar.gz", untar=True, cache_dir=str(tmp_path / "c"))
    assert path == str(tmp_path / "c" / "datasets" / "t")
    assert os.path.exists(tmp_path / "c" / "datasets" / "t_archive")
    assert open(os.path.join(path, "x.txt"), "rb").read() == b"x"


def _evil_members():
    link = tarfile.TarInfo("link")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../outside"
    abs_link = tarfile.TarInfo("abs")
    abs_link.type = tarfile.SYMTYPE
    abs_link.linkname = "/etc/passwd"
    dev = tarfile.TarInfo("dev")
    dev.type = tarfile.CHRTYPE
    return [("dotdot", {"../escape.txt": b"x"}, None), ("absolute", {"/tmp/abs.txt": b"x"}, None),
            ("symlink", {}, [link]), ("abs_symlink", {}, [abs_link]), ("device", {}, [dev])]


@pytest.mark.parametrize("label, files, extra", _evil_members(),
                         ids=[m[0] for m in _evil_members()])
def test_get_file_refuses_escaping_tar_members(server, tmp_path, label, files, extra):
    _, root, base = server
    _tar(root / "evil.tar.gz", dict(files, **{"ok.txt": b"ok"}), extra=extra)
    cache = tmp_path / "deep" / "c"
    with pytest.raises(ValueError, match="archive: refusing"):
        utils.get_file("evil.tar.gz", f"{base}/evil.tar.gz", extract=True,
                       cache_dir=str(cache))
    assert not (cache / "datasets" / "evil_extracted").exists()
    assert sorted(os.listdir(cache / "datasets")) == ["evil.tar.gz"]
    assert not (tmp_path / "deep" / "escape.txt").exists()


def test_get_file_refuses_escaping_zip_members(server, tmp_path):
    _, root, base = server
    _zip(root / "evil.zip", {"ok.txt": b"ok", "../../escape.txt": b"x"})
    cache = tmp_path / "c"
    with pytest.raises(ValueError, match="archive: refusing member '../../escape.txt'"):
        utils.get_file("evil.zip", f"{base}/evil.zip", extract=True, cache_dir=str(cache))
    assert not (tmp_path / "escape.txt").exists()
    assert sorted(os.listdir(cache / "datasets")) == ["evil.zip"]


def test_get_file_not_an_archive(server, tmp_path):
    _, _, base = server
    with pytest.raises(ValueError, match="archive_format"):
        utils.get_file("data.bin", f"{base}/data.bin", extract=True,
                       cache_dir=str(tmp_path / "c"))


@pytest.mark.parametrize("kwargs, exc, word", [
    ({"origin": None}, ValueError, "origin"),
    ({"origin": "gopher://x/y"}, ValueError, "origin"),
    ({"fname": None, "origin": "http://127.0.0.1:9/"}, ValueError, "fname"),
    ({"fname": "a/b.bin"}, ValueError, "fname"),
    ({"fname": 3}, TypeError, "fname"),
    ({"file_hash": "xyz"}, ValueError, "file_hash"),
    ({"file_hash": "ab" * 20}, ValueError, "file_hash"),
    ({"hash_algorithm": "sha1"}, ValueError, "hash_algorithm"),
    ({"archive_format": "rar"}, ValueError, "archive_format"),
    ({"untar": "yes"}, TypeError, "untar"),
    ({"cache_subdir": 5}, TypeError, "cache_subdir"),
])
def test_get_file_bad_arguments(tmp_path, kwargs, exc, word):
    args = {"fname": "f.bin", "origin": "http://127.0.0.1:9/f.bin",
            "cache_dir": str(tmp_path)}
    args.update(kwargs)
    with pytest.raises(exc, match=word):
        utils.get_file(**args)


def test_get_file_paths_match_tf_keras(tku, server, tmp_path):
    _, root, base = server
    _tar(root / "t.tar.gz", {"d/x.txt": b"x"})
    _zip(root / "z.zip", {"y.txt": b"y"})
    cases = [dict(fname="data.bin", origin=f"{base}/data.bin"),
             dict(fname=None, origin=f"{base}/data.bin"),
             dict(fname="t.tar.gz", origin=f"{base}/t.tar.gz", extract=True),
             dict(fname=None, origin=f"{base}/t.tar.gz", extract=True),
             dict(fname="t", origin=f"{base}/t.tar.gz", untar=True),
             dict(fname="z.zip", origin=f"{base}/z.zip", extract=True)]
    for i, case in enumerate(cases):
        (tmp_path / f"f{i}").mkdir()
        (tmp_path / f"k{i}").mkdir()  # Keras falls back to /tmp/.keras for a missing folder
        ours = utils.get_file(cache_dir=str(tmp_path / f"f{i}"), **case)
        theirs = tku.get_file(cache_dir=str(tmp_path / f"k{i}"), **case)
        rel_ours = os.path.relpath(ours, tmp_path / f"f{i}")
        rel_theirs = os.path.relpath(theirs, tmp_path / f"k{i}")
        assert rel_ours == rel_theirs, case
        tree = sorted(os.path.relpath(os.path.join(d, f), tmp_path / f"f{i}")
                      for d, _, fs in os.walk(tmp_path / f"f{i}") for f in fs)
        tree_k = sorted(os.path.relpath(os.path.join(d, f), tmp_path / f"k{i}")
                        for d, _, fs in os.walk(tmp_path / f"k{i}") for f in fs)
        assert tree == tree_k, case
