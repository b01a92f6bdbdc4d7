"""fastnn.metrics against NumPy references of Keras 3's formulas: accuracy family (C fast
path and general path), losses as metrics, confusion metrics and AUC, resolution and names."""
import numpy as np
import pytest

import fastnn.losses as fl
import fastnn.metrics as fm


def _weighted_mean(values, sw):
    values = values.reshape(values.shape[0], -1).mean(axis=1)
    return np.sum(values * sw) / np.sum(sw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_accuracy_family_matches_numpy(dtype, rng):
    n, c = 40, 6
    p = rng.random((n, c)).astype(dtype)
    p[3] = 0.5  # ties: first index wins for argmax, all count for top-k
    labels = rng.integers(0, c, n)
    onehot = np.eye(c, dtype=dtype)[labels]
    sw = rng.random(n).astype(dtype)
    argmax_hit = (p.argmax(1) == labels).astype(float)
    rank = (p > p[np.arange(n), labels][:, None]).sum(1)
    cases = [
        (fm.CategoricalAccuracy(dtype=dtype), onehot, argmax_hit),
        (fm.SparseCategoricalAccuracy(dtype=dtype), labels.astype(np.int64), argmax_hit),
        (fm.SparseCategoricalAccuracy(dtype=dtype), labels[:, None].astype(np.int64),
         argmax_hit),
        (fm.TopKCategoricalAccuracy(k=2, dtype=dtype), onehot, (rank < 2).astype(float)),
        (fm.SparseTopKCategoricalAccuracy(k=3, dtype=dtype), labels.astype(np.int64),
         (rank < 3).astype(float)),
    ]
    for metric, t, hits in cases:
        metric.update_state(t, p, sample_weight=sw)
        metric.update_state(t, p)
        want = (np.sum(hits * sw) + hits.sum()) / (sw.sum() + n)
        assert metric.result() == pytest.approx(want, rel=1e-6), metric.name
        slow = type(metric)(**{k: v for k, v in metric.get_config().items()})
        slow.update_state(t.tolist(), p.tolist(), sample_weight=sw.tolist())  # general path
        slow.update_state(t, p)
        assert slow.result() == pytest.approx(want, rel=1e-6), metric.name


def test_binary_accuracy_threshold_and_ranks(rng):
    t = (rng.random((8, 3, 2)) > 0.5).astype(np.float32)
    p = rng.random((8, 3, 2)).astype(np.float32)
    sw = rng.random(8).astype(np.float32)
    m = fm.BinaryAccuracy(threshold=0.3)
    m.update_state(t, p, sample_weight=sw)
    hits = ((p > np.float32(0.3)) == t).astype(float)
    assert m.result() == pytest.approx(_weighted_mean(hits, sw), rel=1e-6)
    m = fm.BinaryAccuracy()
    m.update_state(np.array([1.0, 0.0, 1.0], np.float32), np.array([0.6, 0.5, 0.5], np.float32))
    assert m.result() == pytest.approx(2 / 3)
    np.testing.assert_array_equal(fm.binary_accuracy([[1.0], [0.0]], [[0.9], [0.7]]),
                                  [[1.0], [0.0]])


def test_losses_as_metrics(rng):
    t = rng.normal(size=(10, 3)).astype(np.float32)
    p = rng.normal(size=(10, 3)).astype(np.float32)
    sw = rng.random(10).astype(np.float32)
    for cls, fn in ((fm.MeanSquaredError, fl.mean_squared_error),
                    (fm.MeanAbsoluteError, fl.mean_absolute_error),
                    (fm.LogCoshError, fl.log_cosh),
                    (fm.Hinge, fl.hinge)):
        m = cls()
        m.update_state(t, p, sample_weight=sw)
        assert m.result() == pytest.approx(_weighted_mean(fn(t, p), sw), rel=1e-6)
    m = fm.RootMeanSquaredError()
    m.update_state(t, p, sample_weight=sw)
    assert m.result() == pytest.approx(np.sqrt(_weighted_mean((t - p) ** 2, sw)), rel=1e-6)
    m = fm.CosineSimilarity()
    m.update_state(t, p)
    cos = np.sum(t * p, 1) / np.linalg.norm(t, axis=1) / np.linalg.norm(p, axis=1)
    assert m.result() == pytest.approx(cos.mean(), rel=1e-5)
    assert fm.cosine_proximity is fm.cosine_similarity


def test_mean_sum_and_reset():
    m = fm.Mean()
    m.update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 0.0, 1.0])
    assert m.result() == pytest.approx(2.0)
    m.update_state([[2.0, 4.0]])
    assert m.result() == pytest.approx((4.0 + 3.0) / 3.0)
    m.reset_state()
    assert m.result() == 0.0
    s = fm.Sum()
    s.update_state([1.0, 2.0], sample_weight=[2.0, 0.5])
    assert s.result() == pytest.approx(3.0)
    w = fm.MeanMetricWrapper(lambda t, p: np.abs(np.asarray(t) - np.asarray(p)), name="absdiff")
    w.update_state([1.0, 2.0], [0.0, 0.0])
    assert w.result() == pytest.approx(1.5) and w.name == "absdiff"


