"""Input conversion and output checks shared by every fastnn.ops module."""
import numpy as np

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def as_float(x, name, dtype=None):
    """x as a C-contiguous float32 or float64 array, or a TypeError naming `name`.

    A float64 NumPy array stays float64; anything else (ints, lists, float16) becomes
    float32, Keras's floatx. dtype forces the result's dtype. 0-d inputs stay 0-d.
    """
    if type(x) is np.ndarray and x.flags.c_contiguous and x.flags.aligned and (
            x.dtype == dtype if dtype is not None else (x.dtype == _F32 or x.dtype == _F64)):
        return x  # already what the kernels take: no conversion, no copy
    if x is None:
        raise TypeError(f"{name}: expected an array-like of numbers, received None")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name}: expected an array-like of numbers, received "
                        f"{type(x).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, received dtype {arr.dtype}")
    if dtype is None:
        keep64 = isinstance(x, (np.ndarray, np.generic)) and arr.dtype == _F64
        dtype = _F64 if keep64 else _F32
    out = np.asarray(arr, dtype=dtype, order="C")
    return out if out.flags.aligned else out.copy()  # (np.frombuffer at an odd offset)


def check_out(out, shape, dtype, name="out"):
    """Return out once it is a writable C-contiguous ndarray of this shape and dtype."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, received {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, received {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, received {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: expected a writable array, received a read-only one")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    if not out.flags.aligned:
        raise ValueError(f"{name}: expected an aligned array (an output view at an odd "
                         f"byte offset cannot be written by the kernels)")
    return out
