"""Model configs in Keras's JSON layout, both ways.

Writing: a Sequential model becomes Keras 3's ``{'module', 'class_name', 'config',
'registered_name', 'build_config', 'compile_config'}``; custom classes and functions carry
their registered names ('package>Name').

Reading: configs written by fastnn, by Keras 3 and by Keras 2 (legacy .h5 files). Keras
adds keys that fastnn's layers do not take (dtype policies, ``optional``, ``ragged``,
``quantization_config``, initializer axes...); they are dropped while they hold their
default, and passed on otherwise, so that a setting fastnn cannot honour is an error.
Classes are found in custom_objects, then among registered and scoped objects, then among
fastnn's layers. No module named in a file is ever imported, and code stored in a file
(Lambda layers, marshalled or pickled functions) is never run.
"""
import json
import re

import numpy as np

from fastnn._registry import global_custom_objects
from fastnn.saving import object_registration

__all__ = ["deserialize_layer", "model_from_config", "serialize_layer", "serialize_model",
           "model_to_json", "model_from_json", "compile_from_config"]

_REGISTER_HINT = ("decorate it with @fastnn.saving.register_keras_serializable() before "
                  "loading, or pass custom_objects={{{name!r}: {short}}} to the loader "
                  "(or use fastnn.utils.custom_object_scope)")


def _hint(name):
    short = str(name).split(">")[-1]
    return _REGISTER_HINT.format(name=short, short=short)


# ---- JSON ------------------------------------------------------------------------------

def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.dtype):
        return obj.name
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"config: cannot write a {type(obj).__name__} ({obj!r}) to JSON; "
                    f"get_config() must return plain Python values")


def dumps(config, **kwargs):
    """JSON text of a config; NumPy values become Python values."""
    return json.dumps(config, default=_json_default, **kwargs)


def loads(text, what):
    """Parse JSON text, or raise a ValueError that names what was being read."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{what}: not UTF-8 text ({e})") from None
    if not isinstance(text, str):
        raise TypeError(f"{what}: expected JSON text, received {type(text).__name__}")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: malformed JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{what}: JSON nested too deeply to be a model config") from None
    _check_depth(value, what)
    return value


# Keras's configs nest about ten levels (model, layer, initializer, its config...); the
# readers walk them recursively, so a file must not be able to nest them a thousand deep.
_MAX_DEPTH = 64


def _check_depth(value, what):
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise ValueError(f"{what}: JSON nested more than {_MAX_DEPTH} levels deep; not a "
                             f"model config")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


# ---- writing ---------------------------------------------------------------------------

def _builtin_layers():
    from fastnn import layers

    table = {}
    for name in layers.__all__:
        obj = getattr(layers, name, None)
        if isinstance(obj, type) and issubclass(obj, layers.Layer) and obj is not layers.Layer:
            table[name] = obj
    return table


def _is_builtin_layer_class(cls):
    return _builtin_layers().get(cls.__name__) is cls


def _with_registered_names(obj):
    """A copy of a config in which registered objects carry their 'package>name'."""
    if isinstance(obj, dict):
        out = {k: _with_registered_names(v) for k, v in obj.items()}
        if "class_name" in out and "registered_name" in out and "module" in out:
            name = out["config"] if out["class_name"] == "function" else out["class_name"]
            if isinstance(name, str):
                registered = object_registration.registered_name_for(out["module"], name)
                if registered is not None:
                    out["registered_name"] = registered
        return out
    if isinstance(obj, (list, tuple)):
        return [_with_registered_names(v) for v in obj]
    return obj


def serialize_layer(layer):
    """A layer's Keras 3 entry: module, class_name, config, registered_name, build_config.

    Args:
        layer: A fastnn Layer. Default required.
    """
    cls = type(layer)
    config = layer.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"layer '{layer.name}': get_config() must return a dict, received "
                        f"{type(config).__name__}")
    if _is_builtin_layer_class(cls):
        entry = {"module": "keras.layers", "class_name": cls.__name__, "config": config,
                 "registered_name": None}
    else:
        entry = {"module": cls.__module__, "class_name": cls.__name__, "config": config,
                 "registered_name": object_registration.get_registered_name(cls)}
    shape = getattr(layer, "input_shape", None)
    if layer.weights and shape is not None:
        entry["build_config"] = {"input_shape": list(shape)}
    return _with_registered_names(entry)


def _serialize_identifier(value, module):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_identifier(v, module) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_identifier(v, module) for k, v in value.items()}
    return module.serialize(value)


def compile_config(model):
    """Keras 3's compile_config of a compiled model (None when it is not compiled)."""
    from fastnn import losses, metrics, optimizers

    if not getattr(model, "_compiled", False) or model.optimizer is None:
        return None
    weight = getattr(model, "_loss_weight", 1.0)
    return _with_registered_names({
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": _serialize_identifier(model.loss, losses),
        "loss_weights": None if weight == 1.0 else weight,
        "metrics": _serialize_identifier(list(model._metric_specs), metrics) or None,
        "weighted_metrics": (_serialize_identifier(list(model._weighted_metric_specs),
                                                   metrics) or None),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    })


