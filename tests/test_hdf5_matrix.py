"""fastnn.utils.HDF5Matrix: indexing against NumPy on the same rows, and fit / evaluate /
predict streaming it from disk batch by batch (never loading it whole) with the same
results as the same data in memory."""
import pickle
import tracemalloc

import numpy as np
import pytest

import fastnn
from fastnn import utils
from fastnn.engine import data_adapter

h5py = pytest.importorskip("h5py")
HDF5Matrix = utils.HDF5Matrix


@pytest.fixture
def h5file(tmp_path):
    rng = np.random.default_rng(0)
    data = {"x": rng.integers(0, 256, (300, 4, 5)).astype(np.uint8),
            "y": rng.integers(0, 3, 300).astype(np.int32),
            "y2": rng.integers(0, 3, (300, 1)).astype(np.int64),
            "w": rng.uniform(0.5, 2.0, 300)}
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            f[k] = v
        f.create_group("grp")["inner"] = np.arange(6.0)
        f["scalar"] = 3.0
        f["text"] = np.array([b"a", b"b"])
    return path, data


class _Reads:
    """Stands in for an h5py dataset and records every index it is read with."""

    def __init__(self, dset):
        self.dset, self.keys = dset, []
        self.shape, self.dtype, self.ndim = dset.shape, dset.dtype, dset.ndim

    def __getitem__(self, key):
        self.keys.append(key)
        return self.dset[key]

    def rows_read(self):
        total = 0
        for k in self.keys:
            total += len(range(*k.indices(self.shape[0]))) if isinstance(k, slice) else len(k)
        return total


def _watch(m):
    m.data = _Reads(m.data)
    return m.data


# ---- the array interface, against NumPy -------------------------------------------------

KEYS = [0, 7, -1, -120, np.int64(3), slice(None), slice(10, 20), slice(-5, None),
        slice(3, 90, 7), slice(None, None, -4), slice(50, 10, -3), slice(200, 400),
        slice(5, 5), [4, 2, 2, 117], [], np.array([1, 119]), np.array([-1, 0]),
        np.arange(120) % 3 == 0, (slice(2, 6), 1), (3, slice(1, 4)), (slice(None), ..., 2),
        Ellipsis, ()]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k)[:40] for k in KEYS])
def test_indexing_equals_numpy_on_the_same_rows(h5file, key):
    path, data = h5file
    m = HDF5Matrix(path, "x", start=100, end=220)
    ref = data["x"][100:220]
    got = m[key]
    want = ref[np.asarray(key, dtype=np.int64)] if isinstance(key, list) else ref[key]
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_normalizer_applies_to_the_rows_read(h5file):
    path, data = h5file
    seen = []

    def norm(rows):
        seen.append(rows.shape)
        return rows.reshape(len(rows), -1) / 255.0

    m = HDF5Matrix(path, "x", start=10, end=60, normalizer=norm)
    ref = data["x"][10:60].reshape(50, -1) / 255.0
    assert m.shape == (50, 20) and m.dtype == np.float64 and m.ndim == 2 and m.size == 1000
    assert len(m) == 50
    seen.clear()
    np.testing.assert_array_equal(m[5:9], ref[5:9])
    np.testing.assert_array_equal(m[3], ref[3])
    np.testing.assert_array_equal(m[[9, 1, 9]], ref[[9, 1, 9]])
    assert seen == [(4, 4, 5), (1, 4, 5), (2, 4, 5)]  # only what was asked for, once each
    np.testing.assert_array_equal(np.asarray(m), ref)
    np.testing.assert_array_equal(np.asarray(m, dtype=np.float32), ref.astype(np.float32))


def test_defaults_and_attributes(h5file):
    path, data = h5file
    m = HDF5Matrix(str(path), "y")
    assert (len(m), m.shape, m.dtype, m.ndim, m.size) == (300, (300,), np.int32, 1, 300)
    np.testing.assert_array_equal(m[:], data["y"])
    assert "shape=(300,)" in repr(m)
    assert [int(v) for v in HDF5Matrix(path, "y", 0, 4)] == data["y"][:4].tolist()
    assert HDF5Matrix(path, "grp/inner", start=2).shape == (4,)
    empty = HDF5Matrix(path, "x", start=300)
    assert empty.shape == (0, 4, 5) and empty[:].shape == (0, 4, 5)


