"""EarlyStopping: stop training when a monitored quantity has stopped improving."""
import sys
import warnings

from fastnn.callbacks.monitor import MonitorCallback, check_number

__all__ = ["EarlyStopping"]


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored quantity has stopped improving, with Keras 3's rules.

    At each epoch end (from start_from_epoch on) the monitored value is compared with the
    best so far. An improvement (by more than min_delta) resets the wait; otherwise the
    wait grows, and when it reaches patience training stops (never at the very first
    epoch). With a baseline, an improvement that does not also beat the baseline does not
    reset the wait, so training stops after patience epochs unless the baseline is beaten.

    **restore_best_weights and the last epoch.** When restore_best_weights is True, the
    weights of the best epoch are put back at the end of training *whether training was
    stopped early or ran to its last epoch*, so the model fit leaves is always the best one
    seen. This is what tf.keras 2.21 (Keras 3) does; Keras 2 (tf.keras up to 2.15) restored
    only when it stopped early, so a run that reached ``epochs`` kept its last weights,
    which users kept reporting as a bug. The best epoch is the one with the best monitored
    value, counted only from start_from_epoch on; if the monitor never appears in the logs,
    nothing is restored. Training interrupted by an exception restores nothing either. With
    verbose=1 the restore is announced as "Restoring model weights from the end of the best
    epoch: N.".

    Args:
        monitor: the logged name to watch. Defaults to "val_loss".
        min_delta: the least change that counts as an improvement. Defaults to 0.
        patience: epochs without improvement before stopping. Defaults to 0.
        verbose: 1 prints when it stops and when it restores. Defaults to 0.
        mode: 'auto', 'min' or 'max' (see MonitorCallback). Defaults to "auto".
        baseline: a value the monitor must beat. Defaults to None.
        restore_best_weights: put the best epoch's weights back when training ends.
            Defaults to False.
        start_from_epoch: epochs of warm-up before monitoring starts. Defaults to 0.

    Attributes:
        stopped_epoch: the epoch (0-based) at which training was stopped, else 0.
        best_epoch: the epoch of the best value.
        best: the best value.

    Example:
        >>> cb = fastnn.callbacks.EarlyStopping(monitor="loss", patience=3)
        >>> model.fit(x, y, epochs=100, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = check_number(patience, "patience", lo=0, integer=True)
        self.verbose = check_number(verbose, "verbose", lo=0, integer=True)
        self.baseline = check_number(baseline, "baseline", allow_none=True)
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"restore_best_weights: expected a bool, received "
                            f"{restore_best_weights!r}")
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = check_number(start_from_epoch, "start_from_epoch", lo=0,
                                             integer=True)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(list(logs))}",
                          stacklevel=3)
        return value

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first monitored epoch is the best until another beats it
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            sys.stdout.write(f"Epoch {self.stopped_epoch + 1}: early stopping\n")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                sys.stdout.write("Restoring model weights from the end of the best epoch: "
                                 f"{self.best_epoch + 1}.\n")
            self.model.set_weights(self.best_weights)
        sys.stdout.flush()
