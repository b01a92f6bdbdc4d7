"""keras.metrics.Metric and the reduction metrics Mean, Sum and MeanMetricWrapper.

A metric keeps its state in float64 NumPy values and returns Python floats. Sample weights
follow Keras 3: per-value losses are first averaged (Mean) or summed (Sum) down to one value
per weighted sample, then weighted.
"""
import numpy as np

from fastnn import backend
from fastnn.losses.loss import squeeze_or_expand_to_same_rank

__all__ = ["Mean", "MeanMetricWrapper", "Metric", "Sum", "reduce_to_samplewise_values"]


def _float_dtype(dtype):
    name = np.dtype(dtype or backend.floatx()).name
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype: expected 'float32' or 'float64', received {dtype!r}")
    return name


class Metric:
    """Base class of stateful metrics: update_state, result, reset_state.

    Subclasses create their state in __init__ (or on the first update) and implement
    update_state(*args) and result().

    Args:
        dtype: The dtype inputs are converted to. Defaults to None (backend.floatx()).
        name: The name logged for this metric. Defaults to None (the snake_case class name,
            with _1, _2, ... after the first, as Keras names them).
    """

    def __init__(self, dtype=None, name=None):
        from fastnn._registry import to_snake_case

        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a str or None, received {type(name).__name__}")
        if name is None:  # Keras's auto_name: 'auc', then 'auc_1', 'auc_2', ...
            name = to_snake_case(type(self).__name__)
            uid = backend.get_uid(name)
            name = name if uid == 1 else f"{name}_{uid - 1}"
        self.name = name
        self._dtype = _float_dtype(dtype)

    @property
    def dtype(self):
        """The name of the dtype inputs are converted to."""
        return self._dtype

    def update_state(self, *args, **kwargs):
        """Accumulate statistics from one batch."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        """Return the metric's value from the accumulated statistics."""
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        """Clear the accumulated statistics (every array or float attribute named in
        `_state`)."""
        for name in getattr(self, "_state", ()):
            v = getattr(self, name)
            setattr(self, name, np.zeros_like(v) if isinstance(v, np.ndarray) else 0.0)

    @property
    def variables(self):
        """The state as a list of float64 arrays, in a fixed order."""
        return [np.asarray(getattr(self, n), np.float64) for n in getattr(self, "_state", ())]

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        """Return the constructor arguments as a dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Build a metric from get_config's dict."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras 3's reduction of metric values to one weighted value per sample.

    Returns (values, sample_weight) after weighting, as Keras's helper of the same name.
    """
    values = np.asarray(values, dtype)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype)
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        wn, vn = sw.ndim, values.ndim
        if vn > wn:
            values = reduce_fn(values, axis=tuple(range(wn, vn)))
        try:
            sw = np.broadcast_to(sw, values.shape)
        except ValueError:
            raise ValueError(f"sample_weight: expected a shape broadcastable to {values.shape}, "
                             f"received {np.shape(sample_weight)}") from None
        values = values * sw
        if wn > 1:
            sw = reduce_fn(sw, axis=tuple(range(1, wn)))
        sample_weight = sw
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The running (weighted) sum of the values given.

    Args:
        name: Defaults to "sum".
        dtype: Defaults to None.
    """

    _state = ("total",)

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        """Add sum(values * sample_weight)."""
        values, _ = reduce_to_samplewise_values(values, sample_weight, np.sum, self.dtype)
        self.total += float(np.sum(values, dtype=np.float64))

    def result(self):
        return float(np.asarray(self.total, self.dtype))


class Mean(Metric):
    """The running (weighted) mean of the values given: total / count.

    Args:
        name: Defaults to "mean".
        dtype: Defaults to None.
    """

    _state = ("total", "count")

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        """Add the per-sample means of values, weighted, and their weight."""
        values, sw = reduce_to_samplewise_values(values, sample_weight, np.mean, self.dtype)
        self.total += float(np.sum(values, dtype=np.float64))
        if sw is not None:
            self.count += float(np.sum(sw, dtype=np.float64))
        else:
            self.count += float(values.shape[0]) if values.ndim >= 1 else 1.0

    def _add(self, total, count):
        self.total += total
        self.count += count

    def result(self):
        return 0.0 if self.count == 0 else float(np.asarray(self.total / self.count, self.dtype))


class MeanMetricWrapper(Mean):
    """The mean of fn(y_true, y_pred, **kwargs) over all samples seen.

    Args:
        fn: A function returning per-sample values. Default required.
        name: Defaults to None (fn's name).
        dtype: Defaults to None.
        **kwargs: Passed to fn.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, received {type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Add the values of fn on one batch."""
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        from fastnn import losses

        config = {**super().get_config(), "fn": losses.serialize(self._fn)
                  if not isinstance(self._fn, str) else self._fn}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        from fastnn import losses

        config = dict(config)
        if isinstance(config.get("fn"), (str, dict)):
            fn = config["fn"]
            import fastnn.metrics as m

            config["fn"] = getattr(m, fn) if isinstance(fn, str) and hasattr(m, fn) \
                else losses.deserialize(fn)
        return cls(**config)
