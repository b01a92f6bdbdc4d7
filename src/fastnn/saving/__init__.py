"""fastnn.saving: Keras's model files, both ways, and custom-object registration.

``model.save('m.keras')`` writes Keras 3's zip (config.json, metadata.json,
model.weights.h5) and ``load_model`` reads it back, or a file that tf.keras wrote (.keras,
or a legacy .h5 whole-model file). ``save_weights``/``load_weights`` handle
``.weights.h5``. Saves replace the file atomically. Loading never unpickles or runs code
from the file. h5py is imported only when a file is read or written.
"""
from fastnn.saving.object_registration import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "load_model", "load_weights",
           "model_from_config", "model_from_json", "register_keras_serializable",
           "save_model", "save_weights"]

_LAZY = {"load_model": "api", "load_weights": "api", "model_from_json": "api",
         "save_model": "api", "save_weights": "api", "model_from_config": "serialization"}


def __getattr__(name):
    # The file formats load on first use, so that fastnn.utils (which re-exports the
    # registration functions above) stays quick to import.
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"fastnn.saving.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'fastnn.saving' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
