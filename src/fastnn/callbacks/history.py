"""History: records the epoch logs that fit returns."""
from fastnn.callbacks.base import Callback

__all__ = ["History", "BaseLogger"]


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` and so on.

    Attributes:
        history: dict of lists, one entry per epoch for each logged name.
        epoch: the epoch indices seen.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)


class BaseLogger(Callback):
    """Kept for Keras 2 code: epoch averaging is done by the engine, so it does nothing.

    Args:
        stateful_metrics: names of metrics that are not averaged. Defaults to None.
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or ())
