"""Losses as metrics: regression errors, cosine similarity, hinge and probabilistic ones.

Each is the running weighted mean of a loss's per-sample values, which come from the loss
kernels (fastnn.losses).
"""
import numpy as np

from fastnn import losses as _l
from fastnn.losses.loss import squeeze_or_expand_to_same_rank
from fastnn.metrics.base import Mean, MeanMetricWrapper

__all__ = [
    "BinaryCrossentropy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity",
    "Hinge", "KLDivergence", "LogCoshError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson", "RootMeanSquaredError",
    "SparseCategoricalCrossentropy", "SquaredHinge", "cosine_similarity",
]


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample cosine similarity of y_true and y_pred along `axis` (1 for equal
    directions)."""
    return -_l.cosine_similarity(y_true, y_pred, axis=axis)


def _wrapper(cls_name, fn, default_name, doc):
    def __init__(self, name=default_name, dtype=None):
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    return type(cls_name, (MeanMetricWrapper,), {
        "__init__": __init__, "get_config": get_config, "__module__": __name__,
        "__doc__": f"{doc}\n\n    Args:\n        name: Defaults to \"{default_name}\".\n"
                   f"        dtype: Defaults to None.\n"})


MeanSquaredError = _wrapper("MeanSquaredError", _l.mean_squared_error, "mean_squared_error",
                            "The mean of the per-sample mean squared errors.")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", _l.mean_absolute_error,
                             "mean_absolute_error", "The mean of the per-sample absolute errors.")
MeanAbsolutePercentageError = _wrapper(
    "MeanAbsolutePercentageError", _l.mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "The mean absolute percentage error.")
MeanSquaredLogarithmicError = _wrapper(
    "MeanSquaredLogarithmicError", _l.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "The mean squared logarithmic error.")
LogCoshError = _wrapper("LogCoshError", _l.log_cosh, "logcosh",
                        "The mean of log(cosh(y_pred - y_true)).")
Hinge = _wrapper("Hinge", _l.hinge, "hinge", "The mean hinge loss.")
SquaredHinge = _wrapper("SquaredHinge", _l.squared_hinge, "squared_hinge",
                        "The mean squared hinge loss.")
CategoricalHinge = _wrapper("CategoricalHinge", _l.categorical_hinge, "categorical_hinge",
                            "The mean categorical hinge loss.")
KLDivergence = _wrapper("KLDivergence", _l.kl_divergence, "kl_divergence",
                        "The mean Kullback-Leibler divergence.")
Poisson = _wrapper("Poisson", _l.poisson, "poisson", "The mean Poisson loss.")


class RootMeanSquaredError(Mean):
    """The square root of the (weighted) mean squared error over everything seen.

    Args:
        name: Defaults to "root_mean_squared_error".
        dtype: Defaults to None.
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch's squared errors."""
        super().update_state(_l.mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity of y_true and y_pred along `axis`.

    Args:
        name: Defaults to "cosine_similarity".
        dtype: Defaults to None.
        axis: Defaults to -1.
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self._fn_kwargs["axis"]}


class _CrossentropyMetric(MeanMetricWrapper):
    _fn = None

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, **self._fn_kwargs}


class BinaryCrossentropy(_CrossentropyMetric):
    """The mean binary cross-entropy.

    Args:
        name: Defaults to "binary_crossentropy".
        dtype: Defaults to None.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(_l.binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_CrossentropyMetric):
    """The mean categorical cross-entropy.

    Args:
        name: Defaults to "categorical_crossentropy".
        dtype: Defaults to None.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.
        axis: Defaults to -1.
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(_l.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_CrossentropyMetric):
    """The mean sparse categorical cross-entropy.

    With ignore_class, targets equal to it add a loss of 0; as in Keras 3, they are left out
    of the mean only when sample weights are given (their weight becomes 0), and otherwise
    still counted.

    Args:
        name: Defaults to "sparse_categorical_crossentropy".
        dtype: Defaults to None.
        from_logits: Defaults to False.
        ignore_class: A class index to ignore, or None. Defaults to None.
        axis: Defaults to -1.
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(_l.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add one batch's cross-entropies."""
        ignore = self._fn_kwargs["ignore_class"]
        if ignore is not None and sample_weight is not None:
            labels = np.asarray(y_true)
            p = np.asarray(y_pred)
            if labels.ndim == p.ndim and labels.shape[self._fn_kwargs["axis"]] == 1:
                labels = np.squeeze(labels, axis=self._fn_kwargs["axis"])
            valid = (labels != ignore).astype(self.dtype)
            sw = np.asarray(sample_weight, self.dtype)
            valid, sw = squeeze_or_expand_to_same_rank(valid, sw)
            sample_weight = sw * valid
        super().update_state(y_true, y_pred, sample_weight=sample_weight)
