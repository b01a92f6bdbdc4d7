"""Hypothesis properties of fastnn._core (and fastnn.ops) over random shapes, layouts, dtypes.

Each property calls a binding with arrays of random shape, dtype and layout (C order,
Fortran order, strided and reversed views, unaligned views into a byte buffer, read-only
arrays, aliased outputs) and random scalars. The binding must either raise ValueError or
TypeError, and then only for an input it does not take, or return NumPy's result. It must
never crash: tests/robustness/test_fuzz_core.py runs this module in a
`python -X faulthandler` subprocess, so a segfault fails the test with a traceback.

Run: python -X faulthandler -m tests.robustness._fuzz_core [property ...]
Environment: FASTNN_FUZZ_EXAMPLES (examples per property, default 60),
FASTNN_FUZZ_SEED (a fixed seed for the run, default: Hypothesis's own derandomised run).
"""
import json
import math
import os
import sys
import time
import warnings

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import fastnn
from fastnn import _core, ops

np.seterr(all="ignore")  # the references meet NaN and inf on purpose
warnings.simplefilter("ignore")  # (and complex values cast to real)
EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "60"))
SEED = os.environ.get("FASTNN_FUZZ_SEED")
COUNTS = {}
OK_ERRORS = (ValueError, TypeError)

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
FLOATS = (F32, F64)
DTYPES = [F32, F64, F32, F64, np.dtype(np.float16), np.dtype(np.int32), np.dtype(np.int64),
          np.dtype(np.uint8), np.dtype(np.bool_), np.dtype(np.complex64)]
LAYOUTS = ["c", "c", "c", "c", "f", "strided", "reversed", "unaligned", "readonly"]


def prop(fn):
    """Register a property: Hypothesis settings, and a counter of the examples it ran."""
    name = fn.__name__

    def counted(data):
        COUNTS[name] = COUNTS.get(name, 0) + 1
        return fn(data)

    counted.__name__ = name
    wrapped = settings(max_examples=EXAMPLES, deadline=None, database=None,
                       derandomize=SEED is None,
                       suppress_health_check=list(HealthCheck))(given(st.data())(counted))
    if SEED is not None:
        wrapped = seed(int(SEED))(wrapped)
    PROPS[name] = wrapped
    return wrapped


PROPS = {}


# ---- arrays ------------------------------------------------------------------------------
def values(rng, shape, dtype, special=False):
    """An ndarray (0-d too) of shape and dtype with random values (NaN/inf when special)."""
    return np.asarray(_values(rng, shape, dtype, special))


def _values(rng, shape, dtype, special):
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        return rng.integers(0, 5, shape).astype(dtype)
    a = rng.standard_normal(shape)
    if dtype.kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    if special and a.size:
        flat = a.reshape(-1)
        for v in (np.nan, np.inf, -np.inf, 1e30, -0.0):
            flat[rng.integers(0, flat.size)] = v
    return a.astype(dtype)


def layout(a, how):
    """a with the same values in another memory layout."""
    if how == "f":
        return np.asfortranarray(a)
    if how == "strided" and a.ndim:
        big = np.repeat(a, 2, axis=0)
        return big[::2]
    if how == "reversed" and a.ndim:
        return np.ascontiguousarray(a[::-1])[::-1]
    if how == "unaligned" and a.itemsize > 1:
        buf = bytearray(a.nbytes + 1)
        out = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
        out[...] = a
        return out
    if how == "readonly":
        a = a.copy()
        a.flags.writeable = False
        return a
    return np.ascontiguousarray(a)


def takes(a, dtype=None, writable=False, ndim=None):
    """Whether a binding's argument check accepts a (the oracle for the properties)."""
    if not isinstance(a, np.ndarray):
        return False
    if dtype is None and a.dtype not in FLOATS:
        return False
    if dtype is not None and a.dtype != dtype:
        return False
    if ndim is not None and a.ndim != ndim:
        return False
    if not (a.flags.c_contiguous and a.flags.aligned):
        return False
    return a.flags.writeable or not writable


