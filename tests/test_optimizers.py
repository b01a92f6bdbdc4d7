"""fastnn.optimizers against a NumPy transcription of Keras 3's update formulas.

The reference below performs, in NumPy and in the variable's float type, the same
operations in the same order as Keras's update_step methods, so fastnn's fused C kernels
must match it bit for bit (NumPy does not contract multiply-adds either).
"""
import math
import warnings

import numpy as np
import pytest

from fastnn import _core, optimizers
from fastnn.optimizers import schedules
from fastnn.variables import Variable

from tests.conftest import run_with_threads

SHAPES = [(7, 5), (13,), (1,), (0,), (3, 4, 2)]
STEPS = 20


# ---- the NumPy reference ---------------------------------------------------------------------

def _ref_lr(lr, step):
    """The learning rate Keras uses at `step`: a floatx (float32) value."""
    if isinstance(lr, schedules.LearningRateSchedule):
        return np.float32(lr(step))
    return np.float32(lr)


def _ref_clip(grads, t, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm:
        out = []
        for g in grads:
            norm = t(math.sqrt(float(np.sum(g.astype(np.float64) ** 2))))
            out.append((g * t(clipnorm)) / max(norm, t(clipnorm)))
        return out
    if global_clipnorm:
        total = sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)
        use = t(math.sqrt(total))
        scale = t(global_clipnorm) * min(t(1) / use, t(1.0 / global_clipnorm))
        scale = scale + (use - use)
        return [g * scale for g in grads]
    if clipvalue:
        return [np.clip(g, t(-clipvalue), t(clipvalue)) for g in grads]
    return grads


def _pow(b, s):
    """b ** s, rounded once to b's dtype, as libm's pow and powf give it (the kernels call
    them). NumPy's own power is not correctly rounded on every CPU: on AVX-512 machines
    its float32 power(0.9, 4) is 0.6561, one unit in the last place above 0.6560999."""
    return type(b)(math.pow(float(b), float(s)))


