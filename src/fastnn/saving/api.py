"""save_model / load_model / save_weights / load_weights: pick the format, check arguments."""
import io
import os

import numpy as np

from fastnn.layers.base import allocation_limit
from fastnn.saving import keras_file, legacy_h5, serialization, weights_h5
from fastnn.saving.atomic import atomic_write

__all__ = ["save_model", "load_model", "save_weights", "load_weights"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")


def _check_model(model, what):
    from fastnn.models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"model: {what} expects a fastnn Sequential model, received "
                        f"{type(model).__name__}")


def _path(filepath, name="filepath"):
    if isinstance(filepath, (str, os.PathLike)):
        return os.fspath(filepath)
    raise TypeError(f"{name}: expected a str or os.PathLike path (or a file object), "
                    f"received {type(filepath).__name__}")


def _check_overwrite(path, overwrite):
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite: expected a bool, received {overwrite!r}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"filepath: {path!r} exists and overwrite=False")


def save_model(model, filepath, overwrite=True, zipped=None, include_optimizer=True,
               **kwargs):
    """Save a model: architecture, weights, compile arguments and optimizer state.

    The format follows the extension: ``.keras`` writes Keras 3's zip, ``.h5``/``.hdf5``
    the legacy HDF5 file. A path is replaced atomically, so a crash or a kill during the
    save leaves the previous file as it was.

    Args:
        model: A fastnn Sequential model. Default required.
        filepath: A path ending in .keras, .h5 or .hdf5, or a writable binary file object
            (written as .keras). Default required.
        overwrite: Whether an existing file may be replaced. Defaults to True.
        zipped: Accepted for Keras's signature; only zipped .keras files are written
            (False is an error). Defaults to None.
        include_optimizer: Whether to store the optimizer's state. Defaults to True.

    Example:
        >>> model.save("model.keras")
    """
    _check_model(model, "save")
    if kwargs:
        raise TypeError(f"{sorted(kwargs)[0]}: unexpected keyword argument for save")
    if zipped is False:
        raise ValueError("zipped: fastnn writes zipped .keras files only; received "
                         "zipped=False")
    if hasattr(filepath, "write"):
        keras_file.save_keras(model, filepath, include_optimizer)
        return
    path = _path(filepath)
    _check_overwrite(path, overwrite)
    lower = path.lower()
    if lower.endswith(".keras"):
        keras_file.save_keras(model, path, include_optimizer)
    elif lower.endswith((".h5", ".hdf5")):
        legacy_h5.save_legacy_h5(model, path, include_optimizer)
    else:
        raise ValueError(f"filepath: expected a path ending in '.keras' (Keras 3's format, "
                         f"recommended) or '.h5' (legacy HDF5), received {path!r}")


def _size(source):
    """The size in bytes of a path or a seekable file object."""
    if hasattr(source, "seek"):
        pos = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(pos)
        return end
    return os.path.getsize(source)


def _sniff(source):
    """'zip', 'hdf5' or None from a file's first bytes (source: path or file object)."""
    if hasattr(source, "read"):
        pos = source.tell()
        head = source.read(8)
        source.seek(pos)
    else:
        with open(source, "rb") as f:
            head = f.read(8)
    if head.startswith(_ZIP_SIGNATURES):
        return "zip"
    if head == _HDF5_SIGNATURE:
        return "hdf5"
    return None


