"""GEMM against NumPy: every transpose, alpha/beta, awkward shapes, every kernel family."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import _core, ops
from tests.conftest import run_with_threads

DTYPES = [np.float32, np.float64]
# 0, 1, primes, and sizes around the register tiles (4, 6, 8 rows; 4, 8, 16, 32 columns)
DIMS = [0, 1, 2, 3, 5, 6, 7, 8, 13, 16, 17, 31, 32, 33, 97, 127, 257]


def _ref(a, b, c, alpha, beta, ta, tb):
    A = a.T if ta else a
    B = b.T if tb else b
    return alpha * (A.astype(np.float64) @ B.astype(np.float64)) + beta * c.astype(np.float64)


def _bound(a, b, c, alpha, beta, ta, tb, dtype):
    """A rounding-error bound per element: about k * eps * (|alpha| |A||B| + |beta| |C|)."""
    A = np.abs(a.T if ta else a).astype(np.float64)
    B = np.abs(b.T if tb else b).astype(np.float64)
    k = A.shape[1]
    eps = np.finfo(dtype).eps
    return (k + 4) * eps * (abs(alpha) * (A @ B) + abs(beta) * np.abs(c)) + np.finfo(dtype).tiny


def _operands(rng, m, n, k, ta, tb, dtype):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    return a, b, c


def _check(rng, m, n, k, ta, tb, dtype, alpha=1.0, beta=0.0):
    a, b, c = _operands(rng, m, n, k, ta, tb, dtype)
    c0 = c.copy()
    _core.gemm(a, b, c, alpha, beta, ta, tb)
    ref = _ref(a, b, c0, alpha, beta, ta, tb)
    err = np.abs(c.astype(np.float64) - ref)
    assert np.all(err <= _bound(a, b, c0, alpha, beta, ta, tb, dtype)), (m, n, k, ta, tb, err.max())


@settings(max_examples=150, deadline=None)
@given(m=st.sampled_from(DIMS), n=st.sampled_from(DIMS), k=st.sampled_from(DIMS),
       ta=st.booleans(), tb=st.booleans(), dtype=st.sampled_from(DTYPES),
       alpha=st.sampled_from([1.0, -0.5, 2.0]), beta=st.sampled_from([0.0, 1.0, 0.25]))
def test_gemm_matches_numpy(m, n, k, ta, tb, dtype, alpha, beta):
    _check(np.random.default_rng(m * 1000003 + n * 1009 + k), m, n, k, ta, tb, dtype, alpha, beta)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_gemm_every_kernel_family(rng, dtype, ta, tb):
    """Each family this CPU can run (portable always) gives NumPy's answer."""
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            assert _core.kernel_name() == family
            for (m, n, k) in [(1, 1, 1), (7, 33, 19), (65, 47, 300), (200, 130, 520)]:
                _check(rng, m, n, k, ta, tb, dtype, 1.5, 0.5)
    finally:
        _core.set_kernel("auto")


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_large_1000(rng, dtype):
    _check(rng, 1000, 1000, 1000, False, False, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_zero_never_reads_c(rng, dtype):
    a, b, _ = _operands(rng, 20, 30, 40, False, False, dtype)
    c = np.full((20, 30), np.nan, dtype)
    _core.gemm(a, b, c, 1.0, 0.0)
    assert np.isfinite(c).all()
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-4 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_beta_one_accumulates(rng, dtype):
    a, b, c = _operands(rng, 37, 29, 300, False, False, dtype)
    start = c.copy()
    _core.gemm(a, b, c, 1.0, 1.0)
    _core.gemm(a, b, c, 1.0, 1.0)
    ref = start.astype(np.float64) + 2 * (a.astype(np.float64) @ b)
    np.testing.assert_allclose(c, ref, rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-3 if dtype == np.float32 else 1e-11)


def test_k_zero_gives_beta_c(rng):
    a = np.empty((4, 0), np.float32)
    b = np.empty((0, 5), np.float32)
    c = np.ones((4, 5), np.float32)
    _core.gemm(a, b, c, 1.0, 0.5)
    assert (c == 0.5).all()
    _core.gemm(a, b, c, 1.0, 0.0)
    assert (c == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(97, 64, 64), (200, 67, 130), (301, 391, 64), (150, 803, 50),
                                   (130, 100, 64)])
def test_packed_a_blocks_match_numpy_and_single_rows(rng, dtype, m, k, n):
    """Products with enough rows to pack A (more than one row block, K >= 64), with K not a
    multiple of the vector width, several K blocks, and A starting one element past an
    aligned address: NumPy's answer, and each row bit-identical to that row alone (read in
    place, never packed)."""
    buf = rng.standard_normal(m * k + 1).astype(dtype)
    a = buf[1:].reshape(m, k)
    b = rng.standard_normal((k, n)).astype(dtype)
    c = np.empty((m, n), dtype)
    _core.gemm(a, b, c)
    zero = np.zeros((m, n), dtype)
    err = np.abs(c.astype(np.float64) - _ref(a, b, zero, 1.0, 0.0, False, False))
    assert np.all(err <= _bound(a, b, zero, 1.0, 0.0, False, False, dtype))
    one = np.empty((1, n), dtype)
    for i in list(range(0, m, 5)) + [m - 1]:
        _core.gemm(a[i:i + 1], b, one)
        assert one.tobytes() == c[i:i + 1].tobytes(), i


def test_packed_weights_give_identical_products(rng):
    x = rng.standard_normal((33, 70)).astype(np.float32)
    w = rng.standard_normal((70, 45)).astype(np.float32)
    b = rng.standard_normal(45).astype(np.float32)
    wp = ops.pack_weights(w)
    np.testing.assert_array_equal(ops.dense(x, w, b, "relu", w_packed=wp), ops.dense(x, w, b, "relu"))