def reference(kind, cfg, w0s, grad_seq):
    """Run `kind` for len(grad_seq) steps from w0s with Keras 3's arithmetic; return ws."""
    cfg = dict(cfg)
    lr_cfg = cfg.pop("learning_rate", None)
    defaults = {"sgd": 0.01}
    lr_cfg = defaults.get(kind, 0.001) if lr_cfg is None else lr_cfg
    wd = cfg.pop("weight_decay", 0.004 if kind == "adamw" else None)
    clip = {k: cfg.pop(k) for k in ("clipnorm", "clipvalue", "global_clipnorm") if k in cfg}
    ws = [w.copy() for w in w0s]
    t = ws[0].dtype.type
    z = [np.zeros_like(w) for w in ws]
    s1, s2, s3 = [x.copy() for x in z], [x.copy() for x in z], [x.copy() for x in z]
    if kind == "adagrad":
        s1 = [np.full_like(w, cfg.get("initial_accumulator_value", 0.1)) for w in ws]
    u_product = t(1.0)
    for it, grads in enumerate(grad_seq):
        lr = t(_ref_lr(lr_cfg, it))
        grads = _ref_clip([g.astype(t) for g in grads], t, **clip)
        if wd is not None:
            ws = [w - w * t(wd) * lr for w in ws]
        if kind == "nadam":
            b1 = cfg.get("beta_1", 0.9)
            u_product = u_product * t(b1) * (t(1.0) - t(0.5) * _pow(t(0.96), t(it + 1)))
        for i, g in enumerate(grads):
            w = ws[i]
            if kind == "sgd":
                mu = cfg.get("momentum", 0.0)
                if mu != 0:
                    s1[i] = s1[i] * t(mu) - g * lr
                    if cfg.get("nesterov"):
                        w = w + (s1[i] * t(mu) - g * lr)
                    else:
                        w = w + s1[i]
                else:
                    w = w - g * lr
            elif kind == "rmsprop":
                rho, mu = cfg.get("rho", 0.9), cfg.get("momentum", 0.0)
                eps = t(cfg.get("epsilon", 1e-7))
                s1[i] = t(rho) * s1[i] + t(1 - rho) * np.square(g)
                if cfg.get("centered"):
                    s3[i] = t(rho) * s3[i] + t(1 - rho) * g
                    den = s1[i] - np.square(s3[i]) + eps
                else:
                    den = s1[i] + eps
                inc = (lr * g) / np.sqrt(den)
                if mu > 0:
                    s2[i] = t(mu) * s2[i] + inc
                    w = w - s2[i]
                else:
                    w = w - inc
            elif kind == "adagrad":
                eps = t(cfg.get("epsilon", 1e-7))
                s1[i] = s1[i] + np.square(g)
                w = w - (lr * g) / np.sqrt(s1[i] + eps)
            elif kind == "adadelta":
                rho, eps = cfg.get("rho", 0.95), t(cfg.get("epsilon", 1e-7))
                s1[i] = t(rho) * s1[i] + t(1 - rho) * np.square(g)
                d = -((np.sqrt(s2[i] + eps) * g) / np.sqrt(s1[i] + eps))
                s2[i] = t(rho) * s2[i] + t(1 - rho) * np.square(d)
                w = w + lr * d
            elif kind in ("adam", "adamw"):
                b1, b2 = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)
                eps = t(cfg.get("epsilon", 1e-7))
                step = t(it + 1)
                b1p, b2p = _pow(t(b1), step), _pow(t(b2), step)
                alpha = lr * np.sqrt(t(1) - b2p) / (t(1) - b1p)
                s1[i] = s1[i] + (g - s1[i]) * t(1 - b1)
                s2[i] = s2[i] + (np.square(g) - s2[i]) * t(1 - b2)
                v = s2[i]
                if cfg.get("amsgrad"):
                    s3[i] = np.maximum(s3[i], s2[i])
                    v = s3[i]
                w = w - (s1[i] * alpha) / (np.sqrt(v) + eps)
            elif kind == "adamax":
                b1, b2 = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)
                eps = t(cfg.get("epsilon", 1e-7))
                b1p = _pow(t(b1), t(it + 1))
                s1[i] = s1[i] + (g - s1[i]) * t(1 - b1)
                s2[i] = np.maximum(t(b2) * s2[i], np.abs(g))
                w = w - (lr * s1[i]) / ((t(1) - b1p) * (s2[i] + eps))
            elif kind == "nadam":
                b1, b2 = t(cfg.get("beta_1", 0.9)), t(cfg.get("beta_2", 0.999))
                eps = t(cfg.get("epsilon", 1e-7))
                u_t = b1 * (t(1.0) - t(0.5) * _pow(t(0.96), t(it + 1)))
                u_t1 = b1 * (t(1.0) - t(0.5) * _pow(t(0.96), t(it + 2)))
                p_t1 = u_product * u_t1
                b2p = _pow(b2, t(it + 1))
                s1[i] = s1[i] + (g - s1[i]) * (t(1) - b1)
                s2[i] = s2[i] + (np.square(g) - s2[i]) * (t(1) - b2)
                m_hat = (u_t1 * s1[i]) / (t(1) - p_t1) + ((t(1) - u_t) * g) / (t(1) - u_product)
                v_hat = s2[i] / (t(1) - b2p)
                w = w - (m_hat * lr) / (np.sqrt(v_hat) + eps)
            ws[i] = w
    return ws


