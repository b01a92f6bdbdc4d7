"""fastnn.ops._nn: softmax, log-softmax and the cross-entropy losses, with keras.ops names.

Each function accepts array-likes of any rank, moves the class axis to the end, calls one
kernel on a C-contiguous 2-D view and moves the axis back. Integers and lists become
float32; float64 stays float64. The ``*_with_grad`` variants return the per-sample loss
and its gradient from one fused kernel call, as the training engine uses them.
"""
import numpy as np

from fastnn import _core
from fastnn.ops._convert import as_float as _float_array

__all__ = [
    "softmax",
    "log_softmax",
    "softmax_backward",
    "log_softmax_backward",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
    "sparse_categorical_crossentropy_with_grad",
    "categorical_crossentropy_with_grad",
    "binary_crossentropy_with_grad",
]

_DEFAULT_EPSILON = 1e-7


def _epsilon():
    """Keras's fuzz factor: fastnn.backend.epsilon() when that module exists, else 1e-7."""
    try:
        from fastnn import backend
        return float(backend.epsilon())
    except (ImportError, AttributeError):
        return _DEFAULT_EPSILON


def _axis(axis, ndim, arr_name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis: expected an int, received {type(axis).__name__}")
    if ndim == 0:
        raise ValueError(f"{arr_name}: expected an array with at least one dimension, "
                         f"received a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis: expected an axis in [{-ndim}, {ndim}), received {axis}")
    return int(axis) % ndim


def _rows(a, axis):
    """a with `axis` moved last, as a C-contiguous (rows, cols) array, and the moved shape."""
    moved = np.moveaxis(a, axis, -1)
    shape = moved.shape
    flat = np.ascontiguousarray(moved).reshape(-1, shape[-1]) if shape[-1] else \
        np.zeros((int(np.prod(shape[:-1])), 0), a.dtype)
    return flat, shape


def _unrows(flat, shape, axis):
    return np.moveaxis(flat.reshape(shape), -1, axis)


def _check_out(out, shape):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy.ndarray, received {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"out: expected shape {shape}, received {out.shape}")
    if not out.flags.writeable:
        raise ValueError("out: expected a writable array, received a read-only one")


def _rowwise(kernel, x, axis, out):
    a = _float_array(x, "x")
    ax = _axis(axis, a.ndim, "x")
    if out is not None:
        _check_out(out, a.shape)
        if (ax == a.ndim - 1 and a.shape[-1] > 0 and out.dtype == a.dtype
                and out.flags.c_contiguous and a.flags.c_contiguous
                and (out is x or not np.may_share_memory(out, a))):
            # Straight into out: no temporary (out may be x itself).
            flat = a.reshape(-1, a.shape[-1])
            kernel(flat, flat if out is x else out.reshape(flat.shape))
            return out
    flat, shape = _rows(a, ax)
    res = np.empty_like(flat)
    kernel(flat, res)
    res = _unrows(res, shape, ax)
    if out is None:
        return res
    np.copyto(out, res, casting="same_kind")
    return out


def softmax(x, axis=-1, out=None):
    """Softmax along one axis, computed stably (the row max is subtracted first).

    Args:
        x: Array-like of any rank.
        axis: The axis to normalise over. Defaults to -1.
        out: Optional array of x's shape to write the result into. Defaults to None.

    Returns:
        An array of x's shape whose slices along `axis` sum to 1.

    Example:
        >>> softmax([[0.0, 0.0]])
        array([[0.5, 0.5]], dtype=float32)
    """
    return _rowwise(_core.softmax, x, axis, out)


def log_softmax(x, axis=-1, out=None):
    """Log of the softmax along one axis: x - max - log(sum(exp(x - max))).

    Args:
        x: Array-like of any rank.
        axis: The axis to normalise over. Defaults to -1.
        out: Optional array of x's shape to write the result into. Defaults to None.

    Returns:
        An array of x's shape.
    """
    return _rowwise(_core.log_softmax, x, axis, out)


def _rowwise_backward(kernel, y, dy, axis):
    a = _float_array(y, "y")
    d = _float_array(dy, "dy", a.dtype)
    if d.shape != a.shape:
        raise ValueError(f"dy: expected shape {a.shape} (the shape of y), received {d.shape}")
    ax = _axis(axis, a.ndim, "y")
    fy, shape = _rows(a, ax)
    fd, _ = _rows(d, ax)
    res = np.empty_like(fy)
    kernel(fy, fd, res)
    return _unrows(res, shape, ax)


def softmax_backward(y, dy, axis=-1):
    """Gradient of softmax with respect to its input, from its output y.

    Args:
        y: The softmax output.
        dy: The gradient with respect to y, of y's shape.
        axis: The axis softmax normalised over. Defaults to -1.

    Returns:
        y * (dy - sum(dy * y, axis)), of y's shape.
    """
    return _rowwise_backward(_core.softmax_backward, y, dy, axis)


def log_softmax_backward(y, dy, axis=-1):
    """Gradient of log_softmax with respect to its input, from its output y.

    Args:
        y: The log_softmax output.
        dy: The gradient with respect to y, of y's shape.
        axis: The axis log_softmax normalised over. Defaults to -1.

    Returns:
        dy - exp(y) * sum(dy, axis), of y's shape.
    """
    return _rowwise_backward(_core.log_softmax_backward, y, dy, axis)


# ---- losses -----------------------------------------------------------------------------

def _labels(target, batch_shape):
    """Integer class labels of shape batch_shape as int64; (..., 1) is squeezed as Keras does."""
    t = np.asarray(target)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"target: expected integer class labels, received dtype {t.dtype}")
    if t.ndim == len(batch_shape) + 1 and t.ndim > 0 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != tuple(batch_shape):
        raise ValueError(f"target: expected shape {tuple(batch_shape)} (output's shape without "
                         f"the class axis), received {np.shape(target)}")
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.trunc(t)):
            raise ValueError("target: expected integer class labels, received non-integer values")
    return np.ascontiguousarray(t, dtype=np.int64).reshape(-1)


