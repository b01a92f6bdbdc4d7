"""HDF5Matrix: one dataset of an HDF5 file, used like an array and read row by row from disk.

fit, evaluate and predict take an HDF5Matrix as x (and as y or sample weights) and read
it one batch at a time, so a dataset larger than the memory one would give it can train.
h5py is imported only when an HDF5Matrix is made.
"""
import numbers
import os

import numpy as np

__all__ = ["HDF5Matrix"]

# Fancy indices are read as the span that covers them when the span is at most this many
# times longer than the indices (one contiguous read beats h5py's point selection); wider
# spreads use h5py's own list selection.
_SPAN_FACTOR = 4


def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is a dependency
        raise ImportError("HDF5Matrix reads HDF5 files with h5py: pip install h5py") from e
    return h5py


def _check_index(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, received {value!r}")
    return int(value)


class HDF5Matrix:
    """A dataset of an HDF5 file, indexed like a NumPy array and read from disk on demand.

    Only the rows an index asks for are read. ``start`` and ``end`` select a contiguous
    range of the dataset's rows (the first axis); ``normalizer``, when given, is applied
    to every block of rows read (it receives an array of rows and returns one, with one
    output row per input row; it may change the dtype and the row shape).

    Passed to ``fit``, ``evaluate`` or ``predict`` as x (and y or sample_weight), it is
    streamed batch by batch instead of being loaded whole. Shuffling then shuffles the
    order of the batches only, as Keras's ``shuffle='batch'`` does: each batch stays one
    contiguous read of ``batch_size`` rows, so ``shuffle=True`` and ``shuffle='batch'``
    are the same for an HDF5Matrix, and fitting it gives the same weights as fitting the
    same rows from memory with ``shuffle='batch'``.

    Indexing follows NumPy for the first axis: ints (negative ones count from the end),
    slices (any step), lists or arrays of ints in any order (repeats allowed), and boolean
    masks of length ``len(self)``; a tuple indexes the rows with its first entry and the
    rows read with the rest. The file stays open for reading until ``close()`` (or the
    ``with`` block ends).

    Args:
        datapath: The HDF5 file's path (str or os.PathLike). Default required.
        dataset: The name of the dataset in the file, e.g. 'x' or 'group/x'. Default
            required.
        start: The first row to use. Defaults to 0.
        end: One past the last row to use. Defaults to None (the dataset's length).
        normalizer: A function applied to each block of rows read. Defaults to None.

    Example:
        >>> x = HDF5Matrix("data.h5", "images", normalizer=lambda b: b / 255.0)
        >>> y = HDF5Matrix("data.h5", "labels")
        >>> model.fit(x, y, batch_size=128, shuffle="batch")
    """

    _fastnn_lazy_rows = True  # the data adapter reads it batch by batch

    def __init__(self, datapath, dataset, start=0, end=None, normalizer=None):
        if not isinstance(datapath, (str, os.PathLike)):
            raise TypeError(f"datapath: expected a file path (str or os.PathLike), received "
                            f"{type(datapath).__name__}")
        if not isinstance(dataset, str) or not dataset:
            raise TypeError(f"dataset: expected the dataset's name as a non-empty str, "
                            f"received {dataset!r}")
        if normalizer is not None and not callable(normalizer):
            raise TypeError(f"normalizer: expected a callable or None, received "
                            f"{type(normalizer).__name__}")
        start = _check_index(start, "start")
        end = None if end is None else _check_index(end, "end")
        datapath = os.fspath(datapath)
        file, data = self._open(datapath, dataset)
        try:
            n = data.shape[0]
            if start < 0 or start > n:
                raise ValueError(f"start: expected an int in [0, {n}] (the dataset has {n} "
                                 f"rows), received {start}")
            if end is None:
                end = n
            elif end < start or end > n:
                raise ValueError(f"end: expected an int in [start, {n}] = [{start}, {n}] "
                                 f"(the dataset has {n} rows), received {end}")
            self.datapath, self.dataset = datapath, dataset
            self.start, self.end = start, end
            self.normalizer = normalizer
            self._file, self.data = file, data
            self._base_shape, self._base_dtype = self._row_spec()
        except BaseException:
            file.close()
            raise

    @staticmethod
    def _open(datapath, dataset):
        h5py = _h5py()
        if not os.path.exists(datapath):
            raise FileNotFoundError(f"datapath: no such file: {datapath!r}")
        try:
            file = h5py.File(datapath, "r")
        except OSError as e:
            raise ValueError(f"datapath: {datapath!r} is not a readable HDF5 file ({e})") \
                from None
        try:
            obj = file.get(dataset)
            if obj is None:
                names = []
                file.visititems(lambda name, o: names.append(name)
                                if isinstance(o, h5py.Dataset) else None)
                raise ValueError(f"dataset: {datapath!r} has no dataset named {dataset!r}; "
                                 f"its datasets are {names}")
            if not isinstance(obj, h5py.Dataset):
                raise ValueError(f"dataset: {dataset!r} in {datapath!r} is a "
                                 f"{type(obj).__name__}, not a dataset")
            if obj.ndim == 0:
                raise ValueError(f"dataset: {dataset!r} in {datapath!r} is a scalar; "
                                 f"expected an array with rows (at least one dimension)")
        except BaseException:
            file.close()
            raise
        return file, obj

    def _row_spec(self):
        """(row shape, dtype) of what indexing returns, the normalizer included."""
        if self.normalizer is None or self.end == self.start:
            return tuple(self.data.shape[1:]), self.data.dtype
        first = self._normalize(self.data[self.start:self.start + 1], check=True)
        return tuple(first.shape[1:]), first.dtype

    def _normalize(self, rows, check=False):
        if self.normalizer is None:
            return rows
        out = self.normalizer(rows)
        if check or not isinstance(out, np.ndarray):
            out = np.asarray(out)
            if out.ndim == 0 or len(out) != len(rows):
                raise ValueError(f"normalizer: expected it to return one row per row it "
                                 f"receives ({len(rows)}), it returned an array of shape "
                                 f"{out.shape}")
        return out

    # ---- array-like ----------------------------------------------------------------------
    def __len__(self):
        return self.end - self.start

    @property
    def shape(self):
        """(rows, ...) as indexing returns them (after the normalizer)."""
        return (self.end - self.start,) + self._base_shape

    @property
    def dtype(self):
        """The dtype indexing returns (after the normalizer)."""
        return self._base_dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def __repr__(self):
        return (f"HDF5Matrix({self.datapath!r}, {self.dataset!r}, start={self.start}, "
                f"end={self.end}, shape={self.shape}, dtype={self.dtype})")

    def __array__(self, dtype=None, copy=None):
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            if not key:
                key = slice(None)
            else:
                key, rest = key[0], key[1:]
        if key is Ellipsis:
            key, rest = slice(None), (Ellipsis,) + rest
        if isinstance(key, slice):
            rows = self._read_slice(key)
        elif isinstance(key, numbers.Integral) and not isinstance(key, bool):
            rows = self._read_rows(slice(self._position(key), None))[0]
            return rows[rest] if rest else rows
        else:
            rows = self._read_fancy(key)
        return rows[(slice(None),) + rest] if rest else rows

    def _position(self, key):
        n = len(self)
        k = int(key)
        if k < -n or k >= n:
            raise IndexError(f"index {k} is out of bounds for an HDF5Matrix with {n} rows")
        return k + n if k < 0 else k

    def _empty(self):
        return np.empty((0,) + self._base_shape, self._base_dtype)

    def _read_rows(self, sl):
        """Rows [sl.start, sl.stop) (relative; stop None: one row) read and normalized."""
        lo = sl.start
        hi = lo + 1 if sl.stop is None else sl.stop
        if hi <= lo:
            return self._empty()
        return self._normalize(self.data[self.start + lo:self.start + hi])

    def _read_slice(self, key):
        lo, hi, step = key.indices(len(self))
        if step == 1:
            return self._read_rows(slice(lo, max(lo, hi)))
        idx = np.arange(lo, hi, step)
        if len(idx) == 0:
            return self._empty()
        if step > 0:  # a strided hyperslab: one read
            rows = self.data[self.start + lo:self.start + int(idx[-1]) + 1:step]
            return self._normalize(rows)
        return self._take(idx)

    def _read_fancy(self, key):
        try:
            idx = np.asarray(key)
        except Exception:
            idx = None
        if idx is None or idx.dtype == object or idx.dtype.kind not in "biu" and idx.size:
            raise TypeError(f"HDF5Matrix indices must be ints, slices, or lists/arrays of ints "
                            f"or booleans, received {type(key).__name__}")
        n = len(self)
        if idx.dtype.kind == "b":
            if idx.shape != (n,):
                raise IndexError(f"a boolean index must have shape ({n},) for an HDF5Matrix "
                                 f"with {n} rows, received shape {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.ndim != 1:
            raise IndexError(f"HDF5Matrix takes a 1-D list of row indices, received an array "
                             f"of shape {idx.shape}")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -n or idx.max() >= n):
            bad = idx[(idx < -n) | (idx >= n)][0]
            raise IndexError(f"index {bad} is out of bounds for an HDF5Matrix with {n} rows")
        return self._take(np.where(idx < 0, idx + n, idx))

    def _take(self, idx):
        """Rows idx (relative, in range, any order): each distinct row is read once."""
        if len(idx) == 0:
            return self._empty()
        uniq, inverse = np.unique(idx, return_inverse=True)
        lo, hi = int(uniq[0]), int(uniq[-1]) + 1
        if hi - lo <= _SPAN_FACTOR * len(uniq):
            rows = self.data[self.start + lo:self.start + hi]
            if hi - lo != len(uniq):
                rows = rows[uniq - lo]
        else:  # h5py wants increasing indices, without repeats
            rows = self.data[(uniq + self.start).tolist()]
        rows = self._normalize(rows)
        if len(uniq) == len(idx) and np.array_equal(uniq, idx):
            return rows
        return rows[inverse.reshape(-1)]

    # ---- views, files and pickling -------------------------------------------------------
    def _subset(self, lo, hi):
        """Rows [lo, hi) of this matrix as another HDF5Matrix on the same open file."""
        sub = object.__new__(HDF5Matrix)
        sub.__dict__.update(self.__dict__)
        sub.start, sub.end = self.start + lo, self.start + hi
        return sub

    def close(self):
        """Close the file. Indexing afterwards raises."""
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_file"], state["data"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._file, self.data = self._open(self.datapath, self.dataset)
