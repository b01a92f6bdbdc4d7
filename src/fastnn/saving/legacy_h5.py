"""The legacy HDF5 whole-model file (.h5) of Keras 2, which Keras 3 still writes on request.

Layout::

    attrs: model_config (JSON), training_config (JSON), keras_version, backend
    model_weights/            attrs layer_names: the layers that own a weight group
      <layer name>/           attrs weight_names: dataset paths inside this group, in the
                              order of layer.weights
    optimizer_weights/        attrs weight_names: the optimizer's variables, in order

Layers are matched by position among the layers that have weights, as Keras does; the
optimizer's variables by position too (Keras 3's order: iteration, learning rate, slots).
Files whose optimizer state does not fit (Keras 2's optimizers keep other variables) load
with a warning and a fresh optimizer.
"""
import io
import warnings

import numpy as np

from fastnn.saving import serialization, weights_h5
from fastnn.saving.atomic import atomic_write

__all__ = ["save_legacy_h5", "load_legacy_h5", "load_legacy_weights", "is_legacy_h5"]

KERAS_VERSION = "3.0.0"
# Weights use TensorFlow's layout (a Dense kernel is (inputs, units)), which is what the
# 'backend' attribute tells Keras's legacy loader.
BACKEND = "tensorflow"


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return value


def _names(value, what):
    """An HDF5 attribute that lists names, as a list of str (None when it is not a list)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return None  # not a list of names
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    if arr.ndim != 1 or arr.dtype.kind not in "OSU":
        raise ValueError(f"{what}: expected a list of names, received {value!r}")
    return [_text(v) for v in arr.tolist()]


def _legacy_entry(entry):
    """A Keras 3 layer entry in Keras 2's form: class_name and config only."""
    cls = entry["class_name"]
    registered = entry.get("registered_name")
    if registered and registered != cls:
        cls = registered
    return {"class_name": cls, "config": entry["config"]}


def _unique(names):
    seen = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


# ---- writing -----------------------------------------------------------------------------

def save_legacy_h5(model, filepath, include_optimizer=True):
    """Write the model as a legacy .h5 whole-model file (atomically, or to a file object).

    Args:
        model: A Sequential model. Default required.
        filepath: A path ending in .h5 or .hdf5, or a file object. Default required.
        include_optimizer: Whether to store the training config and optimizer state.
            Defaults to True.
    """
    import h5py

    full = serialization.serialize_model(model, include_compile=True)
    model_config = {"class_name": "Sequential",
                    "config": dict(full["config"],
                                   layers=[_legacy_entry(e) for e in full["config"]["layers"]])}
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.attrs["backend"] = BACKEND
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["model_config"] = serialization.dumps(model_config)
        group = h5.create_group("model_weights")
        group.attrs["backend"] = BACKEND
        group.attrs["keras_version"] = KERAS_VERSION
        layer_names = []
        for layer in model._layers:
            layer_names.append(layer.name)
            g = group.create_group(layer.name)
            variables = weights_h5.keras_order(layer)
            names = _unique([f"{layer.name}/{v.name}" for v in variables])
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n, v in zip(names, variables):
                g.create_dataset(n, data=v.value)
        group.attrs["layer_names"] = np.array([n.encode() for n in layer_names], dtype="S")
        top = group.create_group("top_level_model_weights")
        top.attrs["weight_names"] = np.array([], dtype="S")
        cc = full.get("compile_config")
        if include_optimizer and cc is not None:
            training = {k: cc.get(k) for k in ("loss", "metrics", "weighted_metrics",
                                               "loss_weights")}
            opt = cc["optimizer"]
            training["optimizer_config"] = {"class_name": opt["class_name"],
                                            "config": opt["config"]}
            h5.attrs["training_config"] = serialization.dumps(training)
            variables = model.optimizer.variables
            og = h5.create_group("optimizer_weights")
            names = [str(v.path) for v in variables]
            og.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n, v in zip(names, variables):
                og.create_dataset(n, data=v.value)
    data = buf.getvalue()
    if hasattr(filepath, "write"):
        filepath.write(data)
        return
    with atomic_write(filepath) as f:
        f.write(data)


# ---- reading -----------------------------------------------------------------------------

def is_legacy_h5(h5):
    """Whether an open HDF5 file is a legacy whole-model or weights file."""
    return "model_config" in h5.attrs or "layer_names" in h5.attrs or (
        "model_weights" in h5 and "layer_names" in h5["model_weights"].attrs)


