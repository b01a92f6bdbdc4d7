"""NumPy references for the activation kernels, written from Keras 3's definitions.

Every function takes float64 arrays and returns float64 values. Parameters are first
rounded to the dtype under test, as Keras casts them to the input's dtype.
"""
import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715

_erfc = np.frompyfunc(math.erfc, 1, 1)


def erfc(z):
    return np.asarray(_erfc(np.asarray(z, np.float64)), dtype=np.float64)


# Each case: (canonical name, Keras keyword arguments).
CASES = [
    ("linear", {}),
    ("relu", {}),
    ("relu", {"negative_slope": 0.1}),
    ("relu", {"max_value": 1.5}),
    ("relu", {"max_value": 6.0}),
    ("relu", {"threshold": 0.3}),
    ("relu", {"threshold": -0.5}),
    ("relu", {"threshold": -0.5, "max_value": 2.0}),
    ("relu", {"negative_slope": 0.2, "max_value": 2.0, "threshold": -0.5}),
    ("relu", {"negative_slope": 0.3, "max_value": 1.2, "threshold": 0.7}),
    ("relu", {"negative_slope": -0.4}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.3}),
    ("leaky_relu", {"negative_slope": -0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("elu", {"alpha": -0.5}),
    ("selu", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("tanh", {}),
    ("sigmoid", {}),
    ("hard_sigmoid", {}),
    ("exponential", {}),
    ("step", {}),
    ("step", {"threshold": 0.25}),
    ("thresholded_relu", {}),
    ("thresholded_relu", {"theta": -0.5}),
    ("swish", {}),
    ("silu", {}),
    ("gelu", {"approximate": False}),
    ("gelu", {"approximate": True}),
]

DEFAULTS = {
    "relu": {"negative_slope": 0.0, "max_value": None, "threshold": 0.0},
    "relu6": {},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 1.0},
    "thresholded_relu": {"theta": 1.0},
    "step": {"threshold": 0.0},
    "gelu": {"approximate": False},
}

# Kinds whose kernel derivative comes from the output y: (d act'/dy) for the error bound.
Y_BASED = {"relu", "relu6", "leaky_relu", "elu", "selu", "softplus", "tanh", "sigmoid",
           "hard_sigmoid", "exponential"}


def case_id(case):
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in sorted(params.items()))


def _p(name, params, dtype):
    out = dict(DEFAULTS.get(name, {}), **params)
    for k, v in out.items():
        if isinstance(v, float):
            out[k] = float(np.dtype(dtype).type(v))
    return out


def kinks(name, params, dtype=np.float64):
    """Points where the derivative jumps (gradient checks stay away from them)."""
    p = _p(name, params, dtype)
    if name == "relu":
        pts = [0.0, p["threshold"]]
        if p["max_value"] is not None:
            pts.append(p["max_value"])
        return pts
    if name == "relu6":
        return [0.0, 6.0]
    if name in ("leaky_relu", "elu", "selu"):
        return [0.0]
    if name == "hard_sigmoid":
        return [-3.0, 3.0]
    if name == "step":
        return [p["threshold"]]
    if name == "thresholded_relu":
        return [p["theta"], 0.0]
    return []


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def forward(name, params, x, dtype=np.float64):
    """Keras's activation `name` at x (float64)."""
    p = _p(name, params, dtype)
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "linear":
            return x.copy()
        if name == "relu6":
            return np.clip(x, 0.0, 6.0)
        if name == "relu":
            a, mv, th = p["negative_slope"], p["max_value"], p["threshold"]
            # keras.activations.relu (ReLU.static_call), step by step
            if a != 0:
                neg = np.maximum(-x + th, 0.0) if th != 0 else np.maximum(-x, 0.0)
            r = x * (x > th) if th != 0 else np.maximum(x, 0.0)
            if mv is not None:
                r = np.clip(r, 0.0, mv)
            if a != 0:
                r = r - a * neg
            return r
        if name == "leaky_relu":
            return np.where(x > 0, x, p["negative_slope"] * x)
        if name == "elu":
            return np.where(x > 0, x, p["alpha"] * np.expm1(np.minimum(x, 0.0)))
        if name == "selu":
            return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
        if name == "softplus":
            return np.logaddexp(0.0, x)
        if name == "softsign":
            return x / (1.0 + np.abs(x))
        if name == "tanh":
            return np.tanh(x)
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-x))
        if name == "hard_sigmoid":
            return np.clip(x + 3.0, 0.0, 6.0) / 6.0
        if name == "exponential":
            return np.exp(x)
        if name == "step":
            return (x > p["threshold"]).astype(np.float64)
        if name == "thresholded_relu":
            return x * (x > p["theta"])
        if name in ("swish", "silu"):
            return x / (1.0 + np.exp(-x))
        if name == "gelu":
            if p["approximate"]:
                return 0.5 * x * (1.0 + np.tanh(GELU_C * (x + GELU_K * x ** 3)))
            # 0.5 x (1 + erf(x / sqrt 2)), with 1 + erf(z) = erfc(-z) for accuracy
            return 0.5 * x * erfc(-x / math.sqrt(2.0))
    raise KeyError(name)