@st.composite
def arrays(draw, shape, dtype=None, layouts=LAYOUTS, special=False):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    dt = draw(st.sampled_from(DTYPES)) if dtype is None else np.dtype(dtype)
    a = values(rng, shape, dt, special)
    return layout(a, draw(st.sampled_from(layouts)))


def maybe_off(draw, dim):
    """dim, or (rarely) a neighbour of it: a shape the binding must refuse."""
    return max(0, dim + draw(st.sampled_from([0] * 8 + [-1, 1])))


def close(got, want, dtype, scale=1.0):
    tol = 2e-4 if dtype == F32 else 1e-10
    return np.allclose(got, want, rtol=tol, atol=tol * max(1.0, scale), equal_nan=True)


def call(fn, *args, **kwargs):
    """(True, result) or (False, the ValueError/TypeError); anything else propagates."""
    try:
        return True, fn(*args, **kwargs)
    except OK_ERRORS as e:
        return False, e


def check(valid, ok, res, what):
    if valid and not ok:
        raise AssertionError(f"{what}: refused an input it takes: {res!r}")
    if ok and not valid:
        raise AssertionError(f"{what}: accepted an input it does not take")


# ---- references --------------------------------------------------------------------------
ACTS = {None: lambda z: z,
        (1, 0.0, math.inf, 0.0): lambda z: np.maximum(z, 0),
        (7, 0.0, math.inf, 0.0): np.tanh,
        (8, 0.0, math.inf, 0.0): lambda z: 1 / (1 + np.exp(-z))}
BAD_ACTS = [(99, 0.0, 0.0, 0.0), (-1, 0.0, 0.0, 0.0), (1, 0.0), "relu", 5, (1.5, 0, 0, 0),
            (1, "a", 0.0, 0.0)]


def act_ref(spec, z):
    with np.errstate(all="ignore"):
        return ACTS[spec](np.asarray(z, np.float64))


# ---- properties --------------------------------------------------------------------------
@prop
def gemm(data):
    m, n, k = (data.draw(st.integers(0, 20)) for _ in range(3))
    ta, tb = data.draw(st.booleans()), data.draw(st.booleans())
    dt = data.draw(st.sampled_from(DTYPES))
    a = data.draw(arrays((k, m) if ta else (m, maybe_off(data.draw, k)), dt))
    b = data.draw(arrays((n, k) if tb else (k, n), data.draw(st.sampled_from([dt, dt, None]))))
    c = data.draw(arrays((maybe_off(data.draw, m), n), data.draw(st.sampled_from([dt, dt, None]))))
    if data.draw(st.integers(0, 15)) == 0 and a.shape == c.shape and a.dtype == c.dtype:
        c = a  # aliased output
    alpha = data.draw(st.floats(-2, 2))
    beta = data.draw(st.sampled_from([0.0, 1.0, -0.5]))
    c0 = np.array(c, dtype=np.float64) if c.dtype.kind != "c" else None
    valid = (takes(a, ndim=2) and takes(b, a.dtype, ndim=2) and takes(c, a.dtype, True, 2)
             and (c is not a or c.size == 0) and (a.shape[0] if ta else a.shape[1]) == (b.shape[1] if tb else b.shape[0])
             and c.shape == ((a.shape[1] if ta else a.shape[0]), (b.shape[0] if tb else b.shape[1])))
    ok, res = call(_core.gemm, a, b, c, alpha, beta, ta, tb)
    check(valid, ok, res, "gemm")
    if ok:
        A = np.asarray(a, np.float64)
        B = np.asarray(b, np.float64)
        want = alpha * ((A.T if ta else A) @ (B.T if tb else B))
        if beta != 0:
            want = want + beta * c0
        assert close(c, want, a.dtype, scale=k), "gemm: wrong result"


