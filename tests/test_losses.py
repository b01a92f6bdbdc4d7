"""fastnn.losses against NumPy references written from Keras 3's formulas, gradient checks
by central differences, reductions, the custom-loss training path and argument errors."""
import numpy as np
import pytest

import fastnn.losses as fl

EPS = 1e-7


# ---- NumPy references (per-sample losses, last axis) ---------------------------------------

def _clip(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def ref_hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def ref_cce(t, p, from_logits=False, ls=0.0):
    t = t * (1 - ls) + ls / t.shape[-1]
    if from_logits:
        z = p - p.max(-1, keepdims=True)
        return -np.sum(t * (z - np.log(np.sum(np.exp(z), -1, keepdims=True))), -1)
    q = _clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.sum(t * np.log(q), -1)


def ref_scce(y, p, from_logits=False):
    if from_logits:
        z = p - p.max(-1, keepdims=True)
        lsm = z - np.log(np.sum(np.exp(z), -1, keepdims=True))
    else:
        q = _clip(p, EPS, 1 - EPS)
        lsm = np.log(q) - np.log(q.sum(-1, keepdims=True))
    return -np.take_along_axis(lsm, y[..., None], -1)[..., 0]


def ref_bce_elem(t, p, from_logits=False):
    if from_logits:
        return np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
    q = _clip(p, EPS, 1 - EPS)
    return -(t * np.log(q) + (1 - t) * np.log(1 - q))


def ref_focal(t, p, balance=False, alpha=0.25, gamma=2.0, from_logits=False, ls=0.0):
    t = t * (1 - ls) + 0.5 * ls
    bce = ref_bce_elem(t, p, from_logits)
    prob = _sigmoid(p) if from_logits else p
    pt = t * prob + (1 - t) * (1 - prob)
    out = (1 - pt) ** gamma * bce
    if balance:
        out = (t * alpha + (1 - t) * (1 - alpha)) * out
    return out.mean(-1)


def ref_cosine(t, p):
    nt = t * np.minimum(1 / np.sqrt(np.sum(t * t, -1, keepdims=True)), 1 / EPS)
    npd = p * np.minimum(1 / np.sqrt(np.sum(p * p, -1, keepdims=True)), 1 / EPS)
    return -np.sum(nt * npd, -1)


def ref_huber(t, p, delta=1.0):
    e = p - t
    a = np.abs(e)
    return np.mean(np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta ** 2), -1)


REFS = {
    "MeanSquaredError": lambda t, p: np.mean((t - p) ** 2, -1),
    "MeanAbsoluteError": lambda t, p: np.mean(np.abs(t - p), -1),
    "MeanAbsolutePercentageError":
        lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1),
    "MeanSquaredLogarithmicError":
        lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1))
                             ** 2, -1),
    "Hinge": lambda t, p: np.mean(np.maximum(1 - ref_hinge_labels(t) * p, 0), -1),
    "SquaredHinge": lambda t, p: np.mean(np.maximum(1 - ref_hinge_labels(t) * p, 0) ** 2, -1),
    "CategoricalHinge":
        lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0),
    "LogCosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), -1),
    "Huber": ref_huber,
    "KLDivergence": lambda t, p: np.sum(_clip(t, EPS, 1) * np.log(_clip(t, EPS, 1) /
                                                                 _clip(p, EPS, 1)), -1),
    "Poisson": lambda t, p: np.mean(p - t * np.log(p + EPS), -1),
    "CosineSimilarity": ref_cosine,
    "CategoricalCrossentropy": ref_cce,
    "BinaryCrossentropy":
        lambda t, p, from_logits=False, label_smoothing=0.0:
        ref_bce_elem(t * (1 - label_smoothing) + 0.5 * label_smoothing, p, from_logits).mean(-1),
    "BinaryFocalCrossentropy": ref_focal,
}


