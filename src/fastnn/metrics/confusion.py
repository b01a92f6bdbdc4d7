"""Confusion-matrix metrics: Precision, Recall, AUC and the four raw counts.

Inputs are arranged with NumPy as Keras does (rank fix-up, top_k filter, class_id column,
weights broadcast to y_pred), then one C call per update adds the weighted counts at every
threshold. Counts accumulate in float64.
"""
import numpy as np

from fastnn import _core, backend
from fastnn.losses.loss import squeeze_or_expand_to_same_rank
from fastnn.metrics.base import Metric

__all__ = ["AUC", "FalseNegatives", "FalsePositives", "Precision", "Recall",
           "TrueNegatives", "TruePositives"]

NEG_INF = -1e10


def _thresholds(thresholds, default):
    if thresholds is None:
        return [float(default)]
    th = [thresholds] if np.isscalar(thresholds) else list(thresholds)
    bad = [t for t in th if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"thresholds: expected values in [0, 1], received {bad}")
    return [float(t) for t in th]


def _evenly(th):
    n = len(th)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(th), even, atol=backend.epsilon()))


def _filter_top_k(x, k):
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros(x.shape, bool)
    np.put_along_axis(mask, idx, True, axis=-1)
    return np.where(mask, x, x.dtype.type(NEG_INF))


def update_confusion(metric, counts, y_true, y_pred, thresholds, evenly, top_k=None,
                     class_id=None, sample_weight=None, label_weights=None):
    """Add the weighted tp/fp/tn/fn of one batch to the float64 arrays in `counts`."""
    dtype = np.dtype(metric.dtype)
    p = np.asarray(y_pred, dtype)
    t = np.asarray(y_true, dtype)
    p, t = squeeze_or_expand_to_same_rank(p, t)
    if p.shape != t.shape:
        raise ValueError(f"y_true: expected shape {p.shape} (the shape of y_pred), "
                         f"received {t.shape}")
    w = None
    if sample_weight is not None:
        sw = np.expand_dims(np.asarray(sample_weight, dtype), -1)
        _, sw = squeeze_or_expand_to_same_rank(t, sw, expand_rank_1=False)
        try:
            w = np.broadcast_to(sw, p.shape)
        except ValueError:
            raise ValueError(f"sample_weight: expected a shape broadcastable to {p.shape}, "
                             f"received {np.shape(sample_weight)}") from None
    if top_k is not None:
        p = _filter_top_k(p, top_k)
    if class_id is not None:
        if p.ndim == 1:
            raise ValueError(f"class_id: needs y_pred of shape (samples, classes), received "
                             f"{p.shape}")
        p, t = p[..., class_id], t[..., class_id]
        if w is not None:
            w = w[..., class_id]
    if label_weights is not None:
        lw = np.broadcast_to(np.asarray(label_weights, dtype), p.shape)
        w = lw if w is None else w * lw
    thr = np.asarray(thresholds, np.float64)
    thr_eps = bool(evenly) and (thr[0] < 0.0 or thr[-1] > 1.0)
    flat = lambda a: np.ascontiguousarray(a, dtype).reshape(-1)  # noqa: E731
    _core.confusion_update(flat(p), flat(t), None if w is None else flat(w), thr, bool(evenly),
                           thr_eps, counts.get("tp"), counts.get("fp"), counts.get("tn"),
                           counts.get("fn"))


def _div(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class _ThresholdMetric(Metric):
    _counts = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = _evenly(self.thresholds)
        self._state = tuple({"tp": "true_positives", "fp": "false_positives",
                             "tn": "true_negatives", "fn": "false_negatives"}[c]
                            for c in self._counts)
        for n in self._state:
            setattr(self, n, np.zeros(len(self.thresholds)))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch's weighted counts at every threshold."""
        counts = dict(zip(self._counts, (getattr(self, n) for n in self._state)))
        update_confusion(self, counts, y_true, y_pred, self.thresholds, self._evenly,
                         self.top_k, self.class_id, sample_weight)

    def _out(self, r):
        r = np.asarray(r, np.float64)
        return float(r[0]) if len(self.thresholds) == 1 else r

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """tp / (tp + fp) at each threshold (a float for one threshold, else an array).

    Args:
        thresholds: A float or list in [0, 1]. Defaults to None (0.5, or top_k's choice).
        top_k: Only the k highest predictions of a sample count as positive. Defaults to None.
        class_id: Only this column counts. Defaults to None.
        name: Defaults to None ("precision").
        dtype: Defaults to None.
    """

    _counts = ("tp", "fp")

    def result(self):
        return self._out(_div(self.true_positives, self.true_positives + self.false_positives))


class Recall(_ThresholdMetric):
    """tp / (tp + fn) at each threshold (a float for one threshold, else an array).

    Args: as Precision (name defaults to "recall").
    """

    _counts = ("tp", "fn")

    def result(self):
        return self._out(_div(self.true_positives, self.true_positives + self.false_negatives))


def _count_metric(cls_name, key, attr):
    class _Count(_ThresholdMetric):
        _counts = (key,)

        def __init__(self, thresholds=None, name=None, dtype=None):
            super().__init__(thresholds=thresholds, name=name, dtype=dtype)

        def result(self):
            return self._out(getattr(self, attr))

        def get_config(self):
            return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}

    _Count.__name__ = _Count.__qualname__ = cls_name
    _Count.__doc__ = (f"The weighted number of {attr.replace('_', ' ')} at each threshold.\n\n"
                      f"    Args:\n        thresholds: Defaults to None (0.5).\n"
                      f"        name: Defaults to None.\n        dtype: Defaults to None.\n")
    return _Count


