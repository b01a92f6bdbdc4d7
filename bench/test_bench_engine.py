"""Engine overhead: the fixed Python cost of one training step, measured on a model so tiny
that its arithmetic is negligible (4 -> 2 dense, batch of 1), and the MNIST model's epoch.

Run with ``python -m pytest bench/test_bench_engine.py --benchmark-only``.
"""
import numpy as np
import pytest

import fastnn as keras

STEPS = 2000


def _tiny(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_train_step_overhead(benchmark, optimizer):
    """Seconds for STEPS training steps; divide by STEPS for the per-step overhead."""
    x = np.random.default_rng(0).standard_normal((STEPS, 4)).astype(np.float32)
    y = np.zeros((STEPS, 2), np.float32)
    model = _tiny(optimizer)
    model.fit(x[:10], y[:10], batch_size=1, verbose=0)
    benchmark.group = "engine: fixed cost of a training step (4->2 dense, batch 1)"
    benchmark.extra_info["steps"] = STEPS
    benchmark.pedantic(model.fit, args=(x, y), kwargs=dict(batch_size=1, epochs=1, verbose=0,
                                                           shuffle=False),
                       rounds=5, iterations=1)


def test_predict_one_sample(benchmark):
    model = _tiny("sgd")
    x = np.ones((1, 4), np.float32)
    benchmark.group = "engine: one-sample inference (4->2 dense)"
    benchmark(model.predict, x, verbose=0)


def test_call_one_sample(benchmark):
    model = _tiny("sgd")
    x = np.ones((1, 4), np.float32)
    benchmark.group = "engine: one-sample inference (4->2 dense)"
    benchmark(model, x)
