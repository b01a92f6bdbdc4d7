"""The built-in loss classes and functions of keras.losses, with Keras 3's defaults.

Every function returns per-sample losses; every class adds ``reduction`` and
``sample_weight`` through Loss.__call__ and trains through one fused C call.
"""
import numbers

from fastnn.losses.builtin import KernelLoss, _check_axis

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber", "KLDivergence", "LogCosh",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_hinge", "cosine_similarity", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy",
    "squared_hinge",
]

_SOBS = "sum_over_batch_size"


def _simple(cls_name, kind, default_name, doc):
    """A parameterless loss class (its per-sample formula is in `doc`)."""

    def __init__(self, reduction=_SOBS, name=default_name, dtype=None):
        KernelLoss.__init__(self, name=name, reduction=reduction, dtype=dtype)
        self._setup()

    cls = type(cls_name, (KernelLoss,), {
        "__init__": __init__, "_kind": kind, "__module__": __name__,
        "__doc__": f"{doc}\n\n    Args:\n        reduction: As Loss. Defaults to "
                   f"\"sum_over_batch_size\".\n        name: Defaults to \"{default_name}\"."
                   f"\n        dtype: As Loss. Defaults to None.\n",
    })
    __init__.__qualname__ = f"{cls_name}.__init__"
    return cls


MeanSquaredError = _simple("MeanSquaredError", "mse", "mean_squared_error",
                           "Mean of (y_true - y_pred)**2 over the last axis.")
MeanAbsoluteError = _simple("MeanAbsoluteError", "mae", "mean_absolute_error",
                            "Mean of |y_true - y_pred| over the last axis.")
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError", "mape", "mean_absolute_percentage_error",
    "100 * mean of |(y_true - y_pred) / max(|y_true|, epsilon)| over the last axis.")
MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError", "msle", "mean_squared_logarithmic_error",
    "Mean of (log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2 over the last axis.")
Hinge = _simple("Hinge", "hinge", "hinge",
                "Mean of max(1 - y_true * y_pred, 0); {0, 1} labels become {-1, 1} when the "
                "whole batch is binary.")
SquaredHinge = _simple("SquaredHinge", "squared_hinge", "squared_hinge",
                       "Mean of max(1 - y_true * y_pred, 0)**2, labels as Hinge.")
CategoricalHinge = _simple("CategoricalHinge", "categorical_hinge", "categorical_hinge",
                           "max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0).")
LogCosh = _simple("LogCosh", "log_cosh", "log_cosh",
                  "Mean of log(cosh(y_pred - y_true)) over the last axis, computed stably.")
KLDivergence = _simple("KLDivergence", "kld", "kl_divergence",
                       "sum(t * log(t / p)) with t, p clipped to [epsilon, 1].")
Poisson = _simple("Poisson", "poisson", "poisson",
                  "Mean of y_pred - y_true * log(y_pred + epsilon) over the last axis.")


