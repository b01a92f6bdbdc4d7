"""keras.initializers: the classes that fill new weights, and their registry.

``init(shape, dtype=None)`` returns a NumPy array of that shape, of dtype
fastnn.backend.floatx() unless given. Random values are drawn in float64 and rounded once.

Seeds, as in Keras 3: an initializer built with an int seed returns the same values on
every call. An unseeded one draws fresh values on every call from fastnn's global seed
stream, so fastnn.utils.set_random_seed makes a whole model's weights reproducible.
(Keras 3 instead fixes a random seed per unseeded instance when it is built.)
"""
import math
import numbers

import numpy as np

from fastnn import _seed, backend
from fastnn._registry import Registry

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Zeros", "compute_fans", "deserialize", "get", "serialize",
    "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "zeros",
]

_registry = Registry("initializer", "keras.initializers")

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it gives the
# truncated draw the variance that VarianceScaling asks for.
_TRUNCATED_STD = 0.87962566103423978


# ---- argument checks ---------------------------------------------------------------------

def _real(value, name, finite=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, received {type(value).__name__} "
                        f"{value!r}")
    v = float(value)
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name}: expected a finite number, received {value!r}")
    return v


def _shape(shape):
    if isinstance(shape, (numbers.Integral,)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape: expected a tuple of ints, received {type(shape).__name__} "
                        f"{shape!r}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape: expected a tuple of ints, received {shape!r}")
        if d < 0:
            raise ValueError(f"shape: expected non-negative dimensions, received {shape!r}")
    return tuple(int(d) for d in dims)


def _dtype(dtype, floating):
    if dtype is None:
        dtype = backend.floatx()
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype or its name, received {dtype!r}") from None
    ok = dt.kind == "f" if floating else dt.kind in "biuf"
    if not ok:
        what = "a floating" if floating else "a numeric"
        raise ValueError(f"dtype: expected {what} dtype, received {dt.name}")
    return dt


def compute_fans(shape):
    """Return (fan_in, fan_out) of a weight shape, as Keras computes them.

    A 2-D kernel (in, out) has fans in and out. Higher ranks are convolution kernels
    (..., in, out): both fans are multiplied by the receptive field, the product of the
    leading dimensions. A 1-D shape uses its length for both; a scalar uses 1.

    Args:
        shape: The weight shape. Default required.

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


# ---- base classes ------------------------------------------------------------------------

class Initializer:
    """Base class: an initializer is called with (shape, dtype) and returns an array."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement __call__")

    def get_config(self):
        """Return the constructor arguments as a JSON-friendly dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Build an initializer from the dict get_config returned.

        Args:
            config: The dict. Default required.
        """
        return cls(**config)

    def clone(self):
        """Return a new initializer with the same config."""
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Random(Initializer):
    """An initializer with a seed: int for the same values on every call, None for fresh."""

    def __init__(self, seed=None):
        self.seed = _seed.check_seed(seed)

    def _rng(self):
        return _seed.make_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


def _register(cls=None, aliases=()):
    return _registry.register(cls, aliases=aliases)


# ---- constants ---------------------------------------------------------------------------

@_register(aliases=("zero",))
class Zeros(Initializer):
    """Fill with 0."""

    def __call__(self, shape, dtype=None):
        return np.zeros(_shape(shape), _dtype(dtype, floating=False))


@_register(aliases=("one",))
class Ones(Initializer):
    """Fill with 1."""

    def __call__(self, shape, dtype=None):
        return np.ones(_shape(shape), _dtype(dtype, floating=False))


@_register
class Constant(Initializer):
    """Fill with a constant, or broadcast an array to the shape.

    Args:
        value: A number or an array-like broadcastable to the shapes asked for.
            Defaults to 0.0.
    """

    def __init__(self, value=0.0):
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"value: expected a number or an array-like of numbers, received "
                            f"{type(value).__name__} {value!r}")
        self.value = value

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=False)
        try:
            return np.array(np.broadcast_to(np.asarray(self.value, dt), shape), order="C")
        except ValueError:
            raise ValueError(f"value: a value of shape {np.shape(self.value)} does not "
                             f"broadcast to shape {shape}") from None

    def get_config(self):
        v = self.value
        if isinstance(v, np.ndarray) or np.ndim(v) > 0:
            v = np.asarray(v).tolist()
        elif isinstance(v, np.generic):
            v = v.item()
        return {"value": v}


@_register(aliases=("Identity", "identity"))
class IdentityInitializer(Initializer):
    """Fill a 2-D weight with gain times the identity matrix (rectangular allowed).

    Args:
        gain: The diagonal's value. Defaults to 1.0.
    """

    def __init__(self, gain=1.0):
        self.gain = _real(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"shape: the identity initializer fills 2-D weights only, "
                             f"received shape {shape} of rank {len(shape)}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype, floating=True))

    def get_config(self):
        return {"gain": self.gain}


Identity = IdentityInitializer


# ---- random distributions ----------------------------------------------------------------

def _truncated_unit(rng, shape):
    """Unit normal draws, each redrawn until it lies within 2 standard deviations."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return z


@_register(aliases=("normal",))
class RandomNormal(_Random):
    """Draw from a normal distribution.

    Args:
        mean: The mean. Defaults to 0.0.
        stddev: The standard deviation, >= 0. Defaults to 0.05.
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = _real(mean, "mean")
        self.stddev = _real(stddev, "stddev")
        if self.stddev < 0:
            raise ValueError(f"stddev: expected a non-negative standard deviation, "
                             f"received {stddev!r}")

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=True)
        z = self._rng().standard_normal(shape)
        return (self.mean + self.stddev * z).astype(dt)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@_register
