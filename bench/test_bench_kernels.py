"""Kernel benchmarks: fastnn's GEMM and dense layer against the NumPy (OpenBLAS) expression.

Run with ``python -m pytest bench/test_bench_kernels.py --benchmark-only``. Groups put each
fastnn case next to its NumPy counterpart; compare ratios within one run.
"""
import numpy as np
import pytest

from fastnn import ops

MLP_SHAPES = [(32, 784, 128, "relu"), (256, 784, 128, "relu"),
              (32, 128, 10, None), (256, 128, 10, None)]


def _data(m, k, n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, k)).astype(np.float32),
            (rng.standard_normal((k, n)) * 0.05).astype(np.float32),
            rng.standard_normal(n).astype(np.float32))


@pytest.mark.parametrize("n", [1024, 2048])
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_sgemm(benchmark, nthreads, n, impl):
    a, b, _ = _data(n, n, n)
    c = np.empty((n, n), np.float32)
    benchmark.group = f"sgemm {n}^3, {nthreads} thread(s)"
    benchmark.extra_info["gflops"] = 2 * n ** 3 / 1e9
    if impl == "fastnn":
        benchmark(ops.gemm, a, b, c)
    else:
        benchmark(np.matmul, a, b, out=c)


@pytest.mark.parametrize("m,k,n,act", MLP_SHAPES)
@pytest.mark.parametrize("impl", ["fastnn", "fastnn-packed", "numpy"])
def test_dense_forward(benchmark, nthreads, m, k, n, act, impl):
    x, w, b = _data(m, k, n)
    y = np.empty((m, n), np.float32)
    benchmark.group = f"dense forward {m}x{k}->{n} {act or 'linear'}, {nthreads} thread(s)"
    if impl == "fastnn":
        benchmark(ops.dense, x, w, b, act, out=y)
    elif impl == "fastnn-packed":
        wp = ops.pack_weights(w)
        benchmark(ops.dense, x, w, b, act, out=y, w_packed=wp)
    elif act == "relu":
        benchmark(lambda: np.maximum(x @ w + b, 0))
    else:
        benchmark(lambda: x @ w + b)


@pytest.mark.parametrize("m,k,n,act", MLP_SHAPES)
@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
def test_dense_backward(benchmark, nthreads, m, k, n, act, impl):
    x, w, b = _data(m, k, n)
    y = ops.dense(x, w, b, act)
    dy = np.random.default_rng(1).standard_normal((m, n)).astype(np.float32)
    benchmark.group = f"dense backward {m}x{k}->{n} {act or 'linear'}, {nthreads} thread(s)"
    if impl == "fastnn":
        benchmark(ops.dense_backward, x, w, dy, act, y=y)
    else:
        def numpy_backward():
            dz = dy * (y > 0) if act == "relu" else dy
            return dz @ w.T, x.T @ dz, dz.sum(0)
        benchmark(numpy_backward)
