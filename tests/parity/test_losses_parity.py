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


EDGE_CASES = [
    # (class, kwargs, y_true, y_pred): values where a clip, an overflow guard or a branch of
    # the formula decides the result
    ("LogCosh", {}, [[0.0, 1.0, -2.0, 5.0]], [[100.0, -90.0, -2.0, 5.0 + 1e-3]]),
    ("Huber", {"delta": 0.5}, [[0.0, 1.0, 2.0, -1.0]], [[0.5, 0.5, 2.0, 60.0]]),
    ("Poisson", {}, [[0.0, 1.0, 3.0, 2.0]], [[0.0, 0.0, 3.0, 1e-9]]),
    ("KLDivergence", {}, [[0.0, 1.0, 0.0, 0.0]], [[0.25, 0.0, 0.5, 0.25]]),
    ("KLDivergence", {}, [[0.5, 0.5, 0.0, 0.0]], [[0.5, 0.5, 0.0, 0.0]]),
    ("MeanSquaredLogarithmicError", {}, [[0.0, -1.0, 2.0, 3.0]], [[-5.0, 0.0, 2.0, 1e6]]),
    ("MeanAbsolutePercentageError", {}, [[0.0, -1.0, 1e-9, 3.0]], [[1.0, 0.0, 1.0, 3.0]]),
    ("CosineSimilarity", {}, [[0.0, 0.0, 0.0, 0.0]], [[1.0, 2.0, 0.0, -1.0]]),
    ("CategoricalCrossentropy", {}, [[0.0, 1.0, 0.0, 0.0]], [[1.0, 0.0, 0.0, 0.0]]),
    ("CategoricalCrossentropy", {"from_logits": True}, [[0.0, 1.0, 0.0, 0.0]],
     [[1e4, -1e4, 0.0, 3.0]]),
    ("BinaryCrossentropy", {}, [[0.0, 1.0, 1.0, 0.0]], [[1.0, 0.0, 1.0, 0.0]]),
    ("BinaryCrossentropy", {"from_logits": True}, [[0.0, 1.0, 1.0, 0.0]],
     [[1e4, -1e4, 1e4, 0.0]]),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True}, [[0.0, 1.0, 1.0, 0.0]],
     [[1.0, 0.0, 1.0, 0.0]]),
    ("Hinge", {}, [[-1.0, 1.0, 0.0, 1.0]], [[-1.0, 1.0, 0.5, -1e3]]),
    ("CategoricalHinge", {}, [[0.0, 1.0, 0.0, 0.0]], [[1.0, 1.0, 1.0, 1.0]]),
]


@pytest.mark.parametrize("case", range(len(EDGE_CASES)),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(EDGE_CASES)])
def test_edge_values(case):
    cls_name, kwargs, t, p = EDGE_CASES[case]
    t, p = np.array(t * 2, np.float32), np.array(p * 2, np.float32)
    p[1] = p[1, ::-1]
    if cls_name not in ("Hinge",):
        t[1] = t[1, ::-1]
    ref_val, ref_grad = _tf_value_and_grad(getattr(keras.losses, cls_name)(reduction="none",
                                                                            **kwargs), t, p, None)
    ours = getattr(fl, cls_name)(reduction="none", **kwargs)
    assert np.all(np.isfinite(ref_val))
    _close(ours(t, p), ref_val, f"{cls_name} value")
    grad = np.empty_like(p)
    _close(ours.forward_backward(t, p, None, grad), ref_val.sum(), f"{cls_name} fb value")
    _close(grad, ref_grad, f"{cls_name} gradient")


@pytest.mark.parametrize("sw_kind", ["column", "scalar", "per_step", "per_element"])
def test_sample_weight_shapes(sw_kind):
    """Weights of shape (n, 1), a scalar, and (n, t) on (n, t, c) outputs, through __call__
    (the engine's forward_backward takes (n,) weights only: the data adapter makes them so).
    Per-element weights (n, t, c) are an error in both libraries (the losses reduce the last
    axis)."""
    r = _rng(21)
    rank3 = sw_kind in ("per_step", "per_element")
    shape = (4, 3, C) if rank3 else (N, C)
    t = r.normal(size=shape).astype(np.float32)
    p = r.normal(size=shape).astype(np.float32)
    sw = {"column": r.random((N, 1)), "scalar": np.array(0.7), "per_step": r.random((4, 3)),
          "per_element": r.random(shape)}[sw_kind].astype(np.float32)
    for cls_name in ("MeanSquaredError", "Huber", "CosineSimilarity"):
        for reduction in REDUCTIONS:
            ref = getattr(keras.losses, cls_name)(reduction=reduction)
            ours = getattr(fl, cls_name)(reduction=reduction)
            what = f"{cls_name} {reduction} sw {sw_kind}"
            if sw_kind == "per_element":
                with pytest.raises(Exception):
                    ref(t, p, sample_weight=sw)
                with pytest.raises(ValueError, match="sample_weight"):
                    ours(t, p, sample_weight=sw)
                continue
            _close(ours(t, p, sample_weight=sw), ref(t, p, sample_weight=sw), what)


def test_reduction_none_given_as_none():
    t, p = _data("regression", 30)
    ref = keras.losses.MeanAbsoluteError(reduction=None)
    _close(fl.MeanAbsoluteError(reduction=None)(t, p), ref(t, p), "reduction=None")