def test_reads_only_the_rows_asked_for(h5file):
    path, _ = h5file
    m = HDF5Matrix(path, "x", start=100, end=300)
    reads = _watch(m)
    m[10:42]
    assert reads.keys == [slice(110, 142)]
    m[5]
    assert reads.keys[-1] == slice(105, 106)
    reads.keys.clear()
    np.testing.assert_array_equal(m[[13, 10, 12, 10]], m[:][[13, 10, 12, 10]])
    assert reads.keys[0] == slice(110, 114)  # close together: one span
    reads.keys.clear()
    m[[0, 199]]  # far apart: just those rows
    assert reads.keys == [[100, 299]]


def test_pickle_reopens_and_close(h5file):
    path, data = h5file
    m = HDF5Matrix(path, "x", start=20, end=40, normalizer=np.negative)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2[:], -data["x"][20:40])
    with m2:
        pass
    with pytest.raises(Exception):
        m2[0]
    np.testing.assert_array_equal(m[0], -data["x"][20])


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"datapath": 5}, TypeError, "^datapath: expected a file path"),
    ({"datapath": "/nonexistent/f.h5"}, FileNotFoundError, "^datapath: no such file"),
    ({"dataset": 3}, TypeError, "^dataset: expected"),
    ({"dataset": "nope"}, ValueError, r"^dataset: .* has no dataset named 'nope'.*'grp/inner'"),
    ({"dataset": "grp"}, ValueError, "^dataset: 'grp' .* is a Group, not a dataset"),
    ({"dataset": "scalar"}, ValueError, "^dataset: 'scalar' .* is a scalar"),
    ({"start": 1.5}, TypeError, "^start: expected an int"),
    ({"start": True}, TypeError, "^start: expected an int"),
    ({"start": -1}, ValueError, r"^start: expected an int in \[0, 300\]"),
    ({"start": 301}, ValueError, r"^start: expected an int in \[0, 300\]"),
    ({"end": "9"}, TypeError, "^end: expected an int"),
    ({"start": 10, "end": 5}, ValueError, r"^end: expected an int in \[start, 300\]"),
    ({"end": 301}, ValueError, r"^end: expected an int in \[start, 300\]"),
    ({"normalizer": 3}, TypeError, "^normalizer: expected a callable"),
    ({"normalizer": lambda b: b[0]}, ValueError, "^normalizer: expected it to return one row"),
])
def test_bad_arguments_name_the_argument(h5file, kwargs, exc, match):
    path, _ = h5file
    args = {"datapath": path, "dataset": "x", **kwargs}
    with pytest.raises(exc, match=match):
        HDF5Matrix(**args)


def test_not_an_hdf5_file(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="^datapath: .* is not a readable HDF5 file"):
        HDF5Matrix(bad, "x")


@pytest.mark.parametrize("key, exc", [(120, IndexError), (-121, IndexError), ([0, 120], IndexError),
                                      ("a", TypeError), (1.5, TypeError), ([0.5], TypeError),
                                      (np.ones(3, bool), IndexError), (np.ones((2, 2), int), IndexError)])
def test_bad_indices(h5file, key, exc):
    m = HDF5Matrix(h5file[0], "x", start=100, end=220)
    with pytest.raises(exc):
        m[key]


# ---- fit / evaluate / predict stream it -------------------------------------------------

def _model(seed=3, loss="sparse_categorical_crossentropy", units=3, shape=(20,)):
    fastnn.utils.set_random_seed(seed)
    model = fastnn.Sequential([fastnn.Input(shape), fastnn.layers.Flatten(),
                               fastnn.layers.Dense(8, activation="relu"),
                               fastnn.layers.Dense(units, activation="softmax")])
    model.compile("adam", loss, metrics=["accuracy"])
    return model


