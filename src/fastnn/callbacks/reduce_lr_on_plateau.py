"""ReduceLROnPlateau: lower the learning rate when a monitored quantity stops improving."""
import sys
import warnings

import numpy as np

from fastnn.callbacks.learning_rate_scheduler import learning_rate_of
from fastnn.callbacks.monitor import MonitorCallback, check_number

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by factor when the monitor has not improved for patience
    epochs, with Keras 3's rules.

    Each epoch end: the rate in use is written to the logs as ``learning_rate``; during a
    cooldown the counter goes down and the wait is cleared; an improvement (by more than
    min_delta) resets the wait; otherwise, outside a cooldown, the wait grows and when it
    reaches patience the rate becomes ``max(lr * factor, min_lr)`` (if lr is still above
    min_lr), the cooldown starts and the wait is cleared. The rate never goes below min_lr.

    Args:
        monitor: the logged name to watch. Defaults to "val_loss".
        factor: the multiplier, 0 <= factor < 1. Defaults to 0.1.
        patience: epochs without improvement before a reduction. Defaults to 10.
        verbose: 1 prints each reduction. Defaults to 0.
        mode: 'auto', 'min' or 'max'. Defaults to "auto".
        min_delta: the least change that counts as an improvement. Defaults to 1e-4.
        cooldown: epochs after a reduction during which the wait does not grow.
            Defaults to 0.
        min_lr: the lowest rate. Defaults to 0.0.
        **kwargs: ``epsilon``, Keras 2's name for min_delta (deprecated).

    Example:
        >>> cb = fastnn.callbacks.ReduceLROnPlateau(factor=0.2, patience=5, min_lr=1e-3)
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:
            warnings.warn("`epsilon` argument is deprecated and will be removed, use "
                          "`min_delta` instead.", DeprecationWarning, stacklevel=2)
            min_delta = kwargs.pop("epsilon")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected argument(s): "
                            f"{', '.join(sorted(kwargs))}")
        super().__init__(monitor, mode, min_delta=min_delta)
        factor = check_number(factor, "factor", lo=0.0)
        if factor >= 1.0:
            raise ValueError(f"factor: ReduceLROnPlateau does not support a factor >= 1.0, "
                             f"received factor={factor}")
        self.factor = factor
        self.patience = check_number(patience, "patience", lo=0, integer=True)
        self.verbose = check_number(verbose, "verbose", lo=0, integer=True)
        self.cooldown = check_number(cooldown, "cooldown", lo=0, integer=True)
        self.min_lr = check_number(min_lr, "min_lr", lo=0.0)
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _reduce(self, epoch):
        opt = self.model.optimizer
        old = learning_rate_of(opt)
        # compared in float32, as the rate is kept, so that a rate already at min_lr
        # (after rounding) is not "reduced" again
        if old <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        opt.learning_rate = new
        if self.verbose > 0:
            sys.stdout.write(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                             f"to {new}.\n")
            sys.stdout.flush()
        return True

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = learning_rate_of(self.model.optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: "
                          f"{','.join(list(logs))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0