def _source(filepath):
    """(source, display name) for a path or a readable binary file object."""
    if hasattr(filepath, "read"):
        if not hasattr(filepath, "seek"):
            filepath = io.BytesIO(filepath.read())
        return filepath, getattr(filepath, "name", "<file object>")
    path = _path(filepath)
    if not os.path.exists(path):
        raise ValueError(f"File not found: filepath={path}. Please ensure the file is an "
                         f"accessible '.keras' zip file or '.h5' file.")
    if os.path.isdir(path):
        raise ValueError(f"filepath: {path!r} is a directory; expected a .keras or .h5 file "
                         f"(SavedModel folders are TensorFlow's format and are not read)")
    return path, path


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved by fastnn or by Keras (.keras, or a legacy .h5 whole-model file).

    Predictions of the loaded model are bit-identical to the saved one's, and with
    compile=True the optimizer's state comes back, so training continues where it stopped.

    Args:
        filepath: A path or a readable binary file object. Default required.
        custom_objects: A dict of names to your own classes and functions used by the
            model. Defaults to None.
        compile: Whether to compile the model as it was saved and restore the optimizer
            state. Defaults to True.
        safe_mode: Refuse to deserialize code stored in the file (Lambda layers, lambda
            functions). fastnn never runs such code; with False the error says so.
            Defaults to True.

    Raises:
        ValueError: For a missing, malformed or truncated file, and for objects that
            cannot be found (the message names them and how to register them).

    Example:
        >>> model = fastnn.models.load_model("model.keras")
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(f"custom_objects: expected a dict of names to objects or None, "
                        f"received {type(custom_objects).__name__}")
    if not isinstance(compile, bool):
        raise TypeError(f"compile: expected a bool, received {compile!r}")
    if not isinstance(safe_mode, bool):
        raise TypeError(f"safe_mode: expected a bool, received {safe_mode!r}")
    source, name = _source(filepath)
    kind = _sniff(source)
    if kind == "zip":
        return keras_file.load_keras(source, custom_objects, compile, safe_mode, name=name)
    if kind == "hdf5":
        with weights_h5.open_h5(source, name) as h5, weights_h5.hdf5_errors(name), \
                allocation_limit(_size(source), name):
            if "model_config" not in h5.attrs:
                raise ValueError(f"{name}: this HDF5 file holds no model config (a weights "
                                 f"file?); build the model and call model.load_weights")
            return legacy_h5.load_legacy_h5(h5, custom_objects, compile, safe_mode,
                                            source=name)
    raise ValueError(f"{name}: not a Keras model file: expected a .keras zip archive or an "
                     f"HDF5 .h5 file, and the file starts with neither signature (empty, "
                     f"truncated or another format?)")


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    """Save the model's weights (and optimizer state) to a ``.weights.h5`` file.

    Args:
        model: A fastnn Sequential model. Default required.
        filepath: A path ending in '.weights.h5'. Default required.
        overwrite: Whether an existing file may be replaced. Defaults to True.
        max_shard_size: Not supported (must be None). Defaults to None.
    """
    import h5py

    _check_model(model, "save_weights")
    if max_shard_size is not None:
        raise ValueError(f"max_shard_size: sharded weights are not supported; received "
                         f"{max_shard_size!r}")
    path = _path(filepath)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"filepath: the filename must end in '.weights.h5', received "
                         f"{path!r}")
    _check_overwrite(path, overwrite)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        weights_h5.write_model_weights(h5, model)
    with atomic_write(path) as f:
        f.write(buf.getvalue())


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    """Load weights saved by save_weights, model.save (.keras) or Keras (.h5 files too).

    The optimizer's state is restored as well when the file holds it and the model is
    compiled.

    Args:
        model: A fastnn Sequential model, built. Default required.
        filepath: A .weights.h5, .keras or legacy .h5 path (or file object). Default
            required.
        skip_mismatch: Skip layers whose weights do not match, with a warning, instead of
            failing. Defaults to False.
    """
    _check_model(model, "load_weights")
    if kwargs:
        raise TypeError(f"{sorted(kwargs)[0]}: unexpected keyword argument for load_weights")
    if not isinstance(skip_mismatch, bool):
        raise TypeError(f"skip_mismatch: expected a bool, received {skip_mismatch!r}")
    if not model.built:
        shape = model._declared_input_shape()
        if shape is None:
            raise ValueError(f"model '{model.name}' is not built, so it has no weights to "
                             f"load into; call model.build(input_shape) first")
        model.build((None,) + tuple(shape))
    source, name = _source(filepath)
    kind = _sniff(source)
    if kind not in ("zip", "hdf5"):
        raise ValueError(f"{name}: not a weights file: expected HDF5 (.weights.h5 or .h5) "
                         f"or a .keras zip archive")
    # The weights are read and checked before any is assigned, but the optimizer state
    # comes after them: if it fails, the weights go back to what they were.
    before = [v.value.copy() for v in model.weights]
    try:
        if kind == "zip":
            keras_file.load_keras_weights(model, source, skip_mismatch, name=name)
            return
        with weights_h5.open_h5(source, name) as h5, weights_h5.hdf5_errors(name):
            if legacy_h5.is_legacy_h5(h5):
                group = h5["model_weights"] if "model_weights" in h5 else h5
                legacy_h5.load_legacy_weights(group, model, skip_mismatch, source=name)
            else:
                weights_h5.read_model_weights(h5, model, skip_mismatch, source=name)
                weights_h5.load_optimizer_state(model, h5, source=name)
    except BaseException:
        for v, value in zip(model.weights, before):
            if not np.array_equal(v.value, value, equal_nan=True):
                v.assign(value)
        raise


def model_from_json(json_string, custom_objects=None):
    """Build a model (with fresh weights) from JSON written by model.to_json.

    Args:
        json_string: The JSON text. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
    """
    return serialization.model_from_json(json_string, custom_objects)