def _same_run(disk, memory, fit_kwargs):
    """Fit, evaluate and predict from disk and from memory: the same bits everywhere."""
    kw = dict(fit_kwargs)
    model_kwargs = kw.pop("model", {})
    shuffles = (kw.pop("disk_shuffle"), kw.pop("memory_shuffle"))
    results = []
    for (x, y, sw, vx, vy), shuffle in zip((disk, memory), shuffles):
        model = _model(**model_kwargs)
        extra = {} if vx is None else {"validation_data": (vx, vy)}
        fastnn.utils.set_random_seed(11)  # the same shuffles
        hist = model.fit(x, y, sample_weight=sw, shuffle=shuffle, verbose=0, **kw,
                         **extra).history
        ev = model.evaluate(x, y, verbose=0)
        pred = model.predict(x, verbose=0, batch_size=50)
        results.append((model.get_weights(), hist, ev, pred))
    (w1, h1, e1, p1), (w2, h2, e2, p2) = results
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2 and e1 == e2
    np.testing.assert_array_equal(p1, p2)
    return h1


@pytest.mark.parametrize("disk_shuffle, memory_shuffle", [(True, "batch"), ("batch", "batch"),
                                                          (False, False)])
def test_fit_from_disk_equals_fit_from_memory(h5file, disk_shuffle, memory_shuffle):
    path, data = h5file
    norm = lambda b: b.reshape(len(b), -1) / 255.0  # noqa: E731
    x = HDF5Matrix(path, "x", normalizer=norm)
    y = HDF5Matrix(path, "y")
    hist = _same_run((x, y, None, None, None), (norm(data["x"]), data["y"], None, None, None),
                     {"disk_shuffle": disk_shuffle, "memory_shuffle": memory_shuffle,
                      "batch_size": 32, "epochs": 3, "validation_split": 0.2})
    assert len(hist["loss"]) == 3 and "val_loss" in hist


def test_fit_from_disk_with_weights_class_weights_and_validation(h5file):
    path, data = h5file
    x = HDF5Matrix(path, "x", end=240)
    y = HDF5Matrix(path, "y2", end=240)           # (n, 1) labels
    sw = HDF5Matrix(path, "w", end=240)
    vx, vy = HDF5Matrix(path, "x", start=240), HDF5Matrix(path, "y", start=240)
    mem = (data["x"][:240], data["y2"][:240], data["w"][:240], data["x"][240:], data["y"][240:])
    _same_run((x, y, sw, vx, vy), mem,
              {"disk_shuffle": True, "memory_shuffle": "batch", "batch_size": 64, "epochs": 2,
               "model": {"shape": (4, 5)}, "steps_per_epoch": 5})
    _same_run((x, y, None, None, None), mem[:2] + (None, None, None),
              {"disk_shuffle": True, "memory_shuffle": "batch", "batch_size": 50, "epochs": 2,
               "model": {"shape": (4, 5)}, "class_weight": {0: 1.0, 1: 2.0, 2: 0.5}})


def test_one_hot_targets_on_disk(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 20)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 200)]
    path = tmp_path / "onehot.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["y"] = x, y
    _same_run((HDF5Matrix(path, "x"), HDF5Matrix(path, "y"), None, None, None),
              (x, y, None, None, None),
              {"disk_shuffle": True, "memory_shuffle": "batch", "batch_size": 16, "epochs": 2,
               "model": {"loss": "categorical_crossentropy"}})


def test_bad_labels_on_disk_fail_before_a_step(h5file, tmp_path):
    path, data = h5file
    bad = data["y"].copy()
    bad[3] = 7
    path2 = tmp_path / "bad.h5"
    with h5py.File(path2, "w") as f:
        f["y"] = bad
    model = _model(shape=(4, 5))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"^y: expected class indices in \[0, 3\)"):
        model.fit(HDF5Matrix(path, "x"), HDF5Matrix(path2, "y"), batch_size=32, verbose=0,
                  shuffle=False)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with h5py.File(path2, "a") as f:
        f["s"] = np.array([b"x"] * 300)
    with pytest.raises(TypeError, match="^y: expected numeric data"):
        model.fit(HDF5Matrix(path, "x"), HDF5Matrix(path2, "s"), verbose=0)
    with pytest.raises(ValueError, match="^y: expected 300 targets"):
        model.fit(HDF5Matrix(path, "x"), HDF5Matrix(path, "y", end=10), verbose=0)
    with pytest.raises(ValueError, match=r"^sample_weight: expected shape \(300,\)"):
        model.fit(HDF5Matrix(path, "x"), HDF5Matrix(path, "y"),
                  sample_weight=HDF5Matrix(path, "x"), verbose=0)


