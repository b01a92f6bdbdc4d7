"""Activation layers: ReLU, LeakyReLU, ELU, ThresholdedReLU, Softmax and PReLU."""
import functools

import numpy as np

from fastnn import _core, activations, constraints, initializers, regularizers
from fastnn.layers.base import Layer
from fastnn.layers.core import Activation

__all__ = ["ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "Softmax", "PReLU"]


def _real(value, name, low=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, received {value!r}")
    value = float(value)
    if low is not None and value < low:
        raise ValueError(f"{name}: expected a number >= {low}, received {value}")
    return value


class _ParamActivation(Activation):
    """An Activation whose function is fixed by the layer's own arguments."""

    def __init__(self, fn, params, **kwargs):
        self._params = params
        super().__init__(functools.partial(fn, **params) if params else fn, **kwargs)

    def get_config(self):
        config = Layer.get_config(self)
        config.update(self._params)
        return config


class ReLU(_ParamActivation):
    """Rectified linear unit, with Keras's max_value, negative_slope and threshold.

    Args:
        max_value: upper clip, or None. Defaults to None.
        negative_slope: slope below the threshold. Defaults to 0.0.
        threshold: where the function turns on. Defaults to 0.0.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        if max_value is not None:
            max_value = _real(max_value, "max_value", 0.0)
        params = {"max_value": max_value,
                  "negative_slope": _real(negative_slope, "negative_slope", 0.0),
                  "threshold": _real(threshold, "threshold")}
        super().__init__(activations.relu, params, **kwargs)


class LeakyReLU(_ParamActivation):
    """Leaky ReLU: x for x >= 0, negative_slope * x below.

    Args:
        negative_slope: the slope below zero. Defaults to 0.3 (Keras's layer default).
        alpha: the seed's Keras 2 name for negative_slope. Defaults to None.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        if alpha is not None:
            negative_slope = alpha
        super().__init__(activations.leaky_relu,
                         {"negative_slope": _real(negative_slope, "negative_slope", 0.0)},
                         **kwargs)


class ELU(_ParamActivation):
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) below.

    Args:
        alpha: the scale of the negative part. Defaults to 1.0.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(activations.elu, {"alpha": _real(alpha, "alpha")}, **kwargs)


class ThresholdedReLU(_ParamActivation):
    """x where x > theta, 0 elsewhere.

    Args:
        theta: the threshold, >= 0. Defaults to 1.0.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, theta=1.0, **kwargs):
        theta = _real(theta, "theta", 0.0)
        super().__init__(activations.relu, {"threshold": theta}, **kwargs)
        self._params = {"theta": theta}


class Softmax(_ParamActivation):
    """Softmax along an axis.

    Args:
        axis: the axis to normalise. Defaults to -1.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis: expected an int, received {axis!r}")
        super().__init__(activations.softmax, {"axis": int(axis)}, **kwargs)


class PReLU(Layer):
    """Parametric ReLU: x for x >= 0, alpha * x below, with alpha learned per feature.

    Args:
        alpha_initializer: initializer of alpha. Defaults to "zeros".
        alpha_regularizer: regularizer of alpha. Defaults to None.
        alpha_constraint: constraint on alpha. Defaults to None.
        shared_axes: axes (1-based, excluding the batch axis) along which alpha is shared.
            Defaults to None.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer) if alpha_regularizer else None
        self.alpha_constraint = constraints.get(alpha_constraint) if alpha_constraint else None
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, (int, np.integer)) else shared_axes
            if isinstance(axes, (str, bytes)) or not isinstance(axes, (list, tuple)) or any(
                    isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
                raise TypeError(f"shared_axes: expected an int or a list of ints, received "
                                f"{shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]
        self.alpha = None

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for ax in self.shared_axes or []:
            if not 1 <= ax < len(input_shape):
                raise ValueError(f"shared_axes: axis {ax} is out of range for input of rank "
                                 f"{len(input_shape)}")
            param_shape[ax - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(f"PReLU '{self.name}' needs known feature dimensions, received "
                             f"input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(shape=tuple(param_shape), initializer=self.alpha_initializer,
                                     name="alpha", regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.built = True

    def _forward(self, x, ws, training, fuse=False):
        feat = x.shape[1:]
        alpha_full = ws.array("alpha", feat)  # alpha over every feature, in a kept buffer
        np.copyto(alpha_full, np.broadcast_to(self.alpha.value, feat))
        f = alpha_full.size
        x2 = x.reshape(-1, f)
        y = ws.array("y", x2.shape)
        _core.prelu_forward(x2, alpha_full.reshape(f), y)
        if training:
            ws.x2, ws.alpha_full, ws.in_shape = x2, alpha_full.reshape(f), x.shape
        return y.reshape(x.shape)

    def _backward(self, dy, ws, need_dx):
        dy2 = np.ascontiguousarray(dy).reshape(ws.x2.shape)
        dx = ws.array("dx", ws.x2.shape) if need_dx else None
        dalpha_full = ws.array("dalpha", ws.alpha_full.shape)
        _core.prelu_backward(ws.x2, ws.alpha_full, dy2, dx, dalpha_full)
        if self.alpha.trainable:
            grad = ws.grad_arrays(self.trainable_weights)[0]
            full = dalpha_full.reshape(ws.in_shape[1:])
            axes = tuple(i for i, d in enumerate(self.alpha.shape) if d == 1 and full.shape[i] != 1)
            np.copyto(grad, full.sum(axis=axes, keepdims=True) if axes else full)
        return None if dx is None else dx.reshape(ws.in_shape)

    def call(self, inputs, training=False):
        return self._call_kernels(inputs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": None if self.alpha_regularizer is None else
            regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": None if self.alpha_constraint is None else
            constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
