"""Optimizer update benchmarks: fastnn's fused C updates against the same update in NumPy.

Run with ``python -m pytest bench/test_bench_optimizers.py --benchmark-only``. Each group
holds one update of 1e6 float32 parameters; extra_info records parameters per second.
The NumPy versions use in-place ufuncs with preallocated temporaries (its best case).
"""
import numpy as np
import pytest

from fastnn import optimizers
from fastnn.variables import Variable

N = 1_000_000


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(N).astype(np.float32),
            (rng.standard_normal(N) * 0.01).astype(np.float32))


def _numpy_adam(w, g, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    m, v, t1, t2 = (np.zeros_like(w) for _ in range(4))
    f = np.float32
    state = {"t": 0}

    def step():
        state["t"] += 1
        t = f(state["t"])
        alpha = f(lr) * np.sqrt(f(1) - f(b2) ** t) / (f(1) - f(b1) ** t)
        np.subtract(g, m, out=t1)                  # m += (g - m)(1 - b1)
        np.multiply(t1, f(1 - b1), out=t1)
        np.add(m, t1, out=m)
        np.multiply(g, g, out=t1)                  # v += (g^2 - v)(1 - b2)
        np.subtract(t1, v, out=t1)
        np.multiply(t1, f(1 - b2), out=t1)
        np.add(v, t1, out=v)
        np.sqrt(v, out=t2)                         # w -= m alpha / (sqrt(v) + eps)
        np.add(t2, f(eps), out=t2)
        np.multiply(m, alpha, out=t1)
        np.divide(t1, t2, out=t1)
        np.subtract(w, t1, out=w)
    return step


def _numpy_sgd_momentum(w, g, lr=0.01, mu=0.9):
    m, t1 = np.zeros_like(w), np.zeros_like(w)
    f = np.float32

    def step():
        np.multiply(m, f(mu), out=m)               # m = m mu - g lr
        np.multiply(g, f(lr), out=t1)
        np.subtract(m, t1, out=m)
        np.add(w, m, out=w)                        # w += m
    return step


@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
@pytest.mark.parametrize("kind", ["adam", "sgd-momentum"])
def test_optimizer_update(benchmark, nthreads, kind, impl):
    w, g = _data()
    benchmark.group = f"{kind} update, 1e6 float32 parameters, {nthreads} thread(s)"
    benchmark.extra_info["parameters"] = N
    if impl == "fastnn":
        opt = optimizers.Adam() if kind == "adam" else optimizers.SGD(0.01, momentum=0.9)
        v = Variable(w)
        opt.build([v])
        grads = [g]
        step = lambda: opt.apply(grads)  # noqa: E731
    else:
        step = _numpy_adam(w, g) if kind == "adam" else _numpy_sgd_momentum(w, g)
    benchmark(step)
    benchmark.extra_info["parameters_per_s"] = N / benchmark.stats.stats.mean
