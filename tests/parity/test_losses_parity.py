"""Every fastnn loss against tf.keras: value and gradient, every reduction, with and without
sample weights, on inputs that include clip edges (0, 1), negatives and large logits."""
import numpy as np
import pytest
import tensorflow as tf

import fastnn.losses as fl

keras = tf.keras
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]
N, C = 7, 5


def _rng(seed):
    return np.random.default_rng(seed)


def _probs(r, n=N, c=C, edges=True):
    p = r.random((n, c)) + 0.05
    p /= p.sum(axis=1, keepdims=True)
    if edges:
        p[0] = 0.0
        p[0, 1] = 1.0            # a one-hot prediction: clips active
        p[1, 2] = 0.0            # an exact zero
    return p.astype(np.float32)


def _onehot(r, n=N, c=C):
    return np.eye(c, dtype=np.float32)[r.integers(0, c, n)]


def _regression(r, positive=False):
    t = r.normal(size=(N, C)).astype(np.float32)
    p = r.normal(size=(N, C)).astype(np.float32)
    if positive:
        t, p = np.abs(t), np.abs(p) + 0.01
    t[0, 0] = 0.0
    p[0, 1] = t[0, 1]            # exact agreement
    p[1, 0] = 0.0
    return t, p


def _binary(r, logits):
    t = (r.random((N, C)) > 0.5).astype(np.float32)
    if logits:
        p = (r.normal(size=(N, C)) * 4).astype(np.float32)
        p[0, :2] = [60.0, -60.0]
        return t, p
    p = r.random((N, C)).astype(np.float32)
    p[0, :3] = [0.0, 1.0, 0.5]
    return t, p


def _data(kind, seed):
    r = _rng(seed)
    if kind == "regression":
        return _regression(r)
    if kind == "positive":
        return _regression(r, positive=True)
    if kind == "hinge01":
        t = (r.random((N, C)) > 0.5).astype(np.float32)
        return t, r.normal(size=(N, C)).astype(np.float32) * 2
    if kind == "hinge_pm":
        t = np.where(r.random((N, C)) > 0.5, 1.0, -1.0).astype(np.float32)
        return t, r.normal(size=(N, C)).astype(np.float32) * 2
    if kind == "onehot_probs":
        return _onehot(r), _probs(r)
    if kind == "onehot_logits":
        z = (r.normal(size=(N, C)) * 3).astype(np.float32)
        z[0, :2] = [80.0, -80.0]
        return _onehot(r), z
    if kind == "sparse_probs":
        return r.integers(0, C, N).astype(np.int64), _probs(r)
    if kind == "sparse_logits":
        z = (r.normal(size=(N, C)) * 3).astype(np.float32)
        z[0, :2] = [80.0, -80.0]
        return r.integers(0, C, N).astype(np.int64), z
    if kind == "binary_probs":
        return _binary(r, False)
    if kind == "binary_logits":
        return _binary(r, True)
    if kind == "distributions":
        return _probs(r, edges=False), _probs(r)
    if kind == "cosine":
        t, p = _regression(r)
        p[2] = 0.0              # a zero vector: the norm clip is active
        return t, p
    raise AssertionError(kind)


CASES = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "regression"),
    ("Hinge", {}, "hinge01"),
    ("Hinge", {}, "hinge_pm"),
    ("SquaredHinge", {}, "hinge01"),
    ("SquaredHinge", {}, "hinge_pm"),
    ("CategoricalHinge", {}, "onehot_probs"),
    ("LogCosh", {}, "regression"),
    ("Huber", {}, "regression"),
    ("Huber", {"delta": 0.3}, "regression"),
    ("KLDivergence", {}, "distributions"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "cosine"),
    ("CategoricalCrossentropy", {}, "onehot_probs"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot_probs"),
    ("CategoricalCrossentropy", {"from_logits": True}, "onehot_logits"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, "onehot_logits"),
    ("SparseCategoricalCrossentropy", {}, "sparse_probs"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, "sparse_logits"),
    ("BinaryCrossentropy", {}, "binary_probs"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "binary_probs"),
    ("BinaryCrossentropy", {"from_logits": True}, "binary_logits"),
    ("BinaryFocalCrossentropy", {}, "binary_probs"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.05}, "binary_probs"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "gamma": 3.0}, "binary_logits"),
]


