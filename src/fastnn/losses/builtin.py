"""The built-in Keras losses: each is a parameter set for one fused C kernel.

``KernelLoss.call`` returns per-sample losses from the kernel; ``forward_backward`` gets the
reduced loss and its gradient from one kernel call with no NumPy temporaries when the
arrays arrive as the engine prepares them (C-contiguous, y_pred's dtype, int64 labels).
"""
import numpy as np

from fastnn import _core, backend
from fastnn.losses.loss import Loss, reduce_weighted_values, squeeze_or_expand_to_same_rank
from fastnn.ops._convert import as_float

__all__ = ["KernelLoss"]

_RED = {"none": 0, None: 0, "sum": 1, "sum_over_batch_size": 2, "mean": 2,
        "mean_with_sample_weight": 3}
_I64 = np.dtype(np.int64)


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis: expected an int, received {type(axis).__name__}")
    return int(axis)


def _labels(y_true, batch_shape):
    t = np.asarray(y_true)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"y_true: expected integer class labels, received dtype {t.dtype}")
    if t.ndim == len(batch_shape) + 1 and t.ndim > 0 and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != tuple(batch_shape):
        raise ValueError(f"y_true: expected shape {tuple(batch_shape)} (y_pred's shape without "
                         f"the class axis), received {np.shape(y_true)}")
    if t.dtype.kind == "f" and (not np.all(np.isfinite(t)) or np.any(t != np.trunc(t))):
        raise ValueError("y_true: expected integer class labels, received non-integer values")
    return np.ascontiguousarray(t, dtype=np.int64).reshape(-1)


