"""keras.utils.get_file: download once into a cache, verify, and unpack archives safely.

The cache lives in ``$FASTNN_HOME`` or ``~/.fastnn`` (``/tmp/.fastnn`` when neither can be
written), under ``cache_subdir``. Downloads go to a temporary file that is renamed into
place only once complete and verified, so an interrupted download never poisons the
cache. Archives are unpacked into a fresh folder; a member whose path would land outside
it (absolute paths, '..', links pointing out, device files) is refused.
"""
import hashlib
import os
import re
import shutil
import tempfile

__all__ = ["get_file", "validate_file", "extract_archive", "cache_root"]

_SCHEMES = ("http", "https", "ftp", "file")
_CHUNK = 1 << 16
_TIMEOUT_S = 60


def cache_root(cache_dir=None):
    """The writable cache folder: cache_dir, else $FASTNN_HOME, else ~/.fastnn."""
    if cache_dir is None:
        cache_dir = os.environ.get("FASTNN_HOME") or os.path.join("~", ".fastnn")
    root = os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(root, exist_ok=True)
    except OSError:
        pass
    if not os.access(root, os.W_OK):
        root = os.path.join(tempfile.gettempdir(), ".fastnn")
    return root


def _hasher(algorithm, file_hash):
    if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64):
        return "sha256", hashlib.sha256()
    return "md5", hashlib.md5()


def _check_hash_arg(file_hash, hash_algorithm):
    if hash_algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm: expected 'auto', 'sha256' or 'md5', received "
                         f"{hash_algorithm!r}")
    if file_hash is None:
        return None
    if not isinstance(file_hash, str) or not re.fullmatch(r"[0-9a-fA-F]+", file_hash):
        raise ValueError(f"file_hash: expected a hexadecimal digest, received {file_hash!r}")
    name, _ = _hasher(hash_algorithm, file_hash)
    want = 64 if name == "sha256" else 32
    if len(file_hash) != want:
        raise ValueError(f"file_hash: a {name} digest has {want} hex digits, received "
                         f"{len(file_hash)} ({file_hash!r})")
    return file_hash.lower()


