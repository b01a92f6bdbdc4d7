"""The shared logic of callbacks that watch one logged quantity: which way is better, and
whether a new value improves on a reference by at least min_delta."""
import numbers

import numpy as np

from fastnn.callbacks.base import Callback

__all__ = ["MonitorCallback"]

# Metric names (as logged, without 'val_') whose direction is known without asking the
# metric object. Keras 3 asks each metric for its `_direction`; fastnn's built-in metrics do
# not all carry one, so their class names and logged names are listed here.
_UP = {
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "auc", "precision", "recall", "cosine_similarity",
    "r2_score", "f1_score", "fbeta_score", "iou", "mean_iou", "binary_iou", "one_hot_iou",
    "one_hot_mean_iou", "pearson_correlation", "concordance_correlation",
    "precision_at_recall", "recall_at_precision", "sensitivity_at_specificity",
    "specificity_at_sensitivity",
}
_DOWN = {
    "loss", "mse", "mae", "mape", "msle", "mean_squared_error", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "root_mean_squared_error", "rmse", "crossentropy", "ce", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "kld", "kullback_leibler_divergence", "poisson",
    "logcosh", "log_cosh", "log_cosh_error", "huber",
}


def _snake(name):
    from fastnn._registry import to_snake_case
    return to_snake_case(name)


def _metric_direction(metric):
    """'up', 'down' or None for a metric object, from its `_direction` or its class/name."""
    d = getattr(metric, "_direction", None)
    if d in ("up", "down"):
        return d
    for candidate in (_snake(type(metric).__name__), getattr(metric, "name", None),
                      getattr(getattr(metric, "_fn", None), "__name__", None)):
        if candidate in _UP:
            return "up"
        if candidate in _DOWN:
            return "down"
    return None


def check_mode(mode, owner):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: {owner} expected 'auto', 'min' or 'max', received {mode!r}")
    return mode


def check_number(value, name, lo=None, allow_none=False, integer=False):
    """value as a float (or int), or a TypeError/ValueError naming the argument."""
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, (kind, np.number)):
        want = "an int" if integer else "a number"
        raise TypeError(f"{name}: expected {want}, received {value!r}")
    value = int(value) if integer else float(value)
    if lo is not None and value < lo:
        raise ValueError(f"{name}: expected a value >= {lo}, received {value}")
    return value


class MonitorCallback(Callback):
    """Base of EarlyStopping, ReduceLROnPlateau and ModelCheckpoint: a monitored value,
    a direction and a minimum change.

    In 'auto' mode the direction comes from the monitored name: a loss (with or without
    'val_') is minimised; a compiled metric is maximised or minimised as the metric says
    (accuracy, AUC, precision... up; errors and cross-entropies down). A name whose
    direction cannot be told raises a ValueError at the first epoch end, as in Keras 3;
    pass mode='min' or mode='max' for it.

    Args:
        monitor: the logged name to watch. Defaults to "val_loss".
        mode: 'auto', 'min' or 'max'. Defaults to "auto".
        baseline: the starting best value, or None. Defaults to None.
        min_delta: the least change that counts as an improvement (its absolute value is
            used). Defaults to 0.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected a str, received {type(monitor).__name__}")
        self.monitor = monitor
        self.mode = check_mode(mode, type(self).__name__)
        if isinstance(baseline, np.ndarray) and baseline.ndim == 0:
            baseline = baseline.item()
        self.best = check_number(baseline, "baseline", allow_none=True)
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        self.monitor_op = None
        self._sign = None

    def _direction(self):
        """+1 when larger is better, -1 when smaller is better."""
        if self.mode == "min":
            return -1
        if self.mode == "max":
            return 1
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        if name == "loss":
            return -1
        found = None
        for m in getattr(self.model, "_metric_objs", None) or ():
            if getattr(m, "name", None) == name:
                found = _metric_direction(m)
                break
        if found is None and name in _UP:
            found = "up"
        elif found is None and name in _DOWN:
            found = "down"
        if found is None:
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor!r}, but "
                f"cannot tell whether that metric should be maximized or minimized. Pass "
                f"mode='max' to keep the highest value, or mode='min' to keep the lowest.")
        return 1 if found == "up" else -1

    def _set_monitor_op(self):
        self._sign = self._direction()
        self.monitor_op = np.greater if self._sign > 0 else np.less

    def _is_improvement(self, value, reference):
        """Whether value beats reference by more than min_delta (None is always beaten)."""
        if reference is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        if self._sign > 0:
            return bool(value - self.min_delta > reference)
        return bool(value + self.min_delta < reference)

