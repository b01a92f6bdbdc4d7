"""gather_rows: the shuffled-batch row copy, against np.take."""
import numpy as np
import pytest

from fastnn import _core


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("shape", [(50,), (50, 7), (50, 4, 3)])
@pytest.mark.parametrize("n", [0, 1, 5, 50, 200])
def test_gather_rows_equals_take(rng, dtype, shape, n):
    src = (rng.standard_normal(shape) * 10).astype(dtype)
    idx = rng.integers(0, shape[0], n).astype(np.int64)
    out = np.empty((n,) + shape[1:], dtype)
    assert _core.gather_rows(src, idx, out) is out
    np.testing.assert_array_equal(out, np.take(src, idx, axis=0))


def test_gather_rows_rejects_bad_input(rng):
    src = rng.standard_normal((10, 3)).astype(np.float32)
    out = np.empty((2, 3), np.float32)
    with pytest.raises(ValueError, match="idx"):
        _core.gather_rows(src, np.array([0, 10]), out)
    with pytest.raises(ValueError, match="idx"):
        _core.gather_rows(src, np.array([-1, 0]), out)
    with pytest.raises(TypeError, match="idx"):
        _core.gather_rows(src, np.array([0, 1], np.int32), out)
    with pytest.raises(TypeError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), np.empty((2, 3)))
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.gather_rows(src.T, np.array([0, 1]), np.empty((2, 10), np.float32))
    with pytest.raises(TypeError, match="src"):
        _core.gather_rows(np.array([object()] * 3), np.array([0]), np.empty(1, object))
    with pytest.raises(TypeError, match="src"):
        _core.gather_rows([1, 2], np.array([0]), out)
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), src[:2])  # overlaps the source
    ro = np.empty((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), ro)


# ---- gather_rows_cast: the same rows converted to float32/float64 in one pass -----------
_SOURCES = [np.float64, np.float32, np.int64, np.int32, np.int16, np.int8,
            np.uint64, np.uint32, np.uint16, np.uint8]
_DESTS = [np.float32, np.float64]


