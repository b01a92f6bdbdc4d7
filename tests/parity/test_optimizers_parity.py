"""fastnn.optimizers against tf.keras 2.21 (Keras 3): 20 steps, same weights and gradients.

Every optimizer runs under each of its options (and non-default epsilons and betas), plus
clipnorm, clipvalue, global_clipnorm, weight decay and each learning rate schedule, in
float32; the weights must agree to 1e-5 relative. The gradients include all-zero steps.
Also: the schedules' values, setting the learning rate between steps, excluding variables
from weight decay, and the configs and names that get() and the constructors produce.
"""
import re

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
    "SGD": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
            {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}],
    "RMSprop": [{}, {"momentum": 0.5}, {"centered": True},
                {"centered": True, "momentum": 0.3, "rho": 0.8},
                {"rho": 0.7, "epsilon": 1e-2, "learning_rate": 0.01}],
    "Adagrad": [{}, {"initial_accumulator_value": 0.5, "learning_rate": 0.05},
                {"initial_accumulator_value": 0.0, "epsilon": 1e-3}],
    "Adadelta": [{}, {"learning_rate": 1.0, "rho": 0.9},
                 {"learning_rate": 1.0, "epsilon": 1e-4}],
    "Adam": [{}, {"amsgrad": True}, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-2},
             {"amsgrad": True, "beta_2": 0.8, "learning_rate": 0.01}],
    "AdamW": [{}, {"weight_decay": 0.1, "amsgrad": True},
              {"beta_1": 0.8, "epsilon": 1e-3, "weight_decay": 0.0}],
    "Adamax": [{}, {"beta_2": 0.9}, {"beta_1": 0.7, "epsilon": 1e-2}],
    "Nadam": [{}, {"beta_1": 0.8}, {"beta_2": 0.9, "epsilon": 1e-2, "learning_rate": 0.01}],
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
    grad_seq[0][2][...] = 0.0         # a variable's first gradient is zero
    for g in grad_seq[7]:             # a step with no gradient at all
        g[...] = 0.0
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


def _run(opt, w0s, grad_seq, tf_side, on_step=None):
    """Apply grad_seq with opt from w0s; on_step(opt, k) runs before step k."""
    if tf_side:
        var = [keras.Variable(w, dtype="float32", name=f"v{i}") for i, w in enumerate(w0s)]
    else:
        var = [Variable(w, name=f"v{i}") for i, w in enumerate(w0s)]
    for k, grads in enumerate(grad_seq):
        if on_step is not None:
            on_step(opt, k)
        opt.apply_gradients(zip([tf.constant(g) for g in grads] if tf_side else grads, var))
    return [v.numpy() if tf_side else v.value for v in var]


def _assert_same(mine, theirs):
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.05, decay_steps=3, decay_rate=0.7)),
    ("ExponentialDecay", dict(initial_learning_rate=0.05, decay_steps=3, decay_rate=0.7,
                              staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[4, 9, 15], values=[0.1, 0.03, 0.01, 0.002])),
    ("InverseTimeDecay", dict(initial_learning_rate=0.08, decay_steps=2, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.08, decay_steps=3, decay_rate=0.9,
                              staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.06, decay_steps=14)),
    ("CosineDecay", dict(initial_learning_rate=0.06, decay_steps=12, alpha=0.25)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=10, warmup_target=0.05,
                         warmup_steps=6)),
    ("CosineDecay", dict(initial_learning_rate=0.01, decay_steps=8, alpha=0.1,
                         warmup_target=0.04, warmup_steps=3)),
]


@pytest.mark.parametrize("case", range(len(SCHEDULES)),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(SCHEDULES)])
def test_schedule_values_and_training(case):
    cls, cfg = SCHEDULES[case]
    ref = getattr(keras.optimizers.schedules, cls)(**cfg)
    ours = getattr(schedules, cls)(**cfg)
    steps = list(range(0, 40)) + [100, 1000]
    np.testing.assert_allclose([float(ours(s)) for s in steps],
                               [float(ref(s)) for s in steps], rtol=1e-6, atol=1e-9)
    assert ours.get_config() == ref.get_config()
    w0s, grad_seq = _problem(case)
    for name, kw in (("SGD", {"momentum": 0.9}), ("Adam", {})):
        theirs = _run(getattr(keras.optimizers, name)(learning_rate=ref, **kw), w0s, grad_seq,
                      True)
        mine = _run(getattr(optimizers, name)(learning_rate=ours, **kw), w0s, grad_seq, False)
        _assert_same(mine, theirs)