def _sample_weight(sample_weight, batch_shape, dtype):
    if sample_weight is None:
        return None
    w = _float_array(sample_weight, "sample_weight", dtype)
    try:
        w = np.broadcast_to(w, batch_shape)
    except ValueError:
        raise ValueError(f"sample_weight: expected a shape broadcastable to {tuple(batch_shape)}, "
                         f"received {w.shape}") from None
    return np.ascontiguousarray(w).reshape(-1)


def _grad_scale(grad_scale):
    if isinstance(grad_scale, bool) or not isinstance(grad_scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"grad_scale: expected a number, received {type(grad_scale).__name__}")
    return float(grad_scale)


def _sparse(target, output, from_logits, axis, sample_weight, grad_scale, want_grad):
    z = _float_array(output, "output")
    ax = _axis(axis, z.ndim, "output")
    fz, shape = _rows(z, ax)
    batch_shape = shape[:-1]
    labels = _labels(target, batch_shape)
    sw = _sample_weight(sample_weight, batch_shape, z.dtype)
    loss = np.empty(fz.shape[0], z.dtype)
    grad = np.empty_like(fz) if want_grad else None
    try:
        _core.sparse_xent(fz, labels, sw, bool(from_logits), _epsilon(),
                          _grad_scale(grad_scale), loss, grad)
    except ValueError as e:
        msg = str(e)
        if msg.startswith("labels:"):
            raise ValueError("target:" + msg[len("labels:"):]) from None
        if msg.startswith("z:"):
            raise ValueError("output:" + msg[len("z:"):]) from None
        raise
    loss = loss.reshape(batch_shape)
    return (loss, _unrows(grad, shape, ax)) if want_grad else loss


