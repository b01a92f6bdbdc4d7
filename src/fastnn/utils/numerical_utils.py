"""keras.utils.to_categorical and keras.utils.normalize, on NumPy arrays."""
import numbers

import numpy as np

__all__ = ["to_categorical", "normalize"]


def _integral_labels(y):
    """y as an int64 array, or a ValueError when a label is not a whole number."""
    arr = np.asarray(y)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"y: expected integer class labels, received an array of dtype "
                        f"{arr.dtype}")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.trunc(arr))
        if bad.any():
            raise ValueError(f"y: expected integer class labels, received "
                             f"{arr[bad].flat[0]!r}")
    return arr.astype(np.int64)


def to_categorical(y, num_classes=None, dtype="float32"):
    """Turn a vector of class indices into a one-hot matrix, as keras.utils.to_categorical.

    A trailing axis of size 1 is dropped first, so labels of shape (n, 1) give (n,
    num_classes), as in Keras; the class axis is always last.

    Args:
        y: Class indices in [0, num_classes), any shape (lists too). Default required.
        num_classes: The number of classes. Defaults to None (``max(y) + 1``).
        dtype: The dtype of the result. Defaults to 'float32' (Keras 2's default; Keras 3
            dropped the argument and returns float64 with the same values).

    Returns:
        A NumPy array of shape ``y.shape + (num_classes,)`` (trailing 1 removed).

    Example:
        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    labels = _integral_labels(y)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if num_classes is None:
        if flat.size == 0:
            raise ValueError("num_classes: cannot infer the number of classes from an empty "
                             "y; pass num_classes")
        num_classes = int(flat.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes: expected a positive int or None, received "
                        f"{num_classes!r}")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes: expected a positive int, received {num_classes}")
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        bad = flat[(flat < 0) | (flat >= num_classes)][0]
        raise ValueError(f"y: expected class indices in [0, {num_classes}), received {bad}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype, received {dtype!r}") from None
    out = np.zeros((flat.size, num_classes), dtype=dtype)
    out[np.arange(flat.size), flat] = 1
    return out.reshape(tuple(shape) + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale x to unit norm along an axis, as keras.utils.normalize does for NumPy input.

    Vectors whose norm is zero are left as they are (Keras divides them by 1).

    Args:
        x: The array (lists too). Default required.
        axis: The axis along which each vector lies. Defaults to -1.
        order: The norm's order, as numpy.linalg.norm's ord (2: Euclidean, 1, np.inf...).
            Defaults to 2.

    Returns:
        A new array of x's shape.

    Example:
        >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [0. , 0. ]])
    """
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(f"x: expected a numeric array, received dtype {arr.dtype}")
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis: expected an int, received {axis!r}")
    if arr.ndim == 0:
        raise ValueError("x: expected an array of rank >= 1, received a scalar")
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis: expected an int in [{-arr.ndim}, {arr.ndim}) for x of "
                         f"shape {arr.shape}, received {axis}")
    if isinstance(order, bool) or not isinstance(order, numbers.Real):
        raise TypeError(f"order: expected a number (e.g. 1, 2 or np.inf), received {order!r}")
    norm = np.atleast_1d(np.linalg.norm(arr, order, int(axis)))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, int(axis))
