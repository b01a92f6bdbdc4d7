"""keras.regularizers: weight penalties added to the loss, their gradients, and the registry.

``reg(w)`` returns the penalty as a Python float, with Keras's formulas:
``l1 * sum(|w|) + l2 * sum(w ** 2)``. ``reg.gradient(w)`` returns its derivative with
respect to w, ``l1 * sign(w) + 2 * l2 * w``, which the engine adds to the weight's
gradient. At w == 0 the L1 term contributes 0 (the subgradient sign(0) = 0), so a weight
that is exactly zero is not pushed by L1.
"""
import math
import numbers

import numpy as np

from fastnn._registry import Registry

__all__ = ["L1", "L1L2", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2",
           "serialize"]

_registry = Registry("regularizer", "keras.regularizers")


def _factor(value, name, default):
    """A penalty factor: None means the default; else a finite non-negative number."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a non-negative float, received "
                        f"{type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: expected a finite non-negative float, received {value!r}")
    return v


def _weights(w):
    a = np.asarray(w)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"w: expected an array-like of numbers, received dtype {a.dtype}")
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _grad_out(w, out, accumulate):
    if out is None:
        if accumulate:
            raise ValueError("out: accumulate=True needs an out array to add into")
        return np.zeros(w.shape, w.dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy.ndarray, received {type(out).__name__}")
    if out.shape != w.shape:
        raise ValueError(f"out: expected shape {w.shape} (the shape of w), received "
                         f"{out.shape}")
    if out.dtype.kind != "f":
        raise TypeError(f"out: expected a floating dtype, received {out.dtype}")
    if not accumulate:
        out[...] = 0
    return out


class Regularizer:
    """Base class: a regularizer maps a weight array to a scalar penalty.

    Subclasses implement ``__call__(w)`` and, to train without a Python fallback,
    ``gradient(w, out=None, accumulate=False)``.
    """

    def __call__(self, w):
        return 0.0

    def gradient(self, w, out=None, accumulate=False):
        """Return the derivative of the penalty with respect to w.

        The base class's zero penalty has a zero gradient. A subclass that overrides
        ``__call__`` but not ``gradient`` raises NotImplementedError here, so that the
        engine knows it has no analytic gradient (rather than silently training without
        the penalty).

        Args:
            w: The weights. Default required.
            out: Array of w's shape to write (or add) the gradient into. Defaults to None.
            accumulate: Add into out instead of overwriting it. Defaults to False.
        """
        if type(self).__call__ is not Regularizer.__call__:
            raise NotImplementedError(f"{type(self).__name__} defines a penalty but no "
                                      f"gradient(w, out=None, accumulate=False)")
        return _grad_out(_weights(w), out, accumulate)

    def get_config(self):
        """Return the constructor arguments as a dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        """Build a regularizer from the dict get_config returned.

        Args:
            config: The dict. Default required.
        """
        return cls(**config)

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


@_registry.register(aliases=("l1_l2",))
class L1L2(Regularizer):
    """Penalise ``l1 * sum(|w|) + l2 * sum(w ** 2)``.

    ``L1L2()`` has no penalty (both factors 0.0, as Keras); the string name 'l1_l2' gives
    l1 = l2 = 0.01, as Keras documents.

    Args:
        l1: The L1 factor, >= 0; None means 0.0. Defaults to 0.0.
        l2: The L2 factor, >= 0; None means 0.0. Defaults to 0.0.

    Example:
        >>> L1L2(l1=0.1, l2=0.5)([1.0, -2.0])
        2.8
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1", 0.0)
        self.l2 = _factor(l2, "l2", 0.0)

    def __call__(self, w):
        a = _weights(w)
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.sum(np.abs(a), dtype=np.float64))
        if self.l2:
            penalty += self.l2 * float(np.sum(np.square(a, dtype=np.float64)))
        return penalty

    def gradient(self, w, out=None, accumulate=False):
        """Return ``l1 * sign(w) + 2 * l2 * w`` (sign(0) = 0), in w's float dtype.

        Args:
            w: The weights. Default required.
            out: Array of w's shape to write (or add) the gradient into. Defaults to None.
            accumulate: Add into out instead of overwriting it, as the engine does with a
                weight's loss gradient. Defaults to False.
        """
        a = _weights(w)
        out = _grad_out(a, out, accumulate)
        if self.l1:
            out += self.l1 * np.sign(a)
        if self.l2:
            out += (2.0 * self.l2) * a
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


_registry.set_string_kwargs("l1_l2", l1=0.01, l2=0.01)
_registry.set_string_kwargs("l1l2", l1=0.01, l2=0.01)
_registry.set_string_kwargs("L1L2", l1=0.01, l2=0.01)


@_registry.register
class L1(L1L2):
    """Penalise ``l1 * sum(|w|)``.

    Args:
        l1: The L1 factor, >= 0; None means 0.01. Defaults to 0.01.
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=_factor(l1, "l1", 0.01), l2=0.0)

    def get_config(self):
        return {"l1": self.l1}


@_registry.register
class L2(L1L2):
    """Penalise ``l2 * sum(w ** 2)``.

    Args:
        l2: The L2 factor, >= 0; None means 0.01. Defaults to 0.01.
    """

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=_factor(l2, "l2", 0.01))

    def get_config(self):
        return {"l2": self.l2}


# Keras's lower-case names are the classes themselves.
l1, l2, l1_l2 = L1, L2, L1L2


def get(identifier):
    """Return a regularizer for an identifier, as keras.regularizers.get.

    Args:
        identifier: None (returns None), a name ('l1', 'l2', 'l1_l2', 'L2', ...), a config
            dict, a class (instantiated with its defaults) or a callable (returned
            unchanged). Default required.
    """
    return _registry.get(identifier)


def serialize(regularizer):
    """Return the Keras config dict of a regularizer.

    Args:
        regularizer: A Regularizer instance. Default required.
    """
    return _registry.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """Return the regularizer a config dict (or a name) describes.

    Args:
        config: A Keras config dict or a name. Default required.
        custom_objects: Names of user classes to try first. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)
