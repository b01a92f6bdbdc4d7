"""Element-wise activations and their derivatives, as NumPy-in, NumPy-out functions.

Names and defaults follow keras.ops (relu, leaky_relu, gelu(approximate=True), ...); the
extra keyword arguments of keras.activations.relu are accepted as keywords.
"""
import numpy as np

from fastnn import _core
from fastnn.ops._convert import as_float as _as_float, check_out
from fastnn.ops._spec import activation_spec

__all__ = [
    "activation",
    "activation_backward",
    "activation_needs_input",
    "elu",
    "exponential",
    "gelu",
    "hard_sigmoid",
    "leaky_relu",
    "linear",
    "prelu",
    "prelu_backward",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softplus",
    "softsign",
    "step",
    "swish",
    "tanh",
    "thresholded_relu",
]

def _out(out, like, name="out"):
    """A fresh output shaped like `like`, or the caller's array once it is known to fit."""
    if out is None:
        return np.empty_like(like)
    return check_out(out, like.shape, like.dtype, name)


def _apply(x, spec, out):
    x = _as_float(x, "x")
    return _core.act_forward(x, spec, _out(out, x))


def activation(x, name, out=None, **params):
    """Apply the activation `name` element-wise and return the result.

    Args:
        x: Input array-like of any shape; float64 stays float64, other numbers become
            float32. Default required.
        name: An activation name as in keras.activations ('relu', 'gelu', 'silu', ...) or a
            spec tuple. Default required.
        out: Optional output array of x's shape and dtype; may be x itself. Defaults to None.
        **params: The activation's Keras keyword arguments, e.g. negative_slope=0.1.

    Returns:
        The activated array (out when given).

    Example:
        >>> activation([-1.0, 2.0], "relu", max_value=1.0)
        array([0., 1.], dtype=float32)
    """
    return _apply(x, activation_spec(name, **params), out)


def activation_needs_input(name, **params):
    """Return whether the derivative of an activation needs its input x, not only y.

    Args:
        name: An activation name or a spec tuple. Default required.
        **params: The activation's Keras keyword arguments.
    """
    spec = activation_spec(name, **params)
    return _core.act_needs_input(spec)


def activation_backward(name, x=None, y=None, dy=None, out=None, **params):
    """Return dy times the derivative of the activation, element-wise.

    The derivative comes from the output y where the math allows (relu, sigmoid, tanh,
    elu, ...); swish, gelu, softsign and thresholded_relu need the input x (see
    activation_needs_input). Either one is enough for the others.

    Args:
        name: An activation name or a spec tuple. Default required.
        x: The activation's input. Defaults to None.
        y: The activation's output. Defaults to None.
        dy: The gradient with respect to the output; sets the dtype. Default required.
        out: Optional output array of dy's shape and dtype; may be dy itself.
            Defaults to None.
        **params: The activation's Keras keyword arguments.
    """
    spec = activation_spec(name, **params)
    dy = _as_float(dy, "dy")
    x = None if x is None else _as_float(x, "x", dy.dtype)
    y = None if y is None else _as_float(y, "y", dy.dtype)
    return _core.act_backward(spec, x, y, dy, _out(out, dy))


def linear(x, out=None):
    """Return x unchanged (as a float array), Keras's linear activation.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, None, out)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, out=None):
    """Apply the rectified linear unit, with Keras's optional slope, clip and threshold.

    Values above `threshold` pass (clipped to `max_value`); below it the result is
    ``-negative_slope * (threshold - x)``, as in keras.activations.relu.

    Args:
        x: Input array-like. Default required.
        negative_slope: Slope below the threshold. Defaults to 0.0.
        max_value: Upper clip, None for none. Defaults to None.
        threshold: Values at or below it are damped. Defaults to 0.0.
        out: Optional output array. Defaults to None.

    Example:
        >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], negative_slope=0.5)
        array([-5. , -2.5,  0. ,  5. , 10. ], dtype=float32)
    """
    spec = activation_spec("relu", negative_slope=negative_slope, max_value=max_value,
                           threshold=threshold)
    return _apply(x, spec, out)


def relu6(x, out=None):
    """Apply relu clipped at 6.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("relu6"), out)


