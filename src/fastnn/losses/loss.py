"""keras.losses.Loss: the base class, Keras 3's reductions, and the training hook.

A loss maps (y_true, y_pred) to one value per sample (``call``), then reduces them with
sample weights (``__call__``). The training engine calls ``forward_backward``, which also
returns d(reduced loss)/d(y_pred). Built-in losses run it as one fused C call; a user's
subclass gets it from its ``gradient`` method, or from central differences.
"""
import numpy as np

from fastnn import backend
from fastnn.ops._convert import as_float

__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "REDUCTIONS",
    "reduce_weighted_values",
    "squeeze_or_expand_to_same_rank",
    "standardize_reduction",
]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    """Return reduction once it is one of Keras 3's names (or None), else raise ValueError."""
    if reduction not in REDUCTIONS or isinstance(reduction, bool):
        import difflib

        names = [r for r in REDUCTIONS if r is not None]
        close = difflib.get_close_matches(str(reduction), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"reduction: expected one of {names} or None, received "
                         f"{reduction!r}{hint}")
    return reduction


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Keras's rank fix-up: drop or add a trailing 1 when the ranks differ by one."""
    r1, r2 = np.ndim(x1), np.ndim(x2)
    if r1 == r2 + 1 and np.shape(x1)[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = np.expand_dims(x2, -1)
        else:
            x1 = np.squeeze(x1, -1)
    elif r2 == r1 + 1 and np.shape(x2)[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = np.expand_dims(x1, -1)
        else:
            x2 = np.squeeze(x2, -1)
    return x1, x2


def _divide_no_nan(a, b):
    return 0.0 if b == 0 else a / b


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """Weight per-sample losses and reduce them exactly as Keras 3 does.

    Args:
        values: Per-sample losses (array). Default required.
        sample_weight: None or weights broadcastable after Keras's rank fix-up.
            Defaults to None.
        mask: None or a boolean array of values' shape (entries to keep). Defaults to None.
        reduction: One of Keras's reductions. Defaults to "sum_over_batch_size".

    Returns:
        A float, or the weighted values for "none"/None, a scalar or an empty input.
    """
    reduction = standardize_reduction(reduction)
    values = np.asarray(values)
    dtype = values.dtype if values.dtype.kind == "f" else np.dtype(backend.floatx())
    values = values.astype(dtype, copy=False)
    if mask is not None:
        mask = np.asarray(mask, bool)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = float(mask.sum())
            fmask = np.where(mask, _divide_no_nan(float(mask.size), valid), 0.0).astype(dtype)
        else:
            fmask = mask.astype(dtype)
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype)
            fmask, sw = squeeze_or_expand_to_same_rank(fmask, sw)
            sample_weight = sw * fmask
        else:
            sample_weight = fmask
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype)
        values, sw = squeeze_or_expand_to_same_rank(values, sw)
        try:
            values = values * sw
        except ValueError:
            raise ValueError(f"sample_weight: expected a shape broadcastable to the per-sample "
                             f"loss shape {values.shape}, received {sw.shape}") from None
        sample_weight = sw
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = float(np.sum(values, dtype=np.float64))
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(total, float(np.sum(sample_weight, dtype=np.float64)))
    return _divide_no_nan(total, float(values.size))


