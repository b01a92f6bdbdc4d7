"""Activation kernels: against NumPy references of Keras's formulas, gradient-checked,
deterministic across thread counts and positions, and strict about bad input."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import fastnn
from fastnn import _core, ops
from fastnn.ops._spec import KINDS, activation_spec, make_spec
from tests.conftest import run_with_threads
from tests.kernels import _ref_activations as ref

DTYPES = [np.float32, np.float64]
DT_IDS = ["f32", "f64"]
# Relative tolerance against a float64 reference rounded to the dtype: the kernels round
# once (float32 transcendental kinds compute in double) or use Keras's few float32 steps.
RTOL = {np.float32: 1e-6, np.float64: 1e-12}
# Absolute floor: below float32's normal range relative precision ends; for float64 it
# covers the reference's own rounding near the zeros of swish'/gelu'.
ATOL = {np.float32: 1e-37, np.float64: 1e-14}
BIG = {np.float32: 30, np.float64: 150}  # largest decimal exponent in the test data

CASES = ref.CASES
IDS = [ref.case_id(c) for c in CASES]
SIZES = [0, 1, 2, 3, 5, 7, 8, 13, 16, 31, 64, 97, 257, 1031]
N_BIG = 1 << 20  # large enough that every kind splits across 2 threads

shapes = st.lists(st.sampled_from(SIZES), min_size=0, max_size=3).filter(
    lambda s: math.prod(s) <= 20000)
FAST = settings(max_examples=8, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def spec_of(case):
    name, params = case
    return activation_spec(name, **params)


def values(rng, shape, dtype, case=None):
    """Normal values mixed with huge and tiny magnitudes, zeros and the case's kinks."""
    n = math.prod(shape)
    x = rng.standard_normal(n) * 3.0
    pick = rng.random(n)
    big = 10.0 ** rng.uniform(1, BIG[dtype], n) * rng.choice([-1.0, 1.0], n)
    tiny = 10.0 ** rng.uniform(-30, -3, n) * rng.choice([-1.0, 1.0], n)
    special = [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 30.0, -30.0, 100.0, -100.0]
    if case is not None:
        special += ref.kinks(*case, dtype=dtype)
    spec_vals = rng.choice(np.array(special), n)
    x = np.where(pick < 0.15, big, x)
    x = np.where((pick >= 0.15) & (pick < 0.25), tiny, x)
    x = np.where((pick >= 0.25) & (pick < 0.35), spec_vals, x)
    return x.astype(dtype).reshape(shape)


def away_from_kinks(x, case, dtype, gap):
    """Move values within gap of a kink to gap past it (derivatives are compared only where
    they are defined)."""
    x = np.array(x, dtype=np.float64)
    for k in ref.kinks(*case, dtype=dtype):
        near = np.abs(x - k) < gap
        x[near] = k + gap * 2
    return x.astype(dtype)


def assert_close(got, ref64, dtype, rtol, atol, what):
    """got (dtype) against ref64 rounded to dtype; non-finite references must match exactly."""
    refc = ref64.astype(dtype).astype(np.float64)
    g = np.asarray(got, np.float64)
    atol = np.broadcast_to(np.asarray(atol, np.float64), refc.shape)
    fin = np.isfinite(refc)
    if not np.array_equal(g[~fin], refc[~fin], equal_nan=True):
        i = np.flatnonzero(~fin & ~((g == refc) | (np.isnan(g) & np.isnan(refc))))[0]
        raise AssertionError(f"{what}: element {i}: got {g.flat[i]!r}, expected {refc.flat[i]!r}")
    err = np.abs(g[fin] - refc[fin])
    tol = rtol * np.abs(refc[fin]) + atol[fin]
    if err.size and not np.all(err <= tol):
        j = int(np.argmax(err - tol))
        i = np.flatnonzero(fin)[j]
        raise AssertionError(f"{what}: element {i}: got {g.flat[i]!r}, expected {refc.flat[i]!r}"
                             f" (error {err[j]:.3g}, tolerance {tol[j]:.3g})")


