"""Softmax, log-softmax, the fused cross-entropy losses and sum against NumPy references.

Covers float32 and float64, awkward shapes (0 rows, 1, primes), logits of 1e4, central-
difference gradient checks in float64, thread-count determinism, batch invariance and the
argument checks of the bindings and the ops wrappers.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import _core, ops
from tests.conftest import run_with_threads
from tests.kernels import _ref_losses as ref

DTYPES = [np.float32, np.float64]
ROWS = [0, 1, 2, 3, 7, 31, 64, 97]
COLS = [1, 2, 3, 5, 10, 13, 128, 257]
EPS = 1e-7


def _tol(dtype):
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _close(got, want, dtype, scale=1.0):
    tol = _tol(dtype)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol["rtol"],
                               atol=tol["atol"] * scale)


def _logits(rng, n, c, dtype, scale=3.0):
    return (scale * rng.standard_normal((n, c))).astype(dtype)


def _probs(rng, n, c, dtype, low=0.02):
    p = rng.uniform(low, 1.0, (n, c))
    return (p / p.sum(axis=1, keepdims=True)).astype(dtype)


# ---- softmax / log-softmax ---------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(n=st.sampled_from(ROWS), c=st.sampled_from(COLS), dtype=st.sampled_from(DTYPES),
       scale=st.sampled_from([1.0, 30.0, 1e4]), seed=st.integers(0, 2**31 - 1))
def test_softmax_and_log_softmax_match_numpy(n, c, dtype, scale, seed):
    rng = np.random.default_rng(seed)
    x = _logits(rng, n, c, dtype, scale)
    y = np.empty_like(x)
    _core.softmax(x, y)
    _close(y, ref.softmax(x), dtype)
    ls = np.empty_like(x)
    _core.log_softmax(x, ls)
    want = ref.log_softmax(x)
    _close(ls, want, dtype, scale=max(1.0, float(np.abs(want).max(initial=0.0))))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(ls))


@settings(max_examples=40, deadline=None)
@given(n=st.sampled_from(ROWS), c=st.sampled_from(COLS), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**31 - 1))
def test_softmax_backward_and_log_softmax_backward_match_numpy(n, c, dtype, seed):
    rng = np.random.default_rng(seed)
    x = _logits(rng, n, c, dtype)
    dy = rng.standard_normal((n, c)).astype(dtype)
    y = ref.softmax(x).astype(dtype)
    dx = np.empty_like(x)
    _core.softmax_backward(y, dy, dx)
    _close(dx, ref.softmax_backward(y, dy), dtype, scale=4.0)
    ly = ref.log_softmax(x).astype(dtype)
    _core.log_softmax_backward(ly, dy, dx)
    _close(dx, ref.log_softmax_backward(ly, dy), dtype, scale=4.0 * max(1, c) ** 0.5)


def test_softmax_huge_logits_are_stable():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4 + 1, -3e4]], np.float32)
    y = np.empty_like(x)
    _core.softmax(x, y)
    np.testing.assert_allclose(y, ref.softmax(x), rtol=1e-6, atol=1e-30)
    _core.log_softmax(x, y)
    np.testing.assert_allclose(y, ref.log_softmax(x), rtol=1e-6)


@pytest.mark.parametrize("fn", [_core.softmax, _core.log_softmax])
def test_softmax_in_place(fn):
    x = _logits(np.random.default_rng(0), 17, 11, np.float64)
    want = np.empty_like(x)
    fn(x, want)
    fn(x, x)
    np.testing.assert_array_equal(x, want)


@pytest.mark.parametrize("fn,rfn", [(_core.softmax_backward, ref.softmax_backward),
                                    (_core.log_softmax_backward, ref.log_softmax_backward)])
def test_softmax_backward_in_place_on_dy(fn, rfn):
    rng = np.random.default_rng(1)
    y = ref.softmax(_logits(rng, 9, 7, np.float64))
    if fn is _core.log_softmax_backward:
        y = np.log(y)
    dy = rng.standard_normal(y.shape)
    want = rfn(y, dy)
    fn(y, dy, dy)
    np.testing.assert_allclose(dy, want, rtol=1e-12, atol=1e-14)


def _num_jacobian_vec(f, x, v, h=1e-6):
    """Central-difference d(sum(v * f(x)))/dx, element by element."""
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (np.sum(v * f(xp)) - np.sum(v * f(xm))) / (2 * h)
    return g


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
def test_softmax_gradients_central_difference(which):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6))
    v = rng.standard_normal((4, 6))
    fwd = getattr(_core, which)
    bwd = getattr(_core, which + "_backward")

    def f(xx):
        out = np.empty_like(xx)
        fwd(xx, out)
        return out

    y = f(x)
    dx = np.empty_like(x)
    bwd(y, v, dx)
    np.testing.assert_allclose(dx, _num_jacobian_vec(f, x, v), rtol=1e-6, atol=1e-8)


# ---- the fused losses ---------------------------------------------------------------------

def _run(kind, z, extra, sw, from_logits, ls=0.0, grad_scale=1.0, eps=EPS):
    n = z.shape[0]
    loss = np.empty(n, z.dtype)
    dz = np.empty_like(z)
    if kind == "sparse":
        _core.sparse_xent(z, extra, sw, from_logits, eps, grad_scale, loss, dz)
    elif kind == "categorical":
        _core.categorical_xent(z, extra, sw, from_logits, ls, eps, grad_scale, loss, dz)
    else:
        _core.binary_xent(z, extra, sw, from_logits, ls, eps, grad_scale, loss, dz)
    return loss, dz


def _ref(kind, z, extra, sw, from_logits, ls=0.0, grad_scale=1.0, eps=EPS):
    if kind == "sparse":
        return ref.sparse_xent(z, extra, sw, from_logits, eps, grad_scale, z.dtype)
    if kind == "categorical":
        return ref.categorical_xent(z, extra, sw, from_logits, ls, eps, grad_scale, z.dtype)
    return ref.binary_xent(z, extra, sw, from_logits, ls, eps, grad_scale, z.dtype)


def _case(kind, rng, n, c, dtype, from_logits, scale=3.0):
    if kind == "binary":
        z = _logits(rng, n, c, dtype, scale) if from_logits else \
            rng.uniform(0.0, 1.0, (n, c)).astype(dtype)
        t = (rng.uniform(size=(n, c)) < 0.5).astype(dtype)
        t[:, :1] = rng.uniform(size=(n, 1))  # soft targets too
        return z, t
    z = _logits(rng, n, c, dtype, scale) if from_logits else _probs(rng, n, c, dtype, 0.0)
    labels = rng.integers(0, c, n).astype(np.int64)
    if kind == "sparse":
        return z, labels
    t = np.zeros((n, c), dtype)
    t[np.arange(n), labels] = 1
    if n:
        t[0] = rng.dirichlet(np.ones(c))  # one soft target row
    return z, t


@settings(max_examples=120, deadline=None)
@given(kind=st.sampled_from(["sparse", "categorical", "binary"]), n=st.sampled_from(ROWS),
       c=st.sampled_from(COLS), dtype=st.sampled_from(DTYPES), from_logits=st.booleans(),
       weighted=st.booleans(), ls=st.sampled_from([0.0, 0.1]),
       grad_scale=st.sampled_from([1.0, 0.03125]), seed=st.integers(0, 2**31 - 1))
def test_losses_match_numpy(kind, n, c, dtype, from_logits, weighted, ls, grad_scale, seed):
    rng = np.random.default_rng(seed)
    z, extra = _case(kind, rng, n, c, dtype, from_logits)
    if kind == "sparse":
        ls = 0.0
    sw = rng.uniform(0.0, 2.0, n).astype(dtype) if weighted else None
    loss, dz = _run(kind, z, extra, sw, from_logits, ls, grad_scale)
    want_loss, want_dz = _ref(kind, z, extra, sw, from_logits, ls, grad_scale)
    _close(loss, want_loss, dtype, scale=max(1.0, float(np.abs(want_loss).max(initial=0))))
    _close(dz, want_dz, dtype, scale=max(1.0, float(np.abs(want_dz).max(initial=0))))


@pytest.mark.parametrize("kind", ["sparse", "categorical", "binary"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_huge_logits_are_stable(kind, dtype):
    rng = np.random.default_rng(3)
    z, extra = _case(kind, rng, 6, 5, dtype, True, scale=1e4)
    loss, dz = _run(kind, z, extra, None, True)
    want_loss, want_dz = _ref(kind, z, extra, None, True)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(dz))
    np.testing.assert_allclose(loss, want_loss, rtol=2e-6, atol=1e-3)
    np.testing.assert_allclose(dz, want_dz, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kind", ["sparse", "categorical", "binary"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_probability_clip_gives_keras_numbers_and_zero_gradient(kind, dtype):
    """Saturated probabilities (0 and 1) are clipped to [eps, 1 - eps]."""
    z = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5]], dtype)
    labels = np.array([0, 2, 1])
    extra = labels if kind == "sparse" else np.eye(3, dtype=dtype)[labels]
    loss, dz = _run(kind, z, extra, None, False)
    want_loss, want_dz = _ref(kind, z, extra, None, False)
    _close(loss, want_loss, dtype, scale=20)
    _close(dz, want_dz, dtype, scale=10)
    # a wrongly-saturated prediction costs about -log(eps) = 16.1 (binary: 2 of 3 elements)
    lo, hi = (10.0, 11.5) if kind == "binary" else (15.0, 17.0)
    assert lo < loss[1] < hi
    if kind != "categorical":
        assert np.all(dz[0] == 0) and np.all(dz[1] == 0)


def test_categorical_hand_worked_numbers():
    """Keras's documented example: [0.0513, 2.3026] for these probabilities."""
    t = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    p = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32)
    np.testing.assert_allclose(ops.categorical_crossentropy(t, p), [0.0513, 2.3026], atol=1e-4)
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy([1, 2], p), [0.0513, 2.3026],
                               atol=1e-4)


