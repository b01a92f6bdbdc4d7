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


def _tiny_step_parts():
    """A built plan for the tiny SGD model, and one batch."""
    from fastnn.engine.plan import TrainPlan

    model = _tiny("sgd")
    x = np.ones((1, 4), np.float32)
    y = np.zeros((1, 2), np.float32)
    model.build((None, 4))
    plan = TrainPlan(model)
    plan.step(x, y, None)
    return model, plan, x, y


def test_train_step_plan(benchmark):
    """One plan.step on the tiny model: the engine's step without the fit loop."""
    _, plan, x, y = _tiny_step_parts()
    benchmark.group = "engine: one training step, tiny model, SGD"
    benchmark(plan.step, x, y, None)


def test_train_step_kernel_calls_only(benchmark):
    """The same step's C calls replayed on the same buffers: the 'arithmetic' that the
    step's overhead is measured beyond (dense forward, loss with gradient, dense backward,
    two SGD updates)."""
    from fastnn import _core

    model, plan, x, y = _tiny_step_parts()
    layer, ws = plan.layers[0], plan.ws[0]
    kernel, bias = layer.kernel.value, layer.bias.value
    out = ws.y
    grad = plan._grad_buffer(out.shape, out.dtype)
    dw, db = ws.targets
    dz = ws.array("dz", out.shape)
    loss = plan.step_loss
    spec = loss._spec()

    def kernels():
        _core.dense_forward(x, kernel, bias, None, out, None, None)
        _core.loss_reduce(spec, out, y, None, None, 1, 2, None, grad)
        _core.dense_backward(x, kernel, None, out, grad, None, dz, dw, db, None)
        _core.sgd_update(kernel, dw, None, 0.01, 0.0, None, 0.0, False)
        _core.sgd_update(bias, db, None, 0.01, 0.0, None, 0.0, False)

    benchmark.group = "engine: one training step, tiny model, SGD"
    benchmark(kernels)