@prop
def dense_forward(data):
    m, k, n = data.draw(st.integers(0, 12)), data.draw(st.integers(0, 12)), data.draw(st.integers(1, 12))
    dt = data.draw(st.sampled_from(DTYPES))
    x = data.draw(arrays((m, k), dt))
    w = data.draw(arrays((maybe_off(data.draw, k), n), data.draw(st.sampled_from([dt, dt, None]))))
    b = data.draw(st.one_of(st.none(), arrays((maybe_off(data.draw, n),), dt)))
    act = data.draw(st.sampled_from(list(ACTS) + BAD_ACTS[:2]))
    y = data.draw(arrays((m, n), data.draw(st.sampled_from([dt, dt, None]))))
    z = data.draw(st.one_of(st.none(), arrays((m, n), dt)))
    packed = None
    if data.draw(st.booleans()) and x.dtype in FLOATS and w.ndim == 2:
        size = _core.packed_size(w.shape[0], w.shape[1], x.dtype)
        packed = np.empty(size + data.draw(st.sampled_from([0, 0, 0, 1])), x.dtype)
        if packed.size == size and takes(w, x.dtype):
            _core.pack_weights(w, packed)
    valid = (takes(x, ndim=2) and takes(w, x.dtype, ndim=2) and w.shape[0] == k
             and (b is None or (takes(b, x.dtype, ndim=1) and b.shape == (n,)))
             and act in ACTS and takes(y, x.dtype, True, 2)
             and (z is None or takes(z, x.dtype, True, 2))
             and (packed is None or packed.size == _core.packed_size(k, n, x.dtype)))
    ok, res = call(_core.dense_forward, x, w, b, act, y, z, packed)
    check(valid, ok, res, "dense_forward")
    if ok:
        pre = np.asarray(x, np.float64) @ np.asarray(w, np.float64)
        if b is not None:
            pre = pre + np.asarray(b, np.float64)
        assert close(y, act_ref(act, pre), x.dtype, scale=k), "dense_forward: wrong y"
        if z is not None and act is not None:
            assert close(z, pre, x.dtype, scale=k), "dense_forward: wrong z"


@prop
def act_forward(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 6), max_size=3)))
    x = data.draw(arrays(shape, special=data.draw(st.booleans())))
    act = data.draw(st.sampled_from(list(ACTS) + BAD_ACTS))
    out = x if data.draw(st.integers(0, 4)) == 0 else data.draw(
        arrays(tuple(maybe_off(data.draw, d) for d in shape), data.draw(
            st.sampled_from([x.dtype, x.dtype, None]))))
    x0 = np.array(x, copy=True)
    valid = (takes(x) and takes(out, x.dtype, True) and out.shape == x.shape
             and (act in ACTS))
    ok, res = call(_core.act_forward, x, act, out)
    check(valid, ok, res, "act_forward")
    if ok:
        assert close(out, act_ref(act, x0), x.dtype), "act_forward: wrong result"


@prop
def softmax_and_log_softmax(data):
    r, c = data.draw(st.integers(0, 8)), data.draw(st.integers(0, 9))
    x = data.draw(arrays((r, c)))
    log = data.draw(st.booleans())
    out = x if data.draw(st.integers(0, 4)) == 0 else data.draw(
        arrays((r, maybe_off(data.draw, c)), data.draw(st.sampled_from([x.dtype, None]))))
    x0 = np.array(x, np.float64) if x.dtype.kind != "c" else None
    valid = takes(x, ndim=2) and takes(out, x.dtype, True, 2) and out.shape == x.shape
    ok, res = call(_core.log_softmax if log else _core.softmax, x, out)
    check(valid, ok, res, "softmax")
    if ok and c:
        sh = x0 - x0.max(axis=1, keepdims=True)
        lse = np.log(np.exp(sh).sum(axis=1, keepdims=True))
        want = sh - lse if log else np.exp(sh - lse)
        assert close(out, want, x.dtype), "softmax: wrong result"


