"""keras.constraints: projections applied to weights after each optimizer step.

``c(w)`` returns a new array; the engine copies it back into the weight. Norms are taken
over ``axis`` (an int or a list of ints) and kept as broadcastable dimensions, with
fastnn.backend.epsilon() in the denominators, exactly as Keras writes its formulas.
"""
import numbers

import numpy as np

from fastnn import backend
from fastnn._registry import Registry

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]

_registry = Registry("constraint", "keras.constraints")


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, received {type(value).__name__} "
                        f"{value!r}")
    if np.isnan(value):
        raise ValueError(f"{name}: expected a number, received nan")
    return value


def _nonneg(value, name):
    _real(value, name)
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative number, received {value!r}")
    return value


def _axis(axis):
    """Check an axis argument (int or list/tuple of ints); keep it as given for get_config."""
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"axis: expected an int or a list of ints, received {axis!r}")
    return list(axis) if isinstance(axis, tuple) else axis


def _weights(w):
    a = np.asarray(w)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"w: expected an array-like of numbers, received dtype {a.dtype}")
    return a if a.dtype.kind == "f" else a.astype(backend.floatx())


def _norms(a, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    for i in (ax if isinstance(ax, tuple) else (ax,)):
        if not -a.ndim <= i < a.ndim:
            raise ValueError(f"axis: expected axes in [{-a.ndim}, {a.ndim}) for weights of "
                             f"shape {a.shape}, received {axis!r}")
    return np.sqrt(np.sum(np.square(a), axis=ax, keepdims=True))


def _eps(a):
    return a.dtype.type(backend.epsilon())


class Constraint:
    """Base class: a constraint maps a weight array to its constrained copy."""

    def __call__(self, w):
        return np.array(_weights(w))

    def get_config(self):
        """Return the constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Build a constraint from the dict get_config returned.

        Args:
            config: The dict. Default required.
        """
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_registry.register(aliases=("max_norm",))
class MaxNorm(Constraint):
    """Rescale each slice along axis whose L2 norm exceeds max_value down to max_value.

    Computes ``w * clip(n, 0, max_value) / (epsilon + n)``, n the norms over axis.

    Args:
        max_value: The largest norm allowed, >= 0. Defaults to 2.
        axis: The axis or axes the norm runs over: 0 for each unit of a Dense kernel
            (input_dim, units), [0, 1, 2] for each filter of a Conv2D kernel.
            Defaults to 0.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _nonneg(max_value, "max_value")
        self.axis = _axis(axis)

    def __call__(self, w):
        a = _weights(w)
        n = _norms(a, self.axis)
        desired = np.clip(n, 0, self.max_value).astype(a.dtype, copy=False)
        return a * (desired / (_eps(a) + n))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@_registry.register(aliases=("non_neg",))
class NonNeg(Constraint):
    """Set negative weights to zero: max(w, 0)."""

    def __call__(self, w):
        a = _weights(w)
        return np.maximum(a, a.dtype.type(0))


@_registry.register(aliases=("unit_norm",))
class UnitNorm(Constraint):
    """Scale each slice along axis to unit L2 norm: ``w / (epsilon + n)``.

    Args:
        axis: The axis or axes the norm runs over. Defaults to 0.
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        a = _weights(w)
        return a / (_eps(a) + _norms(a, self.axis))

    def get_config(self):
        return {"axis": self.axis}


@_registry.register(aliases=("min_max_norm",))
class MinMaxNorm(Constraint):
    """Move each slice's L2 norm into [min_value, max_value], at the given rate.

    Computes ``w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (epsilon + n)``:
    rate 1.0 enforces the bounds at once, a smaller rate moves toward them step by step.

    Args:
        min_value: The smallest norm, >= 0. Defaults to 0.0.
        max_value: The largest norm, >= min_value. Defaults to 1.0.
        rate: How far to move toward the bounds, in [0, 1]. Defaults to 1.0.
        axis: The axis or axes the norm runs over. Defaults to 0.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _nonneg(min_value, "min_value")
        self.max_value = _nonneg(max_value, "max_value")
        if max_value < min_value:
            raise ValueError(f"max_value: expected max_value >= min_value ({min_value!r}), "
                             f"received {max_value!r}")
        self.rate = _real(rate, "rate")
        if not 0 <= rate <= 1:
            raise ValueError(f"rate: expected a number in [0, 1], received {rate!r}")
        self.axis = _axis(axis)

    def __call__(self, w):
        a = _weights(w)
        n = _norms(a, self.axis)
        t = a.dtype.type
        desired = (t(self.rate) * np.clip(n, t(self.min_value), t(self.max_value))
                   + t(1 - self.rate) * n)
        return a * (desired / (_eps(a) + n))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras's lower-case names are the classes themselves.
max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm


def get(identifier):
    """Return a constraint for an identifier, as keras.constraints.get.

    Args:
        identifier: None (returns None), a name ('max_norm', 'NonNeg', ...), a config
            dict, a class (instantiated with its defaults) or a callable (returned
            unchanged). Default required.
    """
    return _registry.get(identifier)


def serialize(constraint):
    """Return the Keras config dict of a constraint.

    Args:
        constraint: A Constraint instance. Default required.
    """
    return _registry.serialize(constraint)


def deserialize(config, custom_objects=None):
    """Return the constraint a config dict (or a name) describes.

    Args:
        config: A Keras config dict or a name. Default required.
        custom_objects: Names of user classes to try first. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)
