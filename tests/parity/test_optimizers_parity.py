"""fastnn.optimizers against tf.keras 2.21 (Keras 3): 20 steps, same weights and gradients.

Every optimizer runs under each of its options, plus clipnorm, clipvalue, global_clipnorm,
weight decay and a learning rate schedule, in float32; the weights must agree to 1e-5
relative.
"""
import numpy as np
import pytest
import tensorflow as tf

from fastnn import optimizers
from fastnn.optimizers import schedules
from fastnn.variables import Variable

keras = tf.keras
STEPS = 20
SHAPES = [(17, 9), (9,), (1,)]

BASE = {
    "SGD": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}],
    "RMSprop": [{}, {"momentum": 0.5}, {"centered": True},
                {"centered": True, "momentum": 0.3, "rho": 0.8}],
    "Adagrad": [{}, {"initial_accumulator_value": 0.5, "learning_rate": 0.05}],
    "Adadelta": [{}, {"learning_rate": 1.0, "rho": 0.9}],
    "Adam": [{}, {"amsgrad": True}],
    "AdamW": [{}, {"weight_decay": 0.1, "amsgrad": True}],
    "Adamax": [{}, {"beta_2": 0.9}],
    "Nadam": [{}, {"beta_1": 0.8}],
}
OPTIONS = [{"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 2.0},
           {"weight_decay": 0.05}, {"schedule": True}]


def _cases():
    for name, cfgs in BASE.items():
        for cfg in cfgs:
            yield name, cfg
        for opt in OPTIONS:
            cfg = dict(cfgs[1 if len(cfgs) > 1 and name == "SGD" else 0])
            cfg.update(opt)
            yield name, cfg


CASES = list(_cases())


def _schedule(module):
    return module.ExponentialDecay(0.01, decay_steps=4, decay_rate=0.6, staircase=True)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    w0s = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grad_seq = [[(rng.standard_normal(s) * rng.choice([0.05, 1.0, 4.0])).astype(np.float32)
                 for s in SHAPES] for _ in range(STEPS)]
    return w0s, grad_seq


def _build(module, sched_module, name, cfg):
    cfg = dict(cfg)
    if cfg.pop("schedule", False):
        cfg["learning_rate"] = _schedule(sched_module)
    return getattr(module, name)(**cfg)


@pytest.mark.parametrize("name,cfg", CASES, ids=[f"{n}-{sorted(c)}" for n, c in CASES])
def test_matches_tf_keras(name, cfg):
    w0s, grad_seq = _problem()

    tf_opt = _build(keras.optimizers, keras.optimizers.schedules, name, cfg)
    tf_vars = [keras.Variable(w, dtype="float32", name=f"v{i}") for i, w in enumerate(w0s)]
    for grads in grad_seq:
        tf_opt.apply_gradients(zip([tf.constant(g) for g in grads], tf_vars))

    fn_opt = _build(optimizers, schedules, name, cfg)
    fn_vars = [Variable(w, name=f"v{i}") for i, w in enumerate(w0s)]
    for grads in grad_seq:
        fn_opt.apply_gradients(zip(grads, fn_vars))

    assert fn_opt.iterations == int(tf_opt.iterations.numpy()) == STEPS
    for mine, theirs in zip(fn_vars, tf_vars):
        np.testing.assert_allclose(mine.value, theirs.numpy(), rtol=1e-5, atol=1e-7)