def test_function_arguments_match():
    """The functions with their keyword arguments, as Keras's functions take them."""
    r = _rng(40)
    t_oh, p_pr = _data("onehot_probs", 41)
    _, z = _data("onehot_logits", 42)
    labels = r.integers(0, C, N)
    tb, zb = _data("binary_logits", 43)
    _, pb = _data("binary_probs", 44)
    tr, pr = _data("regression", 45)
    z3 = r.normal(size=(3, C, 4)).astype(np.float32)
    t3 = np.eye(C, dtype=np.float32)[r.integers(0, C, (3, 4))].transpose(0, 2, 1).copy()
    cases = [
        ("categorical_crossentropy", (t_oh, z), dict(from_logits=True, label_smoothing=0.15)),
        ("categorical_crossentropy", (t_oh, p_pr), dict(label_smoothing=0.3)),
        ("categorical_crossentropy", (t3, z3), dict(from_logits=True, axis=1)),
        ("sparse_categorical_crossentropy", (labels, z), dict(from_logits=True)),
        ("sparse_categorical_crossentropy", (labels, z), dict(from_logits=True,
                                                              ignore_class=1)),
        ("binary_crossentropy", (tb, zb), dict(from_logits=True, label_smoothing=0.2)),
        ("binary_crossentropy", (tb, pb), dict(label_smoothing=0.1)),
        ("binary_crossentropy", (tb.T.copy(), pb.T.copy()), dict(axis=0)),
        ("binary_focal_crossentropy", (tb, zb), dict(apply_class_balancing=True, alpha=0.3,
                                                     gamma=1.5, from_logits=True,
                                                     label_smoothing=0.1)),
        ("huber", (tr, pr), dict(delta=0.25)),
        ("huber", (tr, pr), dict(delta=3.0)),
        ("cosine_similarity", (tr, pr), dict(axis=0)),
    ]
    for fn, args, kwargs in cases:
        _close(getattr(fl, fn)(*args, **kwargs), getattr(keras.losses, fn)(*args, **kwargs),
               f"{fn}{kwargs}")


def test_seed_names():
    """The seed's (Keras 2) names: cosine_proximity, logcosh, kullback_leibler_divergence,
    huber_loss, as functions and as compile() strings."""
    tr, pr = _data("regression", 50)
    _close(fl.cosine_proximity(tr, pr), keras.losses.cosine_similarity(tr, pr), "cos prox")
    _close(fl.huber_loss(tr, pr), keras.losses.huber(tr, pr), "huber_loss")
    _close(fl.huber_loss(tr, pr, delta=0.4), keras.losses.huber(tr, pr, delta=0.4), "huber_loss")
    d_t, d_p = _data("distributions", 51)
    _close(fl.kullback_leibler_divergence(d_t, d_p),
           keras.losses.kullback_leibler_divergence(d_t, d_p), "kld")
    _close(fl.logcosh(tr, pr), keras.losses.logcosh(tr, pr), "logcosh")
    for name, ref in (("cosine_proximity", keras.losses.CosineSimilarity()),
                      ("huber_loss", keras.losses.Huber()), ("logcosh", keras.losses.LogCosh()),
                      ("kullback_leibler_divergence", keras.losses.KLDivergence()),
                      ("mse", keras.losses.MeanSquaredError()),
                      ("mae", keras.losses.MeanAbsoluteError()),
                      ("mape", keras.losses.MeanAbsolutePercentageError()),
                      ("msle", keras.losses.MeanSquaredLogarithmicError())):
        t, p = (d_t, d_p) if name.startswith("kull") else _data("positive", 52)
        _close(fl.get(name)(t, p), ref(t, p), name)


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_config_matches(case):
    """Every key of tf.keras's config, with its value (fastnn also records delta and axis,
    which Keras 3 leaves out of Huber's, CosineSimilarity's and sparse CE's configs)."""
    cls_name, kwargs, _ = CASES[case]
    for reduction in REDUCTIONS[:2]:
        ref = getattr(keras.losses, cls_name)(reduction=reduction, **kwargs).get_config()
        ours = getattr(fl, cls_name)(reduction=reduction, **kwargs).get_config()
        assert {k: ours.get(k, "<missing>") for k in ref} == ref
        assert set(ours) - set(ref) <= {"delta", "axis"}
        again = getattr(fl, cls_name).from_config(ours).get_config()
        assert again == ours


class _Quartic(fl.Loss):
    """A user's NumPy loss without a gradient method: fastnn differentiates it numerically."""

    def call(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 4, axis=-1)


class _QuarticWithGradient(_Quartic):
    def gradient(self, y_true, y_pred):
        return 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]


@pytest.mark.parametrize("make", [_Quartic, _QuarticWithGradient,
                                  lambda: (lambda t, p: np.mean((p - t) ** 4, axis=-1))],
                         ids=["numerical", "gradient-method", "plain-function"])
def test_user_numpy_loss_trains_like_tf_keras(make):
    """fastnn's design for user losses (a NumPy Loss subclass, with or without its own
    gradient, or a plain NumPy function) trains as the same loss written with keras.ops in
    tf.keras: the same loss history and weights."""
    import fastnn

    r = _rng(60)
    x = r.normal(size=(96, 4)).astype(np.float32)
    y = np.tanh(x @ r.normal(size=(4, 2))).astype(np.float32)
    sw = r.uniform(0.5, 1.5, 96).astype(np.float32)

    def tf_quartic(y_true, y_pred):
        return keras.ops.mean((y_pred - y_true) ** 4, axis=-1)

    tmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"),
                               keras.layers.Dense(2)])
    fmodel = fastnn.Sequential([fastnn.Input((4,)), fastnn.layers.Dense(6, activation="tanh"),
                                fastnn.layers.Dense(2)])
    fmodel.set_weights(tmodel.get_weights())
    tmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss=tf_quartic)
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.1), loss=make())
    kw = dict(epochs=3, batch_size=16, shuffle=False, verbose=0, sample_weight=sw)
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=1e-4)
    assert th["loss"][-1] < 0.9 * th["loss"][0]
    for a, b in zip(fmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