@prop
def sparse_xent(data):
    n, c = data.draw(st.integers(0, 8)), data.draw(st.integers(0, 6))
    dt = data.draw(st.sampled_from([F32, F64, F32, np.dtype(np.int32)]))
    z = data.draw(arrays((n, c), dt))
    labels = np.asarray(data.draw(st.lists(st.integers(-1, c), min_size=n, max_size=n)),
                        dtype=data.draw(st.sampled_from([np.int64] * 5 + [np.int32])))
    labels = layout(labels.reshape(n), data.draw(st.sampled_from(LAYOUTS)))
    sw = data.draw(st.one_of(st.none(), arrays((maybe_off(data.draw, n),), dt)))
    eps = data.draw(st.sampled_from([1e-7, 1e-7, 1e-7, 0.0, 0.6, float("nan"), "small"]))
    gs = data.draw(st.sampled_from([1.0, 0.5, float("inf")]))
    loss_out = data.draw(arrays((n,), dt))
    dz = data.draw(st.sampled_from(["none", "new", "z"]))
    dz_out = None if dz == "none" else z if dz == "z" else data.draw(arrays((n, c), dt))
    z0 = np.array(z, np.float64) if z.dtype.kind != "c" else None
    in_range = bool(labels.size == 0 or (labels.min() >= 0 and labels.max() < c))
    valid = (takes(z, ndim=2) and takes(labels, np.int64, ndim=1) and labels.shape == (n,)
             and (sw is None or (takes(sw, z.dtype, ndim=1) and sw.shape == (n,)))
             and isinstance(eps, float) and 0 < eps < 0.5 and math.isfinite(gs)
             and takes(loss_out, z.dtype, True, 1) and (c > 0 or n == 0)
             and (dz_out is None or takes(dz_out, z.dtype, True, 2)))
    ok, res = call(_core.sparse_xent, z, labels, sw, True, eps, gs, loss_out, dz_out)
    if valid and not in_range and ok:
        raise AssertionError("sparse_xent: accepted a label out of range")
    check(valid and in_range, ok, res, "sparse_xent")
    if ok and n:
        lse = np.log(np.exp(z0 - z0.max(1, keepdims=True)).sum(1)) + z0.max(1)
        want = lse - z0[np.arange(n), labels]
        if sw is not None:
            want = want * np.asarray(sw, np.float64)
        assert close(loss_out, want, z.dtype, scale=10), "sparse_xent: wrong loss"


@prop
def dropout(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 7), max_size=3)))
    x = data.draw(arrays(shape))
    out = x if data.draw(st.integers(0, 4)) == 0 else data.draw(arrays(shape, x.dtype))
    mask = data.draw(st.one_of(st.none(), arrays(tuple(maybe_off(data.draw, d) for d in shape),
                                                 data.draw(st.sampled_from([np.uint8] * 4 + [np.int8])))))
    rate = data.draw(st.sampled_from([0.0, 0.3, 0.5, 0.999, 1.0, -0.1, float("nan"), True, "0.5"]))
    s = data.draw(st.sampled_from([0, 7, 2 ** 64 - 1, 2 ** 64, -1, 1.5]))
    x0 = np.array(x, copy=True)
    valid = (takes(x) and takes(out, x.dtype, True) and out.shape == x.shape
             and (mask is None or (takes(mask, np.uint8, True) and mask.shape == x.shape))
             and isinstance(rate, float) and 0 <= rate < 1 and (x.dtype != F32 or np.float32(rate) < 1)
             and isinstance(s, int) and 0 <= s < 2 ** 64)
    ok, res = call(_core.dropout_forward, x, out, mask, rate, s, 3)
    check(valid, ok, res, "dropout_forward")
    if ok and mask is not None:
        scale = x.dtype.type(1) / (x.dtype.type(1) - x.dtype.type(rate))
        want = np.where(mask.astype(bool), x0 * scale, 0)
        assert np.array_equal(out, want.astype(x.dtype), equal_nan=True), "dropout: wrong values"