def _problem(dtype, shapes=SHAPES, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    w0s = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grad_seq = [[(rng.standard_normal(s) * rng.choice([0.01, 1.0, 5.0])).astype(dtype)
                 for s in shapes] for _ in range(steps)]
    return w0s, grad_seq


def _run(opt, w0s, grad_seq):
    vs = [Variable(w, name=f"v{i}") for i, w in enumerate(w0s)]
    for grads in grad_seq:
        opt.apply(grads, vs)
    return [v.value for v in vs]


CLS = {"sgd": optimizers.SGD, "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad,
       "adadelta": optimizers.Adadelta, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
       "adamax": optimizers.Adamax, "nadam": optimizers.Nadam}

CASES = [
    ("sgd", {}), ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}), ("rmsprop", {"momentum": 0.5}), ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.3, "rho": 0.8, "learning_rate": 0.01}),
    ("adagrad", {}), ("adagrad", {"initial_accumulator_value": 0.5, "learning_rate": 0.1}),
    ("adadelta", {}), ("adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("adam", {}), ("adam", {"amsgrad": True}), ("adam", {"beta_1": 0.5, "epsilon": 1e-3}),
    ("adamw", {}), ("adamw", {"weight_decay": 0.1, "amsgrad": True}),
    ("adamax", {}), ("adamax", {"beta_2": 0.9, "learning_rate": 0.01}),
    ("nadam", {}), ("nadam", {"beta_1": 0.8, "learning_rate": 0.01}),
]
OPTIONS = [{}, {"clipnorm": 1.0}, {"clipvalue": 0.5}, {"global_clipnorm": 2.0},
           {"weight_decay": 0.05}]


def _check(kind, cfg, dtype, exact=True):
    w0s, grad_seq = _problem(dtype)
    got = _run(CLS[kind](**cfg), w0s, grad_seq)
    want = reference(kind, cfg, w0s, grad_seq)
    for g, w in zip(got, want):
        assert g.dtype == np.dtype(dtype)
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,cfg", CASES, ids=[f"{k}-{sorted(c.items())}" for k, c in CASES])
def test_update_matches_keras_formulas(kind, cfg, dtype):
    _check(kind, cfg, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("option", OPTIONS[1:], ids=lambda o: next(iter(o)))
@pytest.mark.parametrize("kind", sorted(CLS))
def test_clipping_and_weight_decay(kind, option, dtype):
    cfg = dict(option)
    if kind == "sgd":
        cfg["momentum"] = 0.9
    # Clipping uses a norm summed in double here and in fastnn, in different orders.
    _check(kind, cfg, dtype, exact="clipnorm" not in option and "global_clipnorm" not in option)


@pytest.mark.parametrize("kind", ["sgd", "adam", "nadam", "rmsprop"])
def test_schedule_learning_rate(kind):
    sched = schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.7, staircase=True)
    _check(kind, {"learning_rate": sched}, np.float32)
    cos = schedules.CosineDecay(0.02, decay_steps=10, alpha=0.1, warmup_target=0.05,
                                warmup_steps=5)
    _check(kind, {"learning_rate": cos}, np.float64)


def test_clipnorm_values():
    g = np.array([3.0, 4.0], np.float32)  # norm 5
    for opt, want in [(optimizers.SGD(1.0, clipnorm=1.0), [-0.6, -0.8]),
                      (optimizers.SGD(1.0, clipnorm=10.0), [-3.0, -4.0]),
                      (optimizers.SGD(1.0, clipvalue=3.5), [-3.0, -3.5])]:
        v = Variable(np.zeros(2, np.float32))
        opt.apply([g], [v])
        np.testing.assert_allclose(v.value, want, rtol=1e-6)
    # global_clipnorm scales every gradient by the same factor: norm of both is 13.
    a, b = Variable(np.zeros(1, np.float32)), Variable(np.zeros(2, np.float32))
    optimizers.SGD(1.0, global_clipnorm=1.3).apply(
        [np.array([5.0], np.float32), np.array([12.0, 0.0], np.float32)], [a, b])
    np.testing.assert_allclose(np.r_[a.value, b.value], [-0.5, -1.2, 0.0], rtol=1e-6)
    # the caller's gradient is left alone
    np.testing.assert_array_equal(g, [3.0, 4.0])


def test_kernel_helpers():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100_003).astype(np.float32)
    np.testing.assert_allclose(_core.sum_squares(x), np.sum(x.astype(np.float64) ** 2),
                               rtol=1e-12)
    assert _core.sum_squares(np.zeros(0)) == 0.0
    y = x.copy()
    _core.clip_by_value(y, 0.5)
    np.testing.assert_array_equal(y, np.clip(x, -0.5, 0.5))


# ---- schedules -------------------------------------------------------------------------------