def _values(rng, dtype, shape):
    """Random values of dtype over its whole range, with the awkward ones mixed in."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
        special = [info.min, info.max, 0, 1, info.max - 1, info.min + 1]
        if dtype.itemsize >= 4:  # ties and near-ties of float32's 24-bit significand
            special += [2**24 + 1, 2**24 + 3, 2**25 + 2, 2**31 - 1, 2**31 - 65, 2**31 - 64]
        if dtype.itemsize == 8:  # one rounding from the integer, never two via float64
            special += [2**60 + 2**36 + 1, 2**60 + 2**36, 2**53 + 1, 2**63 - 1 - 2**39,
                        2**62 + 2**38 + 2**37]
            if dtype.kind == "u":
                special += [2**64 - 1, 2**63 + 2**39 + 1, 2**63 + 2**39, 2**63]
            else:
                special += [-(2**60 + 2**36 + 1), -(2**53 + 1)]
    else:
        finfo = np.finfo(dtype)
        with np.errstate(over="ignore"):
            a = (rng.standard_normal(shape)
                 * 10.0 ** rng.integers(-45, 45, shape)).astype(dtype)
        special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, finfo.max, -finfo.max,
                   finfo.tiny, finfo.smallest_subnormal, -finfo.smallest_subnormal,
                   1e-40, -1e-45, 1.4e-45, 7e-46, 3.4028235e38, 3.4028236e38, 3.5e38,
                   -3.5e38, 1e300, -1e300, 1e-300, 1.0 + 2**-24, 1.0 + 2**-24 + 2**-52,
                   1.0 + 3 * 2**-24, 16777217.0]
    if dtype.kind in "iu":
        special = [v for v in special if info.min <= v <= info.max]
    flat = a.reshape(-1)
    pos = rng.choice(flat.size, min(flat.size, len(special)), replace=False)
    with np.errstate(over="ignore", under="ignore"):
        for p, k in zip(pos, rng.permutation(len(special))):
            flat[p] = dtype.type(special[k])
    if dtype.kind == "f" and flat.size >= 4:  # NaNs with payloads and signs
        nbits = {4: np.uint32, 8: np.uint64}[dtype.itemsize]
        bits = flat.view(nbits)
        if dtype.itemsize == 8:
            bits[:4] = [0x7FF0000000000001, 0xFFF8000000000123, 0x7FF4000000ABCDEF,
                        0xFFFFFFFFFFFFFFFF]
        else:
            bits[:4] = [0x7F800001, 0xFFC00123, 0x7FA0ABCD, 0xFFFFFFFF]
    return a


def _assert_bits_equal(out, ref):
    assert out.dtype == ref.dtype and out.shape == ref.shape
    u = {4: np.uint32, 8: np.uint64}[out.dtype.itemsize]
    np.testing.assert_array_equal(out.view(u), ref.view(u))


@pytest.mark.parametrize("dst", _DESTS)
@pytest.mark.parametrize("src_dtype", _SOURCES)
@pytest.mark.parametrize("shape,n", [((50,), 7), ((50, 1), 50), ((50, 7), 200), ((3, 4, 5), 4),
                                     ((13, 784), 32), ((5, 4099), 9), ((10, 3), 0),
                                     ((0, 3), 0), ((6, 0), 5)])
def test_gather_rows_cast_equals_take_astype(rng, src_dtype, dst, shape, n):
    src = _values(rng, src_dtype, shape)
    idx = rng.integers(0, max(shape[0], 1), n).astype(np.int64)
    out = np.full((n,) + shape[1:], 7, dst)
    assert _core.gather_rows_cast(src, idx, out) is out
    with np.errstate(over="ignore", invalid="ignore"):
        ref = src[idx].astype(dst)
    _assert_bits_equal(out, ref)


@pytest.mark.parametrize("src_dtype", [np.float64, np.int64, np.uint64, np.int32, np.uint32])
def test_gather_rows_cast_rounds_like_astype_on_many_values(rng, src_dtype):
    # float64 -> float32 and wide integers -> float32 round; compare on many random bit
    # patterns (every exponent, NaN payloads) rather than a few chosen values
    width = np.dtype(src_dtype).itemsize
    src = rng.integers(0, 256, (2000, 33 * width), dtype=np.uint8).view(src_dtype)
    idx = rng.permutation(2000)[:1500].astype(np.int64)
    for dst in _DESTS:
        out = np.empty((1500, src.shape[1]), dst)
        _core.gather_rows_cast(src, idx, out)
        with np.errstate(over="ignore", invalid="ignore"):
            _assert_bits_equal(out, src[idx].astype(dst))


def test_gather_rows_cast_overflow_goes_to_inf_and_subnormals_survive():
    half = 2.0**128 - 2.0**103  # halfway between float32's max and 2**128: ties to even, inf
    src = np.array([[1e39, -1e39, np.nextafter(half, 0), half, 1e-40, -1e-45, 5e-324, -0.0]])
    out = np.empty((2, 8), np.float32)
    _core.gather_rows_cast(src, np.array([0, 0]), out)
    expected = np.array([np.inf, -np.inf, np.finfo(np.float32).max, np.inf,
                         np.float32(1e-40), -np.float32(1.4e-45), 0.0, -0.0], np.float32)
    with np.errstate(over="ignore"):
        _assert_bits_equal(src.astype(np.float32)[0], expected)  # the authority agrees
    _assert_bits_equal(out[0], expected)
    _assert_bits_equal(out[1], expected)
    assert np.signbit(out[0, 7]) and out[0, 4] != 0


def test_gather_rows_cast_bad_indices_write_nothing(rng):
    src = rng.standard_normal((10, 3))
    for bad in ([0, 10], [-1, 0], [3, 2**40], [5, -(2**63)]):
        out = np.full((2, 3), 7, np.float32)
        with pytest.raises(ValueError, match=r"idx: expected indices in \[0, 10\)"):
            _core.gather_rows_cast(src, np.array(bad, np.int64), out)
        assert (out == 7).all()
    with pytest.raises(ValueError, match="idx"):
        _core.gather_rows_cast(np.empty((0, 3)), np.array([0]), np.empty((1, 3), np.float32))


def test_gather_rows_cast_rejects_bad_input(rng):
    src = rng.standard_normal((10, 3))
    idx = np.array([0, 1])
    out = np.empty((2, 3), np.float32)
    with pytest.raises(TypeError, match="idx: expected dtype int64, received int32"):
        _core.gather_rows_cast(src, idx.astype(np.int32), out)
    with pytest.raises(ValueError, match="idx: expected a 1-D array"):
        _core.gather_rows_cast(src, idx[None], out)
    with pytest.raises(TypeError, match="idx: expected a numpy.ndarray, received list"):
        _core.gather_rows_cast(src, [0, 1], out)
    with pytest.raises(TypeError, match="out: expected dtype float32 or float64, received int32"):
        _core.gather_rows_cast(src, idx, np.empty((2, 3), np.int32))
    with pytest.raises(TypeError, match="out: expected dtype float32 or float64 in native "
                                        "byte order, received >f4"):
        _core.gather_rows_cast(src, idx, np.empty((2, 3), ">f4"))
    with pytest.raises(TypeError, match="out: expected a numpy.ndarray, received list"):
        _core.gather_rows_cast(src, idx, [[0.0] * 3] * 2)
    for bad in (np.bool_, np.float16, np.complex64, np.longdouble, object, "U3", "M8[s]"):
        with pytest.raises(TypeError, match="src: expected dtype float64, float32, int8-int64 "
                                            "or uint8-uint64 in native byte order, received"):
            _core.gather_rows_cast(np.zeros((10, 3), bad), idx, out)
    with pytest.raises(TypeError, match="received >f8"):
        _core.gather_rows_cast(src.astype(">f8"), idx, out)
    with pytest.raises(TypeError, match="src: expected a numpy.ndarray, received list"):
        _core.gather_rows_cast(src.tolist(), idx, out)
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 3\), received \(3, 3\)"):
        _core.gather_rows_cast(src, idx, np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 3\), received \(2, 4\)"):
        _core.gather_rows_cast(src, idx, np.empty((2, 4), np.float32))
    with pytest.raises(ValueError, match="src: expected a C-contiguous, aligned array"):
        _core.gather_rows_cast(src.T.copy().T, idx, out)
    raw = np.zeros(10 * 3 * 8 + 1, np.uint8)[1:].view(np.float64).reshape(10, 3)
    with pytest.raises(ValueError, match="src: expected a C-contiguous, aligned array"):
        _core.gather_rows_cast(raw, idx, out)
    with pytest.raises(ValueError, match="out: expected a C-contiguous, aligned array"):
        _core.gather_rows_cast(src, idx, np.empty((3, 2), np.float32).T)
    with pytest.raises(ValueError, match="src: expected an array with at least one axis"):
        _core.gather_rows_cast(np.array(1.0), np.array([], np.int64),
                               np.empty((0,), np.float32))
    ro = np.empty((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writable array"):
        _core.gather_rows_cast(src, idx, ro)
    both = np.zeros((10, 3), np.float64)
    with pytest.raises(ValueError, match="out: must not share memory with the inputs"):
        _core.gather_rows_cast(both, idx, both[:2])
    inside = both.reshape(-1).view(np.float32)[6:12].reshape(2, 3)  # float32 over src's bytes
    with pytest.raises(ValueError, match="out: must not share memory with the inputs"):
        _core.gather_rows_cast(both, idx, inside)
    assert (both == 0).all()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_gather_rows_cast_split_over_threads(rng, threads):
    """A batch big enough to be split over a team (here 300 rows of 1000 doubles) gives the
    bits of astype for any thread count, including a team that does not divide the rows."""
    import fastnn
    src = rng.standard_normal((2000, 1000))
    idx = rng.integers(0, 2000, 300)
    out = np.full((300, 1000), np.nan, np.float32)
    try:
        fastnn.set_num_threads(threads)
        _core.gather_rows_cast(src, idx, out)
    finally:
        _core.reset_num_threads()
    np.testing.assert_array_equal(out, src[idx].astype(np.float32))


# ---- GatherAhead: the same gathers, started on a worker thread ----------------------------

AHEAD_CODE = """
    import os, threading, time, numpy as np, fastnn
    from fastnn import _core
    rng = np.random.default_rng(5)
    # a product on two threads starts the pool's worker
    _core.gemm(np.ones((300, 300), np.float32), np.ones((300, 300), np.float32),
               np.empty((300, 300), np.float32))
    srcs = [rng.standard_normal((500, 37)), rng.standard_normal((500, 8, 5)).astype(np.float32),
            rng.integers(0, 256, (500, 64)).astype(np.uint8), rng.integers(-9, 9, (500, 3))]
    outs = [np.float32, np.float32, np.float32, np.int64, np.float64]

    def check(src, dt, n, pause):
        idx = rng.integers(0, len(src), n)
        out = np.full((n,) + src.shape[1:], 7, dt)
        g = _core.GatherAhead(src, idx, out)
        if pause:
            time.sleep(pause)
        assert g.wait() is out and g.wait() is out
        assert out.tobytes() == src[idx].astype(dt).tobytes()

    for k in range(300):
        j = k % 4
        check(srcs[j], outs[j] if k % 3 else srcs[j].dtype, int(rng.integers(0, 120)),
              0.0005 if k % 2 else 0)

    # the worker does it while the caller sleeps: out fills without a wait()
    src = rng.standard_normal((20000, 100))
    idx = rng.integers(0, 20000, 2000)
    out = np.zeros((2000, 100), np.float32)
    want = src[idx].astype(np.float32)
    g = _core.GatherAhead(src, idx, out)
    assert g.handed_over
    t = time.time()
    while not np.array_equal(out, want) and time.time() - t < 20:
        time.sleep(0.01)
    background = bool(np.array_equal(out, want))
    g.wait()

    # dropped without wait(): the wait happens when it goes
    out2 = np.zeros((2000, 100), np.float32)
    g = _core.GatherAhead(src, idx, out2)
    del g
    assert np.array_equal(out2, want)

    # two at once: the second runs on the caller; both right
    o1, o2 = np.zeros_like(out), np.zeros_like(out)
    g1, g2 = _core.GatherAhead(src, idx, o1), _core.GatherAhead(src, idx[::-1].copy(), o2)
    assert g1.handed_over and not g2.handed_over
    g2.wait(); g1.wait()
    assert np.array_equal(o1, want) and np.array_equal(o2, want[::-1])

    # Python threads that gather ahead and multiply at the same time
    bad = []
    def run(i):
        r = np.random.default_rng(i)
        for _ in range(40):
            ix = r.integers(0, 20000, int(r.integers(1, 300)))
            o = np.empty((len(ix), 100), np.float32)
            g = _core.GatherAhead(src, ix, o)
            c = np.empty((200, 200), np.float32)
            _core.gemm(np.ones((200, 100), np.float32), np.ones((100, 200), np.float32), c)
            g.wait()
            if not (np.array_equal(o, src[ix].astype(np.float32)) and (c == 100).all()):
                bad.append(i)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not bad, bad

    # a child forked between start and wait gets the rows too
    out3 = np.zeros((2000, 100), np.float32)
    g = _core.GatherAhead(src, idx, out3)
    pid = os.fork()
    if pid == 0:
        g.wait()
        os._exit(0 if np.array_equal(out3, want) else 3)
    g.wait()
    _, status = os.waitpid(pid, 0)
    assert status == 0, status
    print("background" if background else "caller")
