"""Fused dense forward and dense backward: against NumPy, gradient-checked, deterministic,
and batch-invariant."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import _core, ops
from fastnn.ops._spec import KINDS
from tests.conftest import run_with_threads

DTYPES = [np.float32, np.float64]
ALL_ACTIVATIONS = sorted(KINDS)
# extra parameters exercised for the parameterised activations
PARAMS = {
    "relu": [{}, {"alpha": 0.1}, {"max_value": 1.5}, {"threshold": 0.3},
             {"alpha": 0.2, "max_value": 2.0, "threshold": -0.5}],
    "leaky_relu": [{"alpha": 0.3}],
    "elu": [{"alpha": 1.0}, {"alpha": 0.5}],
    "step": [{"threshold": 0.0}, {"threshold": 0.25}],
    "thresholded_relu": [{"threshold": 1.0}],
}
CASES = [(name, p) for name in ALL_ACTIVATIONS for p in PARAMS.get(name, [{}])]


def _data(rng, m, k, n, dtype):
    x = rng.standard_normal((m, k)).astype(dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(max(k, 1))).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,params", CASES)
def test_fused_forward_equals_unfused(rng, dtype, name, params):
    """The epilogue gives exactly the bits of GEMM, then bias, then the activation kernel."""
    x, w, b = _data(rng, 37, 53, 29, dtype)
    y, z = ops.dense(x, w, b, name, return_pre_activation=True, **params)
    zz = ops.gemm(x, w) + b  # the same products, then the same bias addition
    assert zz.tobytes() == z.tobytes()
    assert ops.activation(zz, name, **params).tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_relu_matches_numpy(rng, dtype):
    x, w, b = _data(rng, 64, 784, 128, dtype)
    ref = np.maximum(x.astype(np.float64) @ w + b, 0)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ops.dense(x, w, b, "relu"), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(ops.dense(x, w, None), x.astype(np.float64) @ w, rtol=tol, atol=tol)


@settings(max_examples=60, deadline=None)
@given(m=st.sampled_from([0, 1, 2, 5, 7, 13, 32, 67]), k=st.sampled_from([1, 3, 16, 31, 100]),
       n=st.sampled_from([1, 2, 10, 17, 33, 128]), dtype=st.sampled_from(DTYPES),
       act=st.sampled_from(["linear", "relu", "sigmoid", "tanh"]))
def test_dense_forward_shapes(m, k, n, dtype, act):
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    x, w, b = _data(rng, m, k, n, dtype)
    z = x.astype(np.float64) @ w + b
    ref = {"linear": z, "relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z)}[act]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ops.dense(x, w, b, act), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m, k, n", [(48, 70, 33), (300, 20, 150), (9000, 8, 40)])
def test_dense_backward_matches_numpy(rng, dtype, m, k, n):
    """dZ and dB come from one pass over blocks of 64 columns (several blocks and a partial
    one at 150; one block of many rows at 40, whose derivative is split by elements)."""
    x, w, b = _data(rng, m, k, n, dtype)
    y, z = ops.dense(x, w, b, "relu", return_pre_activation=True)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = ops.dense_backward(x, w, dy, "relu", y=y)
    dz = dy.astype(np.float64) * (z > 0)
    # float32 sums over 9000 rows carry more rounding than over 48
    tol = (1e-5 if m < 1000 else 1e-4) if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dw, x.T.astype(np.float64) @ dz, rtol=tol, atol=tol)
    np.testing.assert_allclose(db, dz.sum(0), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, dz @ w.T, rtol=tol, atol=tol)
    # first layer: dx skipped, no bias
    dx2, dw2, db2 = ops.dense_backward(x, w, dy, "relu", y=y, compute_dx=False, use_bias=False)
    assert dx2 is None and db2 is None
    assert dw2.tobytes() == dw.tobytes()


def _loss(x, w, b, g, name, params):
    return float(np.sum(g * ops.dense(x, w, b, name, **params)))


@pytest.mark.parametrize("name,params", CASES)
def test_dense_backward_gradient_check(name, params):
    """Central differences in float64 of L = sum(g * dense(x)) for x, w and b."""
    rng = np.random.default_rng(3)
    x, w, b = _data(rng, 5, 4, 3, np.float64)
    # keep pre-activations away from the kinks of relu-like functions
    z = x @ w + b
    thr = params.get("threshold", 1.0 if name == "thresholded_relu" else 0.0)
    kinks = [0.0, thr, params.get("max_value", np.inf), -3.0, 3.0]
    for kink in kinks:
        b = b + 0.2 * (np.abs(z - kink).min(axis=0) < 0.05)
        z = x @ w + b
    g = rng.standard_normal(z.shape)
    y, zz = ops.dense(x, w, b, name, return_pre_activation=True, **params)
    dx, dw, db = ops.dense_backward(x, w, g, name, y=y, z=zz, **params)
    h = 1e-6
    for arr, grad in ((x, dx), (w, dw), (b, db)):
        num = np.zeros_like(arr)
        it = np.nditer(arr, flags=["multi_index"])
        for _ in it:
            i = it.multi_index
            old = arr[i]
            arr[i] = old + h
            lp = _loss(x, w, b, g, name, params)
            arr[i] = old - h
            lm = _loss(x, w, b, g, name, params)
            arr[i] = old
            num[i] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["relu", "linear", "tanh"])
def test_batch_invariance(rng, dtype, act):
    """Row i of a batch's output is bit-identical to the output of row i alone."""
    x, w, b = _data(rng, 300, 784, 128, dtype)
    full = ops.dense(x, w, b, act)
    wp = ops.pack_weights(w)
    for bs in range(1, 301):
        part = ops.dense(x[:bs], w, b, act, w_packed=wp if bs % 2 else None)
        assert part.tobytes() == full[:bs].tobytes(), bs
    for i in range(0, 300, 7):
        assert ops.dense(x[i:i + 1], w, b, act).tobytes() == full[i:i + 1].tobytes(), i