def serialize_model(model, include_compile=True):
    """A Sequential model's config.json content as a dict.

    Args:
        model: A fastnn Sequential. Default required.
        include_compile: Whether to add compile_config. Defaults to True.
    """
    from fastnn.models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model: expected a fastnn Sequential model, received "
                        f"{type(model).__name__}")
    config = model.get_config()
    layers = list(model._layers)
    entries = [serialize_layer(layer) for layer in layers]
    n_input = len(config.get("layers", [])) - len(layers)
    head = list(config.get("layers", []))[:max(n_input, 0)]
    if head:
        # The InputLayer entry carries the input shape, as in Keras 3, whose layers do not
        # take Keras 2's batch_input_shape.
        for entry in entries:
            entry["config"].pop("batch_input_shape", None)
    config["layers"] = head + entries
    out = {"module": "keras", "class_name": "Sequential", "config": config,
           "registered_name": None}
    if model.built and getattr(model, "input_shape", None) is not None:
        out["build_config"] = {"input_shape": list(model.input_shape)}
    if include_compile:
        cc = compile_config(model)
        if cc is not None:
            out["compile_config"] = cc
    return out


def model_to_json(model, **kwargs):
    """The model's config as JSON text (Keras's model.to_json).

    Args:
        model: A fastnn Sequential. Default required.
        **kwargs: Passed to json.dumps (indent, sort_keys...).
    """
    return dumps(serialize_model(model), **kwargs)


# ---- reading: safety -------------------------------------------------------------------

_CODE_CLASSES = {"Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda"}


def check_no_code(config, safe_mode, where="config"):
    """Raise if a config holds code (Lambda layers, marshalled or pickled functions).

    fastnn never runs code read from a file, whatever safe_mode says; safe_mode only
    chooses the message.
    """
    found = _find_code(config)
    if found is None:
        return
    if safe_mode:
        raise ValueError(
            f"{where}: refusing to deserialize {found}, whose Python code is stored in the "
            f"file; loading it would run arbitrary code. This is blocked with "
            f"safe_mode=True. fastnn never runs code from a file: write the function as a "
            f"registered custom layer or function instead")
    raise ValueError(
        f"{where}: cannot deserialize {found}: fastnn never runs Python code stored in a "
        f"file, even with safe_mode=False. Write the function as a custom layer or function "
        f"registered with @fastnn.saving.register_keras_serializable()")


def _find_code(obj):
    if isinstance(obj, dict):
        cls = obj.get("class_name")
        if cls in _CODE_CLASSES:
            return "a Lambda layer" if cls != "__lambda__" else "a lambda function"
        if obj.get("function_type") == "lambda" or cls == "__bytes__" and "pickle" in str(obj):
            return "a lambda function"
        for value in obj.values():
            found = _find_code(value)
            if found:
                return found
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            found = _find_code(value)
            if found:
                return found
    return None


# ---- reading: Keras's extra keys -------------------------------------------------------

_POLICY_CLASSES = {"DTypePolicy", "FloatDTypePolicy", "Policy", "QuantizedDTypePolicy"}
# Keys Keras adds that fastnn's constructors do not take, with the values that mean "off".
_DEFAULT_EXTRAS = {"optional": (False, None), "ragged": (False, None),
                   "quantization_config": (None,), "lora_rank": (None,),
                   "lora_alpha": (None,)}
_INITIALIZER_EXTRAS = {"input_axes": (None,), "output_axes": (None,)}


def _dtype_name(value):
    if isinstance(value, dict) and value.get("class_name") in _POLICY_CLASSES:
        inner = value.get("config") or {}
        return inner.get("name", value)
    return value


def _strip_extras(obj):
    """Drop Keras-only bookkeeping from nested object configs (initializers...)."""
    if isinstance(obj, dict):
        out = {k: _strip_extras(v) for k, v in obj.items() if k != "shared_object_id"}
        if "class_name" in out and isinstance(out.get("config"), dict):
            inner = out["config"]
            for key, defaults in _INITIALIZER_EXTRAS.items():
                if key in inner and any(inner[key] is d for d in defaults):
                    del inner[key]
            if "dtype" in inner:
                inner["dtype"] = _dtype_name(inner["dtype"])
        return out
    if isinstance(obj, list):
        return [_strip_extras(v) for v in obj]
    return obj


