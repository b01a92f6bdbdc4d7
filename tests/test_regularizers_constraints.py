"""keras.regularizers and keras.constraints: hand-worked values of Keras's formulas,
penalty gradients (central differences), configs, registry names and argument errors."""
import json

import numpy as np
import pytest

from fastnn import backend, constraints as C, regularizers as R

W = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -0.25]])  # sum|w| = 6.75, sum w^2 = 14.3125


# ---- regularizer penalties ---------------------------------------------------------------

def test_penalties_hand_worked():
    assert R.L1(0.1)(W) == pytest.approx(0.675, rel=1e-15)
    assert R.L2(0.2)(W) == pytest.approx(2.8625, rel=1e-15)
    assert R.L1L2(l1=0.1, l2=0.2)(W) == pytest.approx(0.675 + 2.8625, rel=1e-15)
    assert R.L1L2(0.1, 0.5)([1.0, -2.0]) == pytest.approx(2.8, rel=1e-15)
    # Keras's docstring example: L2(2.) on ones((5, 5)) is 50
    assert R.L2(2.0)(np.ones((5, 5), np.float32)) == 50.0
    assert isinstance(R.L1()(W), float)


def test_defaults_as_keras():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert R.L1L2()(W) == 0.0
    assert R.L1(None).l1 == 0.01 and R.L2(None).l2 == 0.01
    assert (R.L1L2(None, None).l1, R.L1L2(None, None).l2) == (0.0, 0.0)
    assert R.Regularizer()(W) == 0.0


def test_penalty_of_integer_and_float32_weights():
    assert R.L1(1.0)(np.array([1, -2, 3])) == 6.0
    w32 = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    ref = 0.3 * np.abs(w32.astype(np.float64)).sum() + 0.7 * (w32.astype(np.float64) ** 2).sum()
    assert R.L1L2(0.3, 0.7)(w32) == pytest.approx(ref, rel=1e-12)


# ---- regularizer gradients ---------------------------------------------------------------

REGS = [R.L1(0.3), R.L2(0.7), R.L1L2(0.3, 0.7), R.L1L2(0.0, 0.4), R.L1L2(0.2, 0.0)]


@pytest.mark.parametrize("reg", REGS, ids=repr)
def test_gradient_matches_central_differences(reg):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 5))
    w[np.abs(w) < 0.05] = 0.3  # away from the L1 kink
    g = reg.gradient(w)
    assert g.shape == w.shape and g.dtype == np.float64
    h = 1e-6
    num = np.empty_like(w)
    for i in np.ndindex(w.shape):
        wp, wm = w.copy(), w.copy()
        wp[i] += h
        wm[i] -= h
        num[i] = (reg(wp) - reg(wm)) / (2 * h)
    np.testing.assert_allclose(g, num, rtol=1e-7, atol=1e-9)