def test_schedule_values():
    f = np.float32
    e = schedules.ExponentialDecay(0.1, 10, 0.5)
    for s in (0, 1, 5, 10, 25):
        np.testing.assert_allclose(e(s), 0.1 * 0.5 ** (s / 10), rtol=1e-6)
    e9 = schedules.ExponentialDecay(0.1, 1, 0.9)  # 0.9 ** 4: NumPy's float32 power is 1 ulp
    for s in (4, 17, 18, 19):                      # off on AVX-512 machines; libm's is not
        assert float(e9(s)) == float(f(0.1) * f(math.pow(float(f(0.9)), s)))
    es = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [float(es(s)) for s in (0, 9, 10, 19, 20)] == [float(f(0.1) * f(0.5) ** k)
                                                       for k in (0, 0, 1, 1, 2)]
    it = schedules.InverseTimeDecay(1.0, 4, 0.5)
    for s in (0, 1, 4, 10):
        np.testing.assert_allclose(it(s), 1.0 / (1 + 0.5 * s / 4), rtol=1e-6)
    its = schedules.InverseTimeDecay(1.0, 4, 0.5, staircase=True)
    np.testing.assert_allclose([its(s) for s in (3, 4, 9)], [1.0, 1 / 1.5, 1 / 2.0], rtol=1e-6)
    pc = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [float(pc(s)) for s in (0, 10, 11, 20, 21, 1000)] == \
        [1.0, 1.0, float(f(0.5)), float(f(0.5)), float(f(0.1)), float(f(0.1))]
    c = schedules.CosineDecay(0.1, 100, alpha=0.2)
    for s in (0, 25, 50, 100, 150):
        k = min(s, 100)
        want = 0.1 * ((1 - 0.2) * 0.5 * (1 + math.cos(math.pi * k / 100)) + 0.2)
        np.testing.assert_allclose(c(s), want, rtol=1e-6)
    cw = schedules.CosineDecay(0.0, 10, warmup_target=0.1, warmup_steps=5)
    np.testing.assert_allclose([cw(s) for s in (0, 1, 5, 10, 15, 30)],
                               [0.0, 0.02, 0.1, 0.05, 0.0, 0.0], atol=1e-7)


@pytest.mark.parametrize("sched", [
    schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True),
    schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]),
    schedules.InverseTimeDecay(1.0, 4, 0.5),
    schedules.CosineDecay(0.1, 100, alpha=0.2, warmup_target=0.3, warmup_steps=7)])
def test_schedule_config_round_trip(sched):
    again = schedules.deserialize(schedules.serialize(sched))
    assert type(again) is type(sched) and again.get_config() == sched.get_config()
    assert [float(again(s)) for s in range(0, 40, 3)] == [float(sched(s)) for s in range(0, 40, 3)]
    opt = optimizers.Adam(learning_rate=sched)
    opt2 = optimizers.deserialize(optimizers.serialize(opt))
    assert opt2._learning_rate.get_config() == sched.get_config()


def test_schedule_bad_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="boundaries"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(TypeError, match="initial_learning_rate"):
        schedules.CosineDecay("a", 10)


# ---- learning rate, iterations, config -------------------------------------------------------

def test_learning_rate_settable_mid_training():
    w0s, grad_seq = _problem(np.float32, shapes=[(5,)], steps=6)
    opt = optimizers.SGD(0.1, momentum=0.9)
    v = Variable(w0s[0])
    for k, grads in enumerate(grad_seq):
        if k == 3:
            opt.learning_rate = 0.01
        opt.apply(grads, [v])
    # the same as two references stitched at step 3, with the velocity carried over
    ref = optimizers.SGD(0.1, momentum=0.9)
    r = Variable(w0s[0])
    for grads in grad_seq[:3]:
        ref.apply(grads, [r])
    ref.lr = 0.01
    for grads in grad_seq[3:]:
        ref.apply(grads, [r])
    np.testing.assert_array_equal(v.value, r.value)
    assert opt.iterations == 6
    assert opt.learning_rate == pytest.approx(0.01) and opt.lr == opt.learning_rate
    assert opt.learning_rate.numpy().dtype == np.float32
    assert opt.get_config()["learning_rate"] == float(np.float32(0.01))


