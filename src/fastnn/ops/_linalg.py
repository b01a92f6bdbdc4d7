"""Matrix products and the fused dense layer, as NumPy-in, NumPy-out functions."""
import numpy as np

from fastnn import _core
from fastnn.ops._convert import as_float as _as_float, check_out as _check_out
from fastnn.ops._spec import make_spec

__all__ = ["matmul", "gemm", "dense", "dense_backward", "pack_weights"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _result_dtype(*arrays):
    return np.result_type(*[a.dtype for a in arrays])


_SPECS = {}  # activation name -> spec, for names given without parameters


def _spec(activation, params):
    if activation is None:
        return None
    if isinstance(activation, tuple):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation: expected None or an activation name, received "
                        f"{type(activation).__name__}")
    if params:
        return make_spec(activation, **params)
    spec = _SPECS.get(activation)
    if spec is None and activation not in _SPECS:
        spec = _SPECS[activation] = make_spec(activation)
    return spec


def gemm(a, b, c=None, alpha=1.0, beta=0.0, transpose_a=False, transpose_b=False):
    """Return alpha * op(a) @ op(b) + beta * c, computed by fastnn's GEMM.

    Args:
        a: 2-D array; op(a) is a, or its transpose when transpose_a. Default required.
        b: 2-D array, likewise. Default required.
        c: 2-D output array updated in place, or None for a new one. Defaults to None.
        alpha: scale of the product. Defaults to 1.0.
        beta: scale of c; 0 never reads c. Defaults to 0.0.
        transpose_a: use a's transpose. Defaults to False.
        transpose_b: use b's transpose. Defaults to False.
    """
    a = _as_float(a, "a")
    b = _as_float(b, "b")
    dt = _result_dtype(a, b) if c is None else c.dtype if isinstance(c, np.ndarray) else None
    if dt not in _FLOATS:
        raise TypeError(f"c: expected dtype float32 or float64, received {dt}")
    a, b = a.astype(dt, copy=False), b.astype(dt, copy=False)
    if a.ndim != 2:
        raise ValueError(f"a: expected a 2-D array, received shape {a.shape}")
    if b.ndim != 2:
        raise ValueError(f"b: expected a 2-D array, received shape {b.shape}")
    if c is None:
        m = a.shape[1] if transpose_a else a.shape[0]
        n = b.shape[0] if transpose_b else b.shape[1]
        c = np.empty((m, n), dt)
        beta = 0.0
    _core.gemm(a, b, c, float(alpha), float(beta), bool(transpose_a), bool(transpose_b))
    return c


def matmul(x1, x2, out=None):
    """Matrix product of two arrays, as keras.ops.matmul and numpy.matmul define it.

    1-D operands are promoted to matrices and the added axis removed afterwards; operands
    with more than two axes are batches of matrices that broadcast against each other.

    Args:
        x1: first operand. Default required.
        x2: second operand. Default required.
        out: optional output array of the result's shape and dtype. Defaults to None.
    """
    a = _as_float(x1, "x1")
    b = _as_float(x2, "x2")
    dt = _result_dtype(a, b)
    a, b = a.astype(dt, copy=False), b.astype(dt, copy=False)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"x1, x2: matmul needs arrays of at least 1 dimension, received "
                         f"shapes {a.shape} and {b.shape}")
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = a[None, :]
    if vb:
        b = b[:, None]
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"x2: expected {a.shape[-1]} rows to match x1's last dimension, "
                         f"received shape {x2.shape if hasattr(x2, 'shape') else b.shape}")
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    # (reshapes spell out every size: -1 is ambiguous when another dimension is 0)
    if b.ndim == 2:
        # (..., m, k) @ (k, n): one GEMM over all leading rows.
        lead = a.shape[:-2]
        rows = int(np.prod(lead, dtype=np.int64)) * m
        res = np.empty(lead + (m, n), dt)
        _core.gemm(a.reshape(rows, k), b, res.reshape(rows, n))
    else:
        lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        batch = int(np.prod(lead, dtype=np.int64))
        aa = np.ascontiguousarray(np.broadcast_to(a, lead + (m, k))).reshape(batch, m, k)
        bb = np.ascontiguousarray(np.broadcast_to(b, lead + (k, n))).reshape(batch, k, n)
        res = np.empty(lead + (m, n), dt)
        flat = res.reshape(batch, m, n)
        for i in range(flat.shape[0]):  # one GEMM per matrix of the batch
            _core.gemm(aa[i], bb[i], flat[i])
    if va:
        res = res[..., 0, :]
    if vb:
        res = res[..., 0]
    if out is not None:
        _check_out(out, res.shape, res.dtype)
        out[...] = res
        return out
    return res


