"""CSVLogger: one CSV row per epoch, the same file tf.keras writes for the same logs."""
import collections.abc
import csv
import os

import numpy as np

from fastnn.callbacks.base import Callback

__all__ = ["CSVLogger"]


def _cell(value):
    # A list or array is written as "[a, b, c]" (quoted), a string as is, a number by str(),
    # as tf.keras does, so that the two files are byte-identical.
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes each epoch's logs as a row of a CSV file, flushed at every epoch.

    The columns are ``epoch`` and then the names of the first epoch's logs, sorted. If
    those logs have no ``val_`` names, a ``val_`` column is added for each name (filled
    with ``NA``), as tf.keras does, so that the header does not change when validation
    only starts later. Rows end in ``\\r\\n`` (the csv module's 'excel' dialect).

    Args:
        filename: the file's path (str or os.PathLike). Default required.
        separator: the field separator (one character). Defaults to ",".
        append: add to an existing file (its header is kept, none is written unless
            the file is empty) instead of overwriting it. Defaults to False.

    Example:
        >>> model.fit(x, y, callbacks=[fastnn.callbacks.CSVLogger("training.log")])
        ... # doctest: +SKIP
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename: expected a path, received {type(filename).__name__}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator: expected a one-character string, received "
                             f"{separator!r}")
        if not isinstance(append, bool):
            raise TypeError(f"append: expected a bool, received {append!r}")
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.csv_file = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        mode = "w"
        self.append_header = True
        if self.append:
            mode = "a"
            if os.path.exists(self.filename):
                with open(self.filename, "r", newline="") as f:
                    self.append_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.csv_file is None or self.csv_file.closed:  # used outside fit
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self.writer is None:
            sep = self.sep

            class Dialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
