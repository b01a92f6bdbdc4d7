"""fastnn.layers: Keras's layers, run by C kernels."""
from fastnn.layers.base import Layer
from fastnn.layers.core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Reshape
from fastnn.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Flatten", "Reshape", "InputLayer",
           "Input", "ReLU", "LeakyReLU", "ELU", "ThresholdedReLU", "Softmax", "PReLU", "get",
           "serialize", "deserialize"]

_BUILTIN = {cls.__name__: cls for cls in (Dense, Activation, Dropout, Flatten, Reshape,
                                          InputLayer, ReLU, LeakyReLU, ELU, ThresholdedReLU,
                                          Softmax, PReLU)}


def serialize(layer):
    """A layer's Keras 3 config: module, class_name, config and registered_name."""
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Create a layer from a config dict that serialize (or Keras) wrote."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"config: expected a dict with 'class_name' and 'config', received "
                        f"{config!r}")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _BUILTIN.get(name)
    if cls is None:
        import difflib
        close = difflib.get_close_matches(name, list(_BUILTIN), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"config: unknown layer class {name!r}{hint}. Pass custom layers "
                         f"with custom_objects={{'{name}': {name}}}")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier):
    """A layer from an instance or a config dict."""
    if isinstance(identifier, Layer):
        return identifier
    return deserialize(identifier)