def test_gradient_formula_and_zero_subgradient():
    g = R.L1L2(0.1, 0.2).gradient(W)
    np.testing.assert_allclose(g, 0.1 * np.sign(W) + 0.4 * W, rtol=1e-15)
    assert g[1, 0] == 0.0  # w == 0: L1 contributes sign(0) = 0
    np.testing.assert_array_equal(R.L1(1.0).gradient(np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(R.Regularizer().gradient(W), np.zeros_like(W))


def test_custom_penalty_without_gradient_says_so():
    class Quartic(R.Regularizer):
        def __call__(self, w):
            return float(np.sum(np.asarray(w) ** 4))

    with pytest.raises(NotImplementedError, match="Quartic defines a penalty but no gradient"):
        Quartic().gradient(W)


def test_gradient_out_and_accumulate():
    reg = R.L1L2(0.1, 0.2)
    expected = reg.gradient(W)
    out = np.full(W.shape, 5.0)
    assert reg.gradient(W, out=out) is out
    np.testing.assert_array_equal(out, expected)
    out[...] = 1.0
    reg.gradient(W, out=out, accumulate=True)
    np.testing.assert_allclose(out, 1.0 + expected, rtol=1e-15)
    with pytest.raises(ValueError, match="^out: accumulate=True needs an out array"):
        reg.gradient(W, accumulate=True)
    with pytest.raises(ValueError, match=r"^out: expected shape \(2, 3\)"):
        reg.gradient(W, out=np.zeros((3, 2)))
    with pytest.raises(TypeError, match="^out: expected a floating dtype"):
        reg.gradient(W, out=np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match="^out: expected a numpy.ndarray"):
        reg.gradient(W, out=[[0.0] * 3] * 2)


def test_gradient_keeps_float32():
    w = W.astype(np.float32)
    g = R.L2(0.5).gradient(w)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, w)


# ---- regularizer configs and registry ----------------------------------------------------

REG_INSTANCES = [R.L1(0.3), R.L2(0.05), R.L1L2(0.1, 0.2), R.L1L2()]


@pytest.mark.parametrize("reg", REG_INSTANCES, ids=repr)
def test_regularizer_config_round_trips(reg):
    cfg = reg.get_config()
    json.dumps(cfg)
    clone = type(reg).from_config(cfg)
    assert type(clone) is type(reg) and clone.get_config() == cfg
    ser = R.serialize(reg)
    assert ser["module"] == "keras.regularizers" and ser["class_name"] == type(reg).__name__
    back = R.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is type(reg) and back(W) == reg(W)
    assert R.get(ser).get_config() == cfg


def test_regularizer_keras_configs():
    assert R.L1(0.3).get_config() == {"l1": 0.3}
    assert R.L2().get_config() == {"l2": 0.01}
    assert R.L1L2(1, 2).get_config() == {"l1": 1.0, "l2": 2.0}
    assert isinstance(R.L1L2(1, 2).get_config()["l1"], float)
    with pytest.raises(NotImplementedError):
        R.Regularizer().get_config()


@pytest.mark.parametrize("name, cls, l1, l2", [
    ("l1", R.L1, 0.01, 0.0), ("L1", R.L1, 0.01, 0.0), ("l2", R.L2, 0.0, 0.01),
    ("L2", R.L2, 0.0, 0.01), ("l1_l2", R.L1L2, 0.01, 0.01), ("L1L2", R.L1L2, 0.01, 0.01),
    ("l1l2", R.L1L2, 0.01, 0.01),
])
def test_regularizer_names(name, cls, l1, l2):
    reg = R.get(name)
    assert type(reg) is cls and (reg.l1, reg.l2) == (l1, l2)


def test_regularizer_get_and_aliases():
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    assert R.get(None) is None
    r = R.L2(0.5)
    assert R.get(r) is r
    assert type(R.get(R.L1)) is R.L1

    def custom(w):
        return 0.0

    assert R.get(custom) is custom
    assert R.get({"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.0}}).l1 == 0.5
    with pytest.raises(ValueError, match="did you mean 'l2'"):
        R.get("l_2")
    with pytest.raises(ValueError, match="did you mean 'L1L2'"):
        R.get("L1L3")
    with pytest.raises(TypeError, match="^regularizer: expected a name"):
        R.get(0.01)


@pytest.mark.parametrize("make, err, match", [
    (lambda: R.L1(-0.1), ValueError, "^l1: expected a finite non-negative float, received -0.1"),
    (lambda: R.L2(float("inf")), ValueError, "^l2: "),
    (lambda: R.L1L2(l2=float("nan")), ValueError, "^l2: "),
    (lambda: R.L1L2(l1="0.1"), TypeError, "^l1: expected a non-negative float, received str"),
    (lambda: R.L2(True), TypeError, "^l2: "),
    (lambda: R.L1(0.1)(np.array(["a"])), TypeError, "^w: "),
])
def test_regularizer_errors_name_the_argument(make, err, match):
    with pytest.raises(err, match=match):
        make()


# ---- constraints -------------------------------------------------------------------------

EPS = 1e-7


def test_max_norm_hand_worked():
    w = np.array([[3.0, 0.0, 0.6], [4.0, 0.1, 0.8]])  # column norms 5, 0.1, 1
    out = C.MaxNorm(max_value=2.0)(w)
    expected = w * np.array([2.0 / (EPS + 5.0), 0.1 / (EPS + 0.1), 1.0 / (EPS + 1.0)])
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 0.1, 1.0], rtol=1e-6)
    rows = C.MaxNorm(max_value=1.0, axis=1)(w)
    norms = np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(rows, w * np.minimum(norms, 1.0) / (EPS + norms), rtol=1e-15)


def test_max_norm_axes_of_a_conv_kernel():
    w = np.random.default_rng(2).standard_normal((3, 3, 4, 5))
    out = C.MaxNorm(1.5, axis=[0, 1, 2])(w)
    n = np.sqrt((w ** 2).sum(axis=(0, 1, 2), keepdims=True))
    np.testing.assert_allclose(out, w * np.clip(n, 0, 1.5) / (EPS + n), rtol=1e-15)
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(0, 1, 2))), 1.5, rtol=1e-6)
    np.testing.assert_array_equal(C.MaxNorm(1.5, axis=(0, 1, 2))(w), out)


def test_unit_norm_and_non_neg():
    w = np.array([[3.0, -1.0], [4.0, 0.0]])
    np.testing.assert_allclose(C.UnitNorm()(w), w / (EPS + np.array([5.0, 1.0])), rtol=1e-15)
    np.testing.assert_allclose(C.UnitNorm(axis=-1)(w),
                               w / (EPS + np.array([[np.sqrt(10.0)], [4.0]])), rtol=1e-15)
    np.testing.assert_array_equal(C.NonNeg()(w), [[3.0, 0.0], [4.0, 0.0]])
    np.testing.assert_array_equal(C.Constraint()(w), w)


@pytest.mark.parametrize("rate", [1.0, 0.5, 0.0])
def test_min_max_norm_hand_worked(rate):
    w = np.array([[0.3, 3.0, 0.6], [0.4, 4.0, 0.8]])  # column norms 0.5, 5, 1
    out = C.MinMaxNorm(min_value=0.8, max_value=2.0, rate=rate)(w)
    n = np.array([0.5, 5.0, 1.0])
    desired = rate * np.clip(n, 0.8, 2.0) + (1 - rate) * n
    np.testing.assert_allclose(out, w * desired / (EPS + n), rtol=1e-15)
    if rate == 1.0:
        np.testing.assert_allclose(np.linalg.norm(out, axis=0), [0.8, 2.0, 1.0], rtol=1e-6)


