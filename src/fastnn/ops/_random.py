"""fastnn.ops._random: counter-based random numbers and dropout.

Every number is a pure function of (seed, step, element index) through Philox-4x32-10
(see csrc/rng.h for the exact mapping), so results do not depend on the thread count and
can be regenerated: the same seed and step always give the same dropout mask.
"""
import numpy as np

from fastnn import _core
from fastnn.ops._convert import as_float as _float_array

__all__ = ["dropout", "dropout_backward", "uniform"]


class _step_named:
    """Report the kernel's 'stream' argument under this module's name for it, 'step'."""

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if kind in (TypeError, ValueError) and str(err).startswith("stream:"):
            raise kind("step:" + str(err)[len("stream:"):]) from None
        return False


def dropout(x, rate, seed, step=0, return_mask=False):
    """Inverted dropout, as Keras: zero each element with probability rate, scale the rest.

    Element i is kept when the i-th uniform of stream (seed, step) is >= rate, and kept
    elements are multiplied by 1 / (1 - rate) (rounded to the dtype, as tf.nn.dropout does) so
    the expected value is unchanged.

    Args:
        x: Array-like of any shape.
        rate: Probability of dropping an element, in [0, 1).
        seed: Non-negative int below 2**64.
        step: Stream number, a non-negative int below 2**64 (e.g. the training step), so
            each step draws a fresh mask from one seed. Defaults to 0.
        return_mask: Also return the uint8 keep mask. Defaults to False.

    Returns:
        The dropped-out array, or (array, mask) when return_mask is True.

    Example:
        >>> y, mask = dropout(np.ones(4), 0.5, seed=1, return_mask=True)
    """
    a = _float_array(x, "x")
    out = np.empty_like(a)
    mask = np.empty(a.shape, np.uint8) if return_mask else None
    with _step_named():
        _core.dropout_forward(a, out, mask, rate, seed, step)
    return (out, mask) if return_mask else out


def dropout_backward(dy, mask, rate):
    """Gradient of dropout: dy where the mask kept an element, times 1 / (1 - rate).

    Args:
        dy: Gradient with respect to dropout's output.
        mask: The uint8 keep mask that dropout returned, of dy's shape.
        rate: The rate dropout used, in [0, 1).

    Returns:
        The gradient with respect to dropout's input.
    """
    d = _float_array(dy, "dy")
    if mask is None:
        raise TypeError("mask: expected the uint8 keep mask that dropout returned, received None")
    m = np.asarray(mask)
    if m.dtype == np.bool_:
        m = m.view(np.uint8)
    m = np.ascontiguousarray(m)
    out = np.empty_like(d)
    _core.dropout_backward(d, m, out, rate)
    return out


def uniform(shape, seed, step=0, dtype="float32"):
    """Uniform random numbers in [0, 1), element i taken from stream (seed, step).

    Args:
        shape: Output shape, an int or a tuple of ints.
        seed: Non-negative int below 2**64.
        step: Stream number, a non-negative int below 2**64. Defaults to 0.
        dtype: "float32" (24 random bits) or "float64" (53 bits). Defaults to "float32".

    Returns:
        An array of the given shape and dtype.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected 'float32' or 'float64', received {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype: expected 'float32' or 'float64', received {dtype!r}")
    try:
        out = np.empty(shape, dt)
    except (TypeError, ValueError):
        raise ValueError(f"shape: expected an int or a tuple of non-negative ints, "
                         f"received {shape!r}") from None
    with _step_named():
        _core.uniform(seed, step, out)
    return out