class CosineSimilarity(KernelLoss):
    """Negative cosine similarity of y_true and y_pred along `axis` (-1 for equal directions).

    Args:
        axis: The axis along which to compare. Defaults to -1.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to "cosine_similarity".
        dtype: As Loss. Defaults to None.
    """

    _kind = "cosine"

    def __init__(self, axis=-1, reduction=_SOBS, name="cosine_similarity", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _check_axis(axis)
        self._setup()

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Huber(KernelLoss):
    """Mean over the last axis of 0.5 e**2 where |e| <= delta, else delta (|e| - delta / 2).

    Args:
        delta: Where the loss turns from quadratic to linear. Defaults to 1.0.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to "huber_loss".
        dtype: As Loss. Defaults to None.
    """

    _kind = "huber"

    def __init__(self, delta=1.0, reduction=_SOBS, name="huber_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = delta
        self._setup(delta=delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class _Crossentropy(KernelLoss):
    _axis_param = True

    def _init_xent(self, from_logits, label_smoothing, axis):
        if not isinstance(from_logits, (bool, int)):
            raise TypeError(f"from_logits: expected a bool, received {type(from_logits).__name__}")
        self.from_logits = bool(from_logits)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
            raise TypeError(f"label_smoothing: expected a number in [0, 1], received "
                            f"{label_smoothing!r}")
        if not 0 <= label_smoothing <= 1:  # (NaN fails too)
            raise ValueError(f"label_smoothing: expected a number in [0, 1], received "
                             f"{label_smoothing!r}")
        self.label_smoothing = label_smoothing
        self.axis = _check_axis(axis)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Crossentropy):
    """Binary cross-entropy, averaged over `axis`, from probabilities or logits.

    Probabilities are clipped to [epsilon, 1 - epsilon]; logits use a stable form.
    logits_variant() gives the from_logits=True loss for a sigmoid output.

    Args:
        from_logits: Whether y_pred holds logits. Defaults to False.
        label_smoothing: Targets become y * (1 - ls) + ls / 2. Defaults to 0.0.
        axis: The axis averaged over. Defaults to -1.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to "binary_crossentropy".
        dtype: As Loss. Defaults to None.
    """

    _kind = "binary_xent"
    logits_activation = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SOBS,
                 name="binary_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._init_xent(from_logits, label_smoothing, axis)
        self._setup(from_logits=self.from_logits, label_smoothing=label_smoothing)


class BinaryFocalCrossentropy(_Crossentropy):
    """Binary focal cross-entropy: (1 - p_t)**gamma * bce, optionally class-balanced.

    Args:
        apply_class_balancing: Weigh by alpha (positives) and 1 - alpha. Defaults to False.
        alpha: The balancing weight. Defaults to 0.25.
        gamma: The focusing exponent. Defaults to 2.0.
        from_logits: Whether y_pred holds logits. Defaults to False.
        label_smoothing: As BinaryCrossentropy. Defaults to 0.0.
        axis: The axis averaged over. Defaults to -1.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to "binary_focal_crossentropy".
        dtype: As Loss. Defaults to None.
    """

    _kind = "binary_focal"
    logits_activation = "sigmoid"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction=_SOBS,
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._init_xent(from_logits, label_smoothing, axis)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = alpha
        self.gamma = gamma
        self._setup(from_logits=self.from_logits, label_smoothing=label_smoothing,
                    class_balancing=self.apply_class_balancing, alpha=alpha, gamma=gamma)

    def get_config(self):
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha, "gamma": self.gamma}


class CategoricalCrossentropy(_Crossentropy):
    """Cross-entropy between one-hot (or soft) targets and class scores along `axis`.

    Probabilities are divided by their sum and clipped to [epsilon, 1 - epsilon].
    logits_variant() gives the from_logits=True loss for a softmax output.

    Args:
        from_logits: Whether y_pred holds logits. Defaults to False.
        label_smoothing: Targets become y * (1 - ls) + ls / classes. Defaults to 0.0.
        axis: The class axis. Defaults to -1.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to "categorical_crossentropy".
        dtype: As Loss. Defaults to None.
    """

    _kind = "categorical_xent"
    logits_activation = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SOBS,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._init_xent(from_logits, label_smoothing, axis)
        self._setup(from_logits=self.from_logits, label_smoothing=label_smoothing)


class SparseCategoricalCrossentropy(_Crossentropy):
    """Cross-entropy between integer labels and class scores (last axis).

    Samples labelled `ignore_class` count neither in the loss nor, for the mean reductions,
    in the number of samples, as in Keras.

    Args:
        from_logits: Whether y_pred holds logits. Defaults to False.
        ignore_class: None or a label value to leave out. Defaults to None.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        axis: The class axis. Defaults to -1.
        name: Defaults to "sparse_categorical_crossentropy".
        dtype: As Loss. Defaults to None.
    """

    _kind = "sparse_xent"
    _sparse = True
    logits_activation = "softmax"

    def __init__(self, from_logits=False, ignore_class=None, reduction=_SOBS, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._init_xent(from_logits, 0.0, axis)
        if ignore_class is not None and (isinstance(ignore_class, bool) or
                                         int(ignore_class) != ignore_class):
            raise TypeError(f"ignore_class: expected None or an int, received {ignore_class!r}")
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self._setup(from_logits=self.from_logits, ignore_class=self.ignore_class)

    def _mask(self, y_true, values):
        if self.ignore_class is None:
            return None
        import numpy as np

        t = np.asarray(y_true)
        if t.ndim == values.ndim + 1 and t.shape[-1] == 1:
            t = t[..., 0]
        return np.reshape(t != self.ignore_class, values.shape)

    def get_config(self):
        config = KernelLoss.get_config(self)
        config.update(from_logits=self.from_logits, ignore_class=self.ignore_class,
                      axis=self.axis)
        return config


# ---- functions: per-sample losses -------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis."""
    return MeanSquaredError().call(y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis."""
    return MeanAbsoluteError().call(y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample mean absolute percentage error over the last axis."""
    return MeanAbsolutePercentageError().call(y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample mean squared logarithmic error over the last axis."""
    return MeanSquaredLogarithmicError().call(y_true, y_pred)


def hinge(y_true, y_pred):
    """Per-sample hinge loss."""
    return Hinge().call(y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """Per-sample squared hinge loss."""
    return SquaredHinge().call(y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """Per-sample categorical hinge loss."""
    return CategoricalHinge().call(y_true, y_pred)


def log_cosh(y_true, y_pred):
    """Per-sample mean of log(cosh(y_pred - y_true))."""
    return LogCosh().call(y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss with threshold `delta` (default 1.0)."""
    return Huber(delta=delta).call(y_true, y_pred)


def kl_divergence(y_true, y_pred):
    """Per-sample Kullback-Leibler divergence."""
    return KLDivergence().call(y_true, y_pred)


def poisson(y_true, y_pred):
    """Per-sample Poisson loss."""
    return Poisson().call(y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample negative cosine similarity along `axis` (default -1)."""
    return CosineSimilarity(axis=axis).call(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary cross-entropy, averaged over `axis`."""
    return BinaryCrossentropy(from_logits, label_smoothing, axis).call(y_true, y_pred)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary focal cross-entropy, averaged over `axis`."""
    return BinaryFocalCrossentropy(apply_class_balancing, alpha, gamma, from_logits,
                                   label_smoothing, axis).call(y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample categorical cross-entropy along `axis`."""
    return CategoricalCrossentropy(from_logits, label_smoothing, axis).call(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Per-sample sparse categorical cross-entropy (0 for samples labelled ignore_class)."""
    return SparseCategoricalCrossentropy(from_logits, ignore_class, axis=axis).call(y_true,
                                                                                   y_pred)
