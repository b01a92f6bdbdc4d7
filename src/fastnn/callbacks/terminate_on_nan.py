"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""
import math
import sys

from fastnn.callbacks.base import Callback

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite, and says at which batch.

    The batch logs hold the epoch's running mean loss, which turns NaN (or inf) at the
    first batch whose loss does, so that batch is the one reported.

    Args:
        raise_error: False sets ``model.stop_training`` (the epoch then ends as usual and
            on_train_end runs); True raises a RuntimeError at once, skipping the other
            callbacks' end-of-training hooks. Defaults to False.

    Example:
        >>> model.fit(x, y, callbacks=[fastnn.callbacks.TerminateOnNaN()])  # doctest: +SKIP
    """

    def __init__(self, raise_error=False):
        super().__init__()
        if not isinstance(raise_error, bool):
            raise TypeError(f"raise_error: expected a bool, received {raise_error!r}")
        self.raise_error = raise_error
        self._epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        try:
            bad = not math.isfinite(float(loss))
        except (TypeError, ValueError):
            return
        if not bad:
            return
        where = f"Batch {batch}" if self._epoch is None else \
            f"Epoch {self._epoch + 1}, batch {batch}"
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}"
                               + ("" if self._epoch is None else f" of epoch {self._epoch + 1}")
                               + f". Loss value: {loss}. Terminating training immediately.")
        sys.stdout.write(f"{where}: Invalid loss, terminating training\n")
        sys.stdout.flush()
        if self.model is not None:
            self.model.stop_training = True
