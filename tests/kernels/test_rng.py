"""Philox-4x32-10, uniforms and dropout against published vectors and a NumPy reference.

The known-answer vectors are Random123's kat_vectors for philox4x32-10 (also used by
TensorFlow's Philox tests); the reference in _ref_losses.py implements rng.h's documented
mapping from (seed, stream, i) to numbers independently of the C code.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fastnn
from fastnn import _core, ops
from tests.conftest import run_with_threads
from tests.kernels import _ref_losses as ref

DTYPES = [np.float32, np.float64]

KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize("ctr,key,want", KAT)
def test_philox_known_answers(ctr, key, want):
    assert _core.philox(list(ctr), list(key)).tolist() == list(want)
    got = _core.philox(np.array(ctr, np.uint32), np.array(key, np.uint32))
    assert got.dtype == np.uint32 and got.tolist() == list(want)
    # the NumPy reference agrees, so it can vouch for the streams below
    assert ref.philox(np.array([ctr]), key)[0].tolist() == list(want)


@pytest.mark.parametrize("ctr,key,exc,name", [
    ([0, 0, 0], [0, 0], ValueError, "ctr"),
    ([0, 0, 0, 2**32], [0, 0], ValueError, "ctr"),
    ([0, 0, 0, -1], [0, 0], ValueError, "ctr"),
    ([0, 0, 0, 0.5], [0, 0], TypeError, "ctr"),
    (None, [0, 0], TypeError, "ctr"),
    (np.zeros(4, np.int64), [0, 0], TypeError, "ctr"),
    ([0, 0, 0, 0], [0], ValueError, "key"),
    ([0, 0, 0, 0], np.zeros(2, np.uint64), TypeError, "key"),
])
def test_philox_bad_arguments(ctr, key, exc, name):
    with pytest.raises(exc, match=rf"^{name}:"):
        _core.philox(ctr, key)


SEEDS = [0, 1, 1234567, 2**32 - 1, 2**32 + 5, 2**64 - 1]


@settings(max_examples=40, deadline=None)
@given(seed=st.sampled_from(SEEDS) | st.integers(0, 2**64 - 1),
       stream=st.sampled_from([0, 1, 2**32 + 1, 2**64 - 1]) | st.integers(0, 2**64 - 1),
       n=st.sampled_from([0, 1, 2, 3, 4, 5, 7, 8, 9, 1001]))
def test_uniform_follows_the_documented_mapping(seed, stream, n):
    u32 = np.empty(n, np.float32)
    _core.uniform(seed, stream, u32)
    np.testing.assert_array_equal(u32, ref.uniform_f32(seed, stream, n))
    u64 = np.empty(n, np.float64)
    _core.uniform(seed, stream, u64)
    np.testing.assert_array_equal(u64, ref.uniform_f64(seed, stream, n))


@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform_range_moments_and_prefix(dtype):
    n = 1_000_000
    u = np.empty(n, dtype)
    _core.uniform(42, 3, u)
    assert u.min() >= 0.0 and u.max() < 1.0
    # mean and variance of U(0, 1) within 6 standard errors
    assert abs(u.mean() - 0.5) < 6 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 6 * np.sqrt(1 / 180 / n)
    counts = np.bincount((u * 20).astype(int), minlength=20)
    assert np.all(np.abs(counts - n / 20) < 6 * np.sqrt(n / 20))
    # element i does not depend on how many are drawn, or on the output's shape
    head = np.empty((7, 3), dtype)
    _core.uniform(42, 3, head)
    np.testing.assert_array_equal(head.reshape(-1), u[:21])
    other = np.empty(1000, dtype)
    _core.uniform(42, 4, other)
    assert not np.array_equal(other, u[:1000])


@pytest.mark.parametrize("seed,stream,exc,name", [
    (-1, 0, ValueError, "seed"),
    (2**64, 0, ValueError, "seed"),
    (1.0, 0, TypeError, "seed"),
    (True, 0, TypeError, "seed"),
    (None, 0, TypeError, "seed"),
    (0, -3, ValueError, "stream"),
    (0, "1", TypeError, "stream"),
])
def test_uniform_bad_seed_and_stream(seed, stream, exc, name):
    with pytest.raises(exc, match=rf"^{name}:"):
        _core.uniform(seed, stream, np.empty(3, np.float32))


def test_uniform_bad_out():
    with pytest.raises(TypeError, match="^out:"):
        _core.uniform(0, 0, np.empty(3, np.int32))
    ro = np.empty(3)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^out:.*read-only"):
        _core.uniform(0, 0, ro)
    with pytest.raises(ValueError, match="^out:"):
        _core.uniform(0, 0, np.empty((4, 4))[:, ::2])


# ---- dropout --------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from(DTYPES), n=st.sampled_from([0, 1, 3, 4, 5, 17, 1000]),
       rate=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 0.999]),
       seed=st.integers(0, 2**64 - 1), stream=st.integers(0, 2**64 - 1))
def test_dropout_matches_reference(dtype, n, rate, seed, stream):
    x = np.random.default_rng(seed % 2**32).standard_normal(n).astype(dtype)
    y = np.empty_like(x)
    mask = np.empty(n, np.uint8)
    _core.dropout_forward(x, y, mask, rate, seed, stream)
    want_mask = ref.dropout_mask(seed, stream, n, float(np.asarray(rate, dtype)))
    np.testing.assert_array_equal(mask, want_mask)
    scale = dtype(1.0 / (1.0 - float(dtype(rate))))  # tf.nn.dropout's x * scale
    np.testing.assert_array_equal(y, np.where(mask == 1, x * scale, dtype(0)))
    # without a mask, the same output
    y2 = np.empty_like(x)
    _core.dropout_forward(x, y2, None, rate, seed, stream)
    np.testing.assert_array_equal(y2, y)


def test_dropout_rate_zero_is_identity():
    x = np.random.default_rng(0).standard_normal(1001)
    y = np.empty_like(x)
    mask = np.empty(1001, np.uint8)
    _core.dropout_forward(x, y, mask, 0.0, 5, 6)
    np.testing.assert_array_equal(y, x)
    assert np.all(mask == 1)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keep_rate_and_scale(rate):
    n = 1_000_000
    x = np.ones(n, np.float32)
    y, mask = ops.dropout(x, rate, seed=123, step=7, return_mask=True)
    kept = int(mask.sum())
    p = 1 - rate
    assert abs(kept - n * p) < 6 * np.sqrt(n * p * (1 - p))  # binomial, 6 sigma
    np.testing.assert_array_equal(y[mask == 1], np.float32(1.0 / (1.0 - float(np.float32(rate)))))
    assert np.all(y[mask == 0] == 0)
    # the expected value is kept: mean(y) close to mean(x)
    assert abs(float(y.mean(dtype=np.float64)) - 1.0) < 6 * np.sqrt(rate / p / n)


def test_dropout_masks_match_across_dtypes_and_in_place():
    x64 = np.random.default_rng(1).standard_normal(999)
    _, m64 = ops.dropout(x64, 0.25, seed=9, step=2, return_mask=True)
    _, m32 = ops.dropout(x64.astype(np.float32), 0.25, seed=9, step=2, return_mask=True)
    np.testing.assert_array_equal(m64, m32)
    want = np.empty_like(x64)
    _core.dropout_forward(x64, want, None, 0.25, 9, 2)
    _core.dropout_forward(x64, x64, None, 0.25, 9, 2)
    np.testing.assert_array_equal(x64, want)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_backward(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((37, 11)).astype(dtype)
    y, mask = ops.dropout(x, 0.3, seed=4, return_mask=True)
    dy = rng.standard_normal(x.shape).astype(dtype)
    dx = ops.dropout_backward(dy, mask, 0.3)
    scale = dtype(1.0 / (1.0 - float(dtype(0.3))))
    np.testing.assert_array_equal(dx, np.where(mask == 1, dy * scale, dtype(0)))
    assert dx.dtype == dtype and dx.shape == x.shape
    # the chain rule: d(sum(v * y))/dx = v * y / x where kept
    np.testing.assert_allclose(ops.dropout_backward(np.ones_like(x), mask, 0.3) * x, y,
                               rtol=1e-6)
    # in place on dy
    d2 = dy.copy()
    _core.dropout_backward(d2, mask, d2, 0.3)
    np.testing.assert_array_equal(d2, dx)
    # a boolean mask is accepted by the wrapper
    np.testing.assert_array_equal(ops.dropout_backward(dy, mask.astype(bool), 0.3), dx)


_DETERMINISM_SCRIPT = """
import hashlib
import numpy as np
from fastnn import _core
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    x = np.linspace(-1, 1, 4_000_003).astype(dtype)
    y = np.empty_like(x)
    mask = np.empty(x.shape, np.uint8)
    _core.dropout_forward(x, y, mask, 0.3, 2**40 + 3, 17)
    dx = np.empty_like(x)
    _core.dropout_backward(y, mask, dx, 0.3)
    u = np.empty(x.shape, dtype)
    _core.uniform(77, 2**33, u)
    for a in (y, mask, dx, u):
        h.update(a.tobytes())