def _data(kind, rng, n=6, c=4, dtype=np.float64):
    """Inputs away from kinks and active clips, so central differences are valid."""
    if kind == "regression":
        t = rng.normal(size=(n, c))
        p = t + rng.choice([-1, 1], size=(n, c)) * rng.uniform(0.1, 2.0, size=(n, c))
    elif kind == "positive":
        t = rng.uniform(0.2, 2, size=(n, c))
        p = rng.uniform(0.2, 2, size=(n, c))
    elif kind == "hinge":
        t = rng.integers(0, 2, size=(n, c)).astype(float)
        p = rng.uniform(-0.8, 0.8, size=(n, c))
    elif kind in ("probs", "onehot_probs"):
        p = rng.uniform(0.1, 1, size=(n, c))
        p /= p.sum(-1, keepdims=True)
        t = np.eye(c)[rng.integers(0, c, n)] if kind == "onehot_probs" else \
            rng.dirichlet(np.ones(c), n)
    elif kind == "binary":
        t = rng.integers(0, 2, size=(n, c)).astype(float)
        p = rng.uniform(0.05, 0.95, size=(n, c))
    elif kind == "logits":
        t = rng.integers(0, 2, size=(n, c)).astype(float)
        p = rng.normal(size=(n, c)) * 3
    elif kind == "onehot_logits":
        t = np.eye(c)[rng.integers(0, c, n)]
        p = rng.normal(size=(n, c)) * 3
    elif kind == "cat_hinge":
        t = np.eye(c)[rng.integers(0, c, n)]
        p = rng.normal(size=(n, c)) * 0.3
    else:
        raise AssertionError(kind)
    return t.astype(dtype), p.astype(dtype)


