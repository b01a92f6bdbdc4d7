"""LearningRateScheduler: set the optimizer's learning rate at each epoch from a function."""
import inspect
import numbers
import sys

import numpy as np

from fastnn.callbacks.base import Callback

__all__ = ["LearningRateScheduler"]


def _takes_lr(fn):
    """Whether fn accepts (epoch, lr) rather than only (epoch)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: try both later
        return None
    positional = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


def learning_rate_of(optimizer):
    """The optimizer's current learning rate as a Python float."""
    return float(np.asarray(optimizer.learning_rate))


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    schedule may take the epoch index alone (Keras 2's form) or the epoch index and the
    current rate (Keras 3's); which one is read from its signature. At each epoch end the
    rate in use is added to the logs as ``learning_rate``, so History, CSVLogger and the
    progress bar show it.

    Args:
        schedule: a function (epoch) -> rate or (epoch, lr) -> rate. Default required.
        verbose: 1 prints each rate set. Defaults to 0.

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> cb = fastnn.callbacks.LearningRateScheduler(schedule)
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule: expected a function (epoch) or (epoch, lr), received "
                            f"{type(schedule).__name__}")
        if isinstance(verbose, bool) or not isinstance(verbose, numbers.Integral):
            raise TypeError(f"verbose: expected an int, received {verbose!r}")
        self.schedule = schedule
        self.verbose = int(verbose)
        self._two_args = _takes_lr(schedule)

    def _optimizer(self):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not hasattr(opt, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        return opt

    def _next_rate(self, epoch, lr):
        if self._two_args is None:  # unknown signature: Keras's try-and-fall-back
            try:
                return self.schedule(epoch, lr)
            except TypeError:
                return self.schedule(epoch)
        return self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        opt = self._optimizer()
        rate = self._next_rate(epoch, learning_rate_of(opt))
        if isinstance(rate, np.ndarray) and rate.ndim == 0:
            rate = rate.item()
        if isinstance(rate, bool) or not isinstance(rate, (numbers.Real, np.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. "
                             f"Got: {rate!r}")
        opt.learning_rate = float(rate)
        if self.verbose > 0:
            sys.stdout.write(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning "
                             f"rate to {rate}.\n")
            sys.stdout.flush()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = learning_rate_of(self._optimizer())