@pytest.mark.parametrize("name", list(BASE))
def test_learning_rate_set_between_steps(name):
    """Callbacks set optimizer.learning_rate during training; the next step uses it."""
    w0s, grad_seq = _problem(3)
    rates = {5: 0.02, 11: 0.003, 16: 0.0}

    def on_step(opt, k):
        if k in rates:
            opt.learning_rate = rates[k]
            assert abs(float(opt.learning_rate) - rates[k]) <= 1e-9 + 1e-7 * rates[k]

    theirs = _run(getattr(keras.optimizers, name)(), w0s, grad_seq, True, on_step)
    mine = _run(getattr(optimizers, name)(), w0s, grad_seq, False, on_step)
    _assert_same(mine, theirs)


@pytest.mark.parametrize("name", ["AdamW", "SGD"])
def test_exclude_from_weight_decay(name):
    w0s, grad_seq = _problem(4)
    results = []
    for lib, tf_side in ((keras.optimizers, True), (optimizers, False)):
        opt = getattr(lib, name)(weight_decay=0.2, learning_rate=0.05)
        opt.exclude_from_weight_decay(var_names=["v1"])
        results.append(_run(opt, w0s, grad_seq, tf_side))
    _assert_same(results[1], results[0])
    # and the exclusion mattered: without it the second variable ends elsewhere
    plain = _run(getattr(optimizers, name)(weight_decay=0.2, learning_rate=0.05), w0s,
                 grad_seq, False)
    assert not np.allclose(plain[1], results[0][1], rtol=1e-4)


def _same_config(mine, theirs):
    mine, theirs = dict(mine), dict(theirs)
    # Keras names objects it creates unnamed 'adam', 'adam_1', ...: compare the stem.
    assert re.sub(r"_\d+$", "", mine.pop("name")) == re.sub(r"_\d+$", "", theirs.pop("name"))
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, float):
            assert mine[key] == pytest.approx(value, rel=1e-7), key
        else:
            assert mine[key] == value, key


@pytest.mark.parametrize("name", list(BASE))
def test_configs_names_and_defaults(name):
    _same_config(getattr(optimizers, name)().get_config(),
                 getattr(keras.optimizers, name)().get_config())
    _same_config(optimizers.get(name.lower()).get_config(),
                 keras.optimizers.get(name.lower()).get_config())
    for cfg in BASE[name][1:]:
        _same_config(getattr(optimizers, name)(**cfg).get_config(),
                     getattr(keras.optimizers, name)(**cfg).get_config())
    # a config of tf.keras's rebuilds the same optimizer in fastnn
    ref = getattr(keras.optimizers, name)(clipnorm=0.5, **BASE[name][-1])
    again = optimizers.deserialize(keras.optimizers.serialize(ref))
    assert type(again).__name__ == name
    _same_config(again.get_config(), ref.get_config())


# per optimizer, the configuration with the most slots
STATEFUL = [("SGD", BASE["SGD"][2]), ("RMSprop", BASE["RMSprop"][3]),
            ("Adagrad", BASE["Adagrad"][1]), ("Adadelta", BASE["Adadelta"][1]),
            ("Adam", BASE["Adam"][1]), ("AdamW", BASE["AdamW"][1]), ("Adamax", BASE["Adamax"][1]),
            ("Nadam", BASE["Nadam"][1])]


@pytest.mark.parametrize("name,cfg", STATEFUL, ids=[n for n, _ in STATEFUL])
def test_state_moves_between_libraries(name, cfg):
    """save_own_variables/load_own_variables use Keras 3's order of optimizer.variables:
    10 steps in one library, the state moved to the other, 10 more steps there, and the
    weights equal those of 20 steps in tf.keras alone (both directions)."""
    w0s, grad_seq = _problem(5)
    full = _run(getattr(keras.optimizers, name)(**cfg), w0s, grad_seq, True)
    for first_tf in (True, False):
        libs = [(keras.optimizers, True), (optimizers, False)]
        if not first_tf:
            libs.reverse()
        (lib_a, tf_a), (lib_b, tf_b) = libs
        opt_a = getattr(lib_a, name)(**cfg)
        half = _run(opt_a, w0s, grad_seq[:10], tf_a)
        store = {}
        opt_a.save_own_variables(store)
        opt_b = getattr(lib_b, name)(**cfg)
        if tf_b:
            var_b = [keras.Variable(w, dtype="float32", name=f"v{i}") for i, w in
                     enumerate(half)]
        else:
            var_b = [Variable(w, name=f"v{i}") for i, w in enumerate(half)]
        opt_b.build(var_b)
        opt_b.load_own_variables({k: np.asarray(v) for k, v in store.items()})
        assert int(np.asarray(opt_b.iterations)) == 10
        for grads in grad_seq[10:]:
            opt_b.apply_gradients(zip([tf.constant(g) for g in grads] if tf_b else grads,
                                      var_b))
        _assert_same([v.numpy() if tf_b else v.value for v in var_b], full)