# ---- confusion metrics ---------------------------------------------------------------------

def _counts(t, p, w, thresholds):
    t, p, w = t.ravel() != 0, p.ravel(), w.ravel()
    out = {k: [] for k in ("tp", "fp", "tn", "fn")}
    for th in thresholds:
        pos = p > th
        out["tp"].append(np.sum(w * (t & pos)))
        out["fp"].append(np.sum(w * (~t & pos)))
        out["tn"].append(np.sum(w * (~t & ~pos)))
        out["fn"].append(np.sum(w * (t & ~pos)))
    return {k: np.array(v) for k, v in out.items()}


def test_precision_recall_thresholds_top_k_class_id(rng):
    t = (rng.random((20, 4)) > 0.5).astype(np.float32)
    p = rng.random((20, 4)).astype(np.float32)
    sw = rng.random(20).astype(np.float32)
    w = np.broadcast_to(sw[:, None], p.shape)
    ths = [0.2, 0.5, 0.9]
    c = _counts(t, p, w, ths)
    prec, rec = fm.Precision(thresholds=ths), fm.Recall(thresholds=ths)
    prec.update_state(t, p, sample_weight=sw)
    rec.update_state(t, p, sample_weight=sw)
    np.testing.assert_allclose(prec.result(), c["tp"] / (c["tp"] + c["fp"]), rtol=1e-6)
    np.testing.assert_allclose(rec.result(), c["tp"] / (c["tp"] + c["fn"]), rtol=1e-6)
    # top_k: only each row's 2 highest predictions are positive.
    top = np.argsort(-p, axis=1, kind="stable")[:, :2]
    mask = np.zeros(p.shape, bool)
    np.put_along_axis(mask, top, True, 1)
    m = fm.Precision(top_k=2)
    m.update_state(t, p)
    assert m.result() == pytest.approx(np.sum(mask & (t != 0)) / mask.sum())
    m = fm.Recall(class_id=1)
    m.update_state(t, p, sample_weight=sw)
    c1 = _counts(t[:, 1], p[:, 1], sw, [0.5])
    assert m.result() == pytest.approx(c1["tp"][0] / (c1["tp"][0] + c1["fn"][0]), rel=1e-6)


def _ref_auc(t, p, w, nt=200, curve="ROC", method="interpolation"):
    eps = 1e-7
    ths = [-eps] + [(i + 1) / (nt - 1) for i in range(nt - 2)] + [1 + eps]
    c = _counts(t, p, w, ths)
    div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b != 0)  # noqa: E731
    rec = div(c["tp"], c["tp"] + c["fn"])
    x, y = (div(c["fp"], c["fp"] + c["tn"]), rec) if curve == "ROC" else \
        (rec, div(c["tp"], c["tp"] + c["fp"]))
    h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
         "majoring": np.maximum(y[:-1], y[1:])}[method]
    return np.sum((x[:-1] - x[1:]) * h)


@pytest.mark.parametrize("curve,method", [("ROC", "interpolation"), ("ROC", "minoring"),
                                          ("ROC", "majoring"), ("PR", "minoring"),
                                          ("PR", "majoring")])
