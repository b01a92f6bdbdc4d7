"""fastnn's worker pool for multi-threaded kernels (threads.c).

The team a GEMM or an optimizer update runs on is fastnn's own pool, whose workers spin a
while and then sleep. These tests drive its paths in fresh processes: workers that sleep at
once (FASTNN_SPIN_US=0), a pool grown for 4 threads then used by teams of 2 and 3, and two
Python threads whose kernels contend for the pool (one of them falls back to an OpenMP
region). Every result must be the bits of one thread.

The team's parts are claimed by whichever thread is free, so a worker that sleeps (spin 0)
leaves its parts to the caller; the bits must not change. One-row products against a
large B (a single-sample forward pass) are split over two threads: they must also be the
bits of that row inside a larger batch."""
import numpy as np

from tests.conftest import run_with_threads

CODE = """
    import hashlib, threading, numpy as np, fastnn
    from fastnn import _core
    rng = np.random.default_rng(0)
    a = rng.standard_normal((700, 300)).astype(np.float32)
    b = rng.standard_normal((300, 200)).astype(np.float32)
    w = rng.standard_normal(300_000).astype(np.float32)
    g = rng.standard_normal(300_000).astype(np.float32)
    # one row against a large B: 784 x 128 (whole panels), 700 x 100 (an edge panel), and
    # a transposed A
    x1 = rng.standard_normal((5, 784)).astype(np.float32)
    b1 = rng.standard_normal((784, 128)).astype(np.float32)
    x2 = rng.standard_normal((5, 700)).astype(np.float32)
    b2 = rng.standard_normal((700, 100)).astype(np.float32)
    x1t = np.ascontiguousarray(x1[:1].T)

    def digest(threads):
        if threads:
            fastnn.set_num_threads(threads)
        c = np.empty((700, 200), np.float32)
        _core.gemm(a, b, c)
        ct = np.empty((300, 200), np.float32)  # dW-like: A transposed, K = 700
        _core.gemm(a, c, ct, trans_a=True)
        rows = []
        for x, bb in ((x1, b1), (x2, b2)):
            one = np.empty((1, bb.shape[1]), np.float32)
            _core.gemm(x[:1], bb, one)
            many = np.empty((5, bb.shape[1]), np.float32)
            _core.gemm(x, bb, many)
            assert one.tobytes() == many[:1].tobytes(), "one row differs from its batch"
            rows.append(one)
        onet = np.empty((1, 128), np.float32)
        _core.gemm(x1t, b1, onet, trans_a=True)
        assert onet.tobytes() == rows[0].tobytes(), "transposed A differs"
        w2, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
        for step in range(3):
            _core.adam_update(w2, g, m, v, None, 1e-3, 0.0, None, 0.1, 0.001, 1e-3, 1e-7)
        h = hashlib.sha256()
        for x in [c, ct, w2, m, v] + rows:
            h.update(x.tobytes())
        return h.hexdigest()

    out = [digest(t) for t in MODE]
    if CONTEND:
        res = {}
        def run(i):
            res[i] = [digest(None) for _ in range(5)]
        ts = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in ts: t.start()
        for t in ts: t.join()
        out += [d for i in sorted(res) for d in res[i]]
    print(" ".join(out))
"""


def _run(mode, contend=False, env_threads=2, spin=None):
    code = CODE.replace("MODE", repr(mode)).replace("CONTEND", repr(contend))
    if spin is not None:
        code = f"import os; os.environ['FASTNN_SPIN_US'] = {spin!r}\n" + \
               "\n".join(line[4:] for line in code.splitlines())
    return run_with_threads(code, env_threads).split()


def test_pool_gives_the_one_thread_bits():
    one = _run([1])[0]
    assert _run([2, 4, 3, 2, 1]) == [one] * 5


def test_pool_workers_that_sleep_at_once():
    one = _run([1])[0]
    assert set(_run([2, 2, 4], spin="0")) == {one}


def test_pool_contended_by_several_python_threads():
    one = _run([1])[0]
    got = _run([2], contend=True)
    assert len(got) == 16 and set(got) == {one}


def test_mid_size_products_get_a_team():
    """Products of a few hundred thousand flops (the 128 -> 10 layer of a batch-256 step:
    655,360) run on the pool's team, which joins them cheaply, where an OpenMP region
    would not pay: with two threads the row split of 256 x 128 x 10 moves from its even
    start (it is updated only by a two-thread product), with one it does not; a smaller
    product (32 rows) stays on one thread. The bits are one thread's in every case."""
    code = """
        import hashlib, numpy as np, fastnn
        from fastnn import _core
        fastnn.set_num_threads(THREADS)
        rng = np.random.default_rng(0)
        out = []
        for m in (256, 32):
            a = rng.standard_normal((m, 128)).astype(np.float32)
            b = rng.standard_normal((128, 10)).astype(np.float32)
            c = np.empty((m, 10), np.float32)
            for _ in range(20):
                _core.gemm(a, b, c)
            out += [hashlib.sha256(c.tobytes()).hexdigest(),
                    repr(_core.gemm_split_fraction(m, 10, 128))]
        print(" ".join(out))
    """
    one = run_with_threads(code.replace("THREADS", "1"), 2).split()
    two = run_with_threads(code.replace("THREADS", "2"), 2).split()
    assert one[0] == two[0] and one[2] == two[2]
    assert one[1] == "0.5" and one[3] == "0.5"
    assert two[1] != "0.5", "the 256-row product ran on one thread"
    assert two[3] == "0.5", "the 32-row product got a team"