class KernelLoss(Loss):
    """A built-in loss computed by the C kernel `_kind` (see fastnn._core.LOSS_KINDS).

    Subclasses set `_kind` and pass their parameters to `_setup`.
    """

    _kind = None
    _sparse = False
    _axis_param = False  # the class axis can be moved (categorical and binary losses)
    logits_activation = None

    def _setup(self, **params):
        self._params = params
        self._spec_cache = None

    def _spec(self):
        eps = float(backend.epsilon())
        cache = self._spec_cache
        if cache is None or cache[0] != eps:
            spec = _core.LossSpec(self._kind, eps, **self._params)
            cache = self._spec_cache = (eps, spec)
        return cache[1]

    # ---- argument preparation (the user-facing path) -----------------------------------------

    def _prepare(self, y_true, y_pred):
        """(t2 or labels, p2, batch_shape, axis_moved) with p2 a C-contiguous 2-D array."""
        p = as_float(y_pred, "y_pred", self._dtype)
        if p.ndim == 0:
            raise ValueError("y_pred: expected an array with at least one dimension, "
                             "received a scalar")
        axis = getattr(self, "axis", -1)
        if not -p.ndim <= axis < p.ndim:
            raise ValueError(f"axis: expected an axis in [{-p.ndim}, {p.ndim}), received {axis}")
        moved = axis % p.ndim != p.ndim - 1
        if self._sparse:
            if moved:
                p = np.moveaxis(p, axis, -1)
            p = np.ascontiguousarray(p)
            labels = _labels(y_true, p.shape[:-1])
            return labels, p.reshape(-1, p.shape[-1]), p.shape[:-1], moved
        t = as_float(y_true, "y_true", p.dtype)
        if not moved:
            t, p = squeeze_or_expand_to_same_rank(t, p)
        if t.shape != p.shape:
            raise ValueError(f"y_true: expected shape {p.shape} (the shape of y_pred), "
                             f"received {t.shape}")
        if moved:
            p, t = np.moveaxis(p, axis, -1), np.moveaxis(t, axis, -1)
        p, t = np.ascontiguousarray(p), np.ascontiguousarray(t)
        if p.shape[-1] == 0:
            raise ValueError(f"y_pred: expected a non-empty last dimension, received shape "
                             f"{p.shape}")
        return t.reshape(-1, p.shape[-1]), p.reshape(-1, p.shape[-1]), p.shape[:-1], moved

    def _per_sample(self, y_true, y_pred):
        t2, p2, batch_shape, _ = self._prepare(y_true, y_pred)
        out = np.empty(p2.shape[0], p2.dtype)
        if self._sparse:
            _core.loss_reduce(self._spec(), p2, None, t2, None, 1, 0, out, None)
        else:
            _core.loss_reduce(self._spec(), p2, t2, None, None, 1, 0, out, None)
        return out.reshape(batch_shape)

    def _mask(self, y_true, y_pred):
        return None

    def call(self, y_true, y_pred):
        """Return the per-sample losses (y_pred's shape without its class axis)."""
        return self._per_sample(y_true, y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Return the loss reduced with sample_weight as Keras 3 does."""
        values = self._per_sample(y_true, y_pred)
        return reduce_weighted_values(values, sample_weight, self._mask(y_true, values),
                                      self.reduction)

    def gradient(self, y_true, y_pred):
        """Return d(sum of the per-sample losses)/d(y_pred), from the kernel."""
        t2, p2, batch_shape, moved = self._prepare(y_true, y_pred)
        g = np.empty_like(p2)
        labels = t2 if self._sparse else None
        _core.loss_reduce(self._spec(), p2, None if self._sparse else t2, labels, None, 1, 1,
                          None, g)
        g = g.reshape(batch_shape + (p2.shape[1],))
        if moved:
            g = np.moveaxis(g, -1, getattr(self, "axis", -1))
        return g

    # ---- the engine's hook ------------------------------------------------------------------

    def forward_backward(self, y_true, y_pred, sample_weight, grad_out):
        """Return the reduced loss and write its gradient into grad_out, in one C call.

        y_pred is (batch, ..., classes), C-contiguous; y_true has y_pred's shape and dtype
        (int64 labels of shape (batch, ...) or (batch, ..., 1) for the sparse cross-entropy);
        sample_weight is None or (batch,) in y_pred's dtype, applied to every per-sample value
        of its sample. Reduction "none" is treated as "sum". A class axis other than the
        last takes a slower path through copies.
        """
        if (getattr(self, "axis", -1) % max(y_pred.ndim, 1) != y_pred.ndim - 1
                or y_pred.ndim < 2):
            return Loss.forward_backward(self, y_true, y_pred, sample_weight, grad_out)
        red = _RED[self.reduction] or 1
        if not self._sparse and y_true.shape != y_pred.shape:
            if y_true.size != y_pred.size:
                raise ValueError(f"y: expected targets of shape {y_pred.shape} (the model's "
                                 f"output), received {y_true.shape}")
            # Keras squeezes or expands a trailing axis of 1: (n,) targets for (n, 1) outputs
            y_true = y_true.reshape(y_pred.shape)
        if y_pred.ndim == 2:  # the common case: no reshapes
            p2, g2, rpw, t2 = y_pred, grad_out, 1, y_true
        else:
            cols = y_pred.shape[-1]
            p2 = y_pred.reshape(-1, cols)
            rows = p2.shape[0]
            batch = y_pred.shape[0]
            rpw = rows // batch if batch else 1
            g2 = grad_out.reshape(rows, cols)
            t2 = y_true if self._sparse else y_true.reshape(rows, cols)
        if self._sparse:
            labels = t2.reshape(-1) if t2.dtype == _I64 else _labels(t2, y_pred.shape[:-1])
            return _core.loss_reduce(self._spec(), p2, None, labels, sample_weight, rpw, red,
                                     None, g2)
        return _core.loss_reduce(self._spec(), p2, t2, None, sample_weight, rpw, red, None, g2)

    def logits_variant(self):
        """The same loss computed from logits, for a model whose output activation is
        `logits_activation` (Keras 3 takes the logits from its softmax/sigmoid output); None
        when from_logits is already True or the loss has no such form."""
        if self.logits_activation is None or self.from_logits:
            return None
        config = self.get_config()
        config["from_logits"] = True
        return type(self).from_config(config)