def test_schedule_is_not_settable_and_callable_learning_rate():
    opt = optimizers.Adam(schedules.ExponentialDecay(0.1, 1, 0.5))
    assert float(opt.learning_rate) == pytest.approx(0.1)
    opt.apply([np.ones(2)], [Variable(np.zeros(2))])
    assert float(opt.learning_rate) == pytest.approx(0.05)
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    calls = []
    sgd = optimizers.SGD(lambda: calls.append(1) or 0.5)
    v = Variable(np.zeros(1))
    sgd.apply([np.ones(1)], [v])
    assert calls and v.value[0] == -0.5


@pytest.mark.parametrize("kind", sorted(CLS))
def test_config_round_trip(kind):
    opt = CLS[kind](learning_rate=0.02, clipnorm=1.5, name="mine")
    cfg = opt.get_config()
    again = CLS[kind].from_config(cfg)
    assert again.get_config() == cfg
    assert optimizers.get(optimizers.serialize(opt)).get_config() == cfg
    assert isinstance(optimizers.get(kind), CLS[kind])
    assert isinstance(optimizers.get(CLS[kind].__name__), CLS[kind])
    assert optimizers.get(opt) is opt


def test_defaults_follow_keras3():
    assert optimizers.SGD().learning_rate == pytest.approx(0.01)
    for k in ("rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax", "nadam"):
        opt = optimizers.get(k)
        assert opt.learning_rate == pytest.approx(0.001), k
        assert getattr(opt, "epsilon") == 1e-7
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert optimizers.Adadelta().rho == 0.95
    # Keras 2 configs still load: lr and decay
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimizers.deserialize({"class_name": "Adam", "config": {"lr": 0.01, "decay": 0.0,
                                                                         "jit_compile": False}})
    assert opt.learning_rate == pytest.approx(0.01)


# ---- state -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind,cfg", [("sgd", {"momentum": 0.9}),
                                      ("rmsprop", {"centered": True, "momentum": 0.5}),
                                      ("adagrad", {}), ("adadelta", {}),
                                      ("adam", {"amsgrad": True}), ("adamw", {}),
                                      ("adamax", {}), ("nadam", {})])
def test_state_resume_is_exact(kind, cfg, dtype):
    w0s, grad_seq = _problem(dtype, shapes=[(6, 3), (4,)], steps=12)
    full = CLS[kind](**cfg)
    vs = [Variable(w) for w in w0s]
    for grads in grad_seq:
        full.apply(grads, vs)

    first = CLS[kind](**cfg)
    vs1 = [Variable(w) for w in w0s]
    for grads in grad_seq[:7]:
        first.apply(grads, vs1)
    state = first.get_state()
    weights = [v.numpy() for v in vs1]
    assert state[0] == 7 and state[0].dtype == np.int64

    resumed = CLS[kind](**cfg)
    vs2 = [Variable(w) for w in weights]
    resumed.build(vs2)
    resumed.set_state(state)
    for grads in grad_seq[7:]:
        resumed.apply(grads)
    for a, b in zip(vs, vs2):
        np.testing.assert_array_equal(a.value, b.value)
    assert resumed.iterations == 12
    for a, b in zip(full.get_state(), resumed.get_state()):
        np.testing.assert_array_equal(a, b)


def test_state_order_and_keras_variables():
    a, b = Variable(np.zeros((2, 3)), name="a", path="d/a"), Variable(np.zeros(4), name="b")
    opt = optimizers.Adam(amsgrad=True)
    opt.build([a, b])
    shapes = [s.shape for s in opt.get_state()]
    assert shapes == [(), (2, 3), (2, 3), (2, 3), (4,), (4,), (4,)]
    paths = [v.path for v in opt.variables]
    assert paths == ["adam/iteration", "adam/learning_rate", "adam/d_a_momentum",
                     "adam/d_a_velocity", "adam/b_momentum", "adam/b_velocity",
                     "adam/d_a_velocity_hat", "adam/b_velocity_hat"]
    store = {}
    opt.apply([np.ones((2, 3)), np.ones(4)])
    opt.save_own_variables(store)
    other = optimizers.Adam(amsgrad=True)
    other.build([a, b])
    other.load_own_variables(store)
    for x, y in zip(opt.get_state(), other.get_state()):
        np.testing.assert_array_equal(x, y)
    nadam = optimizers.Nadam()
    nadam.build([a])
    assert len(nadam.get_state()) == 4 and nadam.get_state()[-1].shape == ()
    with pytest.raises(ValueError, match="state"):
        opt.set_state(opt.get_state()[:-1])