def derivative(name, params, x, dtype=np.float64):
    """act'(x) (float64), away from kinks."""
    p = _p(name, params, dtype)
    x = np.asarray(x, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "linear":
            return np.ones_like(x)
        if name == "relu6":
            return ((x > 0) & (x < 6)).astype(np.float64)
        if name == "relu":
            a, mv, th = p["negative_slope"], p["max_value"], p["threshold"]
            rising = x > th if th != 0 else x > 0
            up = np.ones_like(x) if mv is None else ((x > 0) & (x < mv)).astype(np.float64)
            return np.where(rising, up, a)
        if name == "leaky_relu":
            return np.where(x > 0, 1.0, p["negative_slope"])
        if name == "elu":
            return np.where(x > 0, 1.0, p["alpha"] * np.exp(np.minimum(x, 0.0)))
        if name == "selu":
            return np.where(x > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0)))
        if name == "softplus":
            return _sigmoid(x)
        if name == "softsign":
            return 1.0 / (1.0 + np.abs(x)) ** 2
        if name == "tanh":
            return 1.0 / np.cosh(x) ** 2
        if name == "sigmoid":
            e = np.exp(-np.abs(x))
            return e / (1.0 + e) ** 2
        if name == "hard_sigmoid":
            return np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0)
        if name == "exponential":
            return np.exp(x)
        if name == "step":
            return np.zeros_like(x)
        if name == "thresholded_relu":
            return (x > p["theta"]).astype(np.float64)
        if name in ("swish", "silu"):
            s = _sigmoid(x)
            e = np.exp(-np.abs(x))
            s1 = e / (1.0 + e) ** 2  # s (1 - s)
            return s + np.where(s1 == 0, 0.0, x * s1)
        if name == "gelu":
            if p["approximate"]:
                t = np.tanh(GELU_C * (x + GELU_K * x ** 3))
                du = GELU_C * (1.0 + 3.0 * GELU_K * x ** 2)
                return 0.5 * (1.0 + t) + np.where(t * t == 1, 0.0, 0.5 * x * (1.0 - t * t) * du)
            cdf = 0.5 * erfc(-x / math.sqrt(2.0))
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
            return cdf + np.where(pdf == 0, 0.0, x * pdf)
    raise KeyError(name)


def dy_sensitivity(name, x, y):
    """|d act'/dy| for the kinds differentiated from y: how far one rounding of y can move
    their derivative (the rest of the error is relative)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if name in ("elu", "selu"):
            return np.where(x > 0, 0.0, 1.0)
        if name == "exponential":
            return np.ones_like(y)
        if name == "softplus":
            return np.exp(-y)
        if name == "tanh":
            return 2.0 * np.abs(y)
        if name == "sigmoid":
            return np.abs(1.0 - 2.0 * y)
    return np.zeros_like(y)


def prelu_forward(x, alpha):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x, alpha * x)


def prelu_backward(x, alpha, dy):
    x = np.asarray(x, np.float64)
    dx = np.where(x > 0, dy, alpha * dy)
    lead = tuple(range(x.ndim - np.ndim(alpha)))
    dalpha = np.sum(np.where(x <= 0, dy * x, 0.0), axis=lead)
    return dx, dalpha
