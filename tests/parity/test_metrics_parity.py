"""Every fastnn metric against tf.keras after several weighted update_state calls."""
import re

import numpy as np
import pytest
import tensorflow as tf

import fastnn.metrics as fm

keras = tf.keras
N, C = 9, 4


@pytest.fixture(scope="module", autouse=True)
def _name_counters_in_step():
    """Leave both libraries' object-name counters ('auc', 'auc_1', ...) equal for the tests
    that follow, which compare auto-generated metric names. (fastnn's evaluate() resolves
    compile()'s metric strings again on each call, which advances the counter of a string
    such as 'auc' where Keras, which builds the compiled metrics once, does not.)"""
    yield
    import fastnn

    keras.backend.clear_session()
    fastnn.backend.clear_session()


def _batches(kind, seed, count=3):
    r = np.random.default_rng(seed)
    out = []
    for b in range(count):
        sw = (r.random(N) * 2).astype(np.float32)
        sw[0] = 0.0
        if kind == "binary":
            t = (r.random((N, 1)) > 0.5).astype(np.float32)
            p = r.random((N, 1)).astype(np.float32)
            p[:3, 0] = [0.0, 1.0, 0.5]
        elif kind == "multilabel":
            t = (r.random((N, C)) > 0.5).astype(np.float32)
            p = r.random((N, C)).astype(np.float32)
            p[0, :2] = [0.0, 1.0]
        elif kind == "onehot":
            t = np.eye(C, dtype=np.float32)[r.integers(0, C, N)]
            p = r.random((N, C)).astype(np.float32)
            p[1] = 0.25                        # ties everywhere
        elif kind == "sparse":
            t = r.integers(0, C, (N, 1)).astype(np.int64)
            p = r.random((N, C)).astype(np.float32)
            p[1] = 0.25
        elif kind == "regression":
            t = r.normal(size=(N, C)).astype(np.float32)
            p = r.normal(size=(N, C)).astype(np.float32)
        elif kind == "positive":
            t = r.random((N, C)).astype(np.float32)
            p = r.random((N, C)).astype(np.float32) + 0.01
        elif kind == "logits":
            t = (r.random((N, C)) > 0.5).astype(np.float32)
            p = (r.normal(size=(N, C)) * 3).astype(np.float32)
        else:
            raise AssertionError(kind)
        out.append((t, p, sw if b != 1 else None))
    return out


CASES = [
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "multilabel"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("Accuracy", {}, "binary"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "regression"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("RootMeanSquaredError", {}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("Hinge", {}, "multilabel"),
    ("SquaredHinge", {}, "multilabel"),
    ("CategoricalHinge", {}, "onehot"),
    ("KLDivergence", {}, "positive"),
    ("Poisson", {}, "positive"),
    ("BinaryCrossentropy", {}, "multilabel"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("AUC", {}, "binary"),
    ("AUC", {}, "multilabel"),
    ("AUC", {"num_thresholds": 13, "curve": "PR"}, "multilabel"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "binary"),
    ("AUC", {"summation_method": "majoring", "num_thresholds": 50}, "multilabel"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}, "multilabel"),
    ("AUC", {"multi_label": True}, "multilabel"),
    ("AUC", {"multi_label": True, "curve": "PR"}, "multilabel"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {"label_weights": [0.5, 1.0, 2.0, 0.0]}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}, "multilabel"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1}, "multilabel"),
    ("Precision", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": [0.2, 0.5, 0.9]}, "multilabel"),
    ("Recall", {"top_k": 1, "class_id": 2}, "onehot"),
    ("TruePositives", {}, "multilabel"),
    ("FalsePositives", {"thresholds": [0.3, 0.6]}, "multilabel"),
    ("TrueNegatives", {}, "binary"),
    ("FalseNegatives", {}, "multilabel"),
]


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_metric_matches_tf_keras(case):
    cls_name, kwargs, kind = CASES[case]
    ref = getattr(keras.metrics, cls_name)(**kwargs)
    ours = getattr(fm, cls_name)(**kwargs)
    assert re.sub(r"_\d+$", "", ours.name) == re.sub(r"_\d+$", "", ref.name)
    for t, p, sw in _batches(kind, case):
        ref.update_state(t, p, sample_weight=sw)
        ours.update_state(t, p, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), np.asarray(ref.result()), rtol=1e-5,
                                   atol=1e-6, err_msg=f"{cls_name}{kwargs}")
    ours.reset_state()
    ref.reset_state()
    t, p, sw = _batches(kind, case + 50, 1)[0]
    ref.update_state(t, p, sample_weight=sw)
    ours.update_state(t, p, sample_weight=sw)
    np.testing.assert_allclose(ours.result(), np.asarray(ref.result()), rtol=1e-5, atol=1e-6)