def test_constraint_touch_and_none_gradients():
    v = Variable(np.ones(3, np.float32), constraint=lambda w: np.clip(w, 0.0, 0.5))
    u = Variable(np.ones(2, np.float32))
    version = v.version
    opt = optimizers.SGD(0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([np.full(3, -1.0, np.float32), None], [v, u])
    np.testing.assert_array_equal(v.value, [0.5, 0.5, 0.5])
    assert v.version > version
    np.testing.assert_array_equal(u.value, [1.0, 1.0])
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None, None], [v, u])
    # apply_gradients, and float64 gradients for float32 variables are cast as Keras does
    assert opt.apply_gradients([(np.ones(3), v), (np.ones(2), u)]) == 2
    np.testing.assert_allclose(u.value, [0.9, 0.9], rtol=1e-6)


def test_weight_decay_exclusion():
    a, b = Variable(np.ones(2), name="kernel"), Variable(np.ones(2), name="bias")
    opt = optimizers.SGD(0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([np.zeros(2), np.zeros(2)], [a, b])
    np.testing.assert_allclose(a.value, [0.95, 0.95])
    np.testing.assert_array_equal(b.value, [1.0, 1.0])


# ---- bad arguments ---------------------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate=-0.1)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.RMSprop(momentum=-0.1)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Adam(beta_1=2.0)
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(momentum=0.9)
    with pytest.raises(NotImplementedError, match="use_ema"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD().learning_rate = -1.0

    v = Variable(np.zeros((2, 3), np.float32), path="dense/kernel")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match=r"grads\[0\].*dense/kernel.*\(3, 2\)"):
        opt.apply([np.zeros((3, 2), np.float32)], [v])
    with pytest.raises(TypeError, match=r"grads\[0\].*int64"):
        opt.apply([np.zeros((2, 3), np.int64)], [v])
    with pytest.raises(ValueError, match="one gradient per variable"):
        opt.apply([np.zeros((2, 3), np.float32)] * 2, [v])
    opt.apply([np.zeros((2, 3), np.float32)], [v])
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([np.zeros(1, np.float32)], [Variable(np.zeros(1, np.float32))])
    with pytest.raises(ValueError, match="build"):
        optimizers.Adam().apply([np.zeros(1)])
    with pytest.raises(ValueError, match="built"):
        optimizers.Adam().set_state([np.array(0)])


def test_binding_checks():
    w = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match="g: expected dtype float32"):
        _core.sgd_update(w, np.zeros(4), None, 0.1)
    with pytest.raises(ValueError, match="g: expected shape"):
        _core.sgd_update(w, np.zeros(5, np.float32), None, 0.1)
    with pytest.raises(ValueError, match="share memory"):
        _core.sgd_update(w, np.zeros(4, np.float32), w, 0.1)
    with pytest.raises(ValueError, match="read-only"):
        ro = np.zeros(4, np.float32)
        ro.flags.writeable = False
        _core.sgd_update(ro, np.zeros(4, np.float32), None, 0.1)


# ---- threads ---------------------------------------------------------------------------------

