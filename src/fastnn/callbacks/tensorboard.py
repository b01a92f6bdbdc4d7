"""TensorBoard: event files for TensorBoard, written with tensorboardX."""
import numbers
import os
import time

import numpy as np

from fastnn.callbacks.base import Callback
from fastnn.callbacks.learning_rate_scheduler import learning_rate_of

__all__ = ["TensorBoard"]


def _summary_writer():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:  # pragma: no cover - the extra is installed in tests
        raise ImportError("The TensorBoard callback writes its event files with "
                          "tensorboardX: pip install 'fastnn[tensorboard]'") from e
    return SummaryWriter


def _scalar(value):
    try:
        v = float(np.asarray(value))
    except (TypeError, ValueError):
        return None
    return v


def _weight_image(w):
    """A kernel or bias as a (1, H, W) grey image, wider than tall, as Keras lays it out;
    None for shapes that do not make an image."""
    w = np.squeeze(np.asarray(w, dtype=np.float32))
    if w.ndim == 1:
        w = w[None, :]
    elif w.ndim == 2:
        if w.shape[0] > w.shape[1]:
            w = w.T
    else:
        return None
    lo, hi = float(w.min()), float(w.max())
    scaled = (w - lo) / (hi - lo) if hi > lo else np.zeros_like(w)
    return scaled[None, :, :]


class TensorBoard(Callback):
    """Writes logs for TensorBoard: scalars, weight histograms and the model summary.

    Event files go to ``log_dir/train`` and ``log_dir/validation``, laid out as tf.keras
    lays them out so that TensorBoard shows the two runs side by side:

    - at each epoch end, ``epoch_<name>`` for every name in the logs, training values in
      train/ (with ``epoch_learning_rate``) and ``val_`` values in validation/ under the
      same tag (step: the epoch);
    - with an integer update_freq, ``batch_<name>`` in train/ every update_freq batches
      (step: the batch count since fit began);
    - at the end of each evaluation, ``evaluation_<name>_vs_iterations`` in validation/
      (step: the optimizer's iteration count);
    - every histogram_freq epochs, a histogram of each weight, tagged
      ``<weight path>/histogram`` (``dense/kernel/histogram``), and with write_images an
      image of it (``<weight path>/image``);
    - with write_graph, the model summary table as text (tag ``keras``, step 0); fastnn
      has no TensorFlow graph to draw.

    Args:
        log_dir: the folder. Defaults to "logs".
        histogram_freq: epochs between weight histograms; 0 for none. Defaults to 0.
        write_graph: write the model summary. Defaults to True.
        write_images: also write each weight as an image (with histograms). Defaults to
            False.
        write_steps_per_second: log ``epoch_steps_per_second`` (and per batch with an
            integer update_freq, ``batch_steps_per_second``). Defaults to False.
        update_freq: 'epoch', 'batch' or an int (batches between batch-level scalars).
            Defaults to "epoch".
        profile_batch: TensorFlow's profiler; must be 0 (there is none here). Defaults to 0.
        embeddings_freq: accepted for Keras code; fastnn has no Embedding layer, so nothing
            is written. Defaults to 0.
        embeddings_metadata: accepted for Keras code. Defaults to None.

    Example:
        >>> cb = fastnn.callbacks.TensorBoard(log_dir="logs/run1", histogram_freq=1)
        >>> model.fit(x, y, validation_split=0.1, callbacks=[cb])  # doctest: +SKIP
        >>> # then: tensorboard --logdir logs
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(f"log_dir: expected a folder path, received "
                            f"{type(log_dir).__name__}")
        for name, value in (("histogram_freq", histogram_freq),
                            ("embeddings_freq", embeddings_freq)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}: expected an int >= 0, received {value!r}")
        for name, value in (("write_graph", write_graph), ("write_images", write_images),
                            ("write_steps_per_second", write_steps_per_second)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected a bool, received {value!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(
                update_freq, numbers.Integral) or update_freq < 1):
            raise ValueError(f"update_freq: expected 'epoch', 'batch' or an int >= 1, "
                             f"received {update_freq!r}")
        if profile_batch not in (0, None, "0", (0, 0), [0, 0]):
            raise ValueError(f"profile_batch: TensorFlow's profiler is not available in "
                             f"fastnn; pass 0. Received {profile_batch!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq if update_freq == "epoch" else int(update_freq)
        self.embeddings_freq = int(embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._in_fit = False
        self._global_train_batch = 0
        self._epoch_start = None
        self._epoch_start_iterations = 0
        self._batch_start = None

    # ---- writers -----------------------------------------------------------------------------
    def _writer(self, which):
        w = self._writers.get(which)
        if w is None:
            folder = self._train_dir if which == "train" else self._val_dir
            w = self._writers[which] = _summary_writer()(logdir=folder, flush_secs=10)
        return w

    def _close(self):
        for w in self._writers.values():
            w.close()
        self._writers = {}

    def _write_summary(self):
        lines = []
        self.model.summary(print_fn=lines.append)
        # four spaces make TensorBoard's Markdown show the table as monospaced text
        text = "\n".join("    " + line for line in lines)
        self._writer("train").add_text("keras", text, global_step=0)

    # ---- training ----------------------------------------------------------------------------
    def _implements(self, hook):
        if hook in ("on_train_batch_end", "on_batch_end", "on_train_batch_begin",
                    "on_batch_begin") and self.update_freq == "epoch":
            return False
        return super()._implements(hook)

    def on_train_begin(self, logs=None):
        _summary_writer()  # fail early, with the install hint, if tensorboardX is missing
        self._in_fit = True
        self._global_train_batch = 0
        if self.write_graph:
            self._write_summary()

    def on_train_end(self, logs=None):
        self._in_fit = False
        self._close()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_start_iterations = self._iterations()

    def _iterations(self):
        opt = getattr(self.model, "optimizer", None)
        return int(getattr(opt, "iterations", 0) or 0)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        w = self._writer("train")
        if self.write_steps_per_second and self._batch_start is not None:
            elapsed = time.time() - self._batch_start
            if elapsed > 0:
                w.add_scalar("batch_steps_per_second", 1.0 / elapsed, step)
        for name, value in (logs or {}).items():
            v = _scalar(value)
            if v is not None:
                w.add_scalar(f"batch_{name}", v, step)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and hasattr(opt, "learning_rate"):
            train["learning_rate"] = learning_rate_of(opt)
        if self.write_steps_per_second and self._epoch_start is not None:
            seconds = time.time() - self._epoch_start
            if seconds > 0:
                train["steps_per_second"] = \
                    (self._iterations() - self._epoch_start_iterations) / seconds
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            w = self._writer(which)
            for name, value in values.items():
                v = _scalar(value)
                if v is not None:
                    w.add_scalar(f"epoch_{name}", v, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for w in self._writers.values():
            w.flush()

    def _log_weights(self, epoch):
        w = self._writer("train")
        for layer in self.model.layers:
            for var in layer.weights:
                tag = var.path.replace(":", "_")
                values = np.asarray(var.value, dtype=np.float64)
                if values.size == 0:
                    continue
                w.add_histogram(f"{tag}/histogram", values, epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is not None:
                        w.add_image(f"{tag}/image", image, epoch, dataformats="CHW")

    # ---- evaluation --------------------------------------------------------------------------
    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not logs:
            return
        w = self._writer("validation")
        step = self._iterations()
        for name, value in logs.items():
            v = _scalar(value)
            if v is not None:
                w.add_scalar(f"evaluation_{name}_vs_iterations", v, step)
        if not self._in_fit:  # evaluate() on its own: nothing will close the writers
            self._close()