class TruncatedNormal(RandomNormal):
    """Draw from a normal distribution, redrawing values more than 2 stddev from the mean.

    Args:
        mean: The mean. Defaults to 0.0.
        stddev: The standard deviation before truncation, >= 0. Defaults to 0.05.
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=True)
        z = _truncated_unit(self._rng(), shape)
        return (self.mean + self.stddev * z).astype(dt)


@_register(aliases=("uniform",))
class RandomUniform(_Random):
    """Draw from a uniform distribution over [minval, maxval).

    Args:
        minval: The lower bound. Defaults to -0.05.
        maxval: The upper bound, >= minval. Defaults to 0.05.
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = _real(minval, "minval")
        self.maxval = _real(maxval, "maxval")
        if self.maxval < self.minval:
            raise ValueError(f"maxval: expected maxval >= minval ({minval!r}), received "
                             f"{maxval!r}")

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=True)
        return self._rng().uniform(self.minval, self.maxval, shape).astype(dt)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@_register
class VarianceScaling(_Random):
    """Draw with a variance of scale / n, n being a fan of the weight's shape.

    n is fan_in, fan_out or their mean (mode). 'truncated_normal' (or 'normal') draws a
    normal truncated at 2 standard deviations with stddev ``sqrt(scale / n) / 0.8796...``,
    which makes the variance after truncation scale / n; 'untruncated_normal' uses
    ``sqrt(scale / n)``; 'uniform' draws within ``+-sqrt(3 scale / n)``.

    Args:
        scale: The variance factor, > 0. Defaults to 1.0.
        mode: 'fan_in', 'fan_out' or 'fan_avg'. Defaults to "fan_in".
        distribution: 'truncated_normal', 'untruncated_normal', 'uniform' or 'normal'
            (read as 'truncated_normal'). Defaults to "truncated_normal".
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        self.scale = _real(scale, "scale")
        if self.scale <= 0:
            raise ValueError(f"scale: expected a positive number, received {scale!r}")
        if mode not in _MODES:
            raise ValueError(f"mode: expected one of {list(_MODES)}, received {mode!r}")
        if not isinstance(distribution, str):
            raise TypeError(f"distribution: expected a str, received "
                            f"{type(distribution).__name__}")
        dist = distribution.lower()
        dist = "truncated_normal" if dist == "normal" else dist
        if dist not in _DISTRIBUTIONS:
            raise ValueError(f"distribution: expected one of {list(_DISTRIBUTIONS) + ['normal']}"
                             f", received {distribution!r}")
        self.mode = mode
        self.distribution = dist

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=True)
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, fan[self.mode])
        rng = self._rng()
        if self.distribution == "truncated_normal":
            z = _truncated_unit(rng, shape) * (math.sqrt(variance) / _TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            z = rng.standard_normal(shape) * math.sqrt(variance)
        else:
            limit = math.sqrt(3.0 * variance)
            z = rng.uniform(-limit, limit, shape)
        return z.astype(dt)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed)

    def get_config(self):
        return {"seed": self.seed}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__})
    return _register(cls)


_SEED_DOC = """

    Args:
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """
GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Glorot (Xavier) uniform: within +-sqrt(6 / (fan_in + fan_out))."
                        + _SEED_DOC)
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Glorot (Xavier) normal: truncated, stddev sqrt(2 / (fan_in + fan_out))."
                       + _SEED_DOC)
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "He uniform: within +-sqrt(6 / fan_in)." + _SEED_DOC)
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "He normal: truncated, stddev sqrt(2 / fan_in)." + _SEED_DOC)
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "LeCun uniform: within +-sqrt(3 / fan_in)." + _SEED_DOC)
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "LeCun normal: truncated, stddev sqrt(1 / fan_in)." + _SEED_DOC)


@_register(aliases=("Orthogonal", "orthogonal"))
class OrthogonalInitializer(_Random):
    """Fill with a random orthogonal matrix (semi-orthogonal when not square), times gain.

    The weight is seen as a matrix of prod(shape[:-1]) rows and shape[-1] columns; its rows
    (or columns, whichever are fewer) are orthonormal. It is the Q factor of a normal
    matrix, with signs fixed so that the distribution is uniform (Haar).

    Args:
        gain: Multiplies the matrix. Defaults to 1.0.
        seed: An int for the same values on every call, None for fresh ones.
            Defaults to None.
    """

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = _real(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape, dt = _shape(shape), _dtype(dtype, floating=True)
        if len(shape) < 2:
            raise ValueError(f"shape: the orthogonal initializer needs a shape of rank >= 2, "
                             f"received shape {shape} of rank {len(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        if rows == 0 or cols == 0:
            return np.zeros(shape, dt)
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q).astype(dt)).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


Orthogonal = OrthogonalInitializer

# Keras's snake_case function-style names are the classes themselves.
zeros, ones, constant, identity = Zeros, Ones, Constant, IdentityInitializer
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal = VarianceScaling, OrthogonalInitializer
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal = HeUniform, HeNormal
lecun_uniform, lecun_normal = LecunUniform, LecunNormal


def get(identifier):
    """Return an initializer instance for an identifier, as keras.initializers.get.

    Args:
        identifier: None (returns None), a name ('glorot_uniform', 'GlorotUniform',
            'zeros', ...), a config dict, a class (instantiated with its defaults) or a
            callable (returned unchanged). Default required.

    Example:
        >>> get("he_normal")
        HeNormal(seed=None)
    """
    return _registry.get(identifier)


def serialize(initializer):
    """Return the Keras config dict of an initializer.

    Args:
        initializer: An Initializer instance. Default required.
    """
    return _registry.serialize(initializer)


def deserialize(config, custom_objects=None):
    """Return the initializer a config dict (or a name) describes.

    Args:
        config: A Keras config dict or a name. Default required.
        custom_objects: Names of user classes to try first. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)