def test_same_bits_for_1_and_2_threads():
    code = """
        import hashlib, numpy as np
        from fastnn import optimizers
        from fastnn.variables import Variable
        rng = np.random.default_rng(7)
        n = 1_000_003
        out = []
        for opt in [optimizers.Adam(amsgrad=True, weight_decay=0.01, global_clipnorm=50.0),
                    optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=100.0),
                    optimizers.Nadam(clipvalue=0.5), optimizers.RMSprop(centered=True)]:
            v = Variable(rng.standard_normal(n).astype(np.float32))
            for _ in range(3):
                opt.apply([rng.standard_normal(n).astype(np.float32)], [v])
            out.append(hashlib.sha256(v.value.tobytes()).hexdigest())
        print(" ".join(out))
    """
    one = run_with_threads(code, 1)
    two = run_with_threads(code, 2)
    assert one == two and len(one.split()) == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 70000])  # one thread, and enough elements for two
def test_subnormal_slots_flush_to_zero_and_caller_mode_is_kept(dtype, n):
    # Adam's second moment decays by beta_2 per step, so slots of parameters with zero
    # gradients sink into the subnormal range; the update kernels flush them to zero (as
    # TensorFlow's kernels do) rather than take the slow subnormal path on every step.
    tiny = np.finfo(dtype).tiny
    w = np.ones(n, dtype)
    g = np.zeros(n, dtype)
    m = np.full(n, tiny / 8, dtype)   # subnormal
    v = np.full(n, tiny / 4, dtype)
    _core.adam_update(w, g, m, v, None, 1e-3, 0.0, None, 0.1, 0.001, 1e-3, 1e-7)
    assert not m.any() and not v.any()
    assert np.array_equal(w, np.ones(n, dtype))
    # the calling thread's floating-point mode is restored: NumPy still makes subnormals
    assert dtype(tiny) * dtype(0.25) > 0


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_group_update_gives_the_per_variable_bits(monkeypatch, amsgrad, dtype):
    """fit's optimizer step updates all of Adam's variables in one call (AdamGroup); it
    must give exactly the bits of one adam_update per variable, and be used."""
    import fastnn as keras
    from fastnn.optimizers.adam import Adam

    rng = np.random.default_rng(4)
    x = rng.standard_normal((96, 7)).astype(dtype)
    y = rng.integers(0, 3, 96)
    runs = {}
    for grouped in (True, False):
        calls = []
        with monkeypatch.context() as mp:
            if grouped:
                orig = Adam._group

                def counted(self, entries):
                    fn = orig(self, entries)
                    calls.append(fn is not None)
                    return fn
                mp.setattr(Adam, "_group", counted)
            else:
                mp.setattr(Adam, "_group", lambda self, entries: None)
            keras.utils.set_random_seed(1)
            model = keras.Sequential([keras.Input((7,)),
                                      keras.layers.Dense(5, activation="tanh", dtype=dtype),
                                      keras.layers.Dense(3, dtype=dtype)])
            model.compile(optimizer=Adam(amsgrad=amsgrad, learning_rate=0.01),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model.fit(x, y, batch_size=16, epochs=3, verbose=0)
            # a slot array replaced between fits is the one the next step updates
            m0 = model.optimizer._slots[0]["momentum"]
            m0.value = m0.value.copy()
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        if grouped:
            assert calls and all(calls)
        runs[grouped] = (model.get_weights(),
                         [np.asarray(v) for v in model.optimizer.variables])
    for a, b in zip(runs[True][0] + runs[True][1], runs[False][0] + runs[False][1]):
        np.testing.assert_array_equal(a, b)


def test_adam_group_not_used_with_clipping_or_weight_decay(monkeypatch):
    from fastnn import _core
    import fastnn as keras

    used = []
    real = _core.AdamGroup

    class Spy:
        def __init__(self, entries):
            self.g = real(entries)

        def run(self, *a):
            used.append(1)
            return self.g.run(*a)

    monkeypatch.setattr(_core, "AdamGroup", Spy)
    rng = np.random.default_rng(0)
    w = keras.Variable(rng.standard_normal(5).astype(np.float32))
    g = rng.standard_normal(5).astype(np.float32)
    for opt in (keras.optimizers.Adam(clipnorm=0.1), keras.optimizers.AdamW(),
                keras.optimizers.Adam(global_clipnorm=1.0)):
        opt.apply([g], [w])
    assert used == []
    keras.optimizers.Adam().apply([g], [w])
    assert used == [1]
