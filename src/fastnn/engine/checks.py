"""Checks that run before training starts, so that a bad argument fails before any step.

A wrong label in the last batch of an epoch would otherwise surface only after the earlier
batches had updated the weights: the call fails and the model has changed. These checks
look at whole arrays once, when fit / evaluate / train_on_batch start.
"""
import numbers

import numpy as np

__all__ = ["is_sparse_loss", "check_labels", "check_fit_options"]


def is_sparse_loss(loss):
    """Whether the loss takes integer class labels (sparse categorical cross-entropy)."""
    return bool(getattr(loss, "_sparse_labels", False)) or \
        type(loss).__name__ == "SparseCategoricalCrossentropy"


def check_labels(y, loss, output_shape, name="y"):
    """Raise a ValueError naming `name` when y holds a class index the model cannot output.

    Args:
        y: the targets as the data adapter converted them (int64 labels for sparse losses).
        loss: the compiled loss object.
        output_shape: the model's output shape (batch axis first).
        name: the argument to name in the error. Defaults to "y".
    """
    if y is None or not is_sparse_loss(loss) or not output_shape or y.size == 0:
        return
    want = tuple(output_shape[1:-1])  # labels: the output's shape without the class axis
    if y.ndim - 1 != len(want) or any(d is not None and d != g
                                      for d, g in zip(want, y.shape[1:])):
        raise ValueError(f"{name}: sparse categorical labels for outputs of shape "
                         f"{tuple(output_shape)} need shape (samples,"
                         f"{''.join(f' {d},' for d in want)[:-1] if want else ''}) "
                         f"(one class index per prediction), received shape {y.shape}")
    classes = output_shape[-1]
    if classes is None:
        return
    ignore = getattr(loss, "ignore_class", None)
    lo, hi = int(y.min()), int(y.max())
    if lo >= 0 and hi < classes:
        return
    bad = (y < 0) | (y >= classes)
    if ignore is not None:
        bad &= y != ignore
    if not bad.any():
        return
    i = int(np.flatnonzero(bad.reshape(-1))[0])
    raise ValueError(f"{name}: expected class indices in [0, {classes}) for the model's "
                     f"{classes} outputs, received {y.reshape(-1)[i]} at index {i}")


def _int_option(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {low}, received {value!r}")
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, received {value}")


def check_fit_options(max_queue_size, workers, use_multiprocessing):
    """fit's Keras 2 options for Sequence inputs, checked whatever the input is."""
    _int_option(max_queue_size, "max_queue_size", 1)
    _int_option(workers, "workers", 0)
    if not isinstance(use_multiprocessing, (bool, np.bool_)):
        raise TypeError(f"use_multiprocessing: expected a bool, received "
                        f"{use_multiprocessing!r}")
