"""Where fastnn's datasets look for their files before downloading them.

In order: $FASTNN_DATA_DIR (where ../shared/data/prepare-datasets writes; ~/.fastnn/datasets,
or $FASTNN_HOME/datasets, when it is not set), then Keras's cache ($KERAS_HOME/datasets or
~/.keras/datasets, so files tf.keras already downloaded are reused), and otherwise a
download from the canonical URL through fastnn.utils.get_file, checked against the known
hash and cached in fastnn's cache (~/.fastnn/datasets, or $FASTNN_HOME/datasets).
"""
import os

__all__ = ["data_dir", "keras_dir", "find_or_download"]


def data_dir():
    """$FASTNN_DATA_DIR, else $FASTNN_HOME/datasets, else ~/.fastnn/datasets."""
    return os.environ.get("FASTNN_DATA_DIR") or os.path.join(
        os.environ.get("FASTNN_HOME") or os.path.expanduser(os.path.join("~", ".fastnn")),
        "datasets")


def keras_dir():
    """Keras's dataset cache: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    return os.path.join(os.environ.get("KERAS_HOME") or
                        os.path.expanduser(os.path.join("~", ".keras")), "datasets")


def find_or_download(relpath, origin, file_hash, name="path"):
    """The path of a dataset file: found locally, or downloaded and verified.

    Args:
        relpath: The file's path relative to the data folders (or an absolute path).
        origin: The URL to download it from when no folder has it.
        file_hash: The download's expected sha256 or md5 digest (None: no check).
        name: The argument to name in errors. Defaults to "path".
    """
    from fastnn.utils.file_utils import get_file

    if not isinstance(relpath, (str, os.PathLike)) or not os.fspath(relpath):
        raise TypeError(f"{name}: expected a file name or path (str), received {relpath!r}")
    relpath = os.path.expanduser(os.fspath(relpath))
    if os.path.isabs(relpath):
        candidates = [relpath]
        folder, fname = os.path.split(relpath)
        subdir = folder  # get_file takes an absolute cache_subdir as is
    else:
        candidates = [os.path.join(data_dir(), relpath), os.path.join(keras_dir(), relpath)]
        folder, fname = os.path.split(relpath)
        subdir = os.path.join("datasets", folder) if folder else "datasets"
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return get_file(fname, origin, file_hash=file_hash, cache_subdir=subdir)
