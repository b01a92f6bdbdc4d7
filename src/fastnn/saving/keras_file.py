"""The Keras 3 ``.keras`` file: a zip of config.json, metadata.json and model.weights.h5.

Members are stored uncompressed, as Keras stores them. Reading checks each member's
declared size against what the archive holds before reading it, and turns zip, JSON and
HDF5 errors into ValueErrors that name the file.
"""
import datetime
import io
import zipfile
import zlib

from fastnn.layers.base import allocation_limit
from fastnn.saving import serialization, weights_h5
from fastnn.saving.atomic import atomic_write

__all__ = ["save_keras", "load_keras", "load_keras_weights", "CONFIG", "METADATA", "WEIGHTS"]

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
# The file format fastnn writes is Keras 3's; Keras records its own version here.
FORMAT_VERSION = "3.0.0"
# A member may not expand to more than this many times its stored size (zip bombs).
_MAX_EXPANSION = 100
_BOMB_FLOOR = 1 << 28


def weights_bytes(model, include_optimizer=True):
    """The model.weights.h5 member as bytes."""
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        weights_h5.write_model_weights(h5, model, include_optimizer=include_optimizer)
    return buf.getvalue()


def _write_member(zf, name, data):
    """One stored (uncompressed) member; a separate function so tests can slow it down."""
    info = zipfile.ZipInfo(name, date_time=datetime.datetime.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    zf.writestr(info, data)


def _write_zip(fileobj, members):
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            _write_member(zf, name, data)


def save_keras(model, filepath, include_optimizer=True):
    """Write the model to a .keras file (atomically) or to a writable binary file object.

    Args:
        model: A Sequential model. Default required.
        filepath: A path ending in .keras, or a file object. Default required.
        include_optimizer: Whether to store the optimizer's state. Defaults to True.
    """
    from fastnn import __version__

    config = serialization.serialize_model(model, include_compile=True)
    if not include_optimizer:
        config.pop("compile_config", None)
    metadata = {"keras_version": FORMAT_VERSION, "fastnn_version": __version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    members = [(METADATA, serialization.dumps(metadata).encode()),
               (CONFIG, serialization.dumps(config).encode()),
               (WEIGHTS, weights_bytes(model, include_optimizer))]
    if hasattr(filepath, "write"):
        _write_zip(filepath, members)
        return
    with atomic_write(filepath) as f:
        _write_zip(f, members)


# ---- reading -----------------------------------------------------------------------------

def _open_zip(source, name):
    try:
        return zipfile.ZipFile(source, "r")
    except zipfile.BadZipFile as e:
        raise ValueError(f"{name}: not a valid .keras file (a zip archive was expected; the "
                         f"file may be truncated or corrupt): {e}") from None
    except (OSError, EOFError) as e:
        raise ValueError(f"{name}: could not read the .keras archive: {e}") from None


def _read_member(zf, member, name):
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise ValueError(f"{name}: the .keras archive has no '{member}' (it holds "
                         f"{zf.namelist()}); it is not a Keras model file or it is "
                         f"incomplete") from None
    if info.file_size > _BOMB_FLOOR and info.file_size > _MAX_EXPANSION * info.compress_size:
        raise ValueError(f"{name}: '{member}' declares {info.file_size} bytes but stores "
                         f"{info.compress_size}; refusing a possible decompression bomb")
    try:
        return zf.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as e:
        raise ValueError(f"{name}: '{member}' in the .keras archive is damaged (truncated or "
                         f"corrupt file?): {e}") from None


def read_config(zf, name):
    return serialization.loads(_read_member(zf, CONFIG, name), f"{name}: {CONFIG}")


def load_keras(source, custom_objects=None, compile=True, safe_mode=True, name=None):
    """Read a model from a .keras file (a path or a readable binary file object).

    Args:
        source: The path or file object. Default required.
        custom_objects: Names of your own classes and functions. Defaults to None.
        compile: Whether to compile the model and restore its optimizer. Defaults to True.
        safe_mode: Refuse code stored in the file (see fastnn.saving). Defaults to True.
        name: How to name the file in errors. Defaults to None (the path).
    """
    name = name or str(source)
    with _open_zip(source, name) as zf:
        config = read_config(zf, name)
        if "model.weights.npz" in zf.namelist() and WEIGHTS not in zf.namelist():
            raise ValueError(f"{name}: the weights are stored as model.weights.npz; fastnn "
                             f"reads the default HDF5 weights (model.weights.h5) only")
        data = _read_member(zf, WEIGHTS, name)
    # a config cannot declare weights far larger than the file holds (see allocation_limit)
    with allocation_limit(len(data), name):
        model = serialization.model_from_config(config, custom_objects=custom_objects,
                                                compile=compile, safe_mode=safe_mode)
    with weights_h5.open_h5(io.BytesIO(data), f"{name}: {WEIGHTS}") as h5, \
            weights_h5.hdf5_errors(f"{name}: {WEIGHTS}"):
        weights_h5.read_model_weights(h5, model, source=f"{name}: {WEIGHTS}")
        if compile:
            weights_h5.load_optimizer_state(model, h5, source=f"{name}: {WEIGHTS}")
    return model


def load_keras_weights(model, source, skip_mismatch=False, name=None):
    """Load only the weights (and optimizer state) of a .keras file into model."""
    name = name or str(source)
    with _open_zip(source, name) as zf:
        data = _read_member(zf, WEIGHTS, name)
    with weights_h5.open_h5(io.BytesIO(data), f"{name}: {WEIGHTS}") as h5, \
            weights_h5.hdf5_errors(f"{name}: {WEIGHTS}"):
        weights_h5.read_model_weights(h5, model, skip_mismatch=skip_mismatch,
                                      source=f"{name}: {WEIGHTS}")
        weights_h5.load_optimizer_state(model, h5, source=f"{name}: {WEIGHTS}")
