"""Every fastnn metric against tf.keras after several weighted update_state calls."""
import re

import numpy as np
import pytest
import tensorflow as tf

import fastnn.metrics as fm

keras = tf.keras
N, C = 9, 4


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