def test_auc_matches_threshold_reference(curve, method, rng):
    t = (rng.random(300) > 0.6).astype(np.float32)
    # quantised predictions keep clear of the bucket edges of the reference's comparisons
    p = (np.round(rng.random(300) * 97) / 97 + 0.001).clip(0, 1).astype(np.float32)
    sw = rng.random(300).astype(np.float32)
    m = fm.AUC(curve=curve, summation_method=method)
    m.update_state(t[:150], p[:150], sample_weight=sw[:150])
    m.update_state(t[150:], p[150:], sample_weight=sw[150:])
    assert m.result() == pytest.approx(_ref_auc(t, p, sw, 200, curve, method), rel=1e-6)


def test_auc_perfect_and_pr_interpolation():
    m = fm.AUC()
    m.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert m.result() == pytest.approx(1.0)
    m = fm.AUC(curve="PR")
    m.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert 0.99 < m.result() <= 1.0


# ---- registry, resolution, cloning -----------------------------------------------------

def test_resolve_follows_keras_3():
    assert type(fm.resolve("accuracy", None, (8, 1), (8, 1))) is fm.BinaryAccuracy
    assert type(fm.resolve("acc", None, (8,), (8, 5))) is fm.SparseCategoricalAccuracy
    assert type(fm.resolve("accuracy", None, (8, 1), (8, 5))) is fm.SparseCategoricalAccuracy
    assert type(fm.resolve("accuracy", None, (8, 5), (8, 5))) is fm.CategoricalAccuracy
    assert type(fm.resolve("accuracy", "binary_crossentropy")) is fm.BinaryAccuracy
    assert type(fm.resolve("accuracy", fl.SparseCategoricalCrossentropy())) is \
        fm.SparseCategoricalAccuracy
    assert type(fm.resolve("ce", None, (8,), (8, 5))) is fm.SparseCategoricalCrossentropy
    names = [fm.resolve(i, None, (8, 5), (8, 5)).name
             for i in ("accuracy", "acc", "mae", "mse", fm.SparseCategoricalAccuracy(),
                       fm.AUC(name="auc"), fm.Precision(name="p"))]
    assert names == ["accuracy", "acc", "mae", "mse", "sparse_categorical_accuracy", "auc", "p"]
    assert isinstance(fm.resolve("mae"), fm.MeanAbsoluteError)

    def my_metric(t, p):
        return np.abs(np.asarray(p) - np.asarray(t))

    r = fm.resolve(my_metric)
    assert isinstance(r, fm.MeanMetricWrapper) and r.name == "my_metric"


def test_get_clone_and_config_round_trip():
    for ident in ("AUC", "auc", "binary_accuracy", "mse", "logcosh", "cosine_proximity",
                  "precision", "RootMeanSquaredError"):
        assert isinstance(fm.get(ident), fm.Metric)
    with pytest.raises(ValueError, match="did you mean 'binary_accuracy'"):
        fm.get("binary_acuracy")
    for m in (fm.AUC(num_thresholds=50, curve="PR"), fm.Precision(thresholds=[0.3, 0.6]),
              fm.BinaryAccuracy(threshold=0.2), fm.TopKCategoricalAccuracy(k=3),
              fm.Recall(top_k=2, class_id=1), fm.CosineSimilarity(axis=-1),
              fm.BinaryCrossentropy(from_logits=True)):
        m.name = "x"
        c = fm.clone_metric(m)
        assert type(c) is type(m) and c.get_config() == m.get_config() and c is not m
        again = fm.deserialize(fm.serialize(m))
        assert again.get_config() == m.get_config()
    assert fm.clone_metrics(None) is None
    assert list(fm.clone_metrics({"a": fm.Mean()})) == ["a"]


def test_metric_errors_name_the_argument():
    with pytest.raises(ValueError, match="y_true"):
        fm.CategoricalAccuracy().update_state(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="thresholds"):
        fm.Precision(thresholds=[1.5])
    with pytest.raises(ValueError, match="curve"):
        fm.AUC(curve="XY")
    with pytest.raises(ValueError, match="sample_weight"):
        fm.Mean().update_state(np.ones((3, 2)), sample_weight=np.ones(4))
