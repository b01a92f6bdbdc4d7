"""keras.optimizers.schedules: learning rates that change with the optimizer's step.

A schedule is called with the step (the optimizer's ``iterations`` before the update) and
returns the learning rate. As in Keras, the arithmetic runs in the float type of the
initial learning rate, float32 for a Python float, so the values equal tf.keras's.
"""
import math
import numbers

import numpy as np

from fastnn._registry import Registry

__all__ = ["CosineDecay", "ExponentialDecay", "InverseTimeDecay", "LearningRateSchedule",
           "PiecewiseConstantDecay", "deserialize", "serialize"]

_registry = Registry("learning rate schedule", "keras.optimizers.schedules", instantiate=False)

_F = np.float32  # the type Keras converts Python floats to


def _pow(t, base, step):
    """base ** step in the dtype t: libm's double pow, rounded once to t, so that the result
    is the same on every CPU (NumPy's float32 power is not correctly rounded on some: on
    AVX-512 machines its 0.9 ** 4 is 0.6561, one unit in the last place above 0.6560999).
    Used by the schedules and by Nadam and Adamax; Adam's C kernel calls powf and pow."""
    return t(math.pow(float(base), float(step)))


def _real(value, name, positive=False, nonneg=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, received {type(value).__name__} "
                        f"{value!r}")
    if math.isnan(value):
        raise ValueError(f"{name}: expected a number, received nan")
    if positive and not value > 0:
        raise ValueError(f"{name}: expected a number > 0, received {value!r}")
    if nonneg and value < 0:
        raise ValueError(f"{name}: expected a number >= 0, received {value!r}")
    return value


def _step(step):
    v = np.asarray(step)
    if v.ndim != 0 or v.dtype.kind not in "iuf":
        raise TypeError(f"step: expected a scalar number, received {step!r}")
    return _F(v)


class LearningRateSchedule:
    """The base class of learning rate schedules: subclasses define __call__(step).

    Subclasses implement ``__call__(self, step)`` returning the learning rate for the step
    (an int, the optimizer's iteration count) and ``get_config``.

    Example:
        >>> class Halve(LearningRateSchedule):
        ...     def __call__(self, step):
        ...         return 0.1 * 0.5 ** (step // 100)
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must "
                                  f"override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{self.__class__.__name__}' must "
                                  f"override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        """Create the schedule from get_config()'s dict.

        Args:
            config: The dict. Default required.
        """
        return cls(**config)


@_registry.register
class ExponentialDecay(LearningRateSchedule):
    """Exponential decay: ``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0. Default required.
        decay_steps: The steps over which the rate is multiplied by decay_rate (> 0).
            Default required.
        decay_rate: The factor. Default required.
        staircase: Whether step / decay_steps is floored (decay in steps). Defaults to False.
        name: The schedule's name. Defaults to 'ExponentialDecay'.

    Example:
        >>> ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(10)  # 0.05
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__()
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _real(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = _step(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(self.initial_learning_rate) * _pow(_F, _F(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@_registry.register
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps: values[i] for boundaries[i-1] < step <= boundaries[i].

    Args:
        boundaries: Increasing step numbers, one fewer than values. Default required.
        values: The rates: values[0] up to boundaries[0], values[-1] after boundaries[-1].
            Default required.
        name: The schedule's name. Defaults to 'PiecewiseConstant'.

    Example:
        >>> s = PiecewiseConstantDecay([100, 200], [1.0, 0.5, 0.1]); s(100), s(101)  # 1.0, 0.5
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        super().__init__()
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"boundaries: expected one fewer boundary than values, received "
                             f"boundaries={boundaries} of length {len(boundaries)} and "
                             f"values={values} of length {len(values)}")
        for b in boundaries:
            _real(b, "boundaries")
        for v in values:
            _real(v, "values")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        s = np.asarray(step).item()
        for b, v in zip(self.boundaries, self.values):
            if s <= b:
                return _F(v)
        return _F(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@_registry.register
class InverseTimeDecay(LearningRateSchedule):
    """Inverse time decay: ``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0. Default required.
        decay_steps: The step scale (> 0). Default required.
        decay_rate: The decay factor. Default required.
        staircase: Whether step / decay_steps is floored. Defaults to False.
        name: The schedule's name. Defaults to 'InverseTimeDecay'.
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__()
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _real(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = _step(step) / _F(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(self.initial_learning_rate) / (_F(1) + _F(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@_registry.register
class CosineDecay(LearningRateSchedule):
    """Cosine decay, with an optional linear warmup first (Keras 3).

    Without warmup the rate is ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha)`` with ``s = min(step, decay_steps)``. With warmup_target, the rate goes
    linearly from initial_learning_rate to warmup_target over warmup_steps, then decays
    from warmup_target the same way.

    Args:
        initial_learning_rate: The rate at step 0. Default required.
        decay_steps: The steps to decay over (> 0). Default required.
        alpha: The final rate as a fraction of the starting one. Defaults to 0.0.
        name: The schedule's name. Defaults to 'CosineDecay'.
        warmup_target: The rate reached at the end of warmup, or None (no warmup).
            Defaults to None.
        warmup_steps: The warmup length in steps. Defaults to 0.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        super().__init__()
        self.initial_learning_rate = _real(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _real(decay_steps, "decay_steps", positive=True)
        self.alpha = _real(alpha, "alpha")
        self.name = name
        self.warmup_steps = _real(warmup_steps, "warmup_steps", nonneg=True)
        self.warmup_target = None if warmup_target is None else _real(warmup_target,
                                                                      "warmup_target")

    def _decay(self, s, decay_steps, from_lr):
        frac = s / decay_steps
        cosine = _F(0.5) * (_F(1.0) + np.cos(_F(math.pi) * frac))
        decayed = _F(1 - self.alpha) * cosine + _F(self.alpha)
        return from_lr * decayed

    def __call__(self, step):
        lr0 = _F(self.initial_learning_rate)
        decay_steps = _F(self.decay_steps)
        s = _step(step)
        if self.warmup_target is None:
            return self._decay(np.minimum(s, decay_steps), decay_steps, lr0)
        target = _F(self.warmup_target)
        warmup = _F(self.warmup_steps)
        s = np.minimum(s, decay_steps + warmup)
        if s < warmup:
            return (target - lr0) * (s / warmup) + lr0
        return self._decay(s - warmup, decay_steps, target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


def serialize(learning_rate_schedule):
    """Return a schedule's Keras config dict.

    Args:
        learning_rate_schedule: A LearningRateSchedule. Default required.
    """
    if not isinstance(learning_rate_schedule, LearningRateSchedule):
        raise TypeError(f"learning_rate_schedule: expected a LearningRateSchedule, received "
                        f"{type(learning_rate_schedule).__name__}")
    return _registry.serialize(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from its config dict (Keras 2 or Keras 3 form).

    Args:
        config: The dict. Default required.
        custom_objects: Names of user schedules. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)