def test_shuffle_batch_keeps_each_batch_contiguous():
    x = np.arange(103, dtype=np.float32).reshape(-1, 1)
    data = data_adapter.ArrayData(x, None, None, 10, shuffle="batch")
    batches = [xb[:, 0].astype(int).tolist() for xb, _, _ in
               data.epoch(np.random.default_rng(0))]
    assert all(b == list(range(b[0], b[0] + len(b))) for b in batches)
    assert sorted(b[0] for b in batches) == list(range(0, 103, 10))
    assert [b[0] for b in batches] != sorted(b[0] for b in batches)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """About 50 MB of uint8 images (64,000 x 784) and their labels."""
    path = tmp_path_factory.mktemp("big") / "big.h5"
    rng = np.random.default_rng(5)
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("x", (64000, 784), np.uint8)
        for i in range(0, 64000, 8000):
            dset[i:i + 8000] = rng.integers(0, 256, (8000, 784), dtype=np.uint8)
        f["y"] = rng.integers(0, 10, 64000).astype(np.uint8)
    return path


def test_fit_streams_a_50mb_file_batch_by_batch(big_file):
    assert big_file.stat().st_size > 50e6
    x = HDF5Matrix(big_file, "x", normalizer=lambda b: b / 255.0)
    y = HDF5Matrix(big_file, "y")
    reads = _watch(x)
    model = _model(units=10, shape=(784,))
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        model.fit(x, y, batch_size=128, epochs=1, steps_per_epoch=6, shuffle=True, verbose=0)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        model.evaluate(x, y, batch_size=512, steps=3, verbose=0)
        _, eval_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole set would be 50 MB as uint8 and 200 MB as float32
    print(f"fit peak {fit_peak / 1e6:.1f} MB, evaluate peak {eval_peak / 1e6:.1f} MB")
    assert fit_peak < 8e6, fit_peak
    assert eval_peak < 8e6, eval_peak
    fit_reads = reads.keys[:6]
    assert all(isinstance(k, slice) and k.stop - k.start == 128 and k.start % 128 == 0
               for k in fit_reads), fit_reads        # each batch: one contiguous read
    starts = [k.start for k in fit_reads]          # shuffled blocks, none read twice
    assert len(set(starts)) == 6 and starts != list(range(0, 6 * 128, 128))
    assert reads.rows_read() == 6 * 128 + 3 * 512


def test_predict_streams_in_chunks(big_file):
    x = HDF5Matrix(big_file, "x", end=20000, normalizer=lambda b: b / 255.0)
    reads = _watch(x)
    model = _model(units=10, shape=(784,))
    tracemalloc.start()
    try:
        out = model.predict(x, batch_size=256, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # chunks of 1,024 rows (uint8, float64 after the normalizer, float32); the 20,000 rows
    # as float32 would be 63 MB
    assert peak < 20e6, peak
    assert max(k.stop - k.start for k in reads.keys) <= 1024 and reads.rows_read() == 20000
    with h5py.File(big_file, "r") as f:
        ref = model.predict(f["x"][:20000] / 255.0, batch_size=256, verbose=0)
    np.testing.assert_array_equal(out, ref)


def test_batch_methods_read_the_matrix(h5file):
    path, data = h5file
    x, y = HDF5Matrix(path, "x", end=64), HDF5Matrix(path, "y", end=64)
    results = []
    for xs, ys in ((x, y), (data["x"][:64], data["y"][:64])):
        model = _model(shape=(4, 5))
        results.append((model.train_on_batch(xs, ys), model.test_on_batch(xs, ys),
                        model.predict_on_batch(xs), model(xs), model.get_weights()))
    (a1, b1, c1, d1, w1), (a2, b2, c2, d2, w2) = results
    assert (a1, b1) == (a2, b2)
    for p, q in zip([c1, d1] + w1, [c2, d2] + w2):
        np.testing.assert_array_equal(p, q)
