"""Global settings as in keras.backend / keras.config: float type, epsilon, data format.

Other modules read these at call time, never at import, so a change applies everywhere.
"""
import math
import numbers

__all__ = [
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "image_data_format",
    "register_clear_session_hook",
    "set_epsilon",
    "set_floatx",
]

_FLOATX = "float32"
_EPSILON = 1e-7
_ACCEPTED_FLOATX = ("float32", "float64")
_uids = {}
_clear_hooks = []


def floatx():
    """Return the default float type as a string, 'float32' unless set_floatx changed it."""
    return _FLOATX


def set_floatx(value):
    """Set the default float type of weights and computations.

    Args:
        value: 'float32' or 'float64' (a NumPy dtype of either works too). Default required.

    Example:
        >>> set_floatx("float64"); floatx()
        'float64'
    """
    global _FLOATX
    name = value
    if value is None:
        raise TypeError(f"value: expected one of {list(_ACCEPTED_FLOATX)}, received None")
    if not isinstance(value, str):
        import numpy as np

        try:
            name = np.dtype(value).name
        except TypeError:
            raise TypeError(f"value: expected one of {list(_ACCEPTED_FLOATX)}, received "
                            f"{type(value).__name__} {value!r}") from None
    if name not in _ACCEPTED_FLOATX:
        raise ValueError(f"value: unknown floatx {value!r}; expected one of "
                         f"{list(_ACCEPTED_FLOATX)}")
    _FLOATX = name


def epsilon():
    """Return the fuzz factor used to avoid division by zero, 1e-7 by default."""
    return _EPSILON


def set_epsilon(value):
    """Set the fuzz factor that epsilon() returns.

    Args:
        value: A finite non-negative number. Default required.
    """
    global _EPSILON
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value: expected a real number, received {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"value: expected a finite non-negative epsilon, received {value!r}")
    _EPSILON = v


def image_data_format():
    """Return the image data format, always 'channels_last' in fastnn."""
    return "channels_last"


def get_uid(prefix=""):
    """Return the next integer id for prefix, counting from 1 (as Keras names layers).

    Args:
        prefix: The counter's name, e.g. 'dense'. Defaults to "".

    Example:
        >>> get_uid("dense"), get_uid("dense")
        (1, 2)
    """
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def register_clear_session_hook(fn):
    """Register a function, called without arguments, that clear_session runs.

    Modules with global state (layer-name counters, caches) register here once, at import.
    Registering the same function twice keeps one entry. Returns fn, so it works as a
    decorator.

    Args:
        fn: A callable taking no arguments. Default required.
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, received {type(fn).__name__}")
    if fn not in _clear_hooks:
        _clear_hooks.append(fn)
    return fn


def clear_session(free_memory=True):
    """Reset Keras's global state: layer-name counters and every registered hook.

    Random state is not touched; call fastnn.utils.set_random_seed for that.

    Args:
        free_memory: Accepted for Keras compatibility; fastnn holds no caches to free.
            Defaults to True.
    """
    _uids.clear()
    for fn in list(_clear_hooks):
        fn()