def normalize_layer_config(inner):
    """A layer's inner config with Keras-only keys removed while they hold their default."""
    inner = _strip_extras(dict(inner))
    for key, defaults in _DEFAULT_EXTRAS.items():
        if key in inner and any(inner[key] is d for d in defaults):
            del inner[key]
    if "dtype" in inner:
        inner["dtype"] = _dtype_name(inner["dtype"])
    return inner


# ---- reading: classes and layers -------------------------------------------------------

def _lookup(name, custom_objects):
    if not isinstance(name, str):
        return None
    for table in (custom_objects or {}, global_custom_objects):
        if name in table:
            return table[name]
    return None


def resolve_layer_class(config, custom_objects=None):
    """The class a layer entry names, or a ValueError naming it and saying how to register.

    Args:
        config: ``{'class_name', 'config', 'module'?, 'registered_name'?}``. Default required.
        custom_objects: Extra names to try first. Defaults to None.
    """
    from fastnn.layers import Layer

    class_name = config["class_name"]
    registered = config.get("registered_name")
    module = config.get("module")
    cls = None
    if registered and registered != class_name:
        cls = _lookup(registered, custom_objects)
    if cls is None:
        cls = _lookup(class_name, custom_objects)
    custom = registered is not None and module is not None and \
        not str(module).split(".")[0] == "keras"
    builtin = _builtin_layers()
    if cls is None and not custom:
        cls = builtin.get(class_name)
    if cls is None:
        shown = registered if registered and registered != class_name else class_name
        origin = f" from module '{module}'" if module else ""
        if custom:
            raise ValueError(f"Could not locate the class {shown!r}{origin}. If it is your "
                             f"own class, {_hint(shown)}.")
        raise ValueError(f"Unknown layer class {class_name!r}{origin}: fastnn supports "
                         f"{sorted(builtin)}. If {class_name!r} is your own class, "
                         f"{_hint(class_name)}.")
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"layer {class_name!r}: custom_objects maps it to "
                        f"{cls!r}, which is not a fastnn.layers.Layer subclass")
    return cls


def _unknown_name(message):
    m = re.search(r"unknown \w+ '([^']+)'", message) or \
        re.search(r"Could not (?:locate|interpret)[^']*'([^']+)'", message)
    return m.group(1) if m else None


def _construct(cls, inner, what, custom_objects):
    try:
        return cls.from_config(inner)
    except (TypeError, ValueError, KeyError) as e:
        message = str(e).strip("'\"")
        name = _unknown_name(message)
        hint = f" If {name!r} is your own object, {_hint(name)}." if name else ""
        raise ValueError(f"{what}: could not be rebuilt from its config: {message}.{hint}") \
            from e


