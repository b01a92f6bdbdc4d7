"""BackupAndRestore: resume an interrupted fit from its last backup."""
import contextlib
import json
import numbers
import os
import re
import tempfile

from fastnn.callbacks.base import Callback

__all__ = ["BackupAndRestore"]

_META = "training_metadata.json"
_WEIGHTS = re.compile(r"^ckpt-(\d+)\.weights\.h5$")


def _write_json_atomically(path, data):
    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BackupAndRestore(Callback):
    """Backs up the training state so that an interrupted fit resumes where it stopped.

    At the end of each epoch (or every save_freq batches) the model's weights and its
    optimizer's state (iteration count, learning rate, moments) are written with
    ``model.save_weights`` to a new file in backup_dir, and then a small JSON file naming
    that file and the epoch reached is replaced atomically. That rename is the one moment
    a backup becomes current, so a process killed at any point leaves a complete, usable
    backup: the new one or the one before.

    When fit starts again with the same callback settings (a new process is fine), it loads
    the backup and continues from the first unfinished epoch: the History it returns holds
    only the epochs run after the restart, as in Keras. With ``shuffle=False`` (or data
    that does not depend on the shuffle) the resumed training gives the same weights as an
    uninterrupted one; with shuffling, the batches of the remaining epochs are drawn anew.
    A backup made mid-epoch (integer save_freq) resumes at the start of that epoch with the
    mid-epoch weights, as Keras does.

    Args:
        backup_dir: a folder used only by this callback. Default required.
        save_freq: 'epoch', an int (every that many batches) or False (never).
            Defaults to "epoch".
        double_checkpoint: also keep the previous backup, used when the current one cannot
            be read. Defaults to False.
        delete_checkpoint: remove the backup files when fit finishes normally. Defaults
            to True.

    Example:
        >>> cb = fastnn.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"backup_dir: expected a non-empty folder path, received "
                             f"{backup_dir!r}")
        if save_freq is not False and save_freq != "epoch" and (
                isinstance(save_freq, bool) or not isinstance(save_freq, numbers.Integral)
                or save_freq < 1):
            raise ValueError(f"save_freq: expected 'epoch', an int >= 1 or False, received "
                             f"{save_freq!r}")
        for name, value in (("double_checkpoint", double_checkpoint),
                            ("delete_checkpoint", delete_checkpoint)):
            if not isinstance(value, bool):
                raise TypeError(f"{name}: expected a bool, received {value!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._meta_path = os.path.join(self.backup_dir, _META)
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0
        self._counter = 0

    # ---- restore ---------------------------------------------------------------------------
    def _read_meta(self):
        if not os.path.exists(self._meta_path):
            return None
        with open(self._meta_path) as f:
            return json.load(f)

    def on_train_begin(self, logs=None):
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0
        if not self.model.built:
            raise ValueError(f"BackupAndRestore: model '{self.model.name}' must be built "
                             f"before fit() to restore its state")
        meta = self._read_meta()
        if meta is None:
            return
        self._counter = int(meta.get("counter", 0))
        states = [meta] + ([meta["previous"]] if meta.get("previous") else [])
        error = None
        for state in states:
            try:
                self.model.load_weights(os.path.join(self.backup_dir, state["weights"]))
            except (OSError, ValueError, KeyError) as e:
                error = e
                continue
            self._current_epoch = int(state["epoch"])
            self.model._initial_epoch = self._current_epoch
            return
        raise ValueError(f"BackupAndRestore: no readable backup in {self.backup_dir!r} "
                         f"(last error: {error})") from error

    # ---- back up ---------------------------------------------------------------------------
    def _implements(self, hook):
        # batch ends matter only with a save_freq in batches
        if hook in ("on_train_batch_end", "on_batch_end") and (
                self.save_freq == "epoch" or self.save_freq is False):
            return False
        return super()._implements(hook)

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch" or self.save_freq is False:
            return
        if batch <= self._last_batch_seen:
            self._batches_since_save += batch + 1
        else:
            self._batches_since_save += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(batch)

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save(None)

    def _save(self, batch):
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = self._read_meta()
        self._counter = max(self._counter, int((previous or {}).get("counter", 0))) + 1
        name = f"ckpt-{self._counter}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, name), overwrite=True)
        meta = {"epoch": self._current_epoch, "batch": batch, "weights": name,
                "counter": self._counter, "previous": None}
        if self.double_checkpoint and previous is not None:
            previous.pop("previous", None)
            meta["previous"] = previous
        _write_json_atomically(self._meta_path, meta)  # the backup becomes current here
        keep = {name} | ({meta["previous"]["weights"]} if meta["previous"] else set())
        self._remove_weights(keep)

    def _remove_weights(self, keep=()):
        if not os.path.isdir(self.backup_dir):
            return
        for entry in os.listdir(self.backup_dir):
            if _WEIGHTS.match(entry) and entry not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.backup_dir, entry))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir):
            return
        # Only this callback's own files go; the folder too if that leaves it empty.
        with contextlib.suppress(OSError):
            os.unlink(self._meta_path)
        self._remove_weights()
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)