@prop
def reductions(data):
    m, n = data.draw(st.integers(0, 40)), data.draw(st.integers(0, 9))
    x = data.draw(arrays((m, n), special=data.draw(st.integers(0, 5)) == 0))
    out = data.draw(arrays((maybe_off(data.draw, n),), data.draw(st.sampled_from([x.dtype, None]))))
    valid = takes(x, ndim=2) and takes(out, x.dtype, True, 1) and out.shape == (n,)
    ok, res = call(_core.sum_rows, x, out)
    check(valid, ok, res, "sum_rows")
    if ok:
        assert close(out, np.asarray(x, np.float64).sum(0), x.dtype, scale=m), "sum_rows"
    ok, res = call(_core.sum, x)
    check(takes(x), ok, res, "sum")
    if ok:
        want = np.asarray(x, np.float64).sum()
        assert (math.isnan(res) and math.isnan(want)) or close(res, want, x.dtype, scale=m * n)


@prop
def sgd_update(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 6), max_size=3)))
    w = data.draw(arrays(shape))
    g = w if data.draw(st.integers(0, 10)) == 0 else data.draw(arrays(
        tuple(maybe_off(data.draw, d) for d in shape), data.draw(st.sampled_from([w.dtype, None]))))
    m = data.draw(st.one_of(st.none(), arrays(shape, w.dtype)))
    lr = data.draw(st.floats(0, 1))
    clip = data.draw(st.sampled_from([None, None, (1, 0.5, 0.0), (7, 1.0, 1.0), (1, 0.5), "clip"]))
    w0, g0 = np.array(w, np.float64), np.array(g, np.float64) if g.dtype.kind != "c" else None
    valid = (takes(w, writable=True) and (g is not w or w.size == 0) and takes(g, w.dtype) and g.shape == w.shape
             and (m is None or takes(m, w.dtype, True)) and (clip is None or clip == (1, 0.5, 0.0)))
    ok, res = call(_core.sgd_update, w, g, m, lr, 0.0, clip, 0.0 if m is None else 0.9)
    check(valid, ok, res, "sgd_update")
    if ok and m is None:
        step = np.clip(g0, -0.5, 0.5) if clip else g0
        assert close(w, w0 - np.float64(w.dtype.type(lr)) * step, w.dtype), "sgd_update"


@prop
def gather_rows(data):
    n, f = data.draw(st.integers(0, 10)), data.draw(st.integers(0, 5))
    src = data.draw(arrays((n, f)))
    idx = np.asarray(data.draw(st.lists(st.integers(-2, n + 1), max_size=12)),
                     dtype=data.draw(st.sampled_from([np.int64] * 5 + [np.int32])))
    out = data.draw(arrays((maybe_off(data.draw, len(idx)), f),
                           data.draw(st.sampled_from([src.dtype, src.dtype, None]))))
    in_range = bool(idx.size == 0 or (idx.min() >= 0 and idx.max() < n))
    valid = (src.flags.c_contiguous and out.flags.c_contiguous and out.flags.writeable
             and takes(idx, np.int64, ndim=1) and out.dtype == src.dtype
             and out.shape == (len(idx), f) and in_range)
    ok, res = call(_core.gather_rows, src, idx, out)
    if ok and not valid:
        raise AssertionError("gather_rows: accepted an input it does not take")
    if ok:
        assert np.array_equal(out, np.take(src, idx, axis=0), equal_nan=True), "gather_rows"


def _chain_steps(draw, rng, dt):
    """A random InferenceChain step list, mostly well-formed, and its NumPy reference."""
    width = draw(st.integers(1, 8))
    steps, fns, good = [], [], True
    first = width
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["dense", "dense", "act", "softmax", "log_softmax",
                                     "bad_op", "short", "not_tuple", "wrong_width"]))
        if kind == "dense":
            n = draw(st.integers(1, 8))
            w = values(rng, (width, n), dt)
            b = values(rng, (n,), dt) if draw(st.booleans()) else None
            act = draw(st.sampled_from(list(ACTS)))
            steps.append(("dense", w, None, b, act))
            fns.append(lambda h, w=w, b=b, act=act: act_ref(act, h @ w + (0 if b is None else b)))
            width = n
        elif kind == "act":
            act = draw(st.sampled_from([a for a in ACTS if a is not None]))
            steps.append(("act", act, width))
            fns.append(lambda h, act=act: act_ref(act, h))
        elif kind in ("softmax", "log_softmax") or (kind == "wrong_width" and not steps):
            kind = "softmax" if kind == "wrong_width" else kind
            steps.append((kind, width))
            fns.append(lambda h, log=kind == "log_softmax": _np_softmax(h, log))
        elif kind == "bad_op":
            steps.append(("conv", width))
            good = False
        elif kind == "short":
            steps.append(("dense",) if draw(st.booleans()) else ("act",))
            good = False
        elif kind == "not_tuple":
            steps.append(draw(st.sampled_from([None, 3, "dense", ["softmax", width]])))
            good = False
        else:
            steps.append(("softmax", width + 1))
            good = False
    return steps, fns, good, first


