"""Keras 3's weights file (model.weights.h5, and .weights.h5 on its own), both ways.

Layout, as Keras 3 writes it::

    vars/                         attrs {name: <model name>}, no datasets
    layers/<key>/vars/0, 1, ...   attrs {name: <layer name>}; one dataset per variable
    optimizer/vars/0, 1, ...      attrs {name: <optimizer name>}: iteration, learning rate,
                                  then the slots in Keras's order

A layer's key is NOT its name: it is the snake_case class name, made unique by counting
('dense', 'dense_1', 'p_re_lu', ...), in the order of model.layers (the input layer is not
one of them). Within a layer the variables are numbered trainable ones first (in creation
order), then the others. h5py is imported only when one of these functions runs.
"""
import contextlib
import warnings

import numpy as np

from fastnn._registry import to_snake_case

__all__ = ["layer_keys", "write_model_weights", "read_model_weights", "open_h5",
           "hdf5_errors"]


def layer_keys(model):
    """[(key, layer)] for the model's layers, with Keras's unique snake_case keys."""
    used = {}
    out = []
    for layer in model._layers:
        base = to_snake_case(type(layer).__name__)
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        out.append((key, layer))
    return out


def keras_order(layer):
    """The layer's variables in Keras's save order: trainable first, then the others."""
    weights = list(layer.weights)
    first = [v for v in weights if getattr(v, "_user_trainable", v.trainable)]
    rest = [v for v in weights if not getattr(v, "_user_trainable", v.trainable)]
    return first + rest


def _write_group(h5, path, name, arrays):
    group = h5.create_group(f"{path}/vars" if path else "vars")
    group.attrs["name"] = name
    for i, value in enumerate(arrays):
        group.create_dataset(str(i), data=np.asarray(value))


def write_model_weights(h5, model, include_optimizer=True):
    """Write the model's (and its optimizer's) variables into an open h5py File.

    Args:
        h5: An h5py.File open for writing. Default required.
        model: A built Sequential model. Default required.
        include_optimizer: Whether to write optimizer/vars. Defaults to True.
    """
    _write_group(h5, "", model.name, [])
    h5.create_group("layers")
    for key, layer in layer_keys(model):
        _write_group(h5, f"layers/{key}", layer.name, [v.value for v in keras_order(layer)])
    opt = getattr(model, "optimizer", None)
    if include_optimizer and opt is not None and getattr(model, "_compiled", False):
        _write_group(h5, "optimizer", str(opt.name), [v.value for v in opt.variables])


# ---- reading -----------------------------------------------------------------------------

def open_h5(source, what):
    """Open an HDF5 file (a path or a file object) for reading; errors become ValueError."""
    import h5py

    try:
        return h5py.File(source, "r")
    except (OSError, ValueError, RuntimeError, KeyError, OverflowError) as e:
        raise ValueError(f"{what}: not a readable HDF5 file (truncated or corrupt?): {e}") \
            from None


@contextlib.contextmanager
def hdf5_errors(what):
    """Turn the errors HDF5 raises for a damaged file into a ValueError naming it.

    h5py reports corrupt B-trees, object headers and sizes as RuntimeError, KeyError,
    OSError or OverflowError from any access (h5["x"], "x" in group, attrs.get...).
    """
    try:
        yield
    except (RuntimeError, KeyError, OSError, OverflowError) as e:
        raise ValueError(f"{what}: the HDF5 data is damaged (truncated or corrupt file?): "
                         f"{type(e).__name__}: {e}") from None


def _vars_group(h5, path):
    import h5py

    for candidate in (path, path.replace("layers", "_layer_checkpoint_dependencies", 1)):
        if candidate and candidate in h5:
            node = h5[candidate]
            if isinstance(node, h5py.Group) and "vars" in node:
                vars_group = node["vars"]
                if isinstance(vars_group, h5py.Group):
                    return vars_group
    return None


def read_dataset(group, key, expected_shape, what):
    """One dataset as an array, after checking that it is safe and has the expected shape."""
    import h5py

    link = group.get(key, getlink=True)
    if link is None:
        raise ValueError(f"{what}: missing dataset '{key}' in '{group.name}'")
    if isinstance(link, h5py.ExternalLink):
        raise ValueError(f"{what}: '{group.name}/{key}' links to another file; refusing to "
                         f"follow it")
    ds = group[key]
    if not isinstance(ds, h5py.Dataset):
        raise ValueError(f"{what}: '{group.name}/{key}' is not a dataset")
    if ds.is_virtual or ds.external:
        raise ValueError(f"{what}: '{group.name}/{key}' stores its data outside this file; "
                         f"refusing to read it")
    if ds.dtype.kind not in "biuf":
        raise ValueError(f"{what}: '{group.name}/{key}' has dtype {ds.dtype}, expected "
                         f"numbers")
    if expected_shape is not None and tuple(ds.shape) != tuple(expected_shape):
        raise ValueError(f"{what}: expected shape {tuple(expected_shape)}, the file has "
                         f"{tuple(ds.shape)} at '{group.name}/{key}'")
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError) as e:
        raise ValueError(f"{what}: could not read '{group.name}/{key}' (truncated or "
                         f"corrupt file?): {e}") from None