def load_legacy_weights(group, model, skip_mismatch=False, source="legacy .h5 file"):
    """Assign the model's weights from a legacy group (model_weights, or a weights file).

    Args:
        group: The h5py group with the layer_names attribute. Default required.
        model: The built Sequential model. Default required.
        skip_mismatch: Skip mismatched layers with a warning. Defaults to False.
        source: How to name the file in errors. Defaults to "legacy .h5 file".
    """
    import h5py

    names = _names(group.attrs.get("layer_names"), f"{source}: layer_names")
    if names is None:
        raise ValueError(f"{source}: the 'layer_names' attribute is not a list of names")
    saved = []
    for lname in names:
        if lname not in group or not isinstance(group[lname], h5py.Group):
            raise ValueError(f"{source}: layer_names lists '{lname}' but the file has no "
                             f"group for it")
        wnames = _names(group[lname].attrs.get("weight_names"), f"{source}: '{lname}'")
        if wnames:
            saved.append((lname, wnames))
    layers = [layer for layer in model._layers if layer.weights]
    if len(saved) != len(layers):
        raise ValueError(f"{source}: the file has weights for {len(saved)} layers "
                         f"{[n for n, _ in saved]}, but the model has {len(layers)} layers "
                         f"with weights {[layer.name for layer in layers]}")
    plan = []
    for (lname, wnames), layer in zip(saved, layers):
        variables = _match(wnames, weights_h5.keras_order(layer))
        what = f"{source}: layer '{layer.name}' (saved as '{lname}')"
        try:
            if len(wnames) != len(variables):
                raise ValueError(f"{what} expected {len(variables)} weights, the file has "
                                 f"{len(wnames)}")
            values = [weights_h5.read_dataset(group[lname], w, v.shape,
                                              f"{what} weight '{v.name}'")
                      for w, v in zip(wnames, variables)]
        except ValueError as e:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping the weights of layer '{layer.name}': {e}", stacklevel=3)
            continue
        plan.append((layer, variables, values))
    weights_h5.assign_plan(plan)


def _match(wnames, variables):
    """Variables in the order of the saved names: by short name when all match, else as is."""
    short = [w.rsplit("/", 1)[-1].split(":")[0] for w in wnames]
    by_name = {v.name: v for v in variables}
    if len(by_name) == len(variables) == len(short) and set(short) == set(by_name):
        return [by_name[s] for s in short]
    return variables


def _restore_legacy_optimizer(h5, model, source):
    group = h5["optimizer_weights"]
    names = _names(group.attrs.get("weight_names"), f"{source}: optimizer_weights")
    if names is None:
        warnings.warn(f"{source}: the optimizer's weight names are not a list of names, so "
                      f"its state cannot be restored; the optimizer starts fresh",
                      stacklevel=4)
        return
    try:
        weights_h5.restore_optimizer(
            model, len(names),
            lambda i, shape: weights_h5.read_dataset(group, names[i], shape,
                                                     f"{source}: optimizer weight {i}"))
    except ValueError as e:
        warnings.warn(f"{source}: the optimizer state was not restored ({e}); the optimizer "
                      f"starts fresh", stacklevel=4)


def load_legacy_h5(h5, custom_objects=None, compile=True, safe_mode=True,
                   source="legacy .h5 file"):
    """Rebuild a model from an open legacy whole-model HDF5 file.

    Args:
        h5: The open h5py.File. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
        compile: Whether to compile from training_config. Defaults to True.
        safe_mode: Refuse code stored in the file. Defaults to True.
        source: How to name the file in errors. Defaults to "legacy .h5 file".
    """
    raw = h5.attrs.get("model_config")
    if raw is None:
        raise ValueError(f"{source}: no model config found in the file (it holds weights "
                         f"only?); build the model and call model.load_weights instead")
    config = serialization.loads(_text(raw), f"{source}: model_config")
    if isinstance(config, dict) and isinstance(config.get("config"), list):
        config = dict(config, config={"layers": config["config"]})  # Keras < 2.3
    model = serialization.model_from_config(config, custom_objects=custom_objects,
                                            compile=False, safe_mode=safe_mode)
    group = h5["model_weights"] if "model_weights" in h5 else h5
    load_legacy_weights(group, model, source=source)
    raw = h5.attrs.get("training_config")
    if compile and raw is not None:
        training = serialization.loads(_text(raw), f"{source}: training_config")
        with_objects = serialization.object_registration.CustomObjectScope(custom_objects)
        with with_objects:
            serialization.compile_from_config(model, training, custom_objects, safe_mode)
        if "optimizer_weights" in h5:
            _restore_legacy_optimizer(h5, model, source)
    elif compile:
        warnings.warn(f"{source}: no training configuration found in the file, so the model "
                      f"was not compiled; compile it yourself", stacklevel=3)
    return model