def _digest(fpath, algorithm, file_hash):
    _, h = _hasher(algorithm, file_hash)
    with open(fpath, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto"):
    """Whether the file's sha256 or md5 digest equals file_hash.

    Args:
        fpath: The file. Default required.
        file_hash: The expected hex digest. Default required.
        algorithm: 'sha256', 'md5' or 'auto' (sha256 for a 64-digit hash). Defaults to
            'auto'.
    """
    file_hash = _check_hash_arg(file_hash, algorithm)
    return _digest(fpath, algorithm, file_hash) == file_hash


# ---- download ----------------------------------------------------------------------------

def _download(origin, target, verbose=1):
    """Fetch origin into target through a temporary file in the same folder."""
    import http.client
    import urllib.error
    import urllib.request

    from fastnn.callbacks.progbar import Progbar

    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(target) + ".",
                               suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urllib.request.urlopen(origin, timeout=_TIMEOUT_S)
            except urllib.error.HTTPError as e:
                raise ValueError(f"origin: URL fetch failure on {origin}: HTTP {e.code} "
                                 f"{e.reason}") from None
            except urllib.error.URLError as e:
                raise OSError(f"origin: URL fetch failure on {origin}: {e.reason}") from None
            with response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                bar = Progbar(total, verbose=verbose, unit_name="byte")
                done = 0
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except (http.client.HTTPException, OSError) as e:
                        raise OSError(f"origin: the download of {origin} broke off after "
                                      f"{done} bytes: {e!r}") from None
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    bar.update(done if total is None else min(done, total))
                if total is not None and done < total:
                    raise OSError(f"origin: the download of {origin} stopped after {done} of "
                                  f"{total} bytes")
                if total is None or done == 0:  # otherwise the last update finished the bar
                    bar.update(done, finalize=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---- extraction --------------------------------------------------------------------------

def _inside(root, name):
    """Whether the archive member name stays inside root once joined to it."""
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return False
    full = os.path.realpath(os.path.join(root, name))
    return full == root or full.startswith(root + os.sep)


def _check_tar(tar, root):
    for m in tar.getmembers():
        if not _inside(root, m.name):
            raise ValueError(f"archive: refusing member {m.name!r}: its path leaves the "
                             f"extraction folder")
        if m.isdev() or m.isfifo():
            raise ValueError(f"archive: refusing member {m.name!r}: device and FIFO files "
                             f"are not extracted")
        if m.issym():
            target = os.path.join(os.path.dirname(m.name), m.linkname)
            if os.path.isabs(m.linkname) or not _inside(root, target):
                raise ValueError(f"archive: refusing link {m.name!r} -> {m.linkname!r}: it "
                                 f"points outside the extraction folder")
        if m.islnk() and not _inside(root, m.linkname):
            raise ValueError(f"archive: refusing link {m.name!r} -> {m.linkname!r}: it "
                             f"points outside the extraction folder")


def _extract_tar(path, root):
    import tarfile

    with tarfile.open(path) as tar:
        _check_tar(tar, root)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")
        else:  # Python < 3.11.4: the members were checked above
            tar.extractall(root)


def _extract_zip(path, root):
    import zipfile

    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not _inside(root, name):
                raise ValueError(f"archive: refusing member {name!r}: its path leaves the "
                                 f"extraction folder")
        zf.extractall(root)


def _formats(archive_format):
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    if not isinstance(archive_format, (list, tuple)) or \
            any(f not in ("tar", "zip") for f in archive_format):
        raise ValueError(f"archive_format: expected 'auto', 'tar', 'zip', a list of these or "
                         f"None, received {archive_format!r}")
    return list(archive_format)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Unpack a tar (plain, gz, bz2, xz) or zip archive into path, refusing unsafe members.

    The archive is unpacked into a temporary folder next to path, which then replaces
    path, so a failed extraction leaves nothing half-written.

    Args:
        file_path: The archive. Default required.
        path: The folder to unpack into. Defaults to '.'.
        archive_format: 'auto' (tar, then zip), 'tar', 'zip', a list, or None. Defaults
            to 'auto'.

    Returns:
        True when the file was one of the formats and was unpacked, else False.

    Raises:
        ValueError: When a member would be written outside path.
    """
    import tarfile
    import zipfile

    formats = _formats(archive_format)
    file_path = os.fspath(file_path)
    path = os.path.realpath(os.fspath(path))
    for fmt in formats:
        is_fmt = tarfile.is_tarfile(file_path) if fmt == "tar" else zipfile.is_zipfile(file_path)
        if not is_fmt:
            continue
        parent = os.path.dirname(path)
        os.makedirs(parent, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=parent, prefix="." + os.path.basename(path) + ".")
        tmp_root = os.path.realpath(tmp)
        try:
            try:
                (_extract_tar if fmt == "tar" else _extract_zip)(file_path, tmp_root)
            except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
                raise ValueError(f"archive: {file_path!r} is damaged: {e}") from None
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
            os.replace(tmp_root, path)
        except BaseException:
            shutil.rmtree(tmp_root, ignore_errors=True)
            raise
        return True
    return False


# ---- get_file ----------------------------------------------------------------------------

def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Download a file into the cache unless it is already there, then return its path.

    As keras.utils.get_file (Keras 3): with ``extract=True`` (or ``untar=True``) the
    archive is unpacked into a folder and that folder's path is returned.

    Args:
        fname: The file's name in the cache. Defaults to None (the last part of origin's
            path).
        origin: The URL (http, https, ftp or file). Default required.
        untar: Keras 2's flag: unpack a tar archive. Defaults to False.
        md5_hash: Keras 2's name for an md5 file_hash. Defaults to None.
        file_hash: The expected sha256 or md5 hex digest; a cached file that does not
            match is downloaded again, and a download that does not match is deleted and
            raises ValueError. Defaults to None (no check).
        cache_subdir: The folder under the cache root (an absolute path is used as is).
            Defaults to 'datasets'.
        hash_algorithm: 'sha256', 'md5' or 'auto' (by the digest's length). Defaults to
            'auto'.
        extract: Unpack the archive. Defaults to False.
        archive_format: 'auto', 'tar', 'zip', a list of them, or None. Defaults to 'auto'.
        cache_dir: The cache root. Defaults to None ($FASTNN_HOME, else ~/.fastnn).
        force_download: Download even when the file is cached. Defaults to False.

    Returns:
        The path of the downloaded file, or of the folder it was unpacked into.

    Example:
        >>> path = get_file(origin="https://example.com/data.tar.gz", extract=True)
    """
    import urllib.parse

    if not isinstance(origin, str) or not origin:
        raise ValueError(f"origin: expected a URL, received {origin!r}")
    scheme = urllib.parse.urlsplit(origin).scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(f"origin: expected an http, https, ftp or file URL, received "
                         f"{origin!r}")
    for flag, value in (("untar", untar), ("extract", extract),
                        ("force_download", force_download)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag}: expected a bool, received {value!r}")
    if md5_hash is not None:
        if file_hash is None:
            file_hash, hash_algorithm = md5_hash, "md5"
    file_hash = _check_hash_arg(file_hash, hash_algorithm)
    formats = _formats(archive_format)
    if not isinstance(cache_subdir, (str, os.PathLike)):
        raise TypeError(f"cache_subdir: expected a str, received {cache_subdir!r}")
    provided = fname is not None
    if provided:
        if not isinstance(fname, (str, os.PathLike)):
            raise TypeError(f"fname: expected a str or None, received {fname!r}")
        fname = os.fspath(fname)
        if os.sep in fname or (os.altsep and os.altsep in fname) or fname in ("", ".", ".."):
            raise ValueError(f"fname: expected a file name without folders (use cache_dir "
                             f"and cache_subdir for the folder), received {fname!r}")
    else:
        fname = os.path.basename(urllib.parse.unquote(urllib.parse.urlsplit(origin).path))
        if not fname or fname in (".", ".."):
            raise ValueError(f"fname: cannot take a file name from origin {origin!r}; pass "
                             f"fname")
    datadir = os.path.join(cache_root(cache_dir), os.fspath(cache_subdir))
    os.makedirs(datadir, exist_ok=True)

    unpack = extract or untar
    if unpack:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            target = os.path.join(datadir, f"{fname}_archive")
            extraction_dir = os.path.join(datadir, fname)
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and \
            _digest(target, hash_algorithm, file_hash) != file_hash:
        name = _hasher(hash_algorithm, file_hash)[0]
        print(f"A local file was found at {target}, but its {name} hash does not match "
              f"{file_hash}; downloading it again.")
        download = True
    if download:
        print(f"Downloading data from {origin}")
        _download(origin, target)
        if file_hash is not None:
            got = _digest(target, hash_algorithm, file_hash)
            if got != file_hash:
                os.remove(target)
                name = _hasher(hash_algorithm, file_hash)[0]
                raise ValueError(f"file_hash: the downloaded file's {name} hash is {got}, "
                                 f"expected {file_hash}; the file was incomplete or corrupted "
                                 f"and has been deleted")
    if unpack:
        if untar:
            formats = ["tar"]
        if download or not os.path.isdir(extraction_dir):
            if not extract_archive(target, extraction_dir, formats):
                raise ValueError(f"archive_format: {target!r} is not a "
                                 f"{' or '.join(formats) or 'known'} archive, so it could "
                                 f"not be extracted")
        return extraction_dir
    return target