def _dense(kernel, target, output, from_logits, axis, label_smoothing, sample_weight,
           grad_scale, want_grad):
    z = _float_array(output, "output")
    t = _float_array(target, "target", z.dtype)
    if t.shape != z.shape:
        raise ValueError(f"target: expected shape {z.shape} (the shape of output), "
                         f"received {t.shape}")
    ax = _axis(axis, z.ndim, "output")
    fz, shape = _rows(z, ax)
    ft, _ = _rows(t, ax)
    batch_shape = shape[:-1]
    sw = _sample_weight(sample_weight, batch_shape, z.dtype)
    loss = np.empty(fz.shape[0], z.dtype)
    grad = np.empty_like(fz) if want_grad else None
    try:
        kernel(fz, ft, sw, bool(from_logits), label_smoothing, _epsilon(),
               _grad_scale(grad_scale), loss, grad)
    except ValueError as e:
        msg = str(e)
        if msg.startswith("z:"):
            raise ValueError("output:" + msg[len("z:"):]) from None
        raise
    loss = loss.reshape(batch_shape)
    return (loss, _unrows(grad, shape, ax)) if want_grad else loss


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer labels and predicted class scores, per sample.

    With probabilities, they are clipped to [epsilon, 1 - epsilon] and renormalised, as
    tf.keras does; with logits, a stable log-softmax is fused in.

    Args:
        target: Integer class labels, of output's shape without `axis` (a trailing
            dimension of 1 is squeezed).
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.
        axis: The class axis of output. Defaults to -1.

    Returns:
        The loss of each sample, of output's shape without `axis`.

    Example:
        >>> sparse_categorical_crossentropy([1], [[0.0, 0.0]], from_logits=True)
        array([0.6931472], dtype=float32)
    """
    return _sparse(target, output, from_logits, axis, None, 1.0, False)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) targets and predicted classes, per sample.

    With probabilities, they are divided by their sum and clipped to
    [epsilon, 1 - epsilon], as Keras does; with logits, a stable log-softmax is fused in.

    Args:
        target: Targets of output's shape.
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.
        axis: The class axis. Defaults to -1.

    Returns:
        The loss of each sample, of output's shape without `axis`.
    """
    return _dense(_core.categorical_xent, target, output, from_logits, axis, 0.0, None, 1.0,
                  False)


def binary_crossentropy(target, output, from_logits=False):
    """Binary cross-entropy per sample: the element-wise loss averaged over the last axis.

    This is the per-sample value of keras.losses.binary_crossentropy (keras.ops's version
    returns the element-wise losses before the mean). Probabilities are clipped to
    [epsilon, 1 - epsilon]; logits use the stable max(z, 0) - z t + log1p(exp(-|z|)).

    Args:
        target: Targets in [0, 1], of output's shape.
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.

    Returns:
        The loss of each sample, of output's shape without its last axis.
    """
    return _dense(_core.binary_xent, target, output, from_logits, -1, 0.0, None, 1.0, False)


def sparse_categorical_crossentropy_with_grad(target, output, from_logits=False,
                                              sample_weight=None, grad_scale=1.0, axis=-1):
    """Per-sample sparse categorical cross-entropy and its gradient, from one fused kernel.

    Args:
        target: Integer class labels, of output's shape without `axis`.
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.
        sample_weight: Optional weights broadcastable to the per-sample loss; they multiply
            the loss and the gradient. Defaults to None.
        grad_scale: Factor on the gradient (1/batch for a mean). Defaults to 1.0.
        axis: The class axis. Defaults to -1.

    Returns:
        (loss, grad): the weighted per-sample losses, and grad_scale times the gradient of
        their sum with respect to output (zero where the probability clip is active).
    """
    return _sparse(target, output, from_logits, axis, sample_weight, grad_scale, True)


def categorical_crossentropy_with_grad(target, output, from_logits=False, sample_weight=None,
                                       grad_scale=1.0, label_smoothing=0.0, axis=-1):
    """Per-sample categorical cross-entropy and its gradient, from one fused kernel.

    Args:
        target: Targets of output's shape.
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.
        sample_weight: Optional weights broadcastable to the per-sample loss. Defaults to None.
        grad_scale: Factor on the gradient. Defaults to 1.0.
        label_smoothing: Keras's smoothing, target * (1 - ls) + ls / classes. Defaults to 0.0.
        axis: The class axis. Defaults to -1.

    Returns:
        (loss, grad), as sparse_categorical_crossentropy_with_grad.
    """
    return _dense(_core.categorical_xent, target, output, from_logits, axis, label_smoothing,
                  sample_weight, grad_scale, True)


def binary_crossentropy_with_grad(target, output, from_logits=False, sample_weight=None,
                                  grad_scale=1.0, label_smoothing=0.0):
    """Per-sample binary cross-entropy (mean over the last axis) and its gradient, fused.

    Args:
        target: Targets in [0, 1], of output's shape.
        output: Probabilities or logits.
        from_logits: Whether output holds logits. Defaults to False.
        sample_weight: Optional weights broadcastable to the per-sample loss. Defaults to None.
        grad_scale: Factor on the gradient. Defaults to 1.0.
        label_smoothing: Keras's smoothing, target * (1 - ls) + ls / 2. Defaults to 0.0.

    Returns:
        (loss, grad), as sparse_categorical_crossentropy_with_grad.
    """
    return _dense(_core.binary_xent, target, output, from_logits, -1, label_smoothing,
                  sample_weight, grad_scale, True)
