"""History, which fit returns, and BaseLogger, whose epoch averaging it folds in."""
import numbers

from fastnn.callbacks.base import Callback

__all__ = ["History", "BaseLogger"]


class History(Callback):
    """Records each epoch's logs; fit always attaches one and returns it.

    The values are the epoch's averages, as Keras 2's BaseLogger computed them: the loss
    is the mean over the epoch's samples (weighted by batch size) and each metric is its
    state at the end of the epoch (stateful metrics are never averaged across batches).
    As in tf.keras, ``history`` keeps growing if the same History is passed to several
    fits, while ``epoch`` restarts with each fit.

    Attributes:
        history: dict of lists, one value per epoch for each logged name
            (``history.history['val_loss']``).
        epoch: the epoch indices of the last fit.
        params: fit's parameters: ``{'verbose': ..., 'epochs': ..., 'steps': ...}``.
        model: the model trained.
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
        if self.model is not None:
            self.model.history = self

    def plot(self, metrics=None, path=None, title=None):
        """Draw the loss and metric curves, train and validation, with matplotlib.

        See ``fastnn.utils.plot_history``, which this calls with this History.

        Args:
            metrics: names to draw (without 'val_'). Defaults to None (all).
            path: where to write a PNG. Defaults to None (only return the figure).
            title: the figure's title. Defaults to None.

        Returns:
            The matplotlib Figure.
        """
        from fastnn.utils.plotting import plot_history
        return plot_history(self, metrics=metrics, path=path, title=title)


class BaseLogger(Callback):
    """Averages batch logs over an epoch, as Keras 2's BaseLogger did.

    fit's epoch logs (and so History) already hold these averages, so fit does not need
    this callback; it is kept for Keras 2 code that adds it or reads its ``totals``. On
    each training batch it accumulates every numeric value of the batch logs weighted by
    the batch's ``size`` (1 when the logs have none); at the epoch's end it writes the
    averages into the epoch logs for names the logs do not already have. Names in
    stateful_metrics keep their last value instead of being averaged.

    Args:
        stateful_metrics: names not to average. Defaults to None.
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        if isinstance(stateful_metrics, str):
            raise TypeError("stateful_metrics: expected a list of names, received a str")
        self.stateful_metrics = set(stateful_metrics or ())
        self.seen = 0
        self.totals = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = logs.get("size", 1)
        self.seen += size
        for k, v in logs.items():
            if k in ("batch", "size") or not isinstance(v, numbers.Real):
                continue
            if k in self.stateful_metrics:
                self.totals[k] = v
            else:
                self.totals[k] = self.totals.get(k, 0.0) + v * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.seen:
            return
        for k, total in self.totals.items():
            if k in logs:
                continue
            logs[k] = total if k in self.stateful_metrics else total / self.seen