def pack_weights(w):
    """Return w (k x n) packed for the current GEMM kernel, for dense(..., w_packed=)."""
    w = _as_float(w, "w")
    if w.ndim != 2:
        raise ValueError(f"w: expected a 2-D array, received shape {w.shape}")
    out = np.empty(_core.packed_size(w.shape[0], w.shape[1], w.dtype), w.dtype)
    return _core.pack_weights(w, out)


def dense(x, w, b=None, activation=None, out=None, return_pre_activation=False,
          w_packed=None, **activation_params):
    """Return activation(x @ w + b), with bias and activation fused into the product.

    Args:
        x: input of shape (..., k). Default required.
        w: kernel of shape (k, n). Default required.
        b: bias of shape (n,), or None. Defaults to None.
        activation: an activation name ('relu', 'sigmoid', ...) or None for linear.
            Defaults to None.
        out: optional output array of shape (..., n). Defaults to None.
        return_pre_activation: also return z = x @ w + b. Defaults to False.
        w_packed: w packed by pack_weights, to skip packing on every call. Defaults to None.
        **activation_params: alpha, max_value, threshold for the activation.

    Example:
        >>> y = fastnn.ops.dense(x, w, b, activation="relu")
    """
    x = _as_float(x, "x")
    dt = x.dtype
    w = _as_float(w, "w", dt)
    if w.ndim != 2:
        raise ValueError(f"w: expected a 2-D array, received shape {w.shape}")
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(f"x: expected last dimension {w.shape[0]} (w has shape {w.shape}), "
                         f"received shape {x.shape}")
    if b is not None:
        b = _as_float(b, "b", dt)
    spec = _spec(activation, activation_params)
    n = w.shape[1]
    if x.ndim == 2:  # the common case: no reshapes
        shape = (x.shape[0], n)
        x2 = x
    else:
        shape = x.shape[:-1] + (n,)
        rows = int(np.prod(x.shape[:-1], dtype=np.int64))
        x2 = x.reshape(rows, w.shape[0])
    if out is None:
        y = np.empty(shape, dt)
    elif (type(out) is np.ndarray and out.shape == shape and out.dtype == dt
          and out.flags.c_contiguous and out.flags.aligned and out.flags.writeable):
        y = out
    else:
        y = _check_out(out, shape, dt)
    z = np.empty(shape, dt) if return_pre_activation else None
    if x.ndim == 2:
        _core.dense_forward(x2, w, b, spec, y, z, w_packed)
    else:
        _core.dense_forward(x2, w, b, spec, y.reshape(rows, n),
                            None if z is None else z.reshape(rows, n), w_packed)
    return (y, z) if return_pre_activation else y


def dense_backward(x, w, dy, activation=None, y=None, z=None, compute_dx=True,
                   use_bias=True, **activation_params):
    """Return (dx, dw, db): the gradients of activation(x @ w + b) given dy.

    Args:
        x: the layer's input, shape (m, k). Default required.
        w: the kernel, shape (k, n). Default required.
        dy: gradient of the loss with respect to the output, shape (m, n). Default required.
        activation: the activation name, or None for linear. Defaults to None.
        y: the forward output (enough for relu, sigmoid, tanh, ...). Defaults to None.
        z: the pre-activation (needed by swish, gelu, softplus, ...). Defaults to None.
        compute_dx: False skips dx (the first layer). Defaults to True.
        use_bias: False skips db. Defaults to True.
        **activation_params: alpha, max_value, threshold for the activation.
    """
    x = _as_float(x, "x")
    dt = x.dtype
    w = _as_float(w, "w", dt)
    dy = _as_float(dy, "dy", dt)
    if x.ndim != 2:
        raise ValueError(f"x: expected a 2-D array, received shape {x.shape}")
    if w.ndim != 2:
        raise ValueError(f"w: expected a 2-D array, received shape {w.shape}")
    y = None if y is None else _as_float(y, "y", dt)
    z = None if z is None else _as_float(z, "z", dt)
    spec = _spec(activation, activation_params)
    m, k = x.shape
    n = w.shape[1]
    dz = np.empty((m, n), dt)
    dw = np.empty((k, n), dt)
    db = np.empty((n,), dt) if use_bias else None
    dx = np.empty((m, k), dt) if compute_dx else None
    _core.dense_backward(x, w, z, y, dy, spec, dz, dw, db, dx)
    return dx, dw, db