def _numbered_keys(group, what):
    keys = list(group.keys())
    try:
        order = sorted(int(k) for k in keys)
    except ValueError:
        raise ValueError(f"{what}: expected datasets named 0, 1, ... in '{group.name}', "
                         f"found {sorted(keys)}") from None
    if order != list(range(len(keys))):
        raise ValueError(f"{what}: expected datasets named 0..{len(keys) - 1} in "
                         f"'{group.name}', found {sorted(keys)}")
    return [str(i) for i in order]


def read_model_weights(h5, model, skip_mismatch=False, source="weights file"):
    """Assign the layers' weights from a Keras 3 weights file (all checked first).

    Args:
        h5: An open h5py.File. Default required.
        model: The built Sequential model. Default required.
        skip_mismatch: Skip (with a warning) layers whose variables do not match instead
            of failing. Defaults to False.
        source: How to name the file in errors. Defaults to "weights file".
    """
    if "layers" not in h5 and "_layer_checkpoint_dependencies" not in h5:
        raise ValueError(f"{source}: no 'layers' group; this is not a Keras 3 weights file")
    plan = []
    for key, layer in layer_keys(model):
        variables = keras_order(layer)
        group = _vars_group(h5, f"layers/{key}")
        what = f"{source}: layer '{layer.name}' ('layers/{key}')"
        try:
            keys = _numbered_keys(group, what) if group is not None else []
            if len(keys) != len(variables):
                raise ValueError(f"{what} expected {len(variables)} variables "
                                 f"{[v.name for v in variables]}, but the file has "
                                 f"{len(keys)}")
            values = [read_dataset(group, k, v.shape, f"{what} variable '{v.name}'")
                      for k, v in zip(keys, variables)]
        except ValueError as e:
            if not skip_mismatch:
                raise
            warnings.warn(f"Skipping the weights of layer '{layer.name}': {e}", stacklevel=3)
            continue
        plan.append((layer, variables, values))
    assign_plan(plan)
    _warn_unused(h5, {key for key, _ in layer_keys(model)}, source)


def assign_plan(plan):
    """Assign weights read for (layer, variables in file order, values) triples, only
    once every layer's values have been read and checked."""
    for layer, variables, values in plan:
        by_id = {id(v): a for v, a in zip(variables, values)}
        layer.set_weights([by_id[id(v)] for v in layer.weights])


def _warn_unused(h5, used, source):
    """Keras ignores layers of the file that the model lacks; fastnn says so."""
    group = h5.get("layers")
    if group is None:
        return
    extra = sorted(k for k in group.keys() if k not in used and
                   (_vars_group(h5, f"layers/{k}") is not None and
                    len(_vars_group(h5, f"layers/{k}")) > 0))
    if extra:
        warnings.warn(f"{source}: the file has weights for layers the model does not have "
                      f"({extra}); they were not loaded", stacklevel=4)


def load_optimizer_state(model, h5, source="weights file"):
    """Restore the optimizer's variables (Keras 3's order) from optimizer/vars.

    Does nothing when the model has no optimizer or the file has no optimizer state.
    """
    group = _vars_group(h5, "optimizer")
    if group is None:
        return
    what = f"{source}: optimizer"
    keys = _numbered_keys(group, what)
    restore_optimizer(model, len(keys),
                      lambda i, shape: read_dataset(group, keys[i], shape,
                                                    f"{what} variable {i}"))


def restore_optimizer(model, count, read):
    """Build the model's optimizer if needed and load `count` saved variables into it.

    The optimizer is built on the model's trainable weights, as training would build it,
    when the file holds slot variables. A count that does not match is skipped with
    Keras's warning. ``read(i, shape)`` returns the i-th saved array, checked to have
    the shape (so that nothing larger than expected is ever read).
    """
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(model, "_compiled", False):
        return
    if not opt.built and count > len(opt.variables) and model.trainable_weights:
        opt.build(model.trainable_weights)
    expected = opt.variables
    if count != len(expected):
        warnings.warn(f"Skipping variable loading for optimizer '{opt.name}', because it has "
                      f"{len(expected)} variables whereas the saved optimizer has "
                      f"{count} variables.", stacklevel=3)
        return
    arrays = [read(i, v.shape) for i, v in enumerate(expected)]
    opt.load_own_variables({str(i): a for i, a in enumerate(arrays)})
