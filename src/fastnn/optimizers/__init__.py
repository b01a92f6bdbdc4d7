"""keras.optimizers: SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax and Nadam.

Each update runs as one fused C pass per parameter array (fastnn._core), with Keras 3's
formulas and order of operations. Optimizers resolve by name, ``get('adam')``, and by
config dict, and serialize to Keras's config format.

How an engine drives an optimizer::

    opt = fastnn.optimizers.get("adam")
    opt.build(trainable_variables)        # once: creates the slot arrays
    opt.apply(grads)                      # per step: grads[i] matches variables[i] (or None)
    state = opt.get_state()               # [iterations, slots per variable..., extra]
    opt.set_state(state)                  # resume exactly
"""
from fastnn._registry import Registry
from fastnn.optimizers import schedules
from fastnn.optimizers.adadelta import Adadelta
from fastnn.optimizers.adagrad import Adagrad
from fastnn.optimizers.adam import Adam, AdamW
from fastnn.optimizers.adamax import Adamax
from fastnn.optimizers.base import Optimizer
from fastnn.optimizers.nadam import Nadam
from fastnn.optimizers.rmsprop import RMSprop
from fastnn.optimizers.sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer", "RMSprop",
           "SGD", "deserialize", "get", "schedules", "serialize"]

_registry = Registry("optimizer", "keras.optimizers")
for _cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam):
    # Keras 3 resolves the lower-case class names: 'sgd', 'rmsprop', 'adamw', ...
    _registry.register(_cls, aliases=(_cls.__name__.lower(),))
del _cls


def serialize(optimizer):
    """Return an optimizer's Keras config dict.

    Args:
        optimizer: An Optimizer. Default required.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an Optimizer instance, received "
                        f"{type(optimizer).__name__}")
    return _registry.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from a config dict (Keras 2 or Keras 3 form) or a name.

    Args:
        config: The dict, e.g. ``{'class_name': 'Adam', 'config': {'learning_rate': 0.01}}``,
            or a name such as 'adam'. Default required.
        custom_objects: Names of user optimizers or schedules. Defaults to None.
    """
    return _registry.deserialize(config, custom_objects)


def get(identifier):
    """Resolve an optimizer: an instance (returned as is), a name or a config dict.

    Args:
        identifier: e.g. 'adam', 'sgd', ``{'class_name': 'RMSprop', 'config': {...}}`` or an
            Optimizer. Default required.

    Raises:
        ValueError: For an unknown name (listing the known ones and the closest).
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return _registry.get(identifier)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
