"""keras.losses: loss classes and functions, their registry, and the engine's entry points.

``get`` always returns a Loss instance: a built-in function name gives the matching built-in
class (so it trains through the fused C kernel), and any other function is wrapped in a
LossFunctionWrapper. ``resolve`` adds Keras's 'crossentropy'/'ce' shorthand, which depends
on the shapes of y_true and y_pred.
"""
from fastnn._registry import Registry
from fastnn.losses.classes import *  # noqa: F401,F403
from fastnn.losses.classes import __all__ as _classes_all
from fastnn.losses import classes as _c
from fastnn.losses.loss import (  # noqa: F401
    Loss,
    LossFunctionWrapper,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)

__all__ = sorted(_classes_all + [
    "Loss", "LossFunctionWrapper", "cosine_proximity", "deserialize", "get", "huber_loss",
    "is_categorical_crossentropy", "kld", "kullback_leibler_divergence", "logcosh", "mae",
    "mape", "mse", "msle", "resolve", "serialize",
])

# Keras 2 names, kept as aliases.
mse = MSE = _c.mean_squared_error
mae = MAE = _c.mean_absolute_error
mape = MAPE = _c.mean_absolute_percentage_error
msle = MSLE = _c.mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = _c.kl_divergence
logcosh = _c.log_cosh
cosine_proximity = _c.cosine_similarity
huber_loss = _c.huber  # the seed's name (Keras 2.3's keras.losses.huber_loss)

_registry = Registry("loss", "keras.losses")

_FUNCTIONS = {
    _c.mean_squared_error: (_c.MeanSquaredError, ("mse", "MSE")),
    _c.mean_absolute_error: (_c.MeanAbsoluteError, ("mae", "MAE")),
    _c.mean_absolute_percentage_error: (_c.MeanAbsolutePercentageError, ("mape", "MAPE")),
    _c.mean_squared_logarithmic_error: (_c.MeanSquaredLogarithmicError, ("msle", "MSLE")),
    _c.hinge: (_c.Hinge, ()),
    _c.squared_hinge: (_c.SquaredHinge, ()),
    _c.categorical_hinge: (_c.CategoricalHinge, ()),
    _c.log_cosh: (_c.LogCosh, ("logcosh",)),
    _c.huber: (_c.Huber, ("huber_loss",)),
    _c.kl_divergence: (_c.KLDivergence, ("kld", "KLD", "kullback_leibler_divergence")),
    _c.poisson: (_c.Poisson, ()),
    _c.cosine_similarity: (_c.CosineSimilarity, ("cosine_proximity",)),
    _c.binary_crossentropy: (_c.BinaryCrossentropy, ("bce", "BCE")),
    _c.binary_focal_crossentropy: (_c.BinaryFocalCrossentropy, ()),
    _c.categorical_crossentropy: (_c.CategoricalCrossentropy, ()),
    _c.sparse_categorical_crossentropy: (_c.SparseCategoricalCrossentropy, ()),
}
for _fn, (_cls, _aliases) in _FUNCTIONS.items():
    _registry.register(_fn, aliases=_aliases)


def _register_class(cls):
    # Keras's loss table holds class names only: their snake_case names are the functions'.
    _registry._table[cls.__name__] = cls
    _registry._canonical.setdefault(id(cls), cls.__name__)


for _cls in [Loss, LossFunctionWrapper] + [v for v, _ in _FUNCTIONS.values()]:
    _register_class(_cls)


def serialize(loss):
    """Return a loss's Keras config: a name for a built-in function, else a dict.

    Args:
        loss: A Loss instance, a loss function or None. Default required.
    """
    return _registry.serialize(loss)


def deserialize(name, custom_objects=None):
    """Rebuild a loss (instance or function) from a name or a Keras config dict.

    Args:
        name: A str or a config dict. Default required.
        custom_objects: Extra names to resolve. Defaults to None.
    """
    return _registry.deserialize(name, custom_objects)


def _as_loss(obj, name=None):
    if isinstance(obj, Loss):
        return obj
    if isinstance(obj, type) and issubclass(obj, Loss):
        return obj()
    if obj in _FUNCTIONS:
        cls = _FUNCTIONS[obj][0]
        return cls(name=name) if name else cls()
    if callable(obj):
        return LossFunctionWrapper(obj, name=name)
    raise TypeError(f"loss: expected a Loss, a function, a name or a config dict, received "
                    f"{type(obj).__name__}")


def get(identifier):
    """Return a Loss instance for a Keras loss identifier (None gives None).

    Args:
        identifier: A name ('mse', 'categorical_crossentropy', 'Huber'), a config dict, a
            Loss instance or class, or a function f(y_true, y_pred) -> per-sample losses.
            Default required.

    Raises:
        ValueError: For an unknown name, listing the known ones and the closest.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier.lower() in ("crossentropy", "ce"):
            raise ValueError(f"loss: {identifier!r} depends on the shapes of y_true and y_pred; "
                             f"use fastnn.losses.resolve")
        return _as_loss(_registry.lookup(identifier), identifier)
    if isinstance(identifier, dict):
        return _as_loss(deserialize(identifier))
    return _as_loss(identifier)


def _is_binary_or_sparse(y_true_shape, y_pred_shape):
    yt, yp = tuple(y_true_shape), tuple(y_pred_shape)
    is_binary = len(yp) > 0 and yp[-1] == 1
    is_sparse = len(yt) < len(yp) or (len(yt) > 0 and yt[-1] == 1 and len(yp) > 0 and
                                      yp[-1] > 1)
    return is_binary, is_sparse


def resolve(identifier, y_true_shape, y_pred_shape):
    """Return the Loss for a compile() identifier, with Keras's 'crossentropy' shorthand.

    'crossentropy' or 'ce' become binary cross-entropy when y_pred has one column, sparse
    categorical when y_true has fewer dimensions or a last dimension of 1, else categorical.

    Args:
        identifier: As get. Default required.
        y_true_shape: Shape of one batch of targets. Default required.
        y_pred_shape: Shape of one batch of predictions. Default required.
    """
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        is_binary, is_sparse = _is_binary_or_sparse(y_true_shape, y_pred_shape)
        if is_binary:
            return _c.BinaryCrossentropy(name=identifier)
        if is_sparse:
            return _c.SparseCategoricalCrossentropy(name=identifier)
        return _c.CategoricalCrossentropy(name=identifier)
    return get(identifier)


def is_categorical_crossentropy(loss):
    """Whether loss is categorical cross-entropy (a class instance, the function or its name).

    Args:
        loss: A loss identifier of any kind. Default required.
    """
    if isinstance(loss, _c.CategoricalCrossentropy):
        return True
    if isinstance(loss, LossFunctionWrapper) and loss.fn is _c.categorical_crossentropy:
        return True
    if getattr(loss, "__name__", None) == "categorical_crossentropy":
        return True
    return loss == "categorical_crossentropy"