def test_mean_and_sum_with_weights():
    r = np.random.default_rng(0)
    for cls in ("Mean", "Sum"):
        ref, ours = getattr(keras.metrics, cls)(), getattr(fm, cls)()
        for shape, wshape in (((5,), (5,)), ((5, 3), (5,)), ((5, 3), (5, 1)), ((4, 2, 3), (4, 2)),
                              ((6,), None)):
            v = r.normal(size=shape).astype(np.float32)
            w = None if wshape is None else r.random(wshape).astype(np.float32)
            ref.update_state(v, sample_weight=w)
            ours.update_state(v, sample_weight=w)
            np.testing.assert_allclose(ours.result(), np.asarray(ref.result()), rtol=1e-5)


def test_compile_names_and_resolution():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    x = np.random.default_rng(1).random((8, 3)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(8) % 4]
    model.compile(loss="categorical_crossentropy",
                  metrics=["accuracy", "acc", "mae", keras.metrics.AUC()])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    names = [fm.resolve(m, "categorical_crossentropy", (8, 4), (8, 4)).name
             for m in ["accuracy", "acc", "mae", fm.AUC()]]
    assert set(names) | {"loss"} == set(logs)
    acc = fm.resolve("accuracy", None, (8, 4), (8, 4))
    assert isinstance(acc, fm.CategoricalAccuracy)
    acc.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(acc.result(), logs["accuracy"], rtol=1e-6)


def test_sparse_crossentropy_ignore_class():
    """Keras 3 leaves ignored targets out of the mean only when sample weights are given."""
    for case, (label_shape, weights) in enumerate([((N,), None), ((N,), "row"),
                                                   ((N, 1), "column"), ((N, 1), None)]):
        ref = keras.metrics.SparseCategoricalCrossentropy(ignore_class=2)
        ours = fm.SparseCategoricalCrossentropy(ignore_class=2)
        r = np.random.default_rng(case)
        for _ in range(3):
            t = r.integers(0, C, label_shape)
            p = r.random((N, C)).astype(np.float32)
            p /= p.sum(axis=1, keepdims=True)
            sw = {None: None, "row": r.random(N), "column": r.random((N, 1))}[weights]
            ref.update_state(t, p, sample_weight=sw)
            ours.update_state(t, p, sample_weight=sw)
            np.testing.assert_allclose(ours.result(), np.asarray(ref.result()), rtol=1e-5)
        assert ours.get_config() == ref.get_config()


def _cfg(config):
    """A config with arrays as lists and the name's _N suffix dropped."""
    out = {}
    for k, v in config.items():
        if k == "name":
            v = re.sub(r"_\d+$", "", v)
        elif hasattr(v, "numpy") or hasattr(v, "tolist"):
            v = np.asarray(v).tolist()
        elif isinstance(v, (list, tuple)):
            v = [float(x) for x in v]
        out[k] = v
    return out


