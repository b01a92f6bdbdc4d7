"""keras.metrics: stateful metrics, their functions and registry, and the engine's resolver.

``resolve`` turns one compile() metric identifier into a Metric whose ``name`` is the
key Keras 3 logs: the string as given ('accuracy', 'acc', 'mae'), else the metric's name.
"""
from fastnn import losses as _losses
from fastnn._registry import Registry, to_snake_case
from fastnn.metrics import accuracy as _a, confusion as _cm, regression as _r  # before the
# star imports: the function `accuracy` then takes the package attribute of that name
from fastnn.metrics.accuracy import *  # noqa: F401,F403
from fastnn.metrics.accuracy import __all__ as _acc_all
from fastnn.metrics.base import Mean, MeanMetricWrapper, Metric, Sum  # noqa: F401
from fastnn.metrics.confusion import *  # noqa: F401,F403
from fastnn.metrics.confusion import __all__ as _conf_all
from fastnn.metrics.regression import *  # noqa: F401,F403
from fastnn.metrics.regression import __all__ as _reg_all

# The per-sample functions Keras exports under keras.metrics.
from fastnn.losses import (  # noqa: F401
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_hinge, hinge, huber, kl_divergence, kld, kullback_leibler_divergence,
    log_cosh, logcosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson,
    sparse_categorical_crossentropy, squared_hinge,
)

cosine_proximity = _r.cosine_similarity

__all__ = sorted(_acc_all + _conf_all + _reg_all + [
    "Mean", "MeanMetricWrapper", "Metric", "Sum", "clone_metric", "clone_metrics",
    "cosine_proximity", "deserialize", "get", "resolve", "serialize",
])

_registry = Registry("metric", "keras.metrics")
for _cls in (Metric, Mean, Sum, MeanMetricWrapper,
             _r.MeanSquaredError, _r.RootMeanSquaredError, _r.MeanAbsoluteError,
             _r.MeanAbsolutePercentageError, _r.MeanSquaredLogarithmicError,
             _r.LogCoshError, _r.Hinge, _r.SquaredHinge, _r.CategoricalHinge,
             _r.KLDivergence, _r.Poisson, _r.BinaryCrossentropy, _r.CategoricalCrossentropy,
             _r.SparseCategoricalCrossentropy, _cm.AUC, _cm.Precision, _cm.Recall,
             _cm.TruePositives, _cm.FalsePositives, _cm.TrueNegatives, _cm.FalseNegatives,
             _a.Accuracy, _a.BinaryAccuracy, _a.CategoricalAccuracy,
             _a.SparseCategoricalAccuracy, _a.TopKCategoricalAccuracy,
             _a.SparseTopKCategoricalAccuracy):
    _registry.register(_cls)
_registry.register(_r.CosineSimilarity, aliases=("cosine_proximity",))
for _alias, _cls in {"mse": _r.MeanSquaredError, "MSE": _r.MeanSquaredError,
                     "mae": _r.MeanAbsoluteError, "MAE": _r.MeanAbsoluteError,
                     "mape": _r.MeanAbsolutePercentageError,
                     "MAPE": _r.MeanAbsolutePercentageError,
                     "msle": _r.MeanSquaredLogarithmicError,
                     "MSLE": _r.MeanSquaredLogarithmicError,
                     "bce": _r.BinaryCrossentropy, "BCE": _r.BinaryCrossentropy,
                     "kld": _r.KLDivergence, "KLD": _r.KLDivergence,
                     "kullback_leibler_divergence": _r.KLDivergence,
                     "logcosh": _r.LogCoshError, "rmse": _r.RootMeanSquaredError}.items():
    _registry._table[_alias] = _cls  # extra names for a class already registered


def serialize(metric):
    """Return a metric's Keras config dict (a name for a plain function).

    Args:
        metric: A Metric or a function. Default required.
    """
    return _registry.serialize(metric)


def deserialize(config, custom_objects=None):
    """Rebuild a metric from a name or a Keras config dict.

    Args:
        config: A str or a config dict. Default required.
        custom_objects: Extra names to resolve. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)


def get(identifier):
    """Return a Metric instance (or a function given as one) for a Keras identifier.

    Args:
        identifier: A name ('mae', 'AUC', 'binary_accuracy'), a config dict, a Metric, a
            Metric class or a function. Default required.

    Raises:
        ValueError: For an unknown name, listing the known ones and the closest.
    """
    if identifier is None:
        return None
    return _registry.get(identifier)


_LOSS_FAMILY = {
    # Keras 2's choice from the loss, used when the shapes are not known.
    "binary": (_losses.BinaryCrossentropy, _losses.BinaryFocalCrossentropy),
    "sparse": (_losses.SparseCategoricalCrossentropy,),
}


def _family(loss, y_true_shape, y_pred_shape):
    if y_true_shape is not None and y_pred_shape is not None:
        is_binary, is_sparse = _losses._is_binary_or_sparse(y_true_shape, y_pred_shape)
        return "binary" if is_binary else ("sparse" if is_sparse else "categorical")
    loss = _losses.get(loss) if loss is not None and not isinstance(loss, _losses.Loss) else loss
    for fam, classes in _LOSS_FAMILY.items():
        if isinstance(loss, classes):
            return fam
    return "categorical"


def resolve(identifier, loss=None, y_true_shape=None, y_pred_shape=None):
    """Return the Metric that compile(metrics=[identifier]) uses, named as Keras logs it.

    'accuracy'/'acc' become binary accuracy when y_pred has one column, sparse categorical
    accuracy when y_true has fewer dimensions than y_pred or a last dimension of 1 (and more
    than one class), else categorical accuracy; 'crossentropy'/'ce' likewise. Without
    shapes the loss decides (binary and sparse cross-entropies), as in Keras 2.

    Args:
        identifier: A metric name, config dict, Metric or function. Default required.
        loss: The compiled loss (any identifier). Defaults to None.
        y_true_shape: Shape of a batch of targets. Defaults to None.
        y_pred_shape: Shape of a batch of predictions. Defaults to None.
    """
    if identifier is None:
        raise ValueError("metric: expected a metric, received None")
    key = identifier.lower() if isinstance(identifier, str) else None
    if key in ("accuracy", "acc"):
        fam = _family(loss, y_true_shape, y_pred_shape)
        cls = {"binary": _a.BinaryAccuracy, "sparse": _a.SparseCategoricalAccuracy,
               "categorical": _a.CategoricalAccuracy}[fam]
        return cls(name=identifier)
    if key in ("crossentropy", "ce"):
        fam = _family(loss, y_true_shape, y_pred_shape)
        cls = {"binary": _r.BinaryCrossentropy, "sparse": _r.SparseCategoricalCrossentropy,
               "categorical": _r.CategoricalCrossentropy}[fam]
        return cls(name=identifier)
    metric = get(identifier)
    if isinstance(identifier, str):
        name = identifier
    elif hasattr(metric, "name"):
        name = metric.name
    else:
        name = to_snake_case(getattr(metric, "__name__", type(metric).__name__))
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric


def clone_metric(metric):
    """Return a fresh copy (same config, empty state) of a Metric; functions are returned
    as they are.

    Args:
        metric: A Metric or a function. Default required.
    """
    if isinstance(metric, Metric):
        return type(metric).from_config(metric.get_config())
    return metric


def clone_metrics(metrics):
    """clone_metric over a list, tuple or dict of metrics (None gives None).

    Args:
        metrics: The metrics. Default required.
    """
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {k: clone_metric(v) for k, v in metrics.items()}
    return [clone_metric(m) for m in metrics]