def leaky_relu(x, negative_slope=0.2, out=None):
    """Apply leaky relu: x where x > 0, else negative_slope * x.

    Args:
        x: Input array-like. Default required.
        negative_slope: Slope for x <= 0. Defaults to 0.2.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("leaky_relu", negative_slope=negative_slope), out)


def elu(x, alpha=1.0, out=None):
    """Apply the exponential linear unit: x where x > 0, else alpha * (exp(x) - 1).

    Args:
        x: Input array-like. Default required.
        alpha: Scale of the negative part. Defaults to 1.0.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("elu", alpha=alpha), out)


def selu(x, out=None):
    """Apply the scaled exponential linear unit with Keras's constants.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("selu"), out)


def softplus(x, out=None):
    """Apply softplus, log(1 + exp(x)), without overflow for large x.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("softplus"), out)


def softsign(x, out=None):
    """Apply softsign, x / (1 + |x|).

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("softsign"), out)


def tanh(x, out=None):
    """Apply the hyperbolic tangent.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("tanh"), out)


def sigmoid(x, out=None):
    """Apply the logistic sigmoid, 1 / (1 + exp(-x)), stable for large |x|.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("sigmoid"), out)


def hard_sigmoid(x, out=None):
    """Apply Keras 3's hard sigmoid, relu6(x + 3) / 6.

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("hard_sigmoid"), out)


def exponential(x, out=None):
    """Apply the exponential activation, exp(x).

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("exponential"), out)


def silu(x, out=None):
    """Apply SiLU (swish), x * sigmoid(x).

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("silu"), out)


def swish(x, out=None):
    """Apply swish (SiLU), x * sigmoid(x).

    Args:
        x: Input array-like. Default required.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("swish"), out)


def gelu(x, approximate=True, out=None):
    """Apply the Gaussian error linear unit, by default with keras.ops's tanh approximation.

    Exact: 0.5 x (1 + erf(x / sqrt(2))). Approximate:
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).

    Args:
        x: Input array-like. Default required.
        approximate: Use the tanh approximation. Defaults to True (keras.ops.gelu's
            default; keras.activations.gelu defaults to False).
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("gelu", approximate=bool(approximate)), out)


def thresholded_relu(x, theta=1.0, out=None):
    """Apply the thresholded relu: x where x > theta, else 0.

    Args:
        x: Input array-like. Default required.
        theta: The threshold. Defaults to 1.0.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("thresholded_relu", theta=theta), out)


def step(x, threshold=0.0, out=None):
    """Apply the step function: 1 where x > threshold, else 0 (its derivative is 0).

    Args:
        x: Input array-like. Default required.
        threshold: The step's position. Defaults to 0.0.
        out: Optional output array. Defaults to None.
    """
    return _apply(x, activation_spec("step", threshold=threshold), out)


def _prelu_args(x, alpha):
    x = _as_float(x, "x")
    return x, _as_float(alpha, "alpha", x.dtype)


def prelu(x, alpha, out=None):
    """Apply the parametric relu: x where x > 0, else alpha * x.

    Args:
        x: Input array-like. Default required.
        alpha: Slopes with the shape of x's trailing axes. Default required.
        out: Optional output array. Defaults to None.
    """
    x, alpha = _prelu_args(x, alpha)
    return _core.prelu_forward(x, alpha, _out(out, x))


def prelu_backward(x, alpha, dy, dx=None, dalpha=None):
    """Return (dx, dalpha), the gradients of prelu with respect to x and alpha.

    dalpha sums dy * x over the leading axes (where x <= 0) in a fixed order, so it does not
    depend on the thread count.

    Args:
        x: The input of prelu. Default required.
        alpha: The slopes, shaped like x's trailing axes. Default required.
        dy: Gradient with respect to prelu's output, shaped like x. Default required.
        dx: Optional output for the input gradient; may be dy itself. Defaults to None.
        dalpha: Optional output for the slope gradient. Defaults to None.
    """
    x, alpha = _prelu_args(x, alpha)
    dy = _as_float(dy, "dy", x.dtype)
    dx = _out(dx, x, "dx")
    dalpha = _out(dalpha, alpha, "dalpha")
    return _core.prelu_backward(x, alpha, dy, dx, dalpha)