print(h.hexdigest())
"""


def test_bit_identical_for_one_and_two_threads():
    one = run_with_threads(_DETERMINISM_SCRIPT, 1)
    two = run_with_threads(_DETERMINISM_SCRIPT, 2)
    assert one.strip() == two.strip() and len(one.strip()) == 64


def test_thread_count_does_not_change_masks_in_process():
    x = np.ones(1_000_003, np.float32)
    before = fastnn.get_num_threads()
    masks = []
    try:
        for nt in (1, 2, 3, 8):
            fastnn.set_num_threads(nt)
            y = np.empty_like(x)
            m = np.empty(x.shape, np.uint8)
            _core.dropout_forward(x, y, m, 0.5, 11, 12)
            u = np.empty(x.shape, np.float64)
            _core.uniform(11, 12, u)
            masks.append((m, y, u))
    finally:
        fastnn.set_num_threads(before)
    for m, y, u in masks[1:]:
        np.testing.assert_array_equal(m, masks[0][0])
        np.testing.assert_array_equal(y, masks[0][1])
        np.testing.assert_array_equal(u, masks[0][2])


@pytest.mark.parametrize("kwargs,exc,name", [
    (dict(rate=1.0), ValueError, "rate"),
    (dict(rate=-0.1), ValueError, "rate"),
    (dict(rate=float("nan")), ValueError, "rate"),
    (dict(rate=0.99999999), ValueError, "rate"),  # 1.0 once rounded to float32
    (dict(rate="0.5"), TypeError, "rate"),
    (dict(rate=None), TypeError, "rate"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=2**64), ValueError, "seed"),
    (dict(stream=0.5), TypeError, "stream"),
    (dict(x=np.zeros(4, np.int32)), TypeError, "x"),
    (dict(x=None), TypeError, "x"),
    (dict(out=np.empty(5, np.float32)), ValueError, "out"),
    (dict(out=np.empty(4)), TypeError, "out"),
    (dict(mask=np.empty(4, bool)), TypeError, "mask"),
    (dict(mask=np.empty(5, np.uint8)), ValueError, "mask"),
])
def test_dropout_forward_bad_arguments(kwargs, exc, name):
    a = dict(x=np.zeros(4, np.float32), out=np.empty(4, np.float32),
             mask=np.empty(4, np.uint8), rate=0.5, seed=0, stream=0)
    a.update(kwargs)
    with pytest.raises(exc, match=rf"^{name}:"):
        _core.dropout_forward(a["x"], a["out"], a["mask"], a["rate"], a["seed"], a["stream"])


def test_dropout_bad_outputs_and_backward_arguments():
    x = np.zeros(4, np.float32)
    ro = np.empty(4, np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^out:.*read-only"):
        _core.dropout_forward(x, ro, None, 0.5, 0, 0)
    buf = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="^out:.*share memory"):
        _core.dropout_forward(buf[:4], buf[2:6], None, 0.5, 0, 0)
    m = np.ones(4, np.uint8)
    with pytest.raises(TypeError, match="^mask:"):
        _core.dropout_backward(x, None, np.empty(4, np.float32), 0.5)
    with pytest.raises(TypeError, match="^mask:"):
        _core.dropout_backward(x, m.astype(np.int8), np.empty(4, np.float32), 0.5)
    with pytest.raises(ValueError, match="^mask:"):
        _core.dropout_backward(x, np.ones(3, np.uint8), np.empty(4, np.float32), 0.5)
    with pytest.raises(ValueError, match="^out:.*read-only"):
        _core.dropout_backward(x, m, ro, 0.5)
    with pytest.raises(ValueError, match="^rate:"):
        _core.dropout_backward(x, m, np.empty(4, np.float32), 1.5)
    with pytest.raises(TypeError, match="^dy:"):
        _core.dropout_backward(None, m, np.empty(4, np.float32), 0.5)


# ---- the ops wrappers -----------------------------------------------------------------------

def test_ops_uniform_and_dropout_wrappers():
    u = ops.uniform((3, 5), seed=8, step=1)
    assert u.shape == (3, 5) and u.dtype == np.float32
    np.testing.assert_array_equal(u.reshape(-1), ref.uniform_f32(8, 1, 15))
    u64 = ops.uniform(6, seed=8, dtype="float64")
    np.testing.assert_array_equal(u64, ref.uniform_f64(8, 0, 6))
    y = ops.dropout([[1, 2], [3, 4]], 0.5, seed=3)
    assert y.dtype == np.float32 and y.shape == (2, 2)
    y1, m1 = ops.dropout(np.ones(100), 0.5, seed=3, step=1, return_mask=True)
    y2, m2 = ops.dropout(np.ones(100), 0.5, seed=3, step=2, return_mask=True)
    assert y1.dtype == np.float64 and not np.array_equal(m1, m2)
    np.testing.assert_array_equal(ops.dropout(np.ones(100), 0.5, seed=3, step=1), y1)
    with pytest.raises(ValueError, match="^step:"):
        ops.dropout(np.ones(3), 0.5, seed=3, step=-1)
    with pytest.raises(TypeError, match="^step:"):
        ops.uniform(3, seed=3, step=1.5)
    with pytest.raises(ValueError, match="^seed:"):
        ops.uniform(3, seed=-3)
    with pytest.raises(ValueError, match="^dtype:"):
        ops.uniform(3, seed=1, dtype="int32")
    with pytest.raises(ValueError, match="^shape:"):
        ops.uniform((-1, 2), seed=1)
    with pytest.raises(ValueError, match="^rate:"):
        ops.dropout(np.ones(3), 1.0, seed=1)
    with pytest.raises(TypeError, match="^x:"):
        ops.dropout(None, 0.5, seed=1)
    with pytest.raises(TypeError, match="^mask:"):
        ops.dropout_backward(np.ones(3), None, 0.5)


def test_ops_star_export():
    import fastnn.ops._random as rnd
    for name in rnd.__all__:
        assert getattr(ops, name) is getattr(rnd, name)
        assert getattr(rnd, name).__doc__


@pytest.mark.parametrize("n", [1, 31, 32, 33, 127, 128, 129, 255, 4096, 10007])
def test_dropout_vector_and_portable_generators_agree(n):
    # with AVX2 the blocks are generated eight at a time in vector lanes, 32 at a time
    # (four groups of 32 float32 elements, the mask and output made eight at a time) where
    # 128 elements remain; the portable kernels (forced with set_kernel) compute the same
    # words one lane at a time
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    y, mask = np.empty_like(x), np.empty(n, np.uint8)
    _core.dropout_forward(x, y, mask, 0.3, 2**40 + 7, 2**33 + 5)
    try:
        _core.set_kernel("portable")
        y2, mask2 = np.empty_like(x), np.empty(n, np.uint8)
        _core.dropout_forward(x, y2, mask2, 0.3, 2**40 + 7, 2**33 + 5)
    finally:
        _core.set_kernel("auto")
    np.testing.assert_array_equal(mask2, mask)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(mask, ref.dropout_mask(2**40 + 7, 2**33 + 5, n,
                                                         float(np.float32(0.3))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_zeroes_dropped_inf_and_nan(dtype):
    # dropped elements are 0 whatever their value (as tf.where in tf.nn.dropout), kept
    # ones are scaled: no inf * 0 = NaN from a multiplicative mask
    n = 4099
    x = np.random.default_rng(3).standard_normal(n).astype(dtype)
    x[::3] = np.inf
    x[1::3] = np.nan
    y, mask = np.empty_like(x), np.empty(n, np.uint8)
    _core.dropout_forward(x, y, mask, 0.5, 11, 12)
    assert 0 < mask.sum() < n
    assert np.all(y[mask == 0] == 0)
    scale = dtype(1.0 / (1.0 - float(dtype(0.5))))
    np.testing.assert_array_equal(y[mask == 1], x[mask == 1] * scale)
    dx = np.empty_like(x)
    _core.dropout_backward(x, mask, dx, 0.5)
    assert np.all(dx[mask == 0] == 0)
    np.testing.assert_array_equal(dx[mask == 1], x[mask == 1] * scale)
