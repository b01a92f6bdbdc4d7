"""Atomic file replacement: a save that crashes or is killed leaves the old file intact.

The new content goes to a temporary file in the target's folder (same file system), is
flushed and fsynced, and then renamed over the target with os.replace, which POSIX and
Windows perform atomically. Readers see the old file or the new one, never a mix.
"""
import contextlib
import os
import stat
import tempfile

__all__ = ["atomic_write", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".fastnn-tmp"


def _default_mode():
    """0o666 without the process's umask bits (what open() would create)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no getter exists; set and restore at once
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows, where directories cannot be opened
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file to write; on a clean exit it atomically becomes `path`.

    On an exception the temporary file is removed and `path` is untouched.

    Args:
        path: The target file path. Its folder is created when missing. Default required.
    """
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"filepath: {path!r} is a directory; expected a file path")
    os.makedirs(folder, exist_ok=True)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = _default_mode()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
