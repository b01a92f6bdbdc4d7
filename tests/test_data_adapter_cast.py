"""Shuffled batches of x in another dtype are gathered and converted in one pass
(_core.gather_rows_cast): the same values, and fit the same weights, as gather then cast."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import _core
from fastnn.engine import data_adapter


@pytest.fixture
def calls(monkeypatch):
    """Count the fused gathers and conversions: calls of _core.gather_rows_cast, and of
    _core.GatherAhead (shuffled batches gathered a step ahead) between two dtypes."""
    seen = []
    real, ahead = _core.gather_rows_cast, _core.GatherAhead

    def counting(src, idx, out):
        seen.append((src.dtype, out.dtype, len(idx)))
        return real(src, idx, out)

    def counting_ahead(src, idx, out):
        if src.dtype != out.dtype:
            seen.append((src.dtype, out.dtype, len(idx)))
        return ahead(src, idx, out)

    monkeypatch.setattr(_core, "gather_rows_cast", counting)
    monkeypatch.setattr(_core, "GatherAhead", counting_ahead)
    return seen


def _data(n=300, d=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * 3 + 1e-9  # float64 not exactly representable in float32
    y = np.argmax(x @ rng.standard_normal((d, classes)), axis=1)
    return x, y


def _fit(x, y, dtype="float32", **kw):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((x.shape[1],), dtype=dtype),
                              keras.layers.Dense(16, activation="relu", dtype=dtype),
                              keras.layers.Dropout(0.2, dtype=dtype),
                              keras.layers.Dense(4, dtype=dtype)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=2, verbose=0, shuffle=True, **kw)
    return model.get_weights()


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.tobytes() == v.tobytes()


@pytest.mark.parametrize("kw", [dict(batch_size=32), dict(batch_size=64, validation_split=0.2),
                                dict(batch_size=500), dict(batch_size=32, steps_per_epoch=13)])
def test_fit_on_float64_x_equals_fit_on_float32_x(calls, kw):
    x, y = _data()
    w64 = _fit(x, y, **kw)
    assert calls and all(c[:2] == (np.float64, np.float32) for c in calls)
    del calls[:]
    _same(w64, _fit(x.astype(np.float32), y, **kw))
    assert not calls  # float32 x needs no conversion


@pytest.mark.parametrize("src", [np.uint8, np.int16, np.int32, np.int64, np.uint16])
def test_fit_on_integer_x_equals_fit_on_converted_x(calls, src):
    x, y = _data()
    xi = np.clip(np.round(x * 40), 0 if src in (np.uint8, np.uint16) else -128, 255).astype(src)
    w = _fit(xi, y, batch_size=32)
    assert calls and {c[0] for c in calls} == {np.dtype(src)}
    _same(w, _fit(xi.astype(np.float32), y, batch_size=32))


def test_float64_model_on_float32_x(calls):
    x, y = _data()
    x32 = x.astype(np.float32)
    w = _fit(x32, y, dtype="float64", batch_size=32)
    assert calls and all(c[:2] == (np.float32, np.float64) for c in calls)
    _same(w, _fit(x32.astype(np.float64), y, dtype="float64", batch_size=32))


@pytest.mark.parametrize("make", [lambda x: x.astype(">f8"),        # not native byte order
                                  lambda x: (x > 0),                 # bool: not supported
                                  lambda x: x.astype(np.float16)])   # float16: not supported
def test_other_dtypes_keep_gather_then_cast(calls, make):
    x, y = _data()
    xo = make(x)
    w = _fit(xo, y, batch_size=32)
    assert not calls
    _same(w, _fit(xo.astype(np.float32), y, batch_size=32))


def test_unshuffled_batches_do_not_gather(calls):
    x, y = _data()
    data = data_adapter.ArrayData(x, y, None, 32, shuffle=False, dtype=np.float32)
    batches = [xb.copy() for xb, _, _ in data.epoch(np.random.default_rng(0))]
    assert not calls
    assert np.concatenate(batches).tobytes() == x.astype(np.float32).tobytes()


@pytest.mark.parametrize("shuffle", [True, "batch"])
def test_array_data_batches_equal_take_then_astype(calls, shuffle):
    x, y = _data(n=103)
    sw = np.linspace(0.5, 1.5, 103)
    data = data_adapter.ArrayData(x, y, sw, 25, shuffle=shuffle, dtype=np.float32)
    order = np.random.default_rng(3).permutation(103)
    seen = []
    for step, (xb, yb, wb) in enumerate(data.epoch(np.random.default_rng(3))):
        assert xb.dtype == np.float32 and xb.flags.c_contiguous
        if shuffle is True:
            idx = order[step * 25:step * 25 + 25]
            assert xb.tobytes() == x[idx].astype(np.float32).tobytes()
            assert yb.tobytes() == y[idx].tobytes() and wb.tobytes() == sw[idx].tobytes()
        seen.append(len(xb))
    assert seen.count(25) == 4 and sum(seen) == 103
    assert len(calls) == (5 if shuffle is True else 0)
    if shuffle is True:  # no float64 buffer for x: rows go straight into the float32 one
        assert data._buffers()[0] is None


@pytest.mark.parametrize("src", [np.float32, np.float64])
def test_shuffled_batches_gathered_ahead_equal_take(src):
    """Shuffled batches whose x is gathered a step ahead on a worker (_core.GatherAhead, two
    buffers in turn), on two threads: the rows of the permutation, in order, also when the
    steps wrap past the end of the data, and an epoch left early does not disturb the
    next one."""
    import fastnn
    x, y = _data(n=103)
    x = x.astype(src)
    sw = np.linspace(0.5, 1.5, 103)
    data = data_adapter.ArrayData(x, y, sw, 25, shuffle=True, steps=11, dtype=np.float32)
    assert data._ahead
    try:
        fastnn.set_num_threads(2)
        _core.gemm(np.ones((300, 300), np.float32), np.ones((300, 300), np.float32),
                   np.empty((300, 300), np.float32))  # starts the worker
        for seed in (3, 4):
            order = np.random.default_rng(seed).permutation(103)
            for step, (xb, yb, wb) in enumerate(data.epoch(np.random.default_rng(seed))):
                i = (step * 25) % 103
                idx = order[i:min(i + 25, 103)]
                assert xb.tobytes() == x[idx].astype(np.float32).tobytes(), (seed, step)
                assert yb.tobytes() == y[idx].tobytes() and wb.tobytes() == sw[idx].tobytes()
            assert step == 10
        it = data.epoch(np.random.default_rng(5))
        next(it)
        it.close()  # left with the next batch's gather under way
        order = np.random.default_rng(6).permutation(103)
        xb = next(data.epoch(np.random.default_rng(6)))[0]
        assert xb.tobytes() == x[order[:25]].astype(np.float32).tobytes()
    finally:
        _core.reset_num_threads()


@pytest.mark.parametrize("src", [np.float32, np.float64])
def test_fit_with_batches_gathered_ahead_equals_plain_gather(monkeypatch, src):
    """fit on two threads trains the same weights, bit for bit, whether each shuffled batch
    is gathered ahead on the workers or on the caller before its step."""
    import fastnn
    x, y = _data(n=400)
    x = x.astype(src)
    handed = []
    real_ahead = _core.GatherAhead

    def spy(*args):
        g = real_ahead(*args)
        handed.append(g.handed_over)
        return g

    monkeypatch.setattr(_core, "GatherAhead", spy)
    try:
        fastnn.set_num_threads(2)
        _core.gemm(np.ones((300, 300), np.float32), np.ones((300, 300), np.float32),
                   np.empty((300, 300), np.float32))  # starts the worker
        ahead = _fit(x, y, batch_size=32)
        assert len(handed) == 2 * 13 and any(handed)  # the workers were given copies
        real = data_adapter.ArrayData.__init__

        def plain(self, *args, **kwargs):
            real(self, *args, **kwargs)
            self._ahead = False

        monkeypatch.setattr(data_adapter.ArrayData, "__init__", plain)
        _same(ahead, _fit(x, y, batch_size=32))
    finally:
        _core.reset_num_threads()