def _loss_sum(kind, z, extra, sw, from_logits, ls):
    loss = np.empty(z.shape[0], z.dtype)
    if kind == "sparse":
        _core.sparse_xent(z, extra, sw, from_logits, EPS, 1.0, loss, None)
    elif kind == "categorical":
        _core.categorical_xent(z, extra, sw, from_logits, ls, EPS, 1.0, loss, None)
    else:
        _core.binary_xent(z, extra, sw, from_logits, ls, EPS, 1.0, loss, None)
    return loss.sum()


@pytest.mark.parametrize("kind,ls", [("sparse", 0.0), ("categorical", 0.0), ("categorical", 0.2),
                                     ("binary", 0.0), ("binary", 0.2)])
@pytest.mark.parametrize("from_logits", [True, False])
def test_loss_gradients_central_difference(kind, from_logits, ls):
    rng = np.random.default_rng(4)
    n, c = 4, 5
    if from_logits or kind == "binary":
        z, extra = _case(kind, rng, n, c, np.float64, from_logits)
        if not from_logits:
            z = rng.uniform(0.05, 0.95, (n, c))
    else:
        z = rng.uniform(0.1, 1.0, (n, c))  # unnormalised, well inside the clip
        extra = _case(kind, rng, n, c, np.float64, True)[1]
    sw = rng.uniform(0.5, 2.0, n)
    _, dz = _run(kind, z, extra, sw, from_logits, ls, grad_scale=0.5)
    h = 1e-6
    num = np.zeros_like(z)
    for idx in np.ndindex(*z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        num[idx] = (_loss_sum(kind, zp, extra, sw, from_logits, ls)
                    - _loss_sum(kind, zm, extra, sw, from_logits, ls)) / (2 * h)
    np.testing.assert_allclose(dz, 0.5 * num, rtol=1e-6, atol=1e-8)


def test_loss_without_gradient_and_in_place_gradient():
    rng = np.random.default_rng(5)
    z, labels = _case("sparse", rng, 8, 6, np.float64, True)
    loss1, dz = _run("sparse", z, labels, None, True)
    loss2 = np.empty(8)
    _core.sparse_xent(z, labels, None, True, EPS, 1.0, loss2, None)
    np.testing.assert_array_equal(loss1, loss2)
    for kind, extra in [("sparse", labels), ("categorical", np.eye(6)[labels]),
                        ("binary", np.eye(6)[labels])]:
        for from_logits in (True, False):
            zz = z if from_logits else ref.softmax(z)
            want_loss, want_dz = _run(kind, zz, extra, None, from_logits)
            zi = zz.copy()
            got_loss = np.empty(8)
            fn = {"sparse": _core.sparse_xent, "categorical": _core.categorical_xent,
                  "binary": _core.binary_xent}[kind]
            args = (zi, extra, None, from_logits) + (() if kind == "sparse" else (0.0,))
            fn(*args, EPS, 1.0, got_loss, zi)
            np.testing.assert_array_equal(got_loss, want_loss)
            np.testing.assert_array_equal(zi, want_dz)


def test_empty_batch():
    for dtype in DTYPES:
        z = np.empty((0, 4), dtype)
        loss, dz = _run("sparse", z, np.empty(0, np.int64), None, True)
        assert loss.shape == (0,) and dz.shape == (0, 4)
        assert _core.sum(np.empty(0, dtype)) == 0.0


# ---- sum ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 3, 4095, 4096, 4097, 100003, 1000000])
def test_sum_matches_numpy(dtype, n):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    got = _core.sum(x)
    want = float(np.sum(x.astype(np.float64)))
    assert isinstance(got, float)
    assert abs(got - want) <= 1e-12 * (1 + float(np.abs(x.astype(np.float64)).sum()))


def test_sum_any_shape():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert _core.sum(x) == 276.0


# ---- determinism and batch invariance -------------------------------------------------------

_DETERMINISM_SCRIPT = """
import hashlib
import numpy as np
from fastnn import _core
rng = np.random.default_rng(7)
n, c = 4096, 1000
for dtype in (np.float32, np.float64):
    z = (4 * rng.standard_normal((n, c))).astype(dtype)
    labels = rng.integers(0, c, n)
    t = np.eye(c, dtype=dtype)[labels]
    p = np.empty_like(z); _core.softmax(z, p)
    outs = [p]
    ls = np.empty_like(z); _core.log_softmax(z, ls); outs.append(ls)
    dx = np.empty_like(z); _core.softmax_backward(p, z, dx); outs.append(dx.copy())
    _core.log_softmax_backward(ls, z, dx); outs.append(dx.copy())
    for fl, zz in ((True, z), (False, p)):
        loss = np.empty(n, dtype); dz = np.empty_like(z)
        _core.sparse_xent(zz, labels, None, fl, 1e-7, 1.0 / n, loss, dz); outs += [loss.copy(), dz.copy()]
        _core.categorical_xent(zz, t, None, fl, 0.1, 1e-7, 1.0 / n, loss, dz); outs += [loss.copy(), dz.copy()]
        b = p if fl else np.clip(p * 50, 0, 1).astype(dtype)
        _core.binary_xent(b, t, None, fl, 0.1, 1e-7, 1.0 / n, loss, dz); outs += [loss.copy(), dz.copy()]
    outs.append(np.array([_core.sum(z)]))
    print(hashlib.sha256(b"".join(o.tobytes() for o in outs)).hexdigest())
"""


def test_bit_identical_for_one_and_two_threads():
    one = run_with_threads(_DETERMINISM_SCRIPT, 1)
    two = run_with_threads(_DETERMINISM_SCRIPT, 2)
    assert one.split() == two.split() and len(one.split()) == 2


def _all_outputs(z, labels, t):
    n = z.shape[0]
    p = np.empty_like(z)
    _core.softmax(z, p)
    ls = np.empty_like(z)
    _core.log_softmax(z, ls)
    loss = np.empty(n, z.dtype)
    dz = np.empty_like(z)
    _core.sparse_xent(z, labels, None, True, EPS, 1.0, loss, dz)
    out = [p, ls, loss.copy(), dz.copy()]
    _core.categorical_xent(p, t, None, False, 0.0, EPS, 1.0, loss, dz)
    out += [loss.copy(), dz.copy()]
    _core.binary_xent(z, t, None, True, 0.0, EPS, 1.0, loss, dz)
    return out + [loss.copy(), dz.copy()], _core.sum(z)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, c", [(1500, 301), (256, 10)])
def test_thread_count_does_not_change_results_in_process(dtype, n, c):
    """(256 x 10: a batch-256 MNIST step's loss, which the pool's threads share by rows.)"""
    import fastnn
    rng = np.random.default_rng(8)
    z = (3 * rng.standard_normal((n, c))).astype(dtype)
    labels = rng.integers(0, c, n)
    t = np.eye(c, dtype=dtype)[labels]
    before = fastnn.get_num_threads()
    try:
        results = []
        for nt in (1, 2, 3, 8):
            fastnn.set_num_threads(nt)
            results.append(_all_outputs(z, labels, t))
    finally:
        fastnn.set_num_threads(before)
    for outs, s in results[1:]:
        assert s == results[0][1]
        for a, b in zip(outs, results[0][0]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_invariance(dtype):
    rng = np.random.default_rng(9)
    z = (3 * rng.standard_normal((300, 37))).astype(dtype)
    labels = rng.integers(0, 37, 300)
    t = np.eye(37, dtype=dtype)[labels]
    full, _ = _all_outputs(z, labels, t)
    for i in (0, 1, 150, 299):
        single, _ = _all_outputs(z[i:i + 1].copy(), labels[i:i + 1], t[i:i + 1].copy())
        for a, b in zip(full, single):
            np.testing.assert_array_equal(a[i:i + 1], b)


# ---- argument checks of the bindings ---------------------------------------------------------

def _good(dtype=np.float32):
    z = np.zeros((3, 4), dtype)
    return z, np.array([0, 1, 3]), np.zeros((3, 4), dtype), np.empty(3, dtype), np.empty((3, 4), dtype)


@pytest.mark.parametrize("call,exc,name", [
    (lambda: _core.softmax(np.zeros((2, 3), np.int32), np.empty((2, 3))), TypeError, "x"),
    (lambda: _core.softmax(None, np.empty((2, 3))), TypeError, "x"),
    (lambda: _core.softmax(np.zeros((2, 3)), np.empty((2, 4))), ValueError, "out"),
    (lambda: _core.softmax(np.zeros((2, 3)), np.empty((2, 3), np.float32)), TypeError, "out"),
    (lambda: _core.softmax(np.zeros(3), np.empty(3)), ValueError, "x"),
    (lambda: _core.softmax(np.zeros((3, 2)).T, np.empty((2, 3))), ValueError, "x"),
    (lambda: _core.softmax_backward(np.zeros((2, 3)), np.zeros((2, 2)), np.empty((2, 3))),
     ValueError, "dy"),
    (lambda: _core.log_softmax_backward(np.zeros((2, 3)), None, np.empty((2, 3))), TypeError, "dy"),
])
def test_softmax_bad_arguments(call, exc, name):
    with pytest.raises(exc, match=rf"^{name}:"):
        call()


def test_read_only_and_overlapping_outputs_are_refused():
    x = np.zeros((2, 3))
    out = np.empty((2, 3))
    out.setflags(write=False)
    with pytest.raises(ValueError, match="^out:.*read-only"):
        _core.softmax(x, out)
    buf = np.zeros(12)
    with pytest.raises(ValueError, match="^out:.*share memory"):
        _core.softmax(buf[:6].reshape(2, 3), buf[3:9].reshape(2, 3))
    with pytest.raises(ValueError, match="^out:.*share memory"):
        _core.softmax_backward(buf[:6].reshape(2, 3), x, buf[:6].reshape(2, 3))
    z, labels, t, loss, dz = _good()
    ro = np.empty(3, np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^loss_out:.*read-only"):
        _core.sparse_xent(z, labels, None, True, EPS, 1.0, ro, None)
    with pytest.raises(ValueError, match="^dz_out:"):
        _core.categorical_xent(z, t, None, True, 0.0, EPS, 1.0, loss, t)


@pytest.mark.parametrize("bad", [-1, 4, 2**40])
def test_bad_labels_name_the_value(bad):
    z, labels, t, loss, dz = _good()
    labels[1] = bad
    with pytest.raises(ValueError, match=rf"^labels:.*\[0, 4\).*{bad} at index 1"):
        _core.sparse_xent(z, labels, None, True, EPS, 1.0, loss, dz)
    with pytest.raises(ValueError, match=rf"^target:.*{bad}"):
        ops.sparse_categorical_crossentropy(labels, z, from_logits=True)


@pytest.mark.parametrize("mutate,exc,name", [
    (lambda a: a.update(z=a["z"].astype(np.int64)), TypeError, "z"),
    (lambda a: a.update(z=None), TypeError, "z"),
    (lambda a: a.update(labels=a["labels"].astype(np.int32)), TypeError, "labels"),
    (lambda a: a.update(labels=np.array([0, 1])), ValueError, "labels"),
    (lambda a: a.update(sw=np.ones(3)), TypeError, "sw"),
    (lambda a: a.update(sw=np.ones(4, np.float32)), ValueError, "sw"),
    (lambda a: a.update(eps=0.0), ValueError, "eps"),
    (lambda a: a.update(eps=0.7), ValueError, "eps"),
    (lambda a: a.update(eps=1e-50), ValueError, "eps"),
    (lambda a: a.update(eps="x"), TypeError, "eps"),
    (lambda a: a.update(grad_scale=float("nan")), ValueError, "grad_scale"),
    (lambda a: a.update(grad_scale=None), TypeError, "grad_scale"),
    (lambda a: a.update(loss=np.empty(4, np.float32)), ValueError, "loss_out"),
    (lambda a: a.update(loss=np.empty(3)), TypeError, "loss_out"),
    (lambda a: a.update(dz=np.empty((3, 5), np.float32)), ValueError, "dz_out"),
    (lambda a: a.update(z=np.zeros((3, 0), np.float32), dz=None), ValueError, "z"),
])
def test_sparse_xent_bad_arguments(mutate, exc, name):
    z, labels, t, loss, dz = _good()
    a = dict(z=z, labels=labels, sw=None, eps=EPS, grad_scale=1.0, loss=loss, dz=dz)
    mutate(a)
    with pytest.raises(exc, match=rf"^{name}:"):
        _core.sparse_xent(a["z"], a["labels"], a["sw"], True, a["eps"], a["grad_scale"],
                          a["loss"], a["dz"])


@pytest.mark.parametrize("fn", [_core.categorical_xent, _core.binary_xent])
@pytest.mark.parametrize("mutate,exc,name", [
    (lambda a: a.update(t=np.zeros((3, 5), np.float32)), ValueError, "t"),
    (lambda a: a.update(t=np.zeros((3, 4))), TypeError, "t"),
    (lambda a: a.update(t=None), TypeError, "t"),
    (lambda a: a.update(ls=-0.1), ValueError, "label_smoothing"),
    (lambda a: a.update(ls=1.5), ValueError, "label_smoothing"),
    (lambda a: a.update(ls=True), TypeError, "label_smoothing"),
])
def test_dense_losses_bad_arguments(fn, mutate, exc, name):
    z, labels, t, loss, dz = _good()
    a = dict(t=t, ls=0.0)
    mutate(a)
    with pytest.raises(exc, match=rf"^{name}:"):
        fn(z, a["t"], None, False, a["ls"], EPS, 1.0, loss, dz)


def test_sum_bad_arguments():
    with pytest.raises(TypeError, match="^x:"):
        _core.sum([1.0, 2.0])
    with pytest.raises(TypeError, match="^x:"):
        _core.sum(np.arange(3))


# ---- the ops wrappers -----------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1, 2])
def test_ops_softmax_any_axis_and_rank(axis):
    x = np.random.default_rng(10).standard_normal((3, 4, 5))
    got = ops.softmax(x, axis=axis)
    m = x - x.max(axis=axis, keepdims=True)
    want = np.exp(m) / np.exp(m).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(ops.log_softmax(x, axis=axis), np.log(want), rtol=1e-12, atol=1e-14)
    dy = np.random.default_rng(11).standard_normal(x.shape)
    np.testing.assert_allclose(ops.softmax_backward(got, dy, axis=axis),
                               np.moveaxis(ref.softmax_backward(np.moveaxis(got, axis, -1),
                                                                np.moveaxis(dy, axis, -1)), -1, axis),
                               rtol=1e-10, atol=1e-14)
    ly = ops.log_softmax(x, axis=axis)
    np.testing.assert_allclose(ops.log_softmax_backward(ly, dy, axis=axis),
                               np.moveaxis(ref.log_softmax_backward(np.moveaxis(ly, axis, -1),
                                                                    np.moveaxis(dy, axis, -1)), -1, axis),
                               rtol=1e-10, atol=1e-13)


def test_ops_dtypes_and_out():
    assert ops.softmax([[1, 2, 3]]).dtype == np.float32
    assert ops.softmax(np.zeros((2, 2))).dtype == np.float64
    assert ops.softmax(np.zeros(3, np.float16)).dtype == np.float32
    x = np.random.default_rng(12).standard_normal((4, 6)).astype(np.float32)
    out = np.empty_like(x)
    assert ops.softmax(x, out=out) is out
    np.testing.assert_allclose(out, ref.softmax(x), rtol=2e-6)
    out2 = np.empty_like(x)
    assert ops.log_softmax(x, axis=0, out=out2) is out2
    np.testing.assert_allclose(out2, ref.log_softmax(x.T).T, rtol=2e-6)
    y = x.copy()
    ops.softmax(y, out=y)
    np.testing.assert_array_equal(y, out)
    with pytest.raises(ValueError, match="^out:"):
        ops.softmax(x, out=np.empty((6, 4), np.float32))
    with pytest.raises(ValueError, match="^axis:"):
        ops.softmax(x, axis=2)
    with pytest.raises(TypeError, match="^x:"):
        ops.softmax(None)
    with pytest.raises(TypeError, match="^x:"):
        ops.softmax(np.array(["a"]))
    with pytest.raises(ValueError, match="^x:"):
        ops.softmax(3.0)


def test_ops_losses_shapes_axes_and_dtypes():
    rng = np.random.default_rng(13)
    z = rng.standard_normal((2, 3, 5))
    labels = rng.integers(0, 5, (2, 3))
    want, _ = ref.sparse_xent(z.reshape(6, 5), labels.reshape(6), None, True, EPS, 1.0, np.float64)
    for lab in (labels, labels.astype(np.int8), labels.astype(np.uint16), labels[..., None],
                labels.astype(np.float32)):
        got = ops.sparse_categorical_crossentropy(lab, z, from_logits=True)
        assert got.shape == (2, 3) and got.dtype == np.float64
        np.testing.assert_allclose(got.reshape(6), want, rtol=1e-12)
    # class axis first
    got = ops.sparse_categorical_crossentropy(labels, np.moveaxis(z, -1, 0), from_logits=True,
                                              axis=0)
    np.testing.assert_allclose(got.reshape(6), want, rtol=1e-12)
    t = np.eye(5)[labels]
    got = ops.categorical_crossentropy(np.moveaxis(t, -1, 1), np.moveaxis(z, -1, 1),
                                       from_logits=True, axis=1)
    np.testing.assert_allclose(got.reshape(6), want, rtol=1e-12)
    # binary: per-sample mean over the last axis
    b = ops.binary_crossentropy(t, z, from_logits=True)
    wantb, _ = ref.binary_xent(z.reshape(6, 5), t.reshape(6, 5), None, True, 0.0, EPS, 1.0,
                               np.float64)
    assert b.shape == (2, 3)
    np.testing.assert_allclose(b.reshape(6), wantb, rtol=1e-12)
    # list input is float32
    assert ops.categorical_crossentropy([[0, 1]], [[0.3, 0.7]]).dtype == np.float32
    with pytest.raises(ValueError, match="^target:"):
        ops.sparse_categorical_crossentropy(labels[:1], z)
    with pytest.raises(ValueError, match="^target:"):
        ops.sparse_categorical_crossentropy(labels + 0.5, z)
    with pytest.raises(ValueError, match="^target:"):
        ops.categorical_crossentropy(t[:1], z)
    with pytest.raises(ValueError, match="^output:"):
        ops.binary_crossentropy(np.zeros((2, 0)), np.zeros((2, 0)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_ops_with_grad_matches_reference(dtype):
    rng = np.random.default_rng(14)
    z = rng.standard_normal((6, 4)).astype(dtype)
    labels = rng.integers(0, 4, 6)
    t = np.eye(4, dtype=dtype)[labels]
    sw = rng.uniform(0.5, 1.5, 6)
    loss, grad = ops.sparse_categorical_crossentropy_with_grad(
        labels, z, from_logits=True, sample_weight=sw, grad_scale=1 / 6)
    wl, wg = ref.sparse_xent(z, labels, sw.astype(dtype), True, EPS, 1 / 6, dtype)
    assert loss.dtype == dtype and grad.dtype == dtype and grad.shape == z.shape
    _close(loss, wl, dtype)
    _close(grad, wg, dtype)
    p = ref.softmax(z).astype(dtype)
    loss, grad = ops.categorical_crossentropy_with_grad(t, p, sample_weight=sw, grad_scale=0.5,
                                                        label_smoothing=0.1)
    wl, wg = ref.categorical_xent(p, t, sw.astype(dtype), False, 0.1, EPS, 0.5, dtype)
    _close(loss, wl, dtype, 10)
    _close(grad, wg, dtype, 10)
    loss, grad = ops.binary_crossentropy_with_grad(t, z, from_logits=True, sample_weight=2.0,
                                                   label_smoothing=0.2)
    wl, wg = ref.binary_xent(z, t, np.full(6, 2.0, dtype), True, 0.2, EPS, 1.0, dtype)
    _close(loss, wl, dtype)
    _close(grad, wg, dtype)
    with pytest.raises(ValueError, match="^sample_weight:"):
        ops.binary_crossentropy_with_grad(t, z, sample_weight=np.ones(5))
    with pytest.raises(TypeError, match="^grad_scale:"):
        ops.binary_crossentropy_with_grad(t, z, grad_scale="1")
    with pytest.raises(ValueError, match="^label_smoothing:"):
        ops.categorical_crossentropy_with_grad(t, z, label_smoothing=2.0)


def test_ops_star_export():
    import fastnn.ops._nn as nn
    for name in nn.__all__:
        assert getattr(ops, name) is getattr(nn, name)
        assert getattr(nn, name).__doc__