class Loss:
    """Base class of losses: per-sample values from ``call``, reduced by ``__call__``.

    Subclass it and implement ``call(y_true, y_pred)`` with NumPy, returning one loss per
    sample (Keras reduces the last axis: y_pred of shape (batch, d) gives (batch,)). Such a
    loss trains like a built-in one. Its gradient comes from, in this order:

    1. ``gradient(y_true, y_pred)``, if the subclass defines it: an array of y_pred's shape
       holding d(sum of the per-sample losses)/d(y_pred), i.e. each sample's derivative
       of its own loss;
    2. otherwise central differences in float64 over every element position of a sample,
       all samples at once (2 calls of ``call`` per element of one sample, so keep outputs
       small). This relies on sample i's loss depending on sample i only.

    Args:
        name: The loss's name. Defaults to None (the snake_case class name).
        reduction: "sum_over_batch_size" (sum of weighted losses over their count; "mean"
            is the same), "sum", "mean_with_sample_weight" (over the sum of the weights),
            or "none"/None (no reduction). Defaults to "sum_over_batch_size".
        dtype: The computation dtype, "float32" or "float64". Defaults to None (float64
            inputs stay float64, anything else becomes backend.floatx()).

    Example:
        >>> class Quartic(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return np.mean((y_pred - y_true) ** 4, axis=-1)
        ...     def gradient(self, y_true, y_pred):
        ...         return 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]
    """

    #: For the cross-entropies, whether y_pred holds logits; None where meaningless.
    from_logits = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        from fastnn._registry import to_snake_case

        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a str or None, received {type(name).__name__}")
        if name is None:  # Keras's auto_name: 'my_loss', then 'my_loss_1', ...
            name = to_snake_case(type(self).__name__)
            uid = backend.get_uid(name)
            name = name if uid == 1 else f"{name}_{uid - 1}"
        self.name = name
        self.reduction = standardize_reduction(reduction)
        if dtype is not None:
            dtype = np.dtype(dtype).name
            if dtype not in ("float32", "float64"):
                raise ValueError(f"dtype: expected 'float32' or 'float64', received {dtype!r}")
        self._dtype = dtype

    @property
    def dtype(self):
        """The computation dtype's name (backend.floatx() when none was given)."""
        return self._dtype or backend.floatx()

    # ---- the Keras API ---------------------------------------------------------------------

    def call(self, y_true, y_pred):
        """Return the per-sample losses. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _convert(self, y_true, y_pred):
        p = as_float(y_pred, "y_pred", self._dtype)
        t = as_float(y_true, "y_true", p.dtype)
        return t, p

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Return the reduced loss (a float, or an array for reduction "none")."""
        t, p = self._convert(y_true, y_pred)
        values = np.asarray(self.call(t, p))
        return reduce_weighted_values(values, sample_weight, None, self.reduction)

    def get_config(self):
        """Return the constructor arguments as a dict."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """Build a loss from get_config's dict."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    # ---- the engine's hooks ----------------------------------------------------------------

    def logits_variant(self):
        """Return the loss computing the same value from logits, or None (see subclasses)."""
        return None

    def forward_backward(self, y_true, y_pred, sample_weight, grad_out):
        """Return the reduced loss and write d(reduced loss)/d(y_pred) into grad_out.

        Reduction "none"/None is treated as "sum" here (the gradient of a vector loss is
        that of its sum). sample_weight is None or one weight per sample (batch,).

        Args:
            y_true: Targets, converted once by the engine. Default required.
            y_pred: Predictions, a float array. Default required.
            sample_weight: None or (batch,) weights. Default required.
            grad_out: A C-contiguous array of y_pred's shape and dtype. Default required.
        """
        p = np.asarray(y_pred)
        values = np.asarray(self.call(y_true, p), np.float64)
        grad = self._sample_gradient(y_true, p, values)
        w = _per_value_weights(values.shape, sample_weight, p.shape[0] if p.ndim else 1)
        weighted = values * w
        total = float(weighted.sum())
        red = self.reduction
        if red in ("sum", "none", None):
            div = 1.0
        elif red == "mean_with_sample_weight" and sample_weight is not None:
            div = float(np.broadcast_to(w, values.shape).sum())
        else:
            div = float(max(values.size, 1)) if values.ndim else 1.0
        scale = 0.0 if div == 0 else 1.0 / div
        wg = np.broadcast_to(w, values.shape).reshape(values.shape + (1,) * (p.ndim - values.ndim))
        np.multiply(grad, wg * scale, out=grad)
        grad_out[...] = grad
        return total * scale

    def _sample_gradient(self, y_true, p, values):
        custom = getattr(self, "gradient", None)
        if custom is not None:
            g = np.array(custom(y_true, p), dtype=np.float64)
            if g.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.gradient: expected shape {p.shape} "
                                 f"(the shape of y_pred), received {g.shape}")
            return g
        return numerical_gradient(self.call, y_true, p, values.ndim)


def _per_value_weights(shape, sample_weight, batch):
    if sample_weight is None:
        return np.ones((), np.float64)
    w = np.asarray(sample_weight, np.float64).reshape(-1)
    if w.shape[0] != batch:
        raise ValueError(f"sample_weight: expected {batch} weights (one per sample), "
                         f"received shape {np.shape(sample_weight)}")
    return w.reshape((batch,) + (1,) * (len(shape) - 1)) if len(shape) else w.sum()


def numerical_gradient(fn, y_true, y_pred, loss_ndim):
    """Central-difference gradient of sum(fn(y_true, y_pred)) over y_pred, in float64.

    All samples are perturbed at once at each element position, which is valid when each
    sample's loss depends on that sample only.
    """
    p = np.array(y_pred, dtype=np.float64)
    t = y_true if np.asarray(y_true).dtype.kind in "iub" else np.asarray(y_true, np.float64)
    if p.ndim == 0:
        raise ValueError("y_pred: expected at least one dimension, received a scalar")
    grad = np.empty_like(p)
    flat = p.reshape(p.shape[0], -1)
    gflat = grad.reshape(p.shape[0], -1)
    for j in range(flat.shape[1]):
        col = flat[:, j].copy()
        h = 6e-6 * np.maximum(1.0, np.abs(col))
        flat[:, j] = col + h
        up = np.asarray(fn(t, flat.reshape(p.shape)), np.float64)
        flat[:, j] = col - h
        down = np.asarray(fn(t, flat.reshape(p.shape)), np.float64)
        flat[:, j] = col
        diff = up - down
        if diff.ndim > 1:
            diff = diff.reshape(diff.shape[0], -1).sum(axis=1)
        elif diff.ndim == 0:
            diff = np.full(p.shape[0], float(diff))
        gflat[:, j] = diff / (2.0 * h)
    return grad


class LossFunctionWrapper(Loss):
    """A Loss around a function fn(y_true, y_pred, **kwargs) -> per-sample losses.

    Args:
        fn: The function. Default required.
        reduction: As Loss. Defaults to "sum_over_batch_size".
        name: Defaults to None (fn's name).
        dtype: As Loss. Defaults to None.
        **kwargs: Passed to fn on every call.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, received {type(fn).__name__}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        t, p = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(t, p, **self._fn_kwargs)

    def get_config(self):
        from fastnn import losses

        config = super().get_config()
        config["fn"] = losses.serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        from fastnn import losses

        config = dict(config)
        if isinstance(config.get("fn"), (str, dict)):
            config["fn"] = losses.deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"
