"""Activation specs: how a Python-level activation reaches the C kernels.

A spec is None (linear) or the tuple (kind, alpha, max_value, threshold) that the binding
turns into an ``fnn_act`` struct. The kind numbers mirror ``fnn_act_kind`` in
csrc/activations.h.
"""
import difflib
import math
import numbers

KINDS = {
    "linear": 0,
    "relu": 1,
    "leaky_relu": 2,
    "elu": 3,
    "selu": 4,
    "softplus": 5,
    "softsign": 6,
    "tanh": 7,
    "sigmoid": 8,
    "hard_sigmoid": 9,
    "exponential": 10,
    "step": 11,
    "thresholded_relu": 12,
    "swish": 13,
    "gelu": 14,
    "gelu_tanh": 15,
}
ALIASES = {"silu": "swish", "threshold": "step", "relu6": "relu"}

# Keras's default for the one parameter each kind takes, as (spec field, default).
_KIND_DEFAULTS = {
    "leaky_relu": ("alpha", 0.2),  # keras.activations.leaky_relu(negative_slope=0.2)
    "elu": ("alpha", 1.0),
    "thresholded_relu": ("threshold", 1.0),  # ThresholdedReLU(theta=1.0)
}

# The keyword arguments each name accepts (Keras's names), with their defaults.
PARAMS = {
    "relu": {"negative_slope": 0.0, "max_value": None, "threshold": 0.0},
    "relu6": {},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 1.0},
    "thresholded_relu": {"theta": 1.0},
    "step": {"threshold": 0.0},
    "threshold": {"threshold": 0.0},
    "gelu": {"approximate": False},
}

# Older Keras (and make_spec) names accepted as synonyms: relu's alpha is negative_slope in
# Keras 3, ThresholdedReLU's theta is make_spec's threshold.
_OLD_NAMES = {
    "relu": (("alpha", "negative_slope"),),
    "leaky_relu": (("alpha", "negative_slope"),),
    "thresholded_relu": (("threshold", "theta"),),
}


def known_names():
    """All activation names that resolve to a kernel, sorted."""
    return sorted(set(KINDS) | set(ALIASES))


def _unknown(name):
    close = difflib.get_close_matches(str(name), known_names(), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ValueError(f"activation: unknown activation {name!r}; expected one of "
                      f"{known_names()}{hint}")


def _real(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what}: expected a real number, received {type(value).__name__}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{what}: expected a number, received nan")
    return v


def make_spec(name, alpha=None, max_value=None, threshold=None):
    """Build the spec of a named activation; an unknown name raises ValueError.

    alpha and threshold default to Keras's default for the kind (0.2 for leaky_relu, 1.0 for
    elu, theta=1.0 for thresholded_relu, else 0); max_value None means no upper clip.
    """
    if not isinstance(name, str):
        raise TypeError(f"activation: expected a str name, received {type(name).__name__}")
    key = ALIASES.get(name, name)
    if key not in KINDS:
        raise _unknown(name)
    if key == "linear":
        return None
    field, default = _KIND_DEFAULTS.get(key, (None, 0.0))
    a = _real(alpha, "alpha") if alpha is not None else (default if field == "alpha" else 0.0)
    t = (_real(threshold, "threshold") if threshold is not None
         else (default if field == "threshold" else 0.0))
    if name == "relu6" and max_value is None:
        max_value = 6.0
    mv = math.inf if max_value is None else _real(max_value, "max_value")
    return (KINDS[key], a, mv, t)


def activation_spec(name, **params):
    """Build a spec from an activation name and its Keras keyword arguments.

    Names and arguments follow keras.activations: ``relu(negative_slope, max_value,
    threshold)``, ``leaky_relu(negative_slope)``, ``elu(alpha)``,
    ``thresholded_relu(theta)``, ``step(threshold)``, ``gelu(approximate)``; the others take
    none. The older names ``alpha`` (relu, leaky_relu) and ``threshold``
    (thresholded_relu) are accepted too. A spec tuple or None passes through unchanged.

    Args:
        name: An activation name (``'relu'``, ``'silu'``, ...), a spec tuple or None.
        **params: The activation's keyword arguments.

    Returns:
        None for linear, else the tuple (kind, alpha, max_value, threshold).

    Example:
        >>> activation_spec("relu", max_value=6.0)
        (1, 0.0, 6.0, 0.0)
    """
    if name is None or isinstance(name, tuple):
        if params:
            raise TypeError(f"{sorted(params)[0]}: parameters apply to activation names only, "
                            f"received a spec")
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation: expected a str name, received {type(name).__name__}")
    key = ALIASES.get(name, name)
    if key not in KINDS:
        raise _unknown(name)
    accepted = PARAMS.get(name, {})
    params = dict(params)
    for old, new in _OLD_NAMES.get(name, ()):
        if old in params:
            if new in params:
                raise TypeError(f"{old}: {name!r} takes {new} or its older name {old}, "
                                f"received both")
            params[new] = params.pop(old)
    for p in params:
        if p not in accepted:
            raise TypeError(f"{p}: activation {name!r} takes "
                            f"{'arguments ' + str(sorted(accepted)) if accepted else 'no arguments'}"
                            f", received {p}={params[p]!r}")
    args = dict(accepted, **params)
    for p, v in args.items():
        if p == "approximate" or (p == "max_value" and v is None):
            continue
        _real(v, p)
    if name == "relu":
        return make_spec("relu", alpha=args["negative_slope"], max_value=args["max_value"],
                         threshold=args["threshold"])
    if name == "leaky_relu":
        return make_spec("leaky_relu", alpha=args["negative_slope"])
    if name == "elu":
        return make_spec("elu", alpha=args["alpha"])
    if name == "thresholded_relu":
        return make_spec("thresholded_relu", threshold=_real(args["theta"], "theta"))
    if name in ("step", "threshold"):
        return make_spec("step", threshold=args["threshold"])
    if name == "gelu":
        return make_spec("gelu_tanh" if args["approximate"] else "gelu")
    return make_spec(name)