def test_constraints_use_backend_epsilon():
    eps = backend.epsilon()
    try:
        backend.set_epsilon(0.5)
        np.testing.assert_allclose(C.UnitNorm()(np.array([[3.0], [4.0]])), [[3 / 5.5], [4 / 5.5]])
    finally:
        backend.set_epsilon(eps)


CONSTRAINTS = [C.MaxNorm(1.0), C.NonNeg(), C.UnitNorm(), C.MinMaxNorm(0.5, 1.0, 0.7)]


@pytest.mark.parametrize("con", CONSTRAINTS, ids=repr)
def test_constraints_return_new_arrays_and_keep_dtype(con):
    w = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    before = w.copy()
    out = con(w)
    assert out is not w and not np.shares_memory(out, w)
    np.testing.assert_array_equal(w, before)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, con(w.astype(np.float64)), rtol=2e-6, atol=1e-7)
    ints = con(np.array([[1, -2], [3, 4]]))
    assert ints.dtype == np.float32


CON_INSTANCES = [C.MaxNorm(), C.MaxNorm(3, axis=[0, 1, 2]), C.NonNeg(), C.UnitNorm(axis=1),
                 C.MinMaxNorm(), C.MinMaxNorm(0.1, 2.0, 0.5, axis=-1)]


@pytest.mark.parametrize("con", CON_INSTANCES, ids=repr)
def test_constraint_config_round_trips(con):
    cfg = con.get_config()
    json.dumps(cfg)
    clone = type(con).from_config(cfg)
    assert type(clone) is type(con) and clone.get_config() == cfg
    ser = C.serialize(con)
    assert ser["module"] == "keras.constraints" and ser["class_name"] == type(con).__name__
    back = C.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is type(con) and back.get_config() == cfg
    w = np.random.default_rng(4).standard_normal((3, 3, 2, 4))
    np.testing.assert_array_equal(back(w), con(w))


def test_constraint_keras_configs():
    assert C.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert C.UnitNorm().get_config() == {"axis": 0}
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0,
                                           "axis": 0}
    assert C.NonNeg().get_config() == {}


@pytest.mark.parametrize("name, cls", [
    ("MaxNorm", C.MaxNorm), ("max_norm", C.MaxNorm), ("NonNeg", C.NonNeg),
    ("non_neg", C.NonNeg), ("UnitNorm", C.UnitNorm), ("unit_norm", C.UnitNorm),
    ("MinMaxNorm", C.MinMaxNorm), ("min_max_norm", C.MinMaxNorm),
])
def test_constraint_names(name, cls):
    assert type(C.get(name)) is cls
    assert type(C.get({"class_name": name, "config": {}})) is cls
    assert type(C.deserialize(name)) is cls


def test_constraint_get_and_aliases():
    assert C.max_norm is C.MaxNorm and C.non_neg is C.NonNeg
    assert C.unit_norm is C.UnitNorm and C.min_max_norm is C.MinMaxNorm
    assert C.get(None) is None
    c = C.MaxNorm(1)
    assert C.get(c) is c
    f = np.abs
    assert C.get(f) is f
    with pytest.raises(ValueError, match="did you mean 'max_norm'"):
        C.get("max_nrom")
    with pytest.raises(ValueError, match="did you mean 'NonNeg'"):
        C.get("NonNag")
    with pytest.raises(TypeError, match="^constraint: expected a name"):
        C.get(1)


@pytest.mark.parametrize("make, err, match", [
    (lambda: C.MaxNorm(-1), ValueError, "^max_value: expected a non-negative"),
    (lambda: C.MaxNorm("2"), TypeError, "^max_value: expected a real number"),
    (lambda: C.MaxNorm(axis=1.0), TypeError, "^axis: expected an int or a list of ints"),
    (lambda: C.UnitNorm(axis=[0, "1"]), TypeError, "^axis: "),
    (lambda: C.MinMaxNorm(min_value=2.0, max_value=1.0), ValueError,
     r"^max_value: expected max_value >= min_value"),
    (lambda: C.MinMaxNorm(rate=1.5), ValueError, r"^rate: expected a number in \[0, 1\]"),
    (lambda: C.MinMaxNorm(min_value=-1.0), ValueError, "^min_value: "),
    (lambda: C.MinMaxNorm(rate=float("nan")), ValueError, "^rate: "),
    (lambda: C.MaxNorm(axis=2)(np.ones((3, 3))), ValueError,
     r"^axis: expected axes in \[-2, 2\) for weights of shape \(3, 3\), received 2"),
    (lambda: C.UnitNorm(axis=[0, 5])(np.ones((3, 3))), ValueError, "^axis: "),
    (lambda: C.NonNeg()(np.array(["x"])), TypeError, "^w: "),
])
def test_constraint_errors_name_the_argument(make, err, match):
    with pytest.raises(err, match=match):
        make()