def test_matmul_op_matches_numpy(rng):
    a = rng.standard_normal((3, 4, 5))
    b = rng.standard_normal((5, 6))
    np.testing.assert_allclose(ops.matmul(a, b), a @ b, rtol=1e-12)
    c = rng.standard_normal((3, 6, 2))
    np.testing.assert_allclose(ops.matmul(ops.matmul(a, b), c), (a @ b) @ c, rtol=1e-12)
    v = rng.standard_normal(5)
    np.testing.assert_allclose(ops.matmul(v, b), v @ b, rtol=1e-12)
    np.testing.assert_allclose(ops.matmul(a, v), a @ v, rtol=1e-12)
    # ints become float32
    assert ops.matmul(np.ones((2, 2), int), np.ones((2, 2), int)).dtype == np.float32
    out = np.empty((3, 4, 6))
    assert ops.matmul(a, b, out=out) is out


def test_gemm_op_transposes(rng):
    a = rng.standard_normal((6, 4)).astype(np.float32)
    b = rng.standard_normal((5, 6)).astype(np.float32)
    got = ops.gemm(a, b, transpose_a=True, transpose_b=True, alpha=2.0)
    np.testing.assert_allclose(got, 2 * a.T @ b.T, rtol=1e-5)


DETERMINISM_SCRIPT = """
import hashlib, numpy as np
from fastnn import _core
rng = np.random.default_rng(7)
h = hashlib.sha256()
for dtype in (np.float32, np.float64):
    for ta in (False, True):
        for tb in (False, True):
            m, n, k = 301, 263, 517
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
            c = rng.standard_normal((m, n)).astype(dtype)
            _core.gemm(a, b, c, 1.25, 0.5, ta, tb)
            h.update(c.tobytes())
print(_core.get_num_threads(), h.hexdigest())
"""


def test_gemm_bit_identical_for_1_and_2_threads():
    one = run_with_threads(DETERMINISM_SCRIPT, 1).split()
    two = run_with_threads(DETERMINISM_SCRIPT, 2).split()
    assert one[0] == "1" and two[0] == "2"
    assert one[1] == two[1]


def test_gemm_bit_identical_set_num_threads(rng):
    import fastnn
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 200)).astype(np.float32)
    outs = []
    try:
        for t in (1, 2, 3):
            fastnn.set_num_threads(t)
            outs.append(ops.matmul(a, b))
    finally:
        _core.reset_num_threads()
    assert outs[0].tobytes() == outs[1].tobytes() == outs[2].tobytes()


# ---- bad input --------------------------------------------------------------------------

def _good():
    return (np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), np.zeros((3, 5), np.float32))


@pytest.mark.parametrize("which,bad,exc", [
    ("a", None, TypeError),
    ("a", [[1.0]], TypeError),
    ("a", np.ones((3, 4), np.int32), TypeError),
    ("b", np.ones((4, 5), np.float64), TypeError),
    ("a", np.ones((3, 4, 1), np.float32), ValueError),
    ("a", np.ones((4, 3), np.float32).T, ValueError),
    ("b", np.ones((5, 5), np.float32), ValueError),
    ("b", np.ones((4,), np.float32), ValueError),
    ("c", np.zeros((3, 6), np.float32), ValueError),
    ("c", np.zeros((3, 5), np.float64), TypeError),
    ("c", np.zeros((5, 3), np.float32).T, ValueError),
])
def test_gemm_bad_input_names_argument(which, bad, exc):
    a, b, c = _good()
    args = {"a": a, "b": b, "c": c}
    args[which] = bad
    with pytest.raises(exc, match=rf"^{which}:"):
        _core.gemm(args["a"], args["b"], args["c"])


def test_gemm_read_only_output():
    a, b, c = _good()
    c.setflags(write=False)
    with pytest.raises(ValueError, match="^c:.*read-only"):
        _core.gemm(a, b, c)


def test_gemm_aliased_output():
    a = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="^c:.*share memory"):
        _core.gemm(a, a, a)


def test_set_num_threads_validates():
    import fastnn
    with pytest.raises(ValueError, match="^n:"):
        fastnn.set_num_threads(0)
    with pytest.raises(TypeError, match="^n:"):
        fastnn.set_num_threads("2")
    with pytest.raises(ValueError, match="^name:"):
        _core.set_kernel("sse9")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k,ta", [(256, 128, 784, False), (784, 128, 256, True),
                                      (784, 128, 32, True), (100, 70, 300, False),
                                      (301, 33, 97, False)])
def test_two_thread_row_split_anywhere_gives_the_one_thread_bits(rng, dtype, m, n, k, ta):
    """A two-thread product split by rows puts its split where each part's speed suggests
    (gemm_split_fraction); wherever it is, C (with the dense epilogue too) is the bits of
    one thread, and no row is left out or written twice."""
    import fastnn
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    x = rng.standard_normal((m, k)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    try:
        fastnn.set_num_threads(1)
        ref = np.full((m, n), np.nan, dtype)
        _core.gemm(a, b, ref, trans_a=ta)
        dref = ops.dense(x, b, bias, "relu")
        fastnn.set_num_threads(2)
        for f in (0.3, 0.41, 0.5, 0.63, 0.7):
            assert _core.gemm_split_fraction(m, n, k, ta, f) == pytest.approx(f)
            c = np.full((m, n), np.nan, dtype)
            _core.gemm(a, b, c, trans_a=ta)
            assert c.tobytes() == ref.tobytes(), f
            _core.gemm_split_fraction(m, n, k, False, f)
            assert ops.dense(x, b, bias, "relu").tobytes() == dref.tobytes(), f
    finally:
        _core.reset_num_threads()
