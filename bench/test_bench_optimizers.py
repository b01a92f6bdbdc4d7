"""Optimizer update benchmarks: fastnn's fused C updates against the same update in NumPy.

Run with ``python -m pytest bench/test_bench_optimizers.py --benchmark-only``. Each group
holds one update of 1e6 float32 parameters by one optimizer (all eight, SGD with and
without momentum); extra_info records parameters per second. The NumPy versions use
in-place ufuncs with preallocated temporaries (their best case) and Keras 3's formulas;
before timing, each is checked against fastnn over a few steps, so both sides do the same
update.
"""
import numpy as np
import pytest

from fastnn import optimizers
from fastnn.variables import Variable

N = 1_000_000
F = np.float32


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n).astype(np.float32),
            (rng.standard_normal(n) * 0.01).astype(np.float32))


def _temps(w, k):
    return [np.zeros_like(w) for _ in range(k)]


def _numpy_sgd(w, g, lr=0.01):
    (t1,) = _temps(w, 1)

    def step():
        np.multiply(g, F(lr), out=t1)              # w -= lr g
        np.subtract(w, t1, out=w)
    return step


def _numpy_sgd_momentum(w, g, lr=0.01, mu=0.9):
    m, t1 = _temps(w, 2)

    def step():
        np.multiply(m, F(mu), out=m)               # m = m mu - g lr
        np.multiply(g, F(lr), out=t1)
        np.subtract(m, t1, out=m)
        np.add(w, m, out=w)                        # w += m
    return step


def _numpy_rmsprop(w, g, lr=0.001, rho=0.9, eps=1e-7):
    v, t1, t2 = _temps(w, 3)

    def step():
        np.multiply(v, F(rho), out=v)              # v = rho v + (1 - rho) g^2
        np.multiply(g, g, out=t1)
        np.multiply(t1, F(1 - rho), out=t1)
        np.add(v, t1, out=v)
        np.add(v, F(eps), out=t1)                  # w -= lr g / sqrt(v + eps)
        np.sqrt(t1, out=t1)
        np.multiply(g, F(lr), out=t2)
        np.divide(t2, t1, out=t2)
        np.subtract(w, t2, out=w)
    return step


def _numpy_adagrad(w, g, lr=0.001, acc0=0.1, eps=1e-7):
    acc, t1, t2 = _temps(w, 3)
    acc += F(acc0)

    def step():
        np.multiply(g, g, out=t1)                  # acc += g^2
        np.add(acc, t1, out=acc)
        np.add(acc, F(eps), out=t1)                # w -= lr g / sqrt(acc + eps)
        np.sqrt(t1, out=t1)
        np.multiply(g, F(lr), out=t2)
        np.divide(t2, t1, out=t2)
        np.subtract(w, t2, out=w)
    return step


def _numpy_adadelta(w, g, lr=0.001, rho=0.95, eps=1e-7):
    acc_g, acc_d, t1, t2 = _temps(w, 4)

    def step():
        np.multiply(acc_g, F(rho), out=acc_g)      # E[g^2] = rho E[g^2] + (1 - rho) g^2
        np.multiply(g, g, out=t1)
        np.multiply(t1, F(1 - rho), out=t1)
        np.add(acc_g, t1, out=acc_g)
        np.add(acc_d, F(eps), out=t1)              # d = -sqrt(E[d^2] + eps) g / sqrt(E[g^2] + eps)
        np.sqrt(t1, out=t1)
        np.multiply(t1, g, out=t1)
        np.add(acc_g, F(eps), out=t2)
        np.sqrt(t2, out=t2)
        np.divide(t1, t2, out=t1)
        np.negative(t1, out=t1)
        np.multiply(acc_d, F(rho), out=acc_d)      # E[d^2] = rho E[d^2] + (1 - rho) d^2
        np.multiply(t1, t1, out=t2)
        np.multiply(t2, F(1 - rho), out=t2)
        np.add(acc_d, t2, out=acc_d)
        np.multiply(t1, F(lr), out=t1)             # w += lr d
        np.add(w, t1, out=w)
    return step


def _numpy_adam(w, g, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, wd=None):
    m, v, t1, t2 = _temps(w, 4)
    state = {"t": 0}

    def step():
        if wd is not None:                         # AdamW: w -= w wd lr first
            np.multiply(w, F(wd) * F(lr), out=t1)
            np.subtract(w, t1, out=w)
        state["t"] += 1
        t = F(state["t"])
        alpha = F(lr) * np.sqrt(F(1) - F(b2) ** t) / (F(1) - F(b1) ** t)
        np.subtract(g, m, out=t1)                  # m += (g - m)(1 - b1)
        np.multiply(t1, F(1 - b1), out=t1)
        np.add(m, t1, out=m)
        np.multiply(g, g, out=t1)                  # v += (g^2 - v)(1 - b2)
        np.subtract(t1, v, out=t1)
        np.multiply(t1, F(1 - b2), out=t1)
        np.add(v, t1, out=v)
        np.sqrt(v, out=t2)                         # w -= m alpha / (sqrt(v) + eps)
        np.add(t2, F(eps), out=t2)
        np.multiply(m, alpha, out=t1)
        np.divide(t1, t2, out=t1)
        np.subtract(w, t1, out=w)
    return step


