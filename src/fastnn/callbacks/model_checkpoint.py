"""ModelCheckpoint: save the model (or its weights) during training, atomically."""
import contextlib
import numbers
import os
import sys
import tempfile
import warnings

import numpy as np

from fastnn.callbacks.monitor import MonitorCallback, check_number

__all__ = ["ModelCheckpoint"]

_WEIGHTS_SUFFIX = ".weights.h5"
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def _suffix(path):
    if path.endswith(_WEIGHTS_SUFFIX):
        return _WEIGHTS_SUFFIX
    return os.path.splitext(path)[1]


class ModelCheckpoint(MonitorCallback):
    """Saves the model, or only its weights, at the end of epochs or every save_freq batches.

    filepath may hold ``str.format`` fields filled from the epoch (1-based), the batch
    (1-based, with an integer save_freq) and the logs: ``"weights.{epoch:02d}-
    {val_loss:.2f}.keras"``. Each file is written to a temporary file in the same folder
    and then renamed over the target, so a save that is interrupted (a crash, a kill, a
    full disk) leaves the previous file as it was.

    With save_best_only, a file is written only when the monitored value improves on the
    best so far (or on initial_value_threshold). If the monitor cannot appear in the logs
    (it is neither the loss, a compiled metric, their ``val_`` forms nor
    ``learning_rate``), a warning says so once, when training begins; if it is missing at
    an epoch end, one warning says so and, as in Keras, the model is then saved every time.

    Args:
        filepath: where to save: ends in ``.keras`` (or ``.h5``/``.hdf5``) for the whole
            model, in ``.weights.h5`` with save_weights_only. Default required.
        monitor: the logged name for save_best_only. Defaults to "val_loss".
        verbose: 1 prints each save. Defaults to 0.
        save_best_only: save only on improvement. Defaults to False.
        save_weights_only: save with model.save_weights instead of model.save.
            Defaults to False.
        mode: 'auto', 'min' or 'max'. Defaults to "auto".
        save_freq: 'epoch', or an int: save every that many batches. Defaults to "epoch".
        initial_value_threshold: the value to beat at first (save_best_only). Defaults to
            None.
        **kwargs: ``period`` (deprecated, Keras 2): save at every period-th epoch;
            ``options`` (TensorFlow save options; ignored).

    Example:
        >>> cb = fastnn.callbacks.ModelCheckpoint("ckpt/best.keras", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.1, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, **kwargs):
        period = kwargs.pop("period", None)
        kwargs.pop("options", None)
        if kwargs:
            raise TypeError(f"{sorted(kwargs)[0]}: unexpected argument for ModelCheckpoint")
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath: expected a str or os.PathLike path, received "
                            f"{type(filepath).__name__}")
        self.filepath = os.fspath(filepath)
        self.verbose = check_number(verbose, "verbose", lo=0, integer=True)
        for name, value in (("save_best_only", save_best_only),
                            ("save_weights_only", save_weights_only)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected a bool, received {value!r}")
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
                save_freq, numbers.Integral) or save_freq < 1):
            raise ValueError(f"save_freq: expected 'epoch' or an int >= 1, received "
                             f"{save_freq!r}")
        self.save_freq = save_freq if save_freq == "epoch" else int(save_freq)
        if period is not None:
            warnings.warn("`period` argument is deprecated. Please use `save_freq` to specify "
                          "the frequency in number of batches seen.", DeprecationWarning,
                          stacklevel=2)
            if self.save_freq != "epoch":
                raise ValueError(f"period: only works with save_freq='epoch', received "
                                 f"save_freq={self.save_freq!r}")
            period = check_number(period, "period", lo=1, integer=True)
        self.period = period if period is not None else 1
        if save_weights_only:
            if not self.filepath.endswith(_WEIGHTS_SUFFIX):
                raise ValueError(f"filepath: with save_weights_only=True the file name must "
                                 f"end in '.weights.h5', received {self.filepath!r}")
        elif not self.filepath.endswith(_MODEL_SUFFIXES) or \
                self.filepath.endswith(_WEIGHTS_SUFFIX):
            raise ValueError(f"filepath: must end in '.keras' (Keras 3's model format; or "
                             f"'.h5') to save the whole model, or pass save_weights_only=True "
                             f"with a '.weights.h5' name; received {self.filepath!r}")
        self._batches_since_save = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        self._epochs_since_save = 0
        self._warned_missing = False

    # ---- when to save ------------------------------------------------------------------
    def _expected_names(self):
        names = set()
        model = self.model
        if model is not None:
            names.add("loss")
            for m in getattr(model, "_metric_objs", None) or ():
                names.add(getattr(m, "name", ""))
        return names | {"val_" + n for n in names} | {"learning_rate"}

    def on_train_begin(self, logs=None):
        self._warned_missing = False
        self._batches_since_save = 0
        self._last_batch_seen = None
        self._epochs_since_save = 0
        if self.save_best_only and self.model is not None and \
                self.monitor not in self._expected_names():
            self._warned_missing = True
            warnings.warn(f"ModelCheckpoint: monitor={self.monitor!r} is not among the "
                          f"values fit logs for this model "
                          f"({', '.join(sorted(self._expected_names()))}); unless another "
                          f"callback adds it, save_best_only cannot compare and every "
                          f"checkpoint will be saved", stacklevel=2)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            self._batches_since_save += batch + 1  # a new epoch started
        else:
            self._batches_since_save += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq != "epoch":
            return
        self._epochs_since_save += 1
        if self._epochs_since_save >= self.period:
            self._epochs_since_save = 0
            self._save(epoch, None, logs)

    def _implements(self, hook):
        # batch ends matter only with a save_freq in batches
        if hook in ("on_train_batch_end", "on_batch_end") and self.save_freq == "epoch":
            return False
        return super()._implements(hook)

    def _improved(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                self._say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            if not self._warned_missing:
                self._warned_missing = True
                warnings.warn(f"Can save best model only with {self.monitor} available; "
                              f"saving every checkpoint instead", stacklevel=3)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.",
                          stacklevel=3)
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                self._say(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            self._say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    # ---- how to save -------------------------------------------------------------------
    def _format(self, epoch, batch, logs):
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except (KeyError, IndexError) as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e!r} is not in the logs "
                           f"({', '.join(['epoch', 'batch'] + sorted(logs))})") from None

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._format(epoch, batch, logs)
        if not self._improved(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(f"filepath: please specify a non-directory filepath for "
                                    f"ModelCheckpoint; {filepath!r} is an existing directory")
        folder = os.path.dirname(os.path.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        # A temporary name in the same folder, ending as the target does (the saver picks
        # the format from the extension), then one atomic rename over the target.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(filepath) + ".",
                                   suffix=".tmp" + _suffix(filepath))
        os.close(fd)
        os.unlink(tmp)  # only the unique name is wanted: the saver creates the file
        try:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)
            os.replace(tmp, filepath)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if self.verbose > 0:
            self._say(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    @staticmethod
    def _say(text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
