"""The accuracy metrics: binary, categorical, sparse categorical and top-k.

Each class updates in one C call that counts (weighted) hits with no NumPy temporaries when
y_pred is C-contiguous float, y_true is in y_pred's dtype (int64 labels for the sparse
ones) and sample_weight is None or one weight per sample. Other inputs go through the
per-sample functions and Mean's general weighting.
"""
import numpy as np

from fastnn import _core, backend
from fastnn.losses.loss import squeeze_or_expand_to_same_rank
from fastnn.metrics.base import MeanMetricWrapper
from fastnn.ops._convert import as_float

__all__ = [
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "TopKCategoricalAccuracy", "accuracy", "binary_accuracy",
    "categorical_accuracy", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]

_I64 = np.dtype(np.int64)


def _floatx():
    return np.dtype(backend.floatx())


def accuracy(y_true, y_pred):
    """Per-value 1.0 where y_true == y_pred, else 0.0."""
    p = as_float(y_pred, "y_pred")
    t = as_float(y_true, "y_true", p.dtype)
    t, p = squeeze_or_expand_to_same_rank(t, p)
    return (t == p).astype(_floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per-value 1.0 where (y_pred > threshold) equals y_true, else 0.0."""
    p = as_float(y_pred, "y_pred")
    t = as_float(y_true, "y_true", p.dtype)
    t, p = squeeze_or_expand_to_same_rank(t, p)
    return ((p > p.dtype.type(threshold)).astype(p.dtype) == t).astype(_floatx())


def _first_argmax(x):
    return np.argmax(x, axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Per-sample 1.0 where argmax(y_pred) == argmax(y_true)."""
    p = as_float(y_pred, "y_pred")
    t = as_float(y_true, "y_true", p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"y_true: expected shape {p.shape} (the shape of y_pred), "
                         f"received {t.shape}")
    return (_first_argmax(t) == _first_argmax(p)).astype(_floatx())


def _sparse_labels(y_true, batch_shape):
    """Labels as int64, a non-integer label as -1 (never a hit), trailing 1 squeezed."""
    t = np.asarray(y_true)
    if t.ndim == len(batch_shape) + 1 and t.ndim > 0 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != tuple(batch_shape):
        raise ValueError(f"y_true: expected shape {tuple(batch_shape)} (y_pred's shape without "
                         f"the class axis), received {np.shape(y_true)}")
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t) | (t != np.trunc(t))
        t = np.where(bad, -1, np.where(bad, 0, t)).astype(np.int64)
    elif t.dtype.kind not in "biu":
        raise TypeError(f"y_true: expected class labels, received dtype {t.dtype}")
    return np.ascontiguousarray(t, dtype=np.int64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per-sample 1.0 where argmax(y_pred) equals the integer label y_true."""
    p = as_float(y_pred, "y_pred")
    labels = _sparse_labels(y_true, p.shape[:-1])
    return (_first_argmax(p) == labels).astype(_floatx())


def _in_top_k(p, target, k):
    rows = p.reshape(-1, p.shape[-1])
    tgt = target.reshape(-1)
    ok = (tgt >= 0) & (tgt < rows.shape[1])
    safe = np.where(ok, tgt, 0)
    v = rows[np.arange(rows.shape[0]), safe]
    above = np.sum(rows > v[:, None], axis=1)
    return (ok & np.isfinite(v) & (above < k)).reshape(target.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample 1.0 where argmax(y_true) is among the k largest y_pred (ties count in)."""
    p = as_float(y_pred, "y_pred")
    t = as_float(y_true, "y_true", p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"y_true: expected shape {p.shape} (the shape of y_pred), "
                         f"received {t.shape}")
    return _in_top_k(p, _first_argmax(t), k).astype(_floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample 1.0 where the integer label is among the k largest y_pred.

    As in Keras 3, the result has y_true's shape when y_true has more than one dimension
    (labels of shape (n, 1) give (n, 1)).
    """
    p = as_float(y_pred, "y_pred")
    t = np.asarray(y_true)
    if t.dtype.kind == "f":
        t = np.trunc(t)
    labels = _sparse_labels(t, p.shape[:-1])
    hits = _in_top_k(p, labels, k).astype(_floatx())
    return hits.reshape(t.shape) if t.ndim > 1 else hits


class _CountingAccuracy(MeanMetricWrapper):
    """An accuracy whose update is one C call in the common case."""

    _kind = None

    def _fast_args(self, y_true, y_pred, sample_weight):
        p = y_pred
        if not (type(p) is np.ndarray and p.dtype == self.dtype and p.flags.c_contiguous
                and p.ndim >= 1):
            return None
        if sample_weight is not None:
            sw = sample_weight
            if not (type(sw) is np.ndarray and sw.dtype == p.dtype and sw.flags.c_contiguous
                    and sw.ndim == 1 and p.ndim >= 2 and sw.shape[0] == p.shape[0]):
                return None
        sparse = self._kind in ("sparse", "sparse_top_k")
        t = y_true
        if type(t) is not np.ndarray or not t.flags.c_contiguous:
            return None
        if sparse:
            if p.ndim < 2 or t.dtype != _I64:
                return None
            if t.shape != p.shape[:-1] and t.shape != p.shape[:-1] + (1,):
                return None
        else:
            if t.dtype != p.dtype:
                return None
            if p.ndim == 1 and self._kind == "binary":
                p = p.reshape(-1, 1)
                if t.shape != (p.shape[0],):
                    return None
                t = t.reshape(p.shape)
            elif t.shape != p.shape or p.ndim < 2:
                return None
        cols = p.shape[-1]
        p2 = p.reshape(-1, cols)
        rpw = p2.shape[0] // p.shape[0] if p.shape[0] else 1
        return p2, (None if sparse else t.reshape(p2.shape)), \
            (t.reshape(-1) if sparse else None), rpw

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch's (weighted) hits."""
        args = self._fast_args(y_true, y_pred, sample_weight)
        if args is None:
            return super().update_state(y_true, y_pred, sample_weight=sample_weight)
        p2, t2, labels, rpw = args
        total, count = _core.accuracy_update(self._kind, p2, t2, labels, sample_weight, rpw,
                                             self._fn_kwargs.get("threshold", 0.5),
                                             self._fn_kwargs.get("k", 5))
        self._add(total, count)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true exactly.

    Args:
        name: Defaults to "accuracy".
        dtype: Defaults to None.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(_CountingAccuracy):
    """How often (y_pred > threshold) matches the binary label.

    Args:
        name: Defaults to "binary_accuracy".
        dtype: Defaults to None.
        threshold: The decision threshold. Defaults to 0.5.
    """

    _kind = "binary"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(_CountingAccuracy):
    """How often argmax(y_pred) matches argmax of the one-hot y_true.

    Args:
        name: Defaults to "categorical_accuracy".
        dtype: Defaults to None.
    """

    _kind = "categorical"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(_CountingAccuracy):
    """How often argmax(y_pred) matches the integer label.

    Args:
        name: Defaults to "sparse_categorical_accuracy".
        dtype: Defaults to None.
    """

    _kind = "sparse"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(_CountingAccuracy):
    """How often the one-hot target is among the k highest predictions.

    Args:
        k: How many top predictions count. Defaults to 5.
        name: Defaults to "top_k_categorical_accuracy".
        dtype: Defaults to None.
    """

    _kind = "top_k"

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


class SparseTopKCategoricalAccuracy(_CountingAccuracy):
    """How often the integer label is among the k highest predictions.

    Args:
        k: How many top predictions count. Defaults to 5.
        name: Defaults to "sparse_top_k_categorical_accuracy".
        dtype: Defaults to None.
    """

    _kind = "sparse_top_k"

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)