def deserialize_layer(config, custom_objects=None, safe_mode=True):
    """Create a layer from a Keras 2 or Keras 3 layer entry.

    Args:
        config: ``{'class_name', 'config', ...}``. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
        safe_mode: Refuse code stored in the config (always refused; this picks the
            message). Defaults to True.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"layer config: expected a dict with 'class_name' (a str) and "
                         f"'config', received {str(config)[:200]}")
    check_no_code(config, safe_mode, where=f"layer {config.get('class_name')!r}")
    inner = config.get("config", {})
    if not isinstance(inner, dict):
        raise ValueError(f"layer {config['class_name']!r}: expected its 'config' to be a "
                         f"dict, received {type(inner).__name__}")
    cls = resolve_layer_class(config, custom_objects)
    name = inner.get("name", "?")
    return _construct(cls, normalize_layer_config(inner),
                      f"layer '{name}' ({config['class_name']})", custom_objects)


def _as_shape(value, what):
    if value is None:
        return None
    if isinstance(value, dict):  # Keras 3 build_config of some layers
        value = value.get("input_shape")
    if not isinstance(value, (list, tuple)) or not all(
            d is None or isinstance(d, int) for d in value):
        raise ValueError(f"{what}: expected a shape (a list of ints and nulls), received "
                         f"{value!r}")
    return tuple(value)


def model_from_config(config, custom_objects=None, compile=True, safe_mode=True):
    """Build a (compiled) Sequential model from a config.json-style dict.

    Accepts the full entry (``{'class_name': 'Sequential', 'config': {...}, ...}``) written
    by fastnn, Keras 3 or Keras 2. Weights are freshly initialized.

    Args:
        config: The dict. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
        compile: Whether to compile from compile_config when there is one. Defaults to True.
        safe_mode: See deserialize_layer. Defaults to True.
    """
    from fastnn.models import Sequential

    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"model config: expected a dict with 'class_name' and 'config', "
                         f"received {str(config)[:200]}")
    class_name = config["class_name"]
    if class_name not in ("Sequential",) and _lookup(class_name, custom_objects) is None:
        raise ValueError(f"model config: fastnn can rebuild Sequential models only; this "
                         f"file holds a {class_name!r} model (the functional API and "
                         f"subclassed models are not supported)")
    check_no_code(config, safe_mode, where="model config")
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise ValueError(f"model config: expected 'config' to be a dict, received "
                         f"{type(inner).__name__}")
    layer_entries = inner.get("layers", [])
    if not isinstance(layer_entries, list):
        raise ValueError(f"model config: expected 'layers' to be a list, received "
                         f"{type(layer_entries).__name__}")
    with object_registration.CustomObjectScope(custom_objects):
        name = inner.get("name")
        model = Sequential(name=name if isinstance(name, str) and name else None)
        for entry in layer_entries:
            layer = deserialize_layer(entry, custom_objects, safe_mode)
            try:
                model.add(layer)
            except (TypeError, ValueError) as e:
                raise ValueError(f"model config: could not add layer '{layer.name}': {e}") \
                    from e
        if not model.built and model._layers:
            shape = _as_shape(inner.get("build_input_shape"), "build_input_shape")
            if shape is None:
                shape = _as_shape(config.get("build_config"), "build_config")
            if shape is not None:
                model.build(shape)
        if inner.get("trainable") is False:
            model.trainable = False
        cc = config.get("compile_config")
        if compile and cc:
            compile_from_config(model, cc, custom_objects, safe_mode)
    return model


def model_from_json(json_string, custom_objects=None):
    """Build a Sequential model from JSON text written by to_json (fastnn or Keras).

    Args:
        json_string: The JSON text. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
    """
    return model_from_config(loads(json_string, "json_string"), custom_objects=custom_objects)


# ---- compile config --------------------------------------------------------------------

def _deserialize_identifier(value, module, what, custom_objects):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_deserialize_identifier(v, module, what, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_identifier(v, module, what, custom_objects)
                for k, v in value.items()}
    try:
        return module.deserialize(_strip_extras(value), custom_objects)
    except (TypeError, ValueError) as e:
        message = str(e)
        name = _unknown_name(message) or (value.get("registered_name") or
                                          value.get("class_name")
                                          if isinstance(value, dict) else repr(value)[:100])
        raise ValueError(f"compile config: could not rebuild the {what} {name!r}: {message}. "
                         f"If {name!r} is your own object, {_hint(str(name))}.") from e


def compile_from_config(model, config, custom_objects=None, safe_mode=True):
    """Compile model from Keras 3's compile_config or Keras 2's training_config.

    Args:
        model: The Sequential model. Default required.
        config: The dict. Default required.
        custom_objects: Names of your own objects. Defaults to None.
        safe_mode: See deserialize_layer. Defaults to True.
    """
    from fastnn import losses, metrics, optimizers

    if not isinstance(config, dict):
        raise ValueError(f"compile config: expected a dict, received {type(config).__name__}")
    check_no_code(config, safe_mode, where="compile config")
    opt = config.get("optimizer", config.get("optimizer_config"))
    if opt is None:
        opt = "rmsprop"
    elif isinstance(opt, dict):
        opt = _strip_extras(opt)
        try:
            opt = optimizers.deserialize(opt, custom_objects)
        except (TypeError, ValueError, NotImplementedError) as e:
            name = opt.get("registered_name") or opt.get("class_name")
            raise ValueError(f"compile config: could not rebuild the optimizer {name!r}: "
                             f"{e}. If {name!r} is your own optimizer, {_hint(str(name))}.") \
                from e
    loss = _deserialize_identifier(config.get("loss"), losses, "loss", custom_objects)
    if isinstance(loss, dict) and len(loss) == 1:
        loss = next(iter(loss.values()))
    if isinstance(loss, list) and len(loss) == 1:
        loss = loss[0]
    metric_list = _deserialize_identifier(config.get("metrics"), metrics, "metric",
                                          custom_objects)
    weighted = _deserialize_identifier(config.get("weighted_metrics"), metrics, "metric",
                                       custom_objects)
    model.compile(optimizer=opt, loss=loss, metrics=_flat_metrics(metric_list),
                  loss_weights=config.get("loss_weights"),
                  weighted_metrics=_flat_metrics(weighted))


def _flat_metrics(value):
    """Keras 2 files may nest metrics per output ([['accuracy']]); one output here."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        return value[0]
    return value