CASES = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Hinge", {}, "hinge"),
    ("SquaredHinge", {}, "hinge"),
    ("CategoricalHinge", {}, "cat_hinge"),
    ("LogCosh", {}, "regression"),
    ("Huber", {}, "regression"),
    ("Huber", {"delta": 0.5}, "regression"),
    ("KLDivergence", {}, "probs"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("CategoricalCrossentropy", {}, "onehot_probs"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
     "onehot_logits"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "logits"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                 "from_logits": True}, "logits"),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _ref(name, kwargs, t, p):
    f = REFS[name]
    if name == "BinaryFocalCrossentropy":
        return f(t, p, kwargs.get("apply_class_balancing", False), kwargs.get("alpha", 0.25),
                 kwargs.get("gamma", 2.0), kwargs.get("from_logits", False))
    if name == "CategoricalCrossentropy":
        return f(t, p, kwargs.get("from_logits", False), kwargs.get("label_smoothing", 0.0))
    return f(t, p, **kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_per_sample_values_match_numpy(case, dtype, rng):
    name, kwargs, kind = CASES[case]
    t, p = _data(kind, rng, dtype=dtype)
    got = getattr(fl, name)(**kwargs).call(t, p)
    assert got.dtype == dtype and got.shape == (6,)
    want = _ref(name, kwargs, t.astype(np.float64), p.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def _numeric_grad(loss, t, p, sw):
    g = np.empty_like(p)
    for idx in np.ndindex(p.shape):
        h = 1e-6 * max(1.0, abs(p[idx]))
        up, down = p.copy(), p.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (loss(t, up, sample_weight=sw) - loss(t, down, sample_weight=sw)) / (2 * h)
    return g


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_gradient_matches_central_differences(case, reduction, rng):
    name, kwargs, kind = CASES[case]
    t, p = _data(kind, rng)
    sw = rng.uniform(0.5, 2.0, size=p.shape[0])
    loss = getattr(fl, name)(reduction=reduction, **kwargs)
    grad = np.empty_like(p)
    value = loss.forward_backward(t, p, sw, grad)
    np.testing.assert_allclose(value, loss(t, p, sample_weight=sw), rtol=1e-12)
    np.testing.assert_allclose(grad, _numeric_grad(loss, t, p, sw), rtol=1e-5, atol=1e-8)


def test_sparse_crossentropy_values_and_gradient(rng):
    y = rng.integers(0, 5, 8)
    for from_logits in (False, True):
        _, p = _data("onehot_logits" if from_logits else "probs", rng, n=8, c=5)
        for dtype in (np.float32, np.float64):
            got = fl.sparse_categorical_crossentropy(y, p.astype(dtype), from_logits=from_logits)
            np.testing.assert_allclose(got, ref_scce(y, p, from_logits), rtol=1e-5)
        loss = fl.SparseCategoricalCrossentropy(from_logits=from_logits)
        grad = np.empty_like(p)
        loss.forward_backward(y, p, None, grad)
        np.testing.assert_allclose(grad, _numeric_grad(loss, y, p, None), rtol=1e-5, atol=1e-8)


def test_ignore_class_is_left_out_of_the_mean(rng):
    y = np.array([0, 2, -1, 1, -1])
    _, z = _data("onehot_logits", rng, n=5, c=3)
    loss = fl.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    keep = y != -1
    per = ref_scce(y[keep], z[keep], True)
    np.testing.assert_allclose(loss.call(y, z)[~keep], 0.0)
    np.testing.assert_allclose(loss(y, z), per.mean(), rtol=1e-12)
    grad = np.empty_like(z)
    np.testing.assert_allclose(loss.forward_backward(y, z, None, grad), per.mean(), rtol=1e-12)
    assert np.all(grad[~keep] == 0)
    np.testing.assert_allclose(grad[keep], _numeric_grad(loss, y, z, None)[keep], rtol=1e-5,
                               atol=1e-9)


def test_reductions_follow_keras(rng):
    t, p = _data("regression", rng)
    sw = rng.uniform(0, 2, 6)
    per = np.mean((t - p) ** 2, -1)
    cases = {"sum": np.sum(per * sw), "sum_over_batch_size": np.sum(per * sw) / 6,
             "mean": np.sum(per * sw) / 6, "mean_with_sample_weight": np.sum(per * sw) / sw.sum()}
    for red, want in cases.items():
        np.testing.assert_allclose(fl.MeanSquaredError(reduction=red)(t, p, sw), want,
                                   rtol=1e-12)
    for red in ("none", None):
        np.testing.assert_allclose(fl.MeanSquaredError(reduction=red)(t, p, sw), per * sw)
    assert fl.MeanSquaredError()(t, p, np.zeros(6)) == 0.0
    assert fl.MeanSquaredError(reduction="mean_with_sample_weight")(t, p, np.zeros(6)) == 0.0


def test_rank3_outputs_weight_every_step_of_a_sample(rng):
    z = rng.normal(size=(3, 4, 5))
    y = rng.integers(0, 5, (3, 4))
    sw = np.array([1.0, 0.5, 2.0])
    loss = fl.SparseCategoricalCrossentropy(from_logits=True)
    grad = np.empty_like(z)
    val = loss.forward_backward(y, z, sw, grad)
    np.testing.assert_allclose(val, np.sum(ref_scce(y, z, True) * sw[:, None]) / 12, rtol=1e-12)
    np.testing.assert_allclose(grad, _numeric_grad(loss, y, z, sw[:, None]), rtol=1e-5,
                               atol=1e-9)


def test_hinge_converts_binary_labels_only_when_all_are_binary():
    p = np.array([[0.3, -0.2]])
    np.testing.assert_allclose(fl.hinge([[0.0, 1.0]], p), [np.mean([1.3, 1.2])], rtol=1e-6)
    np.testing.assert_allclose(fl.hinge([[-1.0, 1.0]], p), [np.mean([1.3, 1.2])], rtol=1e-6)
    np.testing.assert_allclose(fl.hinge([[0.5, 1.0]], p), [np.mean([0.85, 1.2])], rtol=1e-6)


# ---- custom losses -----------------------------------------------------------------------

class Quartic(fl.Loss):
    def call(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 4, axis=-1)


class QuarticWithGradient(Quartic):
    def gradient(self, y_true, y_pred):
        return 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]


@pytest.mark.parametrize("cls", [Quartic, QuarticWithGradient])
def test_custom_loss_gradient_both_designs(cls, rng):
    t, p = _data("regression", rng)
    sw = rng.uniform(0.5, 2, 6)
    loss = cls()
    grad = np.empty_like(p)
    val = loss.forward_backward(t, p, sw, grad)
    np.testing.assert_allclose(val, np.sum(np.mean((p - t) ** 4, -1) * sw) / 6, rtol=1e-12)
    want = 4 * (p - t) ** 3 / 4 * sw[:, None] / 6
    np.testing.assert_allclose(grad, want, rtol=1e-6, atol=1e-10)


class Squared(fl.Loss):
    def call(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 2, axis=-1)


class SquaredWithGradient(Squared):
    def gradient(self, y_true, y_pred):
        return 2 * (y_pred - y_true) / y_pred.shape[-1]


@pytest.mark.parametrize("make", [Squared, SquaredWithGradient,
                                  lambda: fl.get(lambda t, p: np.mean((p - t) ** 2, -1))])
def test_custom_loss_trains_a_linear_model(make, rng):
    x = rng.normal(size=(32, 3)).astype(np.float32)
    w_true = np.array([[1.0], [-2.0], [0.5]], np.float32)
    y = x @ w_true
    w = np.zeros((3, 1), np.float32)
    loss = make()
    grad = np.empty((32, 1), np.float32)
    first = None
    for _ in range(100):
        pred = x @ w
        val = loss.forward_backward(y, pred, None, grad)
        first = val if first is None else first
        w -= 0.2 * (x.T @ grad)
    assert val < 1e-3 * first
    np.testing.assert_allclose(w, w_true, atol=0.05)


def test_function_wrapper_and_names():
    f = fl.get(lambda t, p: np.abs(p - t).sum(-1))
    assert isinstance(f, fl.LossFunctionWrapper)
    assert f([[1.0, 2.0]], [[0.0, 0.0]]) == pytest.approx(3.0)
    assert isinstance(fl.get("mse"), fl.MeanSquaredError)
    assert isinstance(fl.get("categorical_crossentropy"), fl.CategoricalCrossentropy)
    assert isinstance(fl.get(fl.huber), fl.Huber)
    assert isinstance(fl.get("Huber"), fl.Huber)
    assert isinstance(fl.get("logcosh"), fl.LogCosh)
    assert isinstance(fl.get("kullback_leibler_divergence"), fl.KLDivergence)
    assert isinstance(fl.get("cosine_proximity"), fl.CosineSimilarity)
    assert fl.cosine_proximity is fl.cosine_similarity and fl.kld is fl.kl_divergence
    assert fl.get(None) is None
    inst = fl.Huber(delta=2.0)
    assert fl.get(inst) is inst
    cfg = {"class_name": "BinaryCrossentropy", "config": {"from_logits": True}}
    assert fl.get(cfg).from_logits is True


ALL_CLASSES = [fl.MeanSquaredError, fl.MeanAbsoluteError, fl.MeanAbsolutePercentageError,
               fl.MeanSquaredLogarithmicError, fl.Hinge, fl.SquaredHinge, fl.CategoricalHinge,
               fl.LogCosh, fl.Huber, fl.KLDivergence, fl.Poisson, fl.CosineSimilarity,
               fl.CategoricalCrossentropy, fl.SparseCategoricalCrossentropy,
               fl.BinaryCrossentropy, fl.BinaryFocalCrossentropy]


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_config_round_trip(cls):
    loss = cls(reduction="sum", name="custom")
    again = fl.deserialize(fl.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()
    assert again.reduction == "sum" and again.name == "custom"


def test_logits_variants_and_helpers():
    v = fl.CategoricalCrossentropy(label_smoothing=0.1).logits_variant()
    assert v.from_logits and v.label_smoothing == 0.1
    assert fl.SparseCategoricalCrossentropy(ignore_class=3).logits_variant().ignore_class == 3
    assert fl.BinaryCrossentropy().logits_variant().logits_activation == "sigmoid"
    assert fl.BinaryFocalCrossentropy(gamma=3.0).logits_variant().gamma == 3.0
    assert fl.CategoricalCrossentropy(from_logits=True).logits_variant() is None
    assert fl.MeanSquaredError().logits_variant() is None
    assert fl.is_categorical_crossentropy(fl.CategoricalCrossentropy())
    assert fl.is_categorical_crossentropy("categorical_crossentropy")
    assert fl.is_categorical_crossentropy(fl.categorical_crossentropy)
    assert not fl.is_categorical_crossentropy(fl.BinaryCrossentropy())
    assert isinstance(fl.resolve("ce", (4,), (4, 3)), fl.SparseCategoricalCrossentropy)
    assert isinstance(fl.resolve("crossentropy", (4, 1), (4, 1)), fl.BinaryCrossentropy)
    assert isinstance(fl.resolve("ce", (4, 3), (4, 3)), fl.CategoricalCrossentropy)


def test_logits_variant_equals_the_loss_on_softmax_outputs(rng):
    z = rng.normal(size=(5, 4)) * 2
    y = rng.integers(0, 4, 5)
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    np.testing.assert_allclose(fl.SparseCategoricalCrossentropy().logits_variant()(y, z),
                               fl.SparseCategoricalCrossentropy()(y, probs), rtol=1e-6)


# ---- argument errors -----------------------------------------------------------------------

def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="y_true"):
        fl.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="y_true"):
        fl.SparseCategoricalCrossentropy()(np.zeros((4,)), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="y_true.*index 1"):
        fl.SparseCategoricalCrossentropy()(np.array([0, 7]), np.full((2, 3), 0.3))
    with pytest.raises(ValueError, match="reduction.*did you mean 'sum'"):
        fl.MeanSquaredError(reduction="summ")
    with pytest.raises(ValueError, match="did you mean 'mean_squared_error'"):
        fl.get("mean_squared_eror")
    with pytest.raises(TypeError, match="y_pred"):
        fl.MeanSquaredError()(np.zeros(3), None)
    with pytest.raises(ValueError, match="sample_weight"):
        fl.MeanSquaredError()(np.zeros((3, 2)), np.ones((3, 2)), sample_weight=np.ones(4))
    with pytest.raises(TypeError, match="axis"):
        fl.CategoricalCrossentropy(axis=1.5)
    with pytest.raises(TypeError, match="loss"):
        fl.get(3)