def _np_softmax(h, log):
    sh = h - h.max(axis=1, keepdims=True)
    lse = np.log(np.exp(sh).sum(axis=1, keepdims=True))
    return sh - lse if log else np.exp(sh - lse)


@prop
def inference_chain(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    dt = data.draw(st.sampled_from([F32, F64]))
    steps, fns, good, width = _chain_steps(data.draw, rng, dt)
    chain_dt = data.draw(st.sampled_from([dt, dt, dt, "int32", "float16"]))
    ok, chain = call(_core.InferenceChain, steps, chain_dt)
    valid = good and np.dtype(chain_dt) == dt
    check(valid, ok, chain, "InferenceChain")
    if not ok:
        return
    m = data.draw(st.integers(0, 9))
    x = data.draw(arrays((m, maybe_off(data.draw, width)), data.draw(st.sampled_from([dt, dt, None]))))
    ok, y = call(chain, x)
    check(takes(x, dt, ndim=2) and x.shape[1] == width, ok, y, "InferenceChain call")
    if ok:
        h = np.asarray(x, np.float64)
        with np.errstate(all="ignore"):
            for f in fns:
                h = f(h)
        assert close(y, h, dt, scale=50), "InferenceChain: wrong result"
    # the fast path: the chain's bits for an input it takes as it is, None for any other
    chain.set_shapes((width,), (chain.out_width,))
    t = chain.try_call(x)
    fits = (type(x) is np.ndarray and x.dtype == np.dtype(dt) and x.ndim == 2
            and x.shape[1] == width and x.flags.c_contiguous and x.flags.aligned)
    assert (t is not None) == fits, "try_call: took or refused the wrong input"
    if fits:
        assert ok and t.tobytes() == y.tobytes(), "try_call: not the chain's bits"


@prop
def sparse_list(data):
    """The lister of nonzeros behind products with a mostly-zero A (any layout is copied)."""
    n = data.draw(st.integers(0, 80))
    dt = data.draw(st.sampled_from(DTYPES))
    x = data.draw(arrays((n,) if data.draw(st.integers(0, 9)) else (n, 2), dt, special=True))
    if x.ndim == 1 and x.dtype in FLOATS and n:
        x = np.where(np.arange(n) % 3 == 0, x, 0).astype(x.dtype)  # mostly zeros
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=6)))
    bounds = [0] + cuts
    if data.draw(st.integers(0, 7)) == 0:  # bounds it must refuse
        bounds = data.draw(st.sampled_from([[], [1] + cuts, [0, n + 1], [0, 3, 1]]))
    valid = (x.ndim == 1 and x.dtype in FLOATS and len(bounds) >= 1 and bounds[0] == 0
             and all(b1 <= b2 for b1, b2 in zip(bounds, bounds[1:])) and bounds[-1] <= n)
    ok, res = call(_core.sparse_list, x, bounds)
    check(valid, ok, res, "sparse_list")
    if ok:
        idx, val, pos = res
        keep = np.flatnonzero(x[:bounds[-1]] != 0)
        assert idx.tolist() == keep.tolist(), "sparse_list: wrong indices"
        assert val.tobytes() == np.ascontiguousarray(x[keep]).tobytes(), "sparse_list: values"
        assert pos.tolist() == np.searchsorted(keep, bounds).tolist(), "sparse_list: counts"


