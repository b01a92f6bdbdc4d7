"""keras.activations: activation functions on NumPy arrays, and their registry.

Each built-in runs through a fastnn.ops kernel. Any Python callable works as an
activation too: get returns it unchanged, and the engine runs it in Python.

For the engine, :func:`kernel_spec` turns a built-in element-wise activation into the ops
spec tuple that the fused dense epilogue takes, and :func:`classify` also recognises the
row-wise ones (softmax, log_softmax), which have kernels of their own.
"""
import functools

from fastnn import ops
from fastnn.ops._spec import activation_spec as _activation_spec
from fastnn._registry import Registry

__all__ = [
    "NO_KERNEL",
    "classify",
    "deserialize",
    "elu",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "kernel_spec",
    "leaky_relu",
    "linear",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "swish",
    "tanh",
]


def linear(x):
    """Return x unchanged (as a float array), the identity activation.

    Args:
        x: Input array-like. Default required.
    """
    return ops.linear(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, *, alpha=None):
    """Apply the rectified linear unit, with Keras's optional slope, clip and threshold.

    Values above threshold pass, clipped to max_value; the others become
    ``negative_slope * (x - threshold)``.

    Args:
        x: Input array-like. Default required.
        negative_slope: Slope below the threshold. Defaults to 0.0.
        max_value: Upper clip, None for none. Defaults to None.
        threshold: Values at or below it are damped. Defaults to 0.0.
        alpha: Keras 2's name for negative_slope; give one or the other. Defaults to None.

    Example:
        >>> relu([-10.0, -5.0, 0.0, 5.0, 10.0], negative_slope=0.5, max_value=5.0)
        array([-5. , -2.5,  0. ,  5. ,  5. ], dtype=float32)
    """
    if alpha is not None:
        if negative_slope != 0.0:
            raise TypeError("alpha: relu takes negative_slope or its Keras 2 name alpha, "
                            "received both")
        negative_slope = alpha
    return ops.relu(x, negative_slope=negative_slope, max_value=max_value,
                    threshold=threshold)


def leaky_relu(x, negative_slope=0.2):
    """Apply leaky relu: x where x > 0, else negative_slope * x.

    Args:
        x: Input array-like. Default required.
        negative_slope: Slope for x <= 0. Defaults to 0.2.
    """
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """Apply relu clipped at 6, min(max(x, 0), 6).

    Args:
        x: Input array-like. Default required.
    """
    return ops.relu6(x)


def elu(x, alpha=1.0):
    """Apply the exponential linear unit: x where x > 0, else alpha * (exp(x) - 1).

    Args:
        x: Input array-like. Default required.
        alpha: Scale of the negative part. Defaults to 1.0.
    """
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Apply the scaled exponential linear unit, scale * elu(x, alpha), with Keras's constants.

    Args:
        x: Input array-like. Default required.
    """
    return ops.selu(x)


def softplus(x):
    """Apply softplus, log(exp(x) + 1).

    Args:
        x: Input array-like. Default required.
    """
    return ops.softplus(x)


def softsign(x):
    """Apply softsign, x / (abs(x) + 1).

    Args:
        x: Input array-like. Default required.
    """
    return ops.softsign(x)


def tanh(x):
    """Apply the hyperbolic tangent.

    Args:
        x: Input array-like. Default required.
    """
    return ops.tanh(x)


def sigmoid(x):
    """Apply the logistic sigmoid, 1 / (1 + exp(-x)).

    Args:
        x: Input array-like. Default required.
    """
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Apply Keras 3's hard sigmoid, relu6(x + 3) / 6.

    Args:
        x: Input array-like. Default required.
    """
    return ops.hard_sigmoid(x)


def exponential(x):
    """Apply the exponential activation, exp(x).

    Args:
        x: Input array-like. Default required.
    """
    return ops.exponential(x)


def silu(x):
    """Apply SiLU, also called swish: x * sigmoid(x).

    Args:
        x: Input array-like. Default required.
    """
    return ops.silu(x)


swish = silu  # Keras 3 keeps one function under both names; serialize writes 'silu'.


def gelu(x, approximate=False):
    """Apply the Gaussian error linear unit, exactly unless approximate is set.

    Exact: ``0.5 x (1 + erf(x / sqrt(2)))``; approximate:
    ``0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))``.

    Args:
        x: Input array-like. Default required.
        approximate: Use the tanh approximation. Defaults to False (as
            keras.activations.gelu; keras.ops.gelu defaults to True).
    """
    return ops.gelu(x, approximate=bool(approximate))