def _numpy_adamw(w, g):
    return _numpy_adam(w, g, wd=0.004)


def _numpy_adamax(w, g, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    m, u, t1, t2 = _temps(w, 4)
    state = {"t": 0}

    def step():
        state["t"] += 1
        corr = F(1) - F(b1) ** F(state["t"])
        np.subtract(g, m, out=t1)                  # m += (g - m)(1 - b1)
        np.multiply(t1, F(1 - b1), out=t1)
        np.add(m, t1, out=m)
        np.multiply(u, F(b2), out=u)               # u = max(b2 u, |g|)
        np.abs(g, out=t1)
        np.maximum(u, t1, out=u)
        np.add(u, F(eps), out=t2)                  # w -= lr m / ((1 - b1^t)(u + eps))
        np.multiply(t2, corr, out=t2)
        np.multiply(m, F(lr), out=t1)
        np.divide(t1, t2, out=t1)
        np.subtract(w, t1, out=w)
    return step


def _numpy_nadam(w, g, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    m, v, t1, t2 = _temps(w, 4)
    state = {"t": 0, "p": F(1)}

    def step():
        state["t"] += 1
        t = F(state["t"])
        u_t = F(b1) * (F(1) - F(0.5) * F(0.96) ** t)
        u_t1 = F(b1) * (F(1) - F(0.5) * F(0.96) ** (t + F(1)))
        p_t = state["p"] = state["p"] * u_t
        p_t1 = p_t * u_t1
        np.subtract(g, m, out=t1)                  # m += (g - m)(1 - b1)
        np.multiply(t1, F(1 - b1), out=t1)
        np.add(m, t1, out=m)
        np.multiply(g, g, out=t1)                  # v += (g^2 - v)(1 - b2)
        np.subtract(t1, v, out=t1)
        np.multiply(t1, F(1 - b2), out=t1)
        np.add(v, t1, out=v)
        # m_hat = u_{t+1} m / (1 - P_{t+1}) + (1 - u_t) g / (1 - P_t)
        np.multiply(m, u_t1 / (F(1) - p_t1), out=t1)
        np.multiply(g, (F(1) - u_t) / (F(1) - p_t), out=t2)
        np.add(t1, t2, out=t1)
        np.divide(v, F(1) - F(b2) ** t, out=t2)    # w -= lr m_hat / (sqrt(v_hat) + eps)
        np.sqrt(t2, out=t2)
        np.add(t2, F(eps), out=t2)
        np.multiply(t1, F(lr), out=t1)
        np.divide(t1, t2, out=t1)
        np.subtract(w, t1, out=w)
    return step


KINDS = {
    # kind: (fastnn optimizer with Keras 3's defaults, the NumPy update with the same ones)
    "sgd": (lambda: optimizers.SGD(0.01), _numpy_sgd),
    "sgd-momentum": (lambda: optimizers.SGD(0.01, momentum=0.9), _numpy_sgd_momentum),
    "rmsprop": (optimizers.RMSprop, _numpy_rmsprop),
    "adagrad": (optimizers.Adagrad, _numpy_adagrad),
    "adadelta": (optimizers.Adadelta, _numpy_adadelta),
    "adam": (optimizers.Adam, _numpy_adam),
    "adamw": (optimizers.AdamW, _numpy_adamw),
    "adamax": (optimizers.Adamax, _numpy_adamax),
    "nadam": (optimizers.Nadam, _numpy_nadam),
}


def _check_same_update(kind, steps=5, n=1000):
    """The NumPy update and fastnn's agree over a few steps (so the timings compare the
    same work)."""
    make, numpy_step = KINDS[kind]
    w, g = _data(1, n)
    w_np = w.copy()
    step = numpy_step(w_np, g)
    opt, var = make(), Variable(w.copy())
    for _ in range(steps):
        step()
        opt.apply([g], [var])
    np.testing.assert_allclose(w_np, var.value, rtol=1e-5, atol=1e-6, err_msg=kind)
    assert not np.allclose(w_np, w, rtol=1e-7, atol=0)


@pytest.mark.parametrize("impl", ["fastnn", "numpy"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_optimizer_update(benchmark, nthreads, kind, impl):
    w, g = _data()
    benchmark.group = f"{kind} update, 1e6 float32 parameters, {nthreads} thread(s)"
    benchmark.extra_info["parameters"] = N
    make, numpy_step = KINDS[kind]
    if impl == "fastnn":
        opt = make()
        v = Variable(w)
        opt.build([v])
        grads = [g]
        step = lambda: opt.apply(grads)  # noqa: E731
    else:
        _check_same_update(kind)
        step = numpy_step(w, g)
    benchmark(step)
    benchmark.extra_info["parameters_per_s"] = N / benchmark.stats.stats.mean