def _tf_value_and_grad(loss, t, p, sw):
    var = tf.Variable(p)
    with tf.GradientTape() as tape:
        val = loss(tf.constant(t), var, sample_weight=None if sw is None else tf.constant(sw))
    return np.asarray(val, np.float64), np.asarray(tape.gradient(val, var), np.float64)


def _close(a, b, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-30)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-7 * scale, err_msg=what)


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_loss_value_and_gradient(case):
    cls_name, kwargs, data = CASES[case]
    t, p = _data(data, case)
    sw = _rng(100 + case).random(N).astype(np.float32) * 2
    sw[3] = 0.0
    for reduction in REDUCTIONS:
        ref_loss = getattr(keras.losses, cls_name)(reduction=reduction, **kwargs)
        ours = getattr(fl, cls_name)(reduction=reduction, **kwargs)
        for weights in (None, sw):
            what = f"{cls_name}{kwargs} reduction={reduction} sw={weights is not None}"
            ref_val, ref_grad = _tf_value_and_grad(ref_loss, t, p, weights)
            _close(ours(t, p, sample_weight=weights), ref_val, what + " __call__")
            grad = np.empty_like(p)
            val = ours.forward_backward(t, p, weights, grad)
            _close(val, ref_val.sum(), what + " forward_backward value")
            _close(grad, ref_grad, what + " forward_backward gradient")


@pytest.mark.parametrize("fn,tf_name", [
    ("mean_squared_error", "mse"), ("mean_absolute_error", "mae"),
    ("mean_absolute_percentage_error", "mape"), ("mean_squared_logarithmic_error", "msle"),
    ("log_cosh", "logcosh"), ("huber", "huber"), ("poisson", "poisson"), ("hinge", "hinge"),
    ("squared_hinge", "squared_hinge"), ("kl_divergence", "kld"),
    ("kullback_leibler_divergence", "kullback_leibler_divergence"), ("mse", "mse")])
def test_loss_functions_match(fn, tf_name):
    t, p = _data("positive", 7)
    _close(getattr(fl, fn)(t, p), getattr(keras.losses, tf_name)(t, p), fn)


def test_crossentropy_functions_match():
    r = _rng(3)
    t, p = _data("onehot_probs", 3)
    _close(fl.categorical_crossentropy(t, p), keras.losses.categorical_crossentropy(t, p), "cce")
    labels = r.integers(0, C, N)
    _close(fl.sparse_categorical_crossentropy(labels, p),
           keras.losses.sparse_categorical_crossentropy(labels, p), "scce")
    tb, pb = _data("binary_probs", 4)
    _close(fl.binary_crossentropy(tb, pb), keras.losses.binary_crossentropy(tb, pb), "bce")
    _close(fl.binary_focal_crossentropy(tb, pb, gamma=1.0),
           keras.losses.binary_focal_crossentropy(tb, pb, gamma=1.0), "focal")
    _close(fl.cosine_similarity(t, p), keras.losses.cosine_similarity(t, p), "cosine")
    _close(fl.categorical_hinge(t, p), keras.losses.categorical_hinge(t, p), "cat hinge")


def test_class_axis_and_rank3():
    r = _rng(11)
    z = r.normal(size=(3, 4, 6)).astype(np.float32)
    t = np.eye(4, dtype=np.float32)[r.integers(0, 4, (3, 6))].transpose(0, 2, 1).copy()
    ref = keras.losses.CategoricalCrossentropy(from_logits=True, axis=1)
    _close(fl.CategoricalCrossentropy(from_logits=True, axis=1)(t, z), ref(t, z), "axis=1")
    z3 = r.normal(size=(3, 6, 4)).astype(np.float32)
    lab = r.integers(0, 4, (3, 6))
    ref_val, ref_grad = _tf_value_and_grad(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True), lab, z3, None)
    grad = np.empty_like(z3)
    ours = fl.SparseCategoricalCrossentropy(from_logits=True)
    _close(ours.forward_backward(lab, z3, None, grad), ref_val, "rank 3 value")
    _close(grad, ref_grad, "rank 3 gradient")


def test_logits_variant_matches_softmax_output():
    r = _rng(5)
    z = (r.normal(size=(N, C)) * 5).astype(np.float32)
    labels = r.integers(0, C, N)
    probs = keras.activations.softmax(tf.constant(z))   # carries Keras's logits
    ref = keras.losses.SparseCategoricalCrossentropy()(labels, probs)
    ours = fl.SparseCategoricalCrossentropy().logits_variant()
    _close(ours(labels, z), ref, "logits variant")