@pytest.mark.parametrize("case", range(len(CASES)),
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_config_and_clone_metric(case):
    """get_config has tf.keras's keys and values; clone_metric (Keras 2's, which Keras 3
    dropped: from_config(get_config())) gives an empty metric that then counts like a new
    tf.keras one."""
    cls_name, kwargs, kind = CASES[case]
    ref = getattr(keras.metrics, cls_name)(**kwargs)
    ours = getattr(fm, cls_name)(**kwargs)
    mine, theirs = _cfg(ours.get_config()), _cfg(ref.get_config())
    assert {k: mine.get(k, "<missing>") for k in theirs} == theirs
    assert set(mine) - set(theirs) <= {"axis"}      # CosineSimilarity also records its axis
    batches = _batches(kind, case + 100)
    for t, p, sw in batches:
        ours.update_state(t, p, sample_weight=sw)
    clone = fm.clone_metric(ours)
    assert type(clone) is type(ours) and clone is not ours
    assert clone.get_config() == ours.get_config()
    if not (cls_name == "AUC" and kwargs.get("multi_label")):  # (its state comes with data)
        assert np.all(np.asarray(clone.result()) == 0)
    for t, p, sw in batches[:2]:
        clone.update_state(t, p, sample_weight=sw)
        ref.update_state(t, p, sample_weight=sw)
    np.testing.assert_allclose(clone.result(), np.asarray(ref.result()), rtol=1e-5, atol=1e-6)


def test_clone_metrics_containers():
    # (named, so that fastnn's name counters stay in step with tf.keras's for later tests)
    auc, fn = fm.AUC(num_thresholds=7, name="auc_to_clone"), fm.binary_accuracy
    listed = fm.clone_metrics([auc, fn, "mae"])
    assert isinstance(listed[0], fm.AUC) and listed[0] is not auc
    assert listed[0].get_config() == auc.get_config()
    assert listed[1] is fn and listed[2] == "mae"
    keyed = fm.clone_metrics({"out": auc})
    assert list(keyed) == ["out"] and keyed["out"].num_thresholds == 7
    assert fm.clone_metrics(None) is None


def test_metric_functions_match():
    """The per-sample metric functions, with their arguments."""
    r = np.random.default_rng(7)
    p = r.random((N, C)).astype(np.float32)
    p[2] = 0.25                                    # a tie: the first index wins
    onehot = np.eye(C, dtype=np.float32)[r.integers(0, C, N)]
    labels = r.integers(0, C, N)
    tb = (r.random((N, C)) > 0.5).astype(np.float32)
    cases = [
        ("binary_accuracy", (tb, p), {}), ("binary_accuracy", (tb, p), {"threshold": 0.8}),
        ("categorical_accuracy", (onehot, p), {}),
        ("sparse_categorical_accuracy", (labels, p), {}),
        ("sparse_categorical_accuracy", (labels[:, None], p), {}),
        ("sparse_categorical_accuracy", (labels.astype(np.float32), p), {}),
        ("top_k_categorical_accuracy", (onehot, p), {}),
        ("top_k_categorical_accuracy", (onehot, p), {"k": 2}),
        ("sparse_top_k_categorical_accuracy", (labels, p), {"k": 1}),
        ("sparse_top_k_categorical_accuracy", (labels[:, None], p), {"k": 3}),
        ("mse", (tb, p), {}), ("mae", (tb, p), {}), ("mape", (tb + 1, p), {}),
        ("msle", (tb, p), {}), ("logcosh", (tb, p), {}), ("poisson", (tb, p), {}),
        ("kld", (onehot, p), {}), ("hinge", (tb, p), {}), ("squared_hinge", (tb, p), {}),
        ("categorical_hinge", (onehot, p), {}),
        ("binary_crossentropy", (tb, p), {}),
        ("categorical_crossentropy", (onehot, p), {"label_smoothing": 0.1}),
        ("sparse_categorical_crossentropy", (labels, p), {}),
    ]
    for fn, args, kwargs in cases:
        np.testing.assert_allclose(getattr(fm, fn)(*args, **kwargs),
                                   np.asarray(getattr(keras.metrics, fn)(*args, **kwargs)),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{fn}{kwargs}")
    # the seed's cosine_proximity: tf.keras 2's metric of that name is cosine_similarity
    t, q = r.normal(size=(N, C)), r.normal(size=(N, C))
    ref = keras.metrics.CosineSimilarity()
    ref.update_state(t, q)
    np.testing.assert_allclose(np.mean(fm.cosine_proximity(t, q)), np.asarray(ref.result()),
                               rtol=1e-5)
    cp = fm.get("cosine_proximity")
    cp.update_state(t, q)
    np.testing.assert_allclose(cp.result(), np.asarray(ref.result()), rtol=1e-5)


@pytest.mark.parametrize("cls_name,kwargs,kind", [
    ("MeanSquaredError", {}, "regression"), ("MeanAbsoluteError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"), ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"), ("BinaryAccuracy", {}, "multilabel"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"), ("KLDivergence", {}, "positive"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("RootMeanSquaredError", {}, "regression"), ("Precision", {}, "multilabel"),
    ("AUC", {}, "multilabel")])
def test_rank3_inputs_with_per_step_weights(cls_name, kwargs, kind):
    """(n, t, c) predictions with (n, t) sample weights (and (n, t) sparse targets)."""
    r = np.random.default_rng(hash(cls_name) % 1000)
    ref = getattr(keras.metrics, cls_name)(**kwargs)
    ours = getattr(fm, cls_name)(**kwargs)
    for _ in range(3):
        flat = _batches(kind, int(r.integers(1000)), 1)[0]
        t, p = flat[0][:8], flat[1][:8]
        t = t.reshape((4, 2) + t.shape[1:])
        if kind == "sparse":
            t = t[..., 0]
        p = p.reshape((4, 2) + p.shape[1:])
        sw = r.random((4, 2)).astype(np.float32)
        ref.update_state(t, p, sample_weight=sw)
        ours.update_state(t, p, sample_weight=sw)
        np.testing.assert_allclose(ours.result(), np.asarray(ref.result()), rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("task", ["categorical", "sparse", "binary"])
def test_metric_strings_through_compile(task):
    """Metric strings in compile(): the names in evaluate's and fit's logs (validation and
    weighted_metrics included) and their values equal tf.keras's."""
    import fastnn

    rng = np.random.default_rng(11)
    x = rng.standard_normal((60, 5)).astype(np.float32)
    sw = rng.uniform(0.2, 2.0, 60).astype(np.float32)
    if task == "binary":
        y = (x[:, 0] > 0).astype(np.float32)[:, None]
        units, act, loss = 1, "sigmoid", "binary_crossentropy"
        names = ["accuracy", "acc", "binary_accuracy", "mse", "mae", "auc",
                 "precision", "recall", "binary_crossentropy", "hinge", "squared_hinge"]
    elif task == "sparse":
        y = rng.integers(0, 4, 60)
        units, act, loss = 4, "softmax", "sparse_categorical_crossentropy"
        names = ["accuracy", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                 "sparse_categorical_crossentropy"]
    else:
        y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 60)]
        units, act, loss = 4, "softmax", "categorical_crossentropy"
        names = ["accuracy", "categorical_accuracy", "top_k_categorical_accuracy", "mse",
                 "mae", "mape", "msle", "kl_divergence", "poisson",
                 "cosine_similarity", "categorical_hinge", "categorical_crossentropy",
                 "MeanSquaredError", "RootMeanSquaredError", "AUC"]
    tmodel = keras.Sequential([keras.Input((5,)), keras.layers.Dense(units, activation=act)])
    fmodel = fastnn.Sequential([fastnn.Input((5,)), fastnn.layers.Dense(units, activation=act)])
    fmodel.set_weights(tmodel.get_weights())
    for m, opt in ((tmodel, keras.optimizers.SGD(0.1)), (fmodel, fastnn.optimizers.SGD(0.1))):
        m.compile(optimizer=opt, loss=loss, metrics=names,
                  weighted_metrics=["accuracy", names[2] if task == "sparse" else "mae"])
    t = tmodel.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    f = fmodel.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    assert sorted(f) == sorted(t)
    for key in t:
        np.testing.assert_allclose(f[key], t[key], rtol=1e-5, atol=1e-6, err_msg=key)
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, validation_split=0.25)
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    assert sorted(fh) == sorted(th)
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(fh)
    for key in th:
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-4, atol=1e-6, err_msg=key)
