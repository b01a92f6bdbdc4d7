"""Activation specs: how a Python-level activation reaches the C kernels.

A spec is None (linear) or the tuple (kind, alpha, max_value, threshold) that the binding
turns into an ``fnn_act`` struct. The kind numbers mirror ``fnn_act_kind`` in
csrc/activations.h.
"""
import math

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
ALIASES = {"silu": "swish", "threshold": "step"}


def make_spec(name, alpha=0.0, max_value=None, threshold=0.0):
    """Build the spec of a named activation; an unknown name raises ValueError."""
    key = ALIASES.get(name, name)
    if key not in KINDS:
        raise ValueError(f"activation: unknown activation {name!r}; expected one of "
                         f"{sorted(set(KINDS) | set(ALIASES))}")
    if key == "linear":
        return None
    mv = math.inf if max_value is None else float(max_value)
    return (KINDS[key], float(alpha), mv, float(threshold))