@prop
def sparse_gemm(data):
    """Products large and sparse enough for the path that skips A's zeros: the same bits as
    with the path off, NaN and inf included, on any kernel family, whatever it decides."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
    dt = data.draw(st.sampled_from([F32, F64]))
    ta = data.draw(st.booleans())
    m, k, n = data.draw(st.integers(8, 90)), data.draw(st.integers(16, 420)), data.draw(st.integers(1, 70))
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dt)
    a[rng.random(a.shape) >= data.draw(st.sampled_from([0.02, 0.1, 0.3]))] = 0
    b = rng.standard_normal((k, n)).astype(dt)
    for arr in (a, b):
        if data.draw(st.integers(0, 5)) == 0:  # a NaN, an inf or a tiny value somewhere
            arr.reshape(-1)[rng.integers(0, arr.size)] = data.draw(
                st.sampled_from([np.nan, np.inf, -np.inf, 1e-30, -1e-30, -0.0]))
    family = data.draw(st.sampled_from(_core.available_kernels()))
    out = []
    try:
        _core.set_kernel(family)
        for on in (True, False):
            _core.set_sparse_a(on)
            c = np.empty((m, n), dt)
            _core.gemm(a, b, c, 1.0, 0.0, ta, False)
            out.append(c.tobytes())
    finally:
        _core.set_sparse_a(True)
        _core.set_kernel("auto")
    assert out[0] == out[1], f"sparse_gemm: other bits than the dense kernel ({family})"


@prop
def ops_matmul_like_numpy(data):
    nd1, nd2 = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    dims = [data.draw(st.integers(0, 5)) for _ in range(4)]
    s1 = tuple([dims[0], dims[1]][:max(0, nd1 - 2)] + [dims[2], dims[3]][-min(nd1, 2):])
    s2 = tuple([dims[1]][:max(0, nd2 - 2)] + [maybe_off(data.draw, dims[3]), dims[0]][-min(nd2, 2):])
    a = data.draw(arrays(s1))
    b = data.draw(arrays(s2))
    try:
        want = np.matmul(a.astype(np.float64) if a.dtype.kind != "c" else a,
                         b.astype(np.float64) if b.dtype.kind != "c" else b)
    except ValueError:
        want = None
    ok, res = call(ops.matmul, a, b)
    if want is None:
        assert not ok, "ops.matmul: accepted shapes NumPy refuses"
    elif ok:
        dt = res.dtype
        assert res.shape == want.shape and close(res, want, dt, scale=10), "ops.matmul"
    else:
        assert a.dtype.kind == "c" or b.dtype.kind == "c", f"ops.matmul refused {res!r}"


@prop
def ops_activations_like_numpy(data):
    shape = tuple(data.draw(st.lists(st.integers(0, 5), max_size=3)))
    x = data.draw(arrays(shape, data.draw(st.sampled_from([F32, F64, np.int32, np.uint8,
                                                           np.float16, np.bool_])),
                         special=data.draw(st.booleans())))
    name = data.draw(st.sampled_from(["relu", "tanh", "sigmoid"]))
    ok, res = call(getattr(ops, name), x)
    assert ok, f"ops.{name} refused {x.dtype} {x.shape}: {res!r}"
    spec = {"relu": (1, 0.0, math.inf, 0.0), "tanh": (7, 0.0, math.inf, 0.0),
            "sigmoid": (8, 0.0, math.inf, 0.0)}[name]
    assert res.shape == x.shape and close(res, act_ref(spec, x), res.dtype), f"ops.{name}"


def main(argv):
    names = argv[1:] or list(PROPS)
    t0 = time.perf_counter()
    for name in names:
        PROPS[name]()
    print(json.dumps({"examples": COUNTS, "per_property": EXAMPLES,
                      "seconds": round(time.perf_counter() - t0, 2),
                      "threads": fastnn.get_num_threads()}))


if __name__ == "__main__":
    main(sys.argv)