def softmax(x, axis=-1):
    """Apply softmax along one axis: exp(x) / sum(exp(x)), computed stably.

    Args:
        x: Input array-like with at least one dimension. Default required.
        axis: The axis to normalise over. Defaults to -1.
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """Apply log-softmax along one axis: x - log(sum(exp(x))), computed stably.

    Args:
        x: Input array-like with at least one dimension. Default required.
        axis: The axis to normalise over. Defaults to -1.
    """
    return ops.log_softmax(x, axis=axis)


_registry = Registry("activation", "keras.activations", none=linear, instantiate=False)
for _fn in (linear, relu, leaky_relu, relu6, elu, selu, softplus, softsign, tanh, sigmoid,
            hard_sigmoid, exponential, gelu, softmax, log_softmax):
    _registry.register(_fn)
_registry.register(silu, aliases=("swish",))
del _fn

# Built-in element-wise functions and the ops name of their kernel.
_ELEMENTWISE = {linear: "linear", relu: "relu", leaky_relu: "leaky_relu", relu6: "relu6",
                elu: "elu", selu: "selu", softplus: "softplus", softsign: "softsign",
                tanh: "tanh", sigmoid: "sigmoid", hard_sigmoid: "hard_sigmoid",
                exponential: "exponential", silu: "silu", gelu: "gelu"}
_ROWWISE = {softmax: "softmax", log_softmax: "log_softmax"}


def get(identifier):
    """Return the activation function for an identifier, as keras.activations.get.

    Args:
        identifier: None (linear), a name such as 'relu' or 'swish', a config dict, or any
            callable (returned unchanged). Default required.

    Example:
        >>> get("relu") is relu
        True
    """
    return _registry.get(identifier)


def serialize(activation):
    """Return the activation's config: its name for a built-in, else a Keras config dict.

    Args:
        activation: An activation function or callable object. Default required.
    """
    return _registry.serialize(activation)


def deserialize(config, custom_objects=None):
    """Return the activation function a name or config dict stands for.

    Args:
        config: A name ('relu') or a Keras config dict. Default required.
        custom_objects: Names of user functions to try first. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)


class _NoKernel:
    """The type of NO_KERNEL."""

    def __repr__(self):
        return "NO_KERNEL"

    def __bool__(self):
        return False


NO_KERNEL = _NoKernel()


def _unwrap(activation):
    """(function, keyword arguments) of activation, seeing through functools.partial."""
    if isinstance(activation, str) or activation is None:
        activation = get(activation)
    kwargs = {}
    while isinstance(activation, functools.partial):
        if activation.args:
            return activation, None  # positional arguments: leave it to Python
        kwargs = dict(activation.keywords, **kwargs)
        activation = activation.func
    return activation, kwargs


def classify(activation):
    """Tell the engine how to run an activation: by which kernel, or in Python.

    Args:
        activation: A name, None, a function (a functools.partial of a built-in with
            keyword arguments counts as that built-in) or any callable. Default required.

    Returns:
        One of ``('linear', None)``; ``('elementwise', spec)``, spec being the ops spec
        tuple (kind, alpha, max_value, threshold); ``('softmax', axis)``;
        ``('log_softmax', axis)``; ``('python', activation)`` for any other callable.

    Example:
        >>> classify("relu")
        ('elementwise', (1, 0.0, inf, 0.0))
    """
    fn, kwargs = _unwrap(activation)
    if kwargs is None:
        return "python", activation
    name = _ELEMENTWISE.get(fn) if _is_hashable(fn) else None
    if name is not None:
        if fn is relu and "alpha" in kwargs:
            kwargs = dict(kwargs)
            kwargs["negative_slope"] = kwargs.pop("alpha")
        if fn is gelu and "approximate" not in kwargs:
            kwargs = dict(kwargs, approximate=False)
        spec = _activation_spec(name, **kwargs)
        return ("linear", None) if spec is None else ("elementwise", spec)
    name = _ROWWISE.get(fn) if _is_hashable(fn) else None
    if name is not None:
        extra = set(kwargs) - {"axis"}
        if extra:
            raise TypeError(f"{sorted(extra)[0]}: {name} takes only axis, received "
                            f"{sorted(kwargs)}")
        return name, kwargs.get("axis", -1)
    return "python", activation


def _is_hashable(obj):
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def kernel_spec(activation):
    """Return the ops spec of a built-in element-wise activation, for fused kernels.

    Args:
        activation: A name, None, a function or a functools.partial of a built-in with
            keyword arguments. Default required.

    Returns:
        The spec tuple (kind, alpha, max_value, threshold); None for linear (no
        activation); NO_KERNEL (falsy, like None, so test with ``is``) for softmax,
        log_softmax and any other callable, which the engine runs separately after the
        affine part.

    Example:
        >>> kernel_spec(relu6)
        (1, 0.0, 6.0, 0.0)
    """
    kind, payload = classify(activation)
    if kind == "elementwise":
        return payload
    if kind == "linear":
        return None
    return NO_KERNEL
