"""Products whose A is mostly zeros skip its zero terms (gemm_sparse_ in
csrc/gemm/driver_tmpl.h). They must give the dense kernel's bits, which the tests get by
turning the path off (_core.set_sparse_a(False)), and NumPy's values; the counters of
_core.sparse_a_stats() show that the path was taken (or declined) where it should be."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fastnn import _core
from fastnn.ops._spec import activation_spec
from tests.conftest import run_with_threads

DTYPES = [np.float32, np.float64]
RELU = activation_spec("relu")


def _sparse(rng, m, k, density, dtype):
    x = rng.standard_normal((m, k)).astype(dtype)
    x[rng.random((m, k)) >= density] = 0
    return x


def _both(f):
    """f() with the sparse path on, then off: (on, off, products that took the path, rows
    of them recomputed densely)."""
    _core.set_sparse_a(True)
    s0 = _core.sparse_a_stats()
    on = f()
    s1 = _core.sparse_a_stats()
    _core.set_sparse_a(False)
    try:
        off = f()
    finally:
        _core.set_sparse_a(True)
    return on, off, s1[0] - s0[0], s1[1] - s0[1]


def _product(x, w, trans_a=False):
    c = np.empty((x.shape[1] if trans_a else x.shape[0], w.shape[1]), x.dtype)
    _core.gemm(x, w, c, trans_a=trans_a)
    return c


def _bits(arrays):
    return [a.tobytes() for a in arrays]


def _forward(x, w, b, packed):
    m, n = x.shape[0], w.shape[1]
    y = np.empty((m, n), x.dtype)
    z = np.empty((m, n), x.dtype)
    p = None
    if packed:
        p = np.empty(_core.packed_size(w.shape[0], n, x.dtype), x.dtype)
        _core.pack_weights(w, p)
    _core.dense_forward(x, w, b, RELU, y, z, p)
    return y, z


# (m, k, n): the MNIST layer; a partial panel; several chunks of rows (about 262,144
# values of A each) with a partial panel; three K blocks of two slices each; the smallest
# product the path takes
SHAPES = [(256, 784, 128), (33, 100, 17), (700, 784, 130), (50, 1000, 40), (8, 64, 100)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("packed", [False, True])
def test_dense_forward_same_bits_as_dense(rng, dtype, m, k, n, packed):
    x = _sparse(rng, m, k, 0.15, dtype)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    on, off, taken, _ = _both(lambda: _forward(x, w, b, packed))
    assert taken == 1
    assert _bits(on) == _bits(off)
    ref = x.astype(np.float64) @ w + b
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(on[1], ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(on[0], np.maximum(ref, 0), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_kernel_family(rng, dtype):
    x = _sparse(rng, 40, 300, 0.2, dtype)
    w = rng.standard_normal((300, 70)).astype(dtype)
    xt = _sparse(rng, 128, 90, 0.2, dtype)  # and a transposed product, dW-like: X^T dZ
    dz = rng.standard_normal((128, 64)).astype(dtype)
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            on, off, taken, _ = _both(lambda: _product(x, w))
            assert taken == 1, family
            assert on.tobytes() == off.tobytes(), family
            on, off, taken, _ = _both(lambda: _product(xt, dz, trans_a=True))
            assert taken == 1, family
            assert on.tobytes() == off.tobytes(), family
    finally:
        _core.set_kernel("auto")


def test_mnist_batch_rows_same_alone_and_in_batch(rng):
    """Batch invariance across the two paths: a row alone goes through the dense kernel
    (one row stays dense), and in a batch of 256 through the sparse one."""
    from fastnn.datasets import mnist
    (x, _), _ = mnist.load_data()
    x = (x[:256].reshape(256, 784) / 255.0).astype(np.float32)
    w = (rng.standard_normal((784, 128)) * 0.05).astype(np.float32)
    b = np.zeros(128, np.float32)
    s0 = _core.sparse_a_stats()[0]
    batch = _forward(x, w, b, True)[0]
    assert _core.sparse_a_stats()[0] == s0 + 1
    for i in (0, 17, 255):
        alone = _forward(x[i:i + 1], w, b, True)[0]
        assert alone.tobytes() == batch[i:i + 1].tobytes()
    assert _core.sparse_a_stats()[0] == s0 + 1


def test_negative_zero_rows_recomputed():
    """A product that underflows to -0 followed by zero terms: the dense kernel adds +0 to
    the -0 and gets +0; skipping the zeros would leave -0. Such rows are recomputed."""
    m, k, n = 32, 64, 32
    x = np.zeros((m, k), np.float32)
    x[:, 10] = 0.5
    x[0, 10] = 0
    x[0, 0] = 1e-30
    w = np.ones((k, n), np.float32)
    w[0] = -1e-30  # 1e-30 * -1e-30 is -0 in float32
    on, off, taken, redone = _both(lambda: _product(x, w))
    assert taken == 1 and redone == 1
    assert on.tobytes() == off.tobytes()
    assert not np.signbit(on[0]).any()  # +0, as the dense kernel gives


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_b_stays_dense(rng, bad):
    """0 * inf is NaN: with a B that is not finite, skipping zero terms would lose it."""
    x = _sparse(rng, 64, 200, 0.1, np.float32)
    w = rng.standard_normal((200, 30)).astype(np.float32)
    w[7, 3] = bad
    on, off, taken, _ = _both(lambda: _product(x, w))
    assert taken == 0
    assert on.tobytes() == off.tobytes()
    with np.errstate(invalid="ignore"):
        ref = x.astype(np.float64) @ w.astype(np.float64)
    assert np.array_equal(np.isnan(on), np.isnan(ref))
    assert np.isnan(on[x[:, 7] == 0, 3]).all()  # the zero terms' NaNs are there


def test_nan_in_a_is_kept(rng):
    x = _sparse(rng, 64, 200, 0.1, np.float32)
    x[5, 9] = np.nan
    x[6, 9] = np.inf
    w = rng.standard_normal((200, 30)).astype(np.float32)
    on, off, taken, _ = _both(lambda: _product(x, w))
    assert taken == 1
    assert on.tobytes() == off.tobytes()
    assert np.isnan(on[5]).all() and not np.isnan(on[4]).any()


def test_where_the_path_is_declined(rng):
    """A dense A, one row, alpha or beta other than 1 and 0, and a transposed A with a
    short K (a batch of 16) keep the dense kernel."""
    dense = rng.standard_normal((64, 200)).astype(np.float32)
    sparse = _sparse(rng, 64, 200, 0.1, np.float32)
    w = rng.standard_normal((200, 30)).astype(np.float32)
    dz = rng.standard_normal((64, 30)).astype(np.float32)
    cases = [lambda: _product(dense, w), lambda: _product(sparse[:1], w),
             lambda: _core.gemm(sparse, w, np.zeros((64, 30), np.float32), 2.0),
             lambda: _core.gemm(sparse, w, np.zeros((64, 30), np.float32), 1.0, 1.0),
             lambda: _core.gemm(sparse[:16], dz[:16], np.empty((200, 30), np.float32),
                                trans_a=True)]
    for i, case in enumerate(cases):
        _, _, taken, _ = _both(case)
        assert taken == 0, i
    _, _, taken, _ = _both(lambda: _product(sparse, w))
    assert taken == 1


def test_thread_count_does_not_change_bits():
    code = """
    import hashlib
    import numpy as np
    import fastnn
    from fastnn import _core
    rng = np.random.default_rng(3)
    h = hashlib.sha256()
    for m, k, n in [(256, 784, 128), (700, 784, 130), (50, 1000, 40)]:
        x = rng.standard_normal((m, k)).astype(np.float32)
        x[rng.random((m, k)) >= 0.15] = 0
        w = rng.standard_normal((k, n)).astype(np.float32)
        for on in (True, False):
            _core.set_sparse_a(on)
            c = np.empty((m, n), np.float32)
            _core.gemm(x, w, c)
            h.update(c.tobytes())
    print(hashlib.sha256(h.digest()).hexdigest(), _core.sparse_a_stats()[0])
    """
    outs = [run_with_threads(code, t).split() for t in (1, 2, 3)]
    assert outs[0][1] == "3"
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,k,n", [(784, 256, 128), (300, 200, 64), (70, 128, 16)])
def test_transposed_a_same_bits_as_dense(rng, dtype, m, k, n):
    """The weight gradient X^T dZ with X mostly zeros (X is k x m, a batch of k rows)."""
    x = _sparse(rng, k, m, 0.15, dtype)
    dz = rng.standard_normal((k, n)).astype(dtype)

    def run():
        c = np.empty((m, n), dtype)
        _core.gemm(x, dz, c, trans_a=True)
        return c

    on, off, taken, _ = _both(run)
    assert taken == 1
    assert on.tobytes() == off.tobytes()
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(on, x.T.astype(np.float64) @ dz, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_transposed_every_family_k_blocks_and_partial_panels(rng, dtype):
    """X^T dZ on each kernel family with K (the batch) in one or several of the dense
    driver's K blocks (800 is 3 to 5 of them, by the family's kc) and with n not a multiple
    of the panel width (the last panel is read from a zero-padded copy)."""
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            for k, n in [(100, 16), (100, 17), (800, 64), (800, 40), (800, 3), (333, 129)]:
                x = _sparse(rng, k, 90, 0.15, dtype)
                dz = rng.standard_normal((k, n)).astype(dtype)
                on, off, taken, _ = _both(lambda: _product(x, dz, trans_a=True))
                assert taken == 1, (family, k, n)
                assert on.tobytes() == off.tobytes(), (family, k, n)
                tol = 1e-4 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(on, x.T.astype(np.float64) @ dz, rtol=tol, atol=tol)
    finally:
        _core.set_kernel("auto")


def test_transposed_too_many_k_blocks_declined(rng):
    """K in more blocks than the lists are cut for goes the dense way (same bits)."""
    x = _sparse(rng, 3100, 40, 0.1, np.float32)  # 9 blocks of kc 384 (more with smaller kc)
    dz = rng.standard_normal((3100, 32)).astype(np.float32)
    on, off, taken, _ = _both(lambda: _product(x, dz, trans_a=True))
    assert taken == 0
    assert on.tobytes() == off.tobytes()


@pytest.mark.parametrize("k", [128, 800])
def test_transposed_negative_zero_rows_recomputed_k_blocks(k):
    """Row 3 of C is -0 in every K block without its zero terms (so -0 + -0 ... = -0),
    +0 with them (the dense kernel's): the row is recomputed. k 800 is several blocks."""
    m, n = 64, 32
    x = np.zeros((k, m), np.float32)
    x[5, :] = 0.25
    x[5, 3] = 0
    dz = np.ones((k, n), np.float32)
    for i in range(0, k, 50):  # a -0 product (underflow) in every block
        x[i, 3] = 1e-30
        dz[i] = -1e-30
    on, off, taken, redone = _both(lambda: _product(x, dz, trans_a=True))
    assert taken == 1 and redone == 1
    assert on.tobytes() == off.tobytes()
    assert not np.signbit(on[3]).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,col", [(17, 0), (17, 15), (17, 16), (40, 39), (64, 33)])
def test_negative_zero_found_in_any_column(dtype, n, col):
    """The kernels test the values they write for -0 (in the registers; a partial panel
    one by one): a -0 in the first column, the last one, a partial last panel, for every
    kernel family, in X W (with and without the dense layer's epilogue) and in X^T dZ. Only
    column col of row 3 of C is -0 without the zero terms; the dense kernel gives +0."""
    tiny = 1e-30 if dtype == np.float32 else 1e-200
    k, m = 64, 48
    xt = np.zeros((k, m), dtype)  # X^T dZ: X is k x m
    xt[5, :] = 0.25
    xt[5, 3] = 0
    dz = np.ones((k, n), dtype)
    for i in range(0, k, 8):
        xt[i, 3] = tiny
        dz[i, col] = -tiny  # tiny * -tiny underflows to -0; the other columns stay positive
    x = np.ascontiguousarray(xt.T)  # X W with W = dZ: row 3 of X holds the tiny values
    bias = np.zeros(n, dtype)
    cases = [lambda: _product(xt, dz, trans_a=True), lambda: _product(x, dz),
             lambda: _forward(x, dz, bias, False), lambda: _forward(x, dz, bias, True)]
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            for case, f in enumerate(cases):
                on, off, taken, redone = _both(f)
                assert taken == 1, (family, case)
                # (the portable kernel's a * b + c is not fused (-ffp-contract=off): the
                # product rounds to -0 first, and +0 + -0 is +0, so it has no -0 to find)
                assert redone == 1 if family != "portable" else redone in (0, 1), (family, case)
                assert _bits(on if case >= 2 else [on]) == _bits(off if case >= 2 else [off])
                c = on[1] if case >= 2 else on  # the forward's z (before the activation)
                assert not np.signbit(c[3]).any(), (family, case)
    finally:
        _core.set_kernel("auto")


@pytest.mark.parametrize("dtype", DTYPES)
def test_negative_zero_from_one_tiny_b_in_the_last_row(dtype):
    """The rows of C are tested for -0 only where the least |a| times the least |b| could
    underflow; here the one tiny b is in B's last row, in the last part's share of B (784
    columns of A make about 25 parts), and the one tiny a in another part's columns."""
    k, m, n = 64, 784, 128
    tiny = 1e-30 if dtype == np.float32 else 1e-200
    x = np.zeros((k, m), dtype)
    x[5, :] = 0.25
    x[5, 3] = 0
    x[63, 3] = tiny
    dz = np.ones((k, n), dtype)
    dz[63, 7] = -tiny  # C[3, 7] = tiny * -tiny, -0 after underflow; the rest of C is normal
    on, off, taken, redone = _both(lambda: _product(x, dz, trans_a=True))
    assert taken == 1 and redone == 1
    assert on.tobytes() == off.tobytes()


def test_transposed_negative_zero_rows_recomputed():
    k, m, n = 128, 64, 32
    x = np.zeros((k, m), np.float32)
    x[5, :] = 0.25
    x[5, 3] = 0
    x[0, 3] = 1e-30
    dz = np.ones((k, n), np.float32)
    dz[0] = -1e-30  # row 3 of C: -0 from the first term, then +0 terms in the dense kernel

    def run():
        c = np.empty((m, n), np.float32)
        _core.gemm(x, dz, c, trans_a=True)
        return c

    on, off, taken, redone = _both(run)
    assert taken == 1 and redone == 1
    assert on.tobytes() == off.tobytes()
    assert not np.signbit(on[3]).any()


def test_transposed_non_finite_b_stays_dense(rng):
    x = _sparse(rng, 128, 100, 0.1, np.float32)
    dz = rng.standard_normal((128, 32)).astype(np.float32)
    dz[9, 4] = np.inf

    def run():
        c = np.empty((100, 32), np.float32)
        _core.gemm(x, dz, c, trans_a=True)
        return c

    on, off, taken, _ = _both(run)
    assert taken == 0
    assert on.tobytes() == off.tobytes()
    assert np.isnan(on[x[9] == 0, 4]).all()


def test_training_same_bits_and_weights_that_overflow(rng):
    """fit on inputs that are mostly zeros in every other batch gives the same bits with the
    path on and off, also when a huge learning rate drives the weights to inf: Adam checks
    the packed copies of the layers whose product skipped zeros, which spares the next
    forward its check of them; after a dense batch it is not asked, and the forward checks."""
    import fastnn as keras

    x = _sparse(rng, 384, 300, 0.15, np.float32)
    x[x < 0] = 0
    dense = np.abs(rng.standard_normal((384, 300))).astype(np.float32)
    y = rng.integers(0, 10, 384)

    def train(lr):
        keras.utils.set_random_seed(4)
        model = keras.Sequential([keras.Input((300,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        losses = [model.train_on_batch((x if i % 2 == 0 else dense)[i * 64:(i + 1) * 64],
                                       y[i * 64:(i + 1) * 64])
                  for i in range(6)]
        return [np.asarray(losses, np.float64)] + [np.asarray(w) for w in model.get_weights()]

    for lr in (1e-3, 3e38):
        on, off, taken, _ = _both(lambda: train(lr))
        assert _bits(on) == _bits(off), lr
        if lr < 1:  # the first layer's forward and weight gradient in each sparse step
            assert taken == 6
        else:  # and once the weights are inf, the products are dense again
            assert 1 <= taken < 6
    assert not np.isfinite(on[1]).all()  # the weights did overflow


@settings(max_examples=80, deadline=None)
@given(m=st.sampled_from([8, 9, 31, 97, 130]), k=st.sampled_from([16, 33, 129, 400, 800]),
       n=st.sampled_from([1, 8, 17, 64, 130]), density=st.sampled_from([0.02, 0.1, 0.24]),
       trans=st.booleans(), packed=st.booleans(), dtype=st.sampled_from(DTYPES))
def test_random_shapes_same_bits_as_dense(m, k, n, density, trans, packed, dtype):
    """Whatever the path decides (taken or declined), the bits are the dense kernel's."""
    rng = np.random.default_rng(m * 7919 + k * 104729 + n * 13 + int(density * 100))
    if trans:
        x = _sparse(rng, k, m, density, dtype)  # X^T B, X stored k x m
        b = rng.standard_normal((k, n)).astype(dtype)
        on, off, _, _ = _both(lambda: _product(x, b, trans_a=True))
        ref = x.T.astype(np.float64) @ b
    else:
        x = _sparse(rng, m, k, density, dtype)
        w = rng.standard_normal((k, n)).astype(dtype)
        bias = rng.standard_normal(n).astype(dtype)
        on, off, _, _ = _both(lambda: _forward(x, w, bias, packed))
        ref = x.astype(np.float64) @ w + bias
        on, off = on[1], off[1]
    assert on.tobytes() == off.tobytes()
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(on, ref, rtol=tol, atol=tol)


def _list_ref(x, bounds):
    """NumPy's answer for the lister: indices and values of x[:bounds[-1]] that are not
    zero (NaN is kept, -0 is not), and per bound how many come before it."""
    keep = np.flatnonzero(x[:bounds[-1]] != 0)
    return keep.astype(np.uint32), x[keep], np.searchsorted(keep, bounds).astype(np.uint32)


def _special_values(rng, n, dtype):
    """Mostly zeros (both signs), with NaN, infinities, subnormals and normal values."""
    pool = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, np.finfo(dtype).smallest_subnormal,
                     -np.finfo(dtype).tiny, 1.0, -2.5], dtype)
    x = rng.standard_normal(n).astype(dtype)
    pick = rng.random(n)
    x[pick < 0.7] = 0
    x[(pick >= 0.7) & (pick < 0.75)] = -0.0
    special = (pick >= 0.75) & (pick < 0.85)
    x[special] = rng.choice(pool, int(special.sum()))
    return x


@pytest.mark.parametrize("dtype", DTYPES)
def test_lister_every_family_matches_numpy(rng, dtype):
    """Each family's lister (vector chunks, then a partial one) against NumPy: segments of
    every length from 0 to 40 at every alignment, all zeros, all nonzero, special values;
    the values are compared as bits, so a NaN's payload and each sign survive."""
    cases = []
    for n in range(0, 41):  # one segment of each length, at offsets 0..3
        for off in range(4):
            x = _special_values(rng, n + off + 3, dtype)
            cases.append((x, [0, off, off + n]))
    x = _special_values(rng, 300, dtype)
    cases.append((x, np.r_[0, np.sort(rng.integers(0, 290, 20)), 290]))  # empty segments too
    cases.append((np.zeros(100, dtype), [0, 37, 100]))
    cases.append((np.full(100, -0.0, dtype), [0, 100]))
    cases.append((np.arange(1, 101, dtype=dtype), [0, 16, 17, 49, 100]))
    cases.append((np.zeros(0, dtype), [0]))
    try:
        for family in _core.available_kernels():
            _core.set_kernel(family)
            for x, bounds in cases:
                bounds = np.asarray(bounds)
                idx, val, pos = _core.sparse_list(x, bounds)
                ridx, rval, rpos = _list_ref(x, bounds)
                assert idx.tolist() == ridx.tolist(), (family, bounds)
                assert val.tobytes() == rval.tobytes(), (family, bounds)
                assert pos.tolist() == rpos.tolist(), (family, bounds)
    finally:
        _core.set_kernel("auto")


def test_lister_hook_rejects_bad_input():
    x = np.zeros(10, np.float32)
    with pytest.raises(TypeError, match="x: expected a 1-D float32 or float64"):
        _core.sparse_list(x.astype(np.int32), [0, 10])
    with pytest.raises(TypeError, match="x: expected a 1-D"):
        _core.sparse_list(x.reshape(2, 5), [0, 10])
    for bad in ([], [1, 10], [0, 5, 3], [0, 11]):
        with pytest.raises(ValueError, match="bounds: expected nondecreasing ends"):
            _core.sparse_list(x, bad)