def test_batch_invariance_every_kernel_family(rng):
    x, w, b = _data(rng, 50, 61, 45, np.float32)
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            full = ops.dense(x, w, b, "relu")
            for bs in range(1, 51):
                assert ops.dense(x[bs - 1:bs], w, b, "relu").tobytes() == full[bs - 1:bs].tobytes()
    finally:
        _core.set_kernel("auto")


DETERMINISM_SCRIPT = """
import hashlib, numpy as np
from fastnn import ops, _core
rng = np.random.default_rng(11)
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for (m, k, n, act) in [(256, 784, 128, "relu"), (512, 128, 10, "linear"), (300, 200, 150, "sigmoid"),
                           (20000, 16, 32, "elu")]:
        x = rng.standard_normal((m, k)).astype(dtype)
        w = rng.standard_normal((k, n)).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        y, z = ops.dense(x, w, b, act, return_pre_activation=True)
        dy = rng.standard_normal(y.shape).astype(dtype)
        for arr in (y, z) + ops.dense_backward(x, w, dy, act, y=y, z=z):
            h.update(arr.tobytes())
print(_core.get_num_threads(), h.hexdigest())
"""


def test_dense_bit_identical_for_1_and_2_threads():
    one = run_with_threads(DETERMINISM_SCRIPT, 1).split()
    two = run_with_threads(DETERMINISM_SCRIPT, 2).split()
    assert one[0] == "1" and two[0] == "2"
    assert one[1] == two[1]


# ---- bad input --------------------------------------------------------------------------

def test_dense_binding_bad_input():
    x = np.ones((4, 3), np.float32)
    w = np.ones((3, 2), np.float32)
    b = np.ones(2, np.float32)
    y = np.empty((4, 2), np.float32)
    with pytest.raises(TypeError, match="^x:"):
        _core.dense_forward(None, w, b, None, y)
    with pytest.raises(TypeError, match="^w:"):
        _core.dense_forward(x, w.astype(np.float64), b, None, y)
    with pytest.raises(ValueError, match="^w:"):
        _core.dense_forward(x, np.ones((4, 2), np.float32), b, None, y)
    with pytest.raises(ValueError, match="^b:"):
        _core.dense_forward(x, w, np.ones(3, np.float32), None, y)
    with pytest.raises(ValueError, match="^y:"):
        _core.dense_forward(x, w, b, None, np.empty((4, 3), np.float32))
    ro = np.empty((4, 2), np.float32)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="^y:.*read-only"):
        _core.dense_forward(x, w, b, None, ro)
    with pytest.raises(ValueError, match="^activation:"):
        _core.dense_forward(x, w, b, (99, 0.0, 0.0, 0.0), y)
    with pytest.raises(TypeError, match="^activation:"):
        _core.dense_forward(x, w, b, "relu", y)
    with pytest.raises(ValueError, match="^w_packed:"):
        _core.dense_forward(x, w, b, None, y, None, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="^activation:.*unknown"):
        ops.dense(x, w, b, "relux")
    with pytest.raises(ValueError, match="^x:"):
        ops.dense(np.ones((4, 5)), w, b)


def test_dense_backward_binding_bad_input():
    x = np.ones((4, 3))
    w = np.ones((3, 2))
    dy = np.ones((4, 2))
    dz, dw = np.empty((4, 2)), np.empty((3, 2))
    relu = ops._spec.make_spec("relu")
    with pytest.raises(ValueError, match="^y:"):
        _core.dense_backward(x, w, None, None, dy, relu, dz, dw)
    with pytest.raises(ValueError, match="^dw:"):
        _core.dense_backward(x, w, None, None, dy, None, dz, np.empty((2, 3)))
    with pytest.raises(ValueError, match="^dz:"):
        _core.dense_backward(x, w, None, None, dy, None, dz[:, :1].copy(), dw)
    with pytest.raises(ValueError, match="^dx:"):
        _core.dense_backward(x, w, None, None, dy, None, dz, dw, None, np.empty((4, 4)))
    with pytest.raises(ValueError, match="^dw:.*share memory"):
        _core.dense_backward(x, w, None, None, dy, None, dz, w)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(8, 300, 64), (1, 784, 128), (32, 784, 128), (300, 40, 20)])
def test_dense_backward_dx_bits_do_not_depend_on_formulation(rng, dtype, m, k, n):
    """For small batches dX is formed as (W dZ^T)^T; it must equal dZ W^T bit for bit."""
    x, w, b = _data(rng, m, k, n, dtype)
    y, z = ops.dense(x, w, b, "relu", return_pre_activation=True)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw, db = ops.dense_backward(x, w, dy, "relu", y=y)
    dz = np.ascontiguousarray(dy * (z > 0))
    assert dx.tobytes() == ops.gemm(dz, w, transpose_b=True).tobytes()
    assert dw.tobytes() == ops.gemm(x, dz, transpose_a=True).tobytes()