def backward(case, x, y, dy):
    """The kernel's derivative with the inputs the engine would pass: x only where needed."""
    spec = spec_of(case)
    needs = _core.act_needs_input(spec)
    out = np.empty_like(dy)
    return _core.act_backward(spec, x if needs else None, None if needs else y, dy, out)


def backward_tolerance(case, x, y, dy, dtype):
    """|dy| times: the reference's floor, plus one rounding of y for y-based kinds, plus the
    cancellation of the gelu-tanh reference formula."""
    name = case[0]
    x64 = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        tol = np.full(x64.shape, ATOL[dtype])
        if name in ref.Y_BASED:
            sp = np.spacing(np.abs(y)).astype(np.float64)
            tol = tol + ref.dy_sensitivity(name, x64, y) * sp
        if name == "gelu" and case[1].get("approximate"):
            ax = np.abs(x64)
            tol = tol + np.where(ax < 30, 4e-16 * (1.0 + ax ** 3), 0.0)
    return np.abs(dy.astype(np.float64)) * tol


# ---- forward and backward against NumPy -------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
@FAST
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_forward_matches_reference(case, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = values(rng, tuple(shape), dtype, case)
    y = ops.activation(x, case[0], **case[1])
    assert y.dtype == dtype and y.shape == x.shape
    want = ref.forward(*case, x, dtype=dtype)
    atol = ATOL[dtype]
    if case[0] == "gelu" and case[1].get("approximate"):
        # 1 + tanh(u) cancels in the reference for negative x: its error is ~eps |x|
        atol = atol + 4e-16 * np.abs(x.astype(np.float64))
    assert_close(y, want, dtype, RTOL[dtype], atol, f"{ref.case_id(case)} forward")


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
@FAST
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_backward_matches_reference(case, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_kinks(values(rng, tuple(shape), dtype, case), case, dtype, 1e-3)
    y = ops.activation(x, case[0], **case[1])
    dy = rng.standard_normal(x.shape).astype(dtype)
    got = backward(case, x, y, dy)
    assert got.dtype == dtype and got.shape == x.shape
    with np.errstate(over="ignore", invalid="ignore"):
        want = dy.astype(np.float64) * ref.derivative(*case, x, dtype=dtype)
    ok = np.isfinite(y)  # beyond exp's range the reference and the kernel both overflow
    assert_close(got[ok], want[ok], dtype, RTOL[dtype],
                 backward_tolerance(case, x, y, dy, dtype)[ok], f"{ref.case_id(case)} backward")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_central_difference(case):
    """act' from the kernel against (f(x + h) - f(x - h)) / 2h of the kernel's forward."""
    rng = np.random.default_rng(7)
    x = away_from_kinks(rng.uniform(-4, 4, 400), case, np.float64, 1e-3)
    x = np.concatenate([x, away_from_kinks(rng.uniform(-12, 12, 100), case, np.float64, 1e-3)])
    h = 1e-6
    fp = ops.activation(x + h, case[0], **case[1])
    fm = ops.activation(x - h, case[0], **case[1])
    numeric = (fp - fm) / (2 * h)
    y = ops.activation(x, case[0], **case[1])
    analytic = backward(case, x, y, np.ones_like(x))
    tol = 1e-6 * np.abs(numeric) + 1e-8 * np.maximum(np.abs(y), 1.0)
    bad = np.flatnonzero(~(np.abs(analytic - numeric) <= tol))
    assert bad.size == 0, (f"{ref.case_id(case)}: at x={x[bad[0]]!r} analytic "
                           f"{analytic[bad[0]]!r}, numeric {numeric[bad[0]]!r}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_backward_from_y_or_x_is_the_same(case, dtype):
    """Kinds differentiated from y recompute y when only x is given: the same bits."""
    spec = spec_of(case)
    if _core.act_needs_input(spec):
        # and those that need x refuse to run without it
        x = np.ones(3, dtype)
        with pytest.raises(ValueError, match=r"^x:"):
            _core.act_backward(spec, None, x, x, np.empty_like(x))
        return
    rng = np.random.default_rng(3)
    x = values(rng, (5000,), dtype, case)
    y = ops.activation(x, case[0], **case[1])
    dy = rng.standard_normal(x.shape).astype(dtype)
    from_y = _core.act_backward(spec, None, y, dy, np.empty_like(dy))
    from_x = _core.act_backward(spec, x, None, dy, np.empty_like(dy))
    both = _core.act_backward(spec, x, y, dy, np.empty_like(dy))
    assert from_y.tobytes() == from_x.tobytes() == both.tobytes()


def test_keras_documented_values():
    """The numbers in keras.activations' docstrings and a few worked by hand."""
    x = np.array([-10, -5, 0.0, 5, 10], np.float32)
    np.testing.assert_array_equal(ops.relu(x), [0, 0, 0, 5, 10])
    np.testing.assert_array_equal(ops.relu(x, negative_slope=0.5), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(ops.relu(x, max_value=5.0), [0, 0, 0, 5, 5])
    r = ops.relu(x, threshold=5.0)
    np.testing.assert_array_equal(r, [0, 0, 0, 0, 10])
    assert list(np.signbit(r)) == [True, True, False, False, False]  # Keras gives -0.
    # ReLU layer docstring: max_value=10, negative_slope=0.5
    np.testing.assert_array_equal(ops.relu(x, negative_slope=0.5, max_value=10.0),
                                  [-5, -2.5, 0, 5, 10])
    one = np.array([1.0, -1.0])
    np.testing.assert_allclose(ops.selu(one), [1.0507009873554805, -1.1113307378125628],
                               rtol=1e-15)
    np.testing.assert_allclose(ops.gelu(one, approximate=False),
                               [0.8413447460685429, -0.15865525393145707], rtol=1e-15)
    np.testing.assert_allclose(ops.gelu(one), [0.8411919906082768, -0.15880800939172324],
                               rtol=1e-15)
    np.testing.assert_allclose(ops.elu(one), [1.0, math.expm1(-1.0)], rtol=1e-15)
    np.testing.assert_allclose(ops.softplus(np.zeros(1)), [math.log(2.0)], rtol=1e-15)
    np.testing.assert_array_equal(ops.hard_sigmoid(np.array([-4, -3, 0, 1.5, 3, 4.0])),
                                  [0, 0, 0.5, 0.75, 1, 1])
    np.testing.assert_array_equal(ops.softsign(np.array([1.0, -3.0])), [0.5, -0.75])
    np.testing.assert_array_equal(ops.step(np.array([-1.0, 0.0, 0.5]), threshold=0.25),
                                  [0, 0, 1])
    np.testing.assert_array_equal(ops.thresholded_relu(np.array([0.5, 1.0, 2.0])), [0, 0, 2])
    # the stable forms do not overflow or lose the tails
    big = np.array([-1000.0, 1000.0])
    np.testing.assert_array_equal(ops.sigmoid(big), [0.0, 1.0])
    np.testing.assert_array_equal(ops.softplus(big), [0.0, 1000.0])
    assert ops.sigmoid(np.array([-50.0]))[0] == pytest.approx(math.exp(-50.0), rel=1e-15)
    assert ops.gelu(np.array([-10.0]), approximate=False)[0] == pytest.approx(
        -10.0 * 0.5 * math.erfc(10.0 / math.sqrt(2.0)), rel=1e-13)


def test_derivative_conventions_at_kinks():
    """At the kinks the derivative is the one tf.keras's gradient gives."""
    def d(name, xv, **params):
        x = np.array([xv])
        y = ops.activation(x, name, **params)
        return ops.activation_backward(name, x=x, y=y, dy=np.ones(1), **params)[0]

    assert d("relu", 0.0) == 0.0
    assert d("relu", 6.0, max_value=6.0) == 0.0
    assert d("relu6", 6.0) == 0.0
    assert d("leaky_relu", 0.0, negative_slope=0.3) == 0.3
    assert d("elu", 0.0, alpha=0.5) == 0.5
    assert d("selu", 0.0) == ref.SELU_SCALE
    assert d("hard_sigmoid", -3.0) == 0.0 and d("hard_sigmoid", 3.0) == 0.0
    assert d("thresholded_relu", 1.0) == 0.0
    assert d("step", 0.0) == 0.0
    # d/dx sigmoid at 0 and 1 - tanh^2 at 0
    assert d("sigmoid", 0.0) == 0.25 and d("tanh", 0.0) == 1.0


# ---- PReLU -------------------------------------------------------------------------------


prelu_shapes = st.tuples(st.sampled_from([0, 1, 2, 7, 31, 257]),
                         st.lists(st.sampled_from([1, 2, 3, 5, 13, 300]), min_size=1,
                                  max_size=2)).filter(lambda s: s[0] * math.prod(s[1]) <= 40000)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@FAST
@given(shape=prelu_shapes, seed=st.integers(0, 2**32 - 1))
def test_prelu_matches_reference(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    m, feat = shape
    x = values(rng, (m,) + tuple(feat), dtype)
    alpha = rng.uniform(-0.5, 1.5, tuple(feat)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    y = ops.prelu(x, alpha)
    assert_close(y, ref.prelu_forward(x, alpha.astype(np.float64)), dtype, RTOL[dtype],
                 ATOL[dtype], "prelu forward")
    dx, dalpha = ops.prelu_backward(x, alpha, dy)
    want_dx, want_da = ref.prelu_backward(x, alpha.astype(np.float64), dy.astype(np.float64))
    assert_close(dx, want_dx, dtype, RTOL[dtype], ATOL[dtype], "prelu dx")
    # a sum: error relative to the sum of the magnitudes of its terms
    terms = np.where(x <= 0, np.abs(dy.astype(np.float64) * x), 0.0)
    mag = terms.sum(axis=0) if m else np.zeros(alpha.shape)
    assert_close(dalpha, want_da, dtype, RTOL[dtype], RTOL[dtype] * mag + ATOL[dtype],
                 "prelu dalpha")
    # dx may be dy itself, and dalpha is unchanged by that
    dy2 = dy.copy()
    dx2, dalpha2 = ops.prelu_backward(x, alpha, dy2, dx=dy2)
    assert dx2 is dy2 and dx2.tobytes() == dx.tobytes() and dalpha2.tobytes() == dalpha.tobytes()


def test_prelu_gradient_central_difference():
    rng = np.random.default_rng(11)
    x = rng.uniform(-3, 3, (40, 3, 4))
    x = np.where(np.abs(x) < 1e-3, 0.5, x)
    alpha = rng.uniform(-0.5, 1.0, (3, 4))
    dy = rng.standard_normal(x.shape)
    dx, dalpha = ops.prelu_backward(x, alpha, dy)
    h = 1e-6
    num_dx = (ops.prelu(x + h, alpha) - ops.prelu(x - h, alpha)) / (2 * h) * dy
    np.testing.assert_allclose(dx, num_dx, rtol=1e-7, atol=1e-9)
    num_da = np.empty_like(alpha)
    for j in np.ndindex(alpha.shape):
        e = np.zeros_like(alpha)
        e[j] = h
        num_da[j] = np.sum(dy * (ops.prelu(x, alpha + e) - ops.prelu(x, alpha - e))) / (2 * h)
    np.testing.assert_allclose(dalpha, num_da, rtol=1e-7, atol=1e-8)


# ---- determinism ---------------------------------------------------------------------------


def _big_inputs(dtype):
    rng = np.random.default_rng(2024)
    x = values(rng, (N_BIG,), dtype)
    dy = rng.standard_normal(N_BIG).astype(dtype)
    return x, dy


def _run_all(dtype):
    x, dy = _big_inputs(dtype)
    outs = []
    for case in CASES:
        spec = spec_of(case)
        y = _core.act_forward(x, spec, np.empty_like(x))
        g = _core.act_backward(spec, x, y, dy, np.empty_like(x))
        outs.append((y, g))
    return x, dy, outs


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_thread_count_and_position_invariance(dtype):
    """Bit-identical with 1 and 2 threads, and an element's result does not depend on where
    it sits (chunk edges, vector bodies and scalar tails, unaligned starts)."""
    try:
        fastnn.set_num_threads(1)
        _, _, one = _run_all(dtype)
        fastnn.set_num_threads(2)
        x, dy, two = _run_all(dtype)
    finally:
        _core.reset_num_threads()
    rng = np.random.default_rng(5)
    windows = [(0, 1), (1, 7), (3, 8193), (8191, 3), (N_BIG - 5, 5)]
    windows += [(int(o), int(n)) for o, n in zip(rng.integers(0, N_BIG - 70000, 3),
                                                 rng.integers(1, 70000, 3))]
    for case, (y1, g1), (y2, g2) in zip(CASES, one, two):
        assert y1.tobytes() == y2.tobytes(), ref.case_id(case)
        assert g1.tobytes() == g2.tobytes(), ref.case_id(case)
        spec = spec_of(case)
        for o, n in windows:
            xs, ds = x[o:o + n], dy[o:o + n]
            ys = _core.act_forward(xs, spec, np.empty_like(xs))
            gs = _core.act_backward(spec, xs, ys, ds, np.empty_like(xs))
            assert ys.tobytes() == y2[o:o + n].tobytes(), (ref.case_id(case), o, n)
            assert gs.tobytes() == g2[o:o + n].tobytes(), (ref.case_id(case), o, n)


def test_prelu_thread_count_invariance():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2000, 600))
    alpha = rng.uniform(0, 1, 600)
    dy = rng.standard_normal(x.shape)
    res = []
    try:
        for nt in (1, 2):
            fastnn.set_num_threads(nt)
            y = ops.prelu(x, alpha)
            dx, da = ops.prelu_backward(x, alpha, dy)
            res.append((y.tobytes(), dx.tobytes(), da.tobytes()))
    finally:
        _core.reset_num_threads()
    assert res[0] == res[1]


DETERMINISM_SCRIPT = """
import hashlib, numpy as np
from fastnn import _core
from tests.kernels import test_activations as t
for dtype in (np.float32, np.float64):
    _, _, outs = t._run_all(dtype)
    h = hashlib.sha256()
    for y, g in outs:
        h.update(y.tobytes()); h.update(g.tobytes())
    print(_core.get_num_threads(), h.hexdigest())
"""


def test_omp_num_threads_invariance():
    """Fresh interpreters under OMP_NUM_THREADS=1 and 2 give the same bytes for every kind."""
    one = run_with_threads(DETERMINISM_SCRIPT, 1).split("\n")
    two = run_with_threads(DETERMINISM_SCRIPT, 2).split("\n")
    one = [line.split() for line in one if line]
    two = [line.split() for line in two if line]
    assert [a[0] for a in one] == ["1", "1"] and [a[0] for a in two] == ["2", "2"]
    assert [a[1] for a in one] == [a[1] for a in two]


# ---- ops wrappers, specs and conversions --------------------------------------------------


def test_named_wrappers_match_the_generic_activation():
    rng = np.random.default_rng(1)
    x = values(rng, (300,), np.float64)
    same = {
        ops.relu: ("relu", {}), ops.relu6: ("relu", {"max_value": 6.0}),
        ops.leaky_relu: ("leaky_relu", {"negative_slope": 0.2}), ops.elu: ("elu", {}),
        ops.selu: ("selu", {}), ops.softplus: ("softplus", {}), ops.softsign: ("softsign", {}),
        ops.tanh: ("tanh", {}), ops.sigmoid: ("sigmoid", {}),
        ops.hard_sigmoid: ("hard_sigmoid", {}), ops.exponential: ("exponential", {}),
        ops.silu: ("swish", {}), ops.swish: ("silu", {}), ops.gelu: ("gelu_tanh", {}),
        ops.thresholded_relu: ("thresholded_relu", {"theta": 1.0}), ops.step: ("step", {}),
        ops.linear: ("linear", {}),
    }
    for fn, (name, params) in same.items():
        assert fn(x).tobytes() == ops.activation(x, name, **params).tobytes(), fn.__name__
    assert set(ops._activations.__all__) <= set(dir(ops))


def test_specs():
    assert make_spec("linear") is None and activation_spec(None) is None
    assert make_spec("relu") == (KINDS["relu"], 0.0, math.inf, 0.0)
    assert make_spec("relu6") == (KINDS["relu"], 0.0, 6.0, 0.0)
    assert make_spec("leaky_relu") == (KINDS["leaky_relu"], 0.2, math.inf, 0.0)
    assert make_spec("elu") == (KINDS["elu"], 1.0, math.inf, 0.0)
    assert make_spec("thresholded_relu") == (KINDS["thresholded_relu"], 0.0, math.inf, 1.0)
    assert make_spec("silu") == make_spec("swish")
    assert make_spec("relu", alpha=0.1, max_value=2, threshold=0.5) == (1, 0.1, 2.0, 0.5)
    assert activation_spec("relu", negative_slope=0.1) == activation_spec("relu", alpha=0.1)
    assert activation_spec("thresholded_relu", theta=0.5) == make_spec("thresholded_relu",
                                                                       threshold=0.5)
    assert activation_spec("gelu") == make_spec("gelu")
    assert activation_spec("gelu", approximate=True) == make_spec("gelu_tanh")
    spec = (KINDS["sigmoid"], 0.0, math.inf, 0.0)
    assert activation_spec(spec) is spec
    needs = {name for name in KINDS if _core.act_needs_input(KINDS[name])}
    assert needs == {"softsign", "thresholded_relu", "swish", "gelu", "gelu_tanh"}
    assert not _core.act_needs_input(make_spec("relu", max_value=6.0, threshold=0.5, alpha=0.1))
    assert _core.act_needs_input(make_spec("relu", threshold=-0.5))
    assert _core.act_needs_input(make_spec("relu", alpha=-0.1))
    assert not _core.act_needs_input(make_spec("relu", threshold=-0.5, max_value=2.0))
    assert _core.act_needs_input(make_spec("leaky_relu", alpha=-0.2))
    assert ops.activation_needs_input("gelu") and not ops.activation_needs_input("sigmoid")


def test_input_conversion_and_out():
    y = ops.relu([1, -2, 3])
    assert y.dtype == np.float32 and y.tolist() == [1.0, 0.0, 3.0]
    assert ops.sigmoid(np.zeros(3, np.float16)).dtype == np.float32
    assert ops.sigmoid(np.zeros(3, np.int64)).dtype == np.float32
    assert ops.tanh(np.zeros(3)).dtype == np.float64
    assert ops.relu(np.float64(-2.0)).shape == ()
    # non-contiguous input is copied, not refused, at the ops level
    x = np.arange(-10, 10, dtype=np.float64).reshape(4, 5)
    np.testing.assert_array_equal(ops.relu(x.T), np.maximum(x.T, 0))
    # out= and in place
    out = np.empty_like(x)
    assert ops.sigmoid(x, out=out) is out
    x2 = x.copy()
    assert ops.sigmoid(x2, out=x2) is x2 and x2.tobytes() == out.tobytes()
    dy = np.ones_like(x)
    g = ops.activation_backward("sigmoid", y=out, dy=dy, out=dy)
    assert g is dy and np.allclose(g, out * (1 - out))


def _f32(*shape):
    return np.ones(shape, np.float32)


@pytest.mark.parametrize("call,exc,arg", [
    (lambda: _core.act_forward(np.ones(3, np.int32), None, _f32(3)), TypeError, "x"),
    (lambda: _core.act_forward(None, None, _f32(3)), TypeError, "x"),
    (lambda: _core.act_forward([1.0, 2.0], None, _f32(2)), TypeError, "x"),
    (lambda: _core.act_forward(_f32(3), None, _f32(4)), ValueError, "out"),
    (lambda: _core.act_forward(_f32(3), None, np.ones(3)), TypeError, "out"),
    (lambda: _core.act_forward(_f32(3), None, None), TypeError, "out"),
    (lambda: _core.act_forward(_f32(4, 2)[:, 0], None, _f32(4)), ValueError, "x"),
    (lambda: _core.act_forward(_f32(4), None, _f32(4, 2)[:, 0]), ValueError, "out"),
    (lambda: _core.act_forward(_f32(3), (99, 0.0, 0.0, 0.0), _f32(3)), ValueError,
     "activation"),
    (lambda: _core.act_forward(_f32(3), "relu", _f32(3)), TypeError, "activation"),
    (lambda: _core.act_backward(make_spec("sigmoid"), None, None, _f32(3), _f32(3)),
     ValueError, "y"),
    (lambda: _core.act_backward(make_spec("swish"), None, _f32(3), _f32(3), _f32(3)),
     ValueError, "x"),
    (lambda: _core.act_backward(make_spec("swish"), _f32(2), None, _f32(3), _f32(3)),
     ValueError, "x"),
    (lambda: _core.act_backward(make_spec("tanh"), None, np.ones(3), _f32(3), _f32(3)),
     TypeError, "y"),
    (lambda: _core.act_backward(make_spec("tanh"), None, _f32(3), None, _f32(3)),
     TypeError, "dy"),
    (lambda: _core.act_needs_input("relu"), TypeError, "kind"),
    (lambda: _core.act_needs_input(99), ValueError, "kind"),
    (lambda: _core.prelu_forward(_f32(2, 3), _f32(2), _f32(2, 3)), ValueError, "alpha"),
    (lambda: _core.prelu_forward(_f32(2, 3), np.ones(3), _f32(2, 3)), TypeError, "alpha"),
    (lambda: _core.prelu_backward(_f32(2, 3), _f32(3), _f32(2, 3), None, _f32(2)),
     ValueError, "dalpha"),
    (lambda: _core.prelu_backward(_f32(2, 3), _f32(3), _f32(3, 2), None, _f32(3)),
     ValueError, "dy"),
    (lambda: ops.activation(_f32(3), "rleu"), ValueError, "activation"),
    (lambda: ops.activation(_f32(3), 3), TypeError, "activation"),
    (lambda: ops.activation(_f32(3), "relu", theta=1.0), TypeError, "theta"),
    (lambda: ops.relu(_f32(3), negative_slope="a"), TypeError, "negative_slope"),
    (lambda: ops.relu(None), TypeError, "x"),
    (lambda: ops.relu(np.array(["a"])), TypeError, "x"),
    (lambda: ops.relu(_f32(3), out=_f32(4)), ValueError, "out"),
    (lambda: ops.relu(_f32(3), out=np.ones(3)), TypeError, "out"),
    (lambda: ops.relu(_f32(3), out=[0.0, 0.0, 0.0]), TypeError, "out"),
    (lambda: ops.prelu_backward(_f32(2, 3), _f32(3), _f32(2, 3), dx=_f32(3)), ValueError,
     "dx"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_names_the_argument(call, exc, arg):
    with pytest.raises(exc, match=rf"^{arg}:"):
        call()


def test_read_only_and_overlapping_outputs_are_refused():
    x = _f32(8)
    ro = _f32(8)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"^out:.*read-only"):
        _core.act_forward(x, None, ro)
    buf = np.ones(9, np.float32)
    with pytest.raises(ValueError, match=r"^out:"):
        _core.act_forward(buf[:8], make_spec("relu"), buf[1:])
    with pytest.raises(ValueError, match=r"^out:"):
        _core.act_backward(make_spec("tanh"), None, buf[:8], x, buf[1:])
    with pytest.raises(ValueError, match=r"^dalpha:"):
        _core.prelu_backward(_f32(2, 3), _f32(3), _f32(2, 3), None, ro[:3])
    with pytest.raises(ValueError, match=r"^out:"):
        ops.relu(_f32(8), out=ro)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        ops.activation(_f32(2), "rleu")