"""


@pytest.mark.parametrize("spin", [None, "0"])
def test_gather_ahead_equals_take_astype_on_a_worker(spin):
    """GatherAhead gives np.take(...).astype's bits whether the worker or the caller makes
    the copy, with workers that spin or sleep at once, dropped without wait(), two at once,
    from three Python threads that also multiply, and across fork(); and the copy is
    really made in the background (out fills while the caller sleeps)."""
    from tests.conftest import run_with_threads
    code = AHEAD_CODE
    if spin is not None:
        code = f"import os; os.environ['FASTNN_SPIN_US'] = {spin!r}\n" + \
               "\n".join(line[4:] for line in code.splitlines())
    assert run_with_threads(code, 2).split() == ["background"]


def test_gather_ahead_on_one_thread_runs_at_once(rng):
    import fastnn
    src = rng.standard_normal((100, 6))
    idx = rng.integers(0, 100, 40)
    out = np.zeros((40, 6), np.float32)
    try:
        fastnn.set_num_threads(1)
        g = _core.GatherAhead(src, idx, out)  # done before it returns, on this thread
        assert not g.handed_over and out.tobytes() == src[idx].astype(np.float32).tobytes()
    finally:
        _core.reset_num_threads()


def test_gather_ahead_rejects_bad_input(rng):
    src = rng.standard_normal((10, 3))
    out = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"idx: expected indices in \[0, 10\)"):
        _core.GatherAhead(src, np.array([0, 1, 10, 2]), out)
    assert (out == 0).all()
    with pytest.raises(ValueError, match=r"out: expected shape \(4, 3\)"):
        _core.GatherAhead(src, np.arange(4), np.zeros((4, 2), np.float32))
    with pytest.raises(TypeError, match="src: expected dtype float64, float32"):
        _core.GatherAhead(src > 0, np.arange(4), out)
    with pytest.raises(TypeError, match="src: expected a numpy.ndarray"):
        _core.GatherAhead([[1.0]], np.arange(1), out[:1, :1])
    with pytest.raises(ValueError, match="out: must not share memory with the inputs"):
        _core.GatherAhead(src, np.arange(4), src[:4])
    ro = np.zeros((4, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        _core.GatherAhead(src, np.arange(4), ro)
    with pytest.raises(ValueError, match="idx"):
        _core.GatherAhead(src, np.arange(8).reshape(2, 4), out)


def test_gather_ahead_in_a_garbage_cycle_finishes_before_its_arrays_go(rng):
    """A GatherAhead left in a reference cycle: the collector frees it only through its
    referrers (it is not tracked itself), and freeing it waits for the copy, so out holds
    the rows even when nothing else refers to the arrays."""
    import gc
    import fastnn
    src = rng.standard_normal((20000, 100))
    idx = rng.integers(0, 20000, 2000)
    out = np.zeros((2000, 100), np.float32)
    try:
        fastnn.set_num_threads(2)
        _core.gemm(np.ones((300, 300), np.float32), np.ones((300, 300), np.float32),
                   np.empty((300, 300), np.float32))  # starts the worker
        g = _core.GatherAhead(src, idx, out)
        assert not gc.is_tracked(g)
        cycle = [g]
        cycle.append(cycle)
        del g, cycle
        gc.collect()
        assert out.tobytes() == src[idx].astype(np.float32).tobytes()
    finally:
        _core.reset_num_threads()