TruePositives = _count_metric("TruePositives", "tp", "true_positives")
FalsePositives = _count_metric("FalsePositives", "fp", "false_positives")
TrueNegatives = _count_metric("TrueNegatives", "tn", "true_negatives")
FalseNegatives = _count_metric("FalseNegatives", "fn", "false_negatives")


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    The thresholds are num_thresholds - 2 evenly spaced inner points plus -epsilon and
    1 + epsilon, as in Keras; predictions then fall into buckets (one C pass).

    Args:
        num_thresholds: How many thresholds. Defaults to 200.
        curve: "ROC" or "PR". Defaults to "ROC".
        summation_method: "interpolation", "minoring" or "majoring". Defaults to
            "interpolation" (Davis & Goadrich's interpolation for PR).
        name: Defaults to None ("auc").
        dtype: Defaults to None.
        thresholds: Explicit inner thresholds in [0, 1]. Defaults to None.
        multi_label: One curve per label, averaged. Defaults to False.
        num_labels: The number of labels when multi_label. Defaults to None.
        label_weights: Per-label weights. Defaults to None.
        from_logits: Apply a sigmoid to y_pred first. Defaults to False.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curves = {"roc": "ROC", "pr": "PR"}
        if not isinstance(curve, str) or curve.lower() not in curves:
            raise ValueError(f"curve: expected 'ROC' or 'PR', received {curve!r}")
        methods = ("interpolation", "majoring", "minoring")
        if not isinstance(summation_method, str) or summation_method.lower() not in methods:
            raise ValueError(f"summation_method: expected one of {list(methods)}, received "
                             f"{summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or int(num_thresholds) <= 1:
                raise ValueError(f"num_thresholds: expected an integer > 1, received "
                                 f"{num_thresholds!r}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (self.num_thresholds - 1)
                     for i in range(self.num_thresholds - 2)]
            self._evenly = True
        eps = backend.epsilon()
        self._thresholds = np.array([0.0 - eps] + inner + [1.0 + eps])
        self.curve = curves[curve.lower()]
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("num_labels: needed only when multi_label is True")
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                          np.float64)
        self._from_logits = bool(from_logits)
        self._state = ("true_positives", "false_positives", "true_negatives",
                       "false_negatives")
        self._labels = None
        if not self.multi_label:
            self._build(1)
        elif num_labels:
            self._build(int(num_labels))

    def _build(self, labels):
        self._labels = labels
        shape = (self.num_thresholds,) if not self.multi_label else (self.num_thresholds, labels)
        for n in self._state:
            setattr(self, n, np.zeros(shape))

    @property
    def thresholds(self):
        """The thresholds, including the two end points."""
        return list(self._thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch's weighted counts at every threshold."""
        p = np.asarray(y_pred, self.dtype)
        if self._from_logits:
            p = (1.0 / (1.0 + np.exp(-p.astype(np.float64)))).astype(self.dtype)
        if not self.multi_label:
            counts = {"tp": self.true_positives, "fp": self.false_positives,
                      "tn": self.true_negatives, "fn": self.false_negatives}
            return update_confusion(self, counts, y_true, p, self._thresholds, self._evenly,
                                    sample_weight=sample_weight,
                                    label_weights=self.label_weights)
        if p.ndim != 2:
            raise ValueError(f"y_pred: expected rank 2 when multi_label is True, received "
                             f"shape {p.shape}")
        if self._labels is None:
            self._build(p.shape[1])
        t = np.asarray(y_true, self.dtype)
        for j in range(p.shape[1]):
            col = {k: np.zeros(self.num_thresholds) for k in ("tp", "fp", "tn", "fn")}
            update_confusion(self, col, t[:, j], p[:, j], self._thresholds, self._evenly,
                             sample_weight=sample_weight)
            for k, n in zip(("tp", "fp", "tn", "fn"), self._state):
                getattr(self, n)[:, j] += col[k]

    def _average(self, by_label):
        if not self.multi_label:
            return float(np.sum(by_label))
        per = np.sum(by_label, axis=0)
        if self.label_weights is None:
            return float(np.mean(per))
        return float(_div(np.sum(per * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr(self):
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ok = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(ok, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inc = _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(inc)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr()
        tp, fp = self.true_positives, self.false_positives
        tn, fn = self.true_negatives, self.false_negatives
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._labels is not None:
            self._build(self._labels)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": self.multi_label, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
