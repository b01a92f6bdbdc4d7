"""fastnn's global random state: a stream of seeds that set_random_seed makes reproducible.

Every random draw in fastnn (unseeded initializers, dropout, shuffling, validation split)
asks here for a seed or a generator. The stream is a NumPy Generator created from the
global seed; before any seed is set it is created from OS entropy.

    next_seed()      -> int in [0, 2**63), the next seed of the stream
    make_rng(seed)   -> numpy.random.Generator; seed None takes next_seed()
"""
import numbers
import threading

import numpy as np

__all__ = ["check_seed", "global_seed", "make_rng", "next_seed", "set_global_seed"]

_SEED_LIMIT = 2 ** 63
_lock = threading.Lock()
_stream = None  # numpy Generator, created lazily
_seed = None


def check_seed(seed, name="seed", allow_none=True):
    """Return seed as an int once it is a non-negative integer (or None when allowed).

    Args:
        seed: The value to check. Default required.
        name: The argument's name for error messages. Defaults to "seed".
        allow_none: Whether None passes. Defaults to True.
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        expected = "an int or None" if allow_none else "an int"
        raise TypeError(f"{name}: expected {expected}, received {type(seed).__name__} "
                        f"{seed!r}")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"{name}: expected a non-negative int, received {seed}")
    return seed


def set_global_seed(seed):
    """Restart the global seed stream from seed (None: from OS entropy).

    Args:
        seed: A non-negative int or None. Default required.
    """
    global _stream, _seed
    seed = check_seed(seed)
    with _lock:
        _seed = seed
        _stream = np.random.default_rng(seed)


def global_seed():
    """Return the seed last given to set_global_seed, or None."""
    return _seed


def next_seed():
    """Return the next seed of the global stream, an int in [0, 2**63).

    After set_random_seed(s) the sequence of values is a fixed function of s.
    """
    global _stream
    with _lock:
        if _stream is None:
            _stream = np.random.default_rng()
        return int(_stream.integers(0, _SEED_LIMIT, dtype=np.int64))


def make_rng(seed=None):
    """Return a NumPy Generator for seed, or for the next global seed when seed is None.

    Args:
        seed: A non-negative int, None, or a numpy.random.Generator (returned as is).
            Defaults to None.

    Example:
        >>> make_rng(3).standard_normal(2)  # the same two numbers every time
    """
    if isinstance(seed, np.random.Generator):
        return seed
    seed = check_seed(seed)
    return np.random.default_rng(next_seed() if seed is None else seed)
