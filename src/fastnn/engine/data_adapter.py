"""The data adapter: turns what fit/evaluate/predict receive into batches.

Arrays are converted once (to the model's dtype; integer labels for sparse losses), then
served as views (in order) or gathered into reused buffers (shuffled): no per-batch
conversion. Sequences (PyDataset) and generators yield batches that are converted as they
come; a Sequence can be fetched ahead by worker threads or processes. Arrays on disk
(fastnn.utils.HDF5Matrix) are never loaded whole: each batch is one contiguous read,
converted as it arrives, and shuffling shuffles the order of the batches only.
"""
import concurrent.futures
import numbers
import warnings

import numpy as np

from fastnn import _core
from fastnn.utils.data_utils import PyDataset

__all__ = ["as_input", "as_target", "as_sample_weight", "ArrayData", "SequenceData",
           "GeneratorData", "make_data", "split_validation", "is_lazy", "LazyRows"]


def is_lazy(a):
    """Whether a is an array on disk read row by row (an HDF5Matrix or LazyRows)."""
    return getattr(type(a), "_fastnn_lazy_rows", False) is True


def _rows(a, lo, hi):
    """Rows [lo, hi) of a: a view of an in-memory array, another lazy array on disk."""
    return a._subset(lo, hi) if is_lazy(a) else a[lo:hi]


class LazyRows:
    """Rows of an array on disk (an HDF5Matrix) converted as they are read.

    fit streams y and sample weights given as an HDF5Matrix through this: each batch is
    converted with the same rules as a whole in-memory array (as_target,
    as_sample_weight). shape and dtype are those of the converted rows.
    """

    _fastnn_lazy_rows = True

    def __init__(self, rows, convert, shape, dtype):
        self.rows, self.convert = rows, convert
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    def __len__(self):
        return self.shape[0]

    @property
    def ndim(self):
        return len(self.shape)

    def __getitem__(self, key):
        return self.convert(self.rows[key])

    def _subset(self, lo, hi):
        return LazyRows(_rows(self.rows, lo, hi), self.convert, (hi - lo,) + self.shape[1:],
                        self.dtype)


def _lazy_numeric(a, name):
    """Check an on-disk array as _numeric checks an in-memory one, without reading it."""
    dtype = np.dtype(a.dtype)
    if dtype == object or dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, received an array of dtype {dtype}")
    if len(a.shape) == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, received a scalar")
    if a.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample, received an empty array of "
                         f"shape {tuple(a.shape)}")
    return a


def _numeric(x, name):
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:
            raise TypeError(f"{name}: expected numeric array data, received "
                            f"{type(x).__name__}") from exc
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, received an array of dtype {arr.dtype}")
    return arr


def as_array(x, dtype, name="x"):
    """x (numbers, any shape, empty too) as a C-contiguous array of dtype: model(x)."""
    if x is None:
        raise ValueError(f"{name}: expected input data, received None")
    return _aligned(np.ascontiguousarray(_numeric(x, name), dtype=dtype))


def as_input(x, dtype, name="x", input_names=(), lazy=False, rows_ok=False):
    """x as a C-contiguous array of dtype (dicts keyed by the input's name are unwrapped).

    lazy: return a C-contiguous numeric array as it is, whatever its dtype; the caller
    (ArrayData) converts each batch instead, so that a float64 or uint8 training set is
    not copied whole into the model's dtype.
    rows_ok: return an array on disk (HDF5Matrix) as it is, for ArrayData to read batch by
    batch (lazy implies it); otherwise it is read whole.
    """
    if x is None:
        raise ValueError(f"{name}: expected input data, received None")
    if isinstance(x, dict):
        if len(x) != 1:
            raise ValueError(f"{name}: this model has one input "
                             f"({', '.join(input_names) or 'unnamed'}); received a dict with "
                             f"keys {sorted(x)}")
        key, value = next(iter(x.items()))
        if input_names and key not in input_names:
            raise ValueError(f"{name}: no model input is named {key!r}; the input is "
                             f"named {input_names[0]!r}")
        x = value
    if isinstance(x, (list, tuple)) and len(x) == 1 and (isinstance(x[0], np.ndarray)
                                                         or is_lazy(x[0])):
        x = x[0]
    if is_lazy(x):
        if lazy or rows_ok:
            return _lazy_numeric(x, name)
        x = np.asarray(x)
    arr = _numeric(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, received a scalar")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample, received an empty array of "
                         f"shape {arr.shape}")
    if lazy and arr.flags.c_contiguous and arr.flags.aligned and arr.dtype.kind in "biuf":
        return arr
    return _aligned(np.ascontiguousarray(arr, dtype=dtype))


def _aligned(a):
    """a itself, or an aligned copy: the kernels read whole elements at their natural
    alignment, and np.frombuffer at an odd offset (or a memmap) gives arrays that are not."""
    return a if a.flags.aligned else a.copy()


def _sparse_loss(loss):
    return getattr(loss, "_sparse_labels", False) or type(loss).__name__ == \
        "SparseCategoricalCrossentropy"


def as_target(y, loss, dtype, name="y", rows_ok=False):
    """y as the loss wants it: int64 labels for sparse losses, else floats of dtype.

    rows_ok: an array on disk (HDF5Matrix) becomes LazyRows that convert each batch as
    it is read; otherwise it is read whole.
    """
    if is_lazy(y):
        if not rows_ok:
            y = np.asarray(y)
        else:
            _lazy_numeric(y, name)
            shape = tuple(y.shape)
            if _sparse_loss(loss) and len(shape) == 2 and shape[1] == 1:
                shape = shape[:1]
            return LazyRows(y, lambda rows: as_target(rows, loss, dtype, name), shape,
                            np.int64 if _sparse_loss(loss) else dtype)
    arr = _numeric(y, name)
    if arr.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, received a scalar")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or inf; targets must be finite numbers")
    if _sparse_loss(loss):
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError(f"{name}: sparse categorical labels must be whole numbers")
        return np.ascontiguousarray(arr, dtype=np.int64)
    return np.ascontiguousarray(arr, dtype=dtype)


def as_sample_weight(sw, n, dtype, name="sample_weight", rows_ok=False):
    """A (n,) float array of per-sample weights, or None (LazyRows for an array on disk
    when rows_ok, as as_target)."""
    if sw is None:
        return None
    if is_lazy(sw):
        if not rows_ok:
            sw = np.asarray(sw)
        else:
            _lazy_numeric(sw, name)
            shape = tuple(sw.shape)
            if shape not in ((n,), (n, 1)):
                raise ValueError(f"{name}: expected shape ({n},) (one weight per sample), "
                                 f"received {shape}")
            return LazyRows(sw, lambda rows: as_sample_weight(rows, len(rows), dtype, name),
                            (n,), dtype)
    arr = _numeric(sw, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},) (one weight per sample), received "
                         f"{arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or inf; sample weights must be finite")
    return np.ascontiguousarray(arr, dtype=dtype)


def class_weights_to_sample_weights(y, class_weight, sw, dtype):
    """Sample weights class_weight[class of each sample]; sw must be None, as in Keras."""
    if sw is not None:
        raise ValueError("class_weight: cannot be used together with sample_weight (as in "
                         "Keras); fold the class weights into sample_weight instead")
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight: expected a dict {{class index: weight}}, received "
                        f"{type(class_weight).__name__}")
    if is_lazy(y):  # labels on disk: read once (one number per sample) for the weights
        y = y[:]
    if y.ndim >= 2 and y.shape[-1] > 1:
        classes = np.argmax(y.reshape(len(y), -1), axis=1)
    else:
        flat = y.reshape(len(y))
        classes = np.rint(flat).astype(np.int64) if flat.dtype.kind == "f" else flat.astype(np.int64)
    for k, w in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
            raise ValueError(f"class_weight: keys must be class indices (ints >= 0), received {k!r}")
        if isinstance(w, bool) or not isinstance(w, numbers.Real):
            raise TypeError(f"class_weight: expected a number as the weight of class {k}, "
                            f"received {w!r}")
        if not np.isfinite(w):
            raise ValueError(f"class_weight: the weight of class {k} must be finite, "
                             f"received {w!r}")
    # a table over the classes present only: a key of 10**12 must not allocate 10**12 slots
    top = max(int(classes.max()), 0) + 1
    table = np.ones(top, dtype)
    for k, w in class_weight.items():
        if k < top:
            table[int(k)] = w
    # a negative label (an ignore_class) keeps weight 1 instead of wrapping around
    return np.where(classes >= 0, table[np.maximum(classes, 0)], 1).astype(dtype)


def split_validation(x, y, sw, validation_split):
    """Keras's validation_split: the last fraction of the arrays, taken before shuffling."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
        raise TypeError(f"validation_split: expected a float in [0, 1), received "
                        f"{validation_split!r}")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split: expected a float in [0, 1), received "
                         f"{validation_split}")
    if validation_split == 0:
        return (x, y, sw), None
    n = len(x)
    split = int(n * (1 - validation_split))
    if split == 0 or split == n:
        raise ValueError(f"validation_split: {validation_split} of {n} samples leaves "
                         f"{split} for training and {n - split} for validation; both need at "
                         f"least one")
    tr = tuple(None if a is None else _rows(a, 0, split) for a in (x, y, sw))
    va = tuple(None if a is None else _rows(a, split, n) for a in (x, y, sw))
    return tr, va


def _gather(a, idx, out):
    """a[idx] into out: a C copy of whole rows, or np.take where a is not a plain array."""
    if a.flags.c_contiguous and not a.dtype.hasobject:
        return _core.gather_rows(a, idx, out)
    return np.take(a, idx, axis=0, out=out)


def _gathers_cast(x, dtype):
    """Whether shuffled rows of x can be gathered and converted to dtype in one C pass."""
    return (isinstance(x, np.ndarray) and x.dtype != dtype
            and x.dtype in _core.GATHER_CAST_SOURCES and dtype in (np.float32, np.float64)
            and x.ndim >= 1 and x.flags.c_contiguous and x.flags.aligned)


class ArrayData:
    """Batches of in-memory arrays: views in order, or gathered into reused buffers.

    dtype: the dtype of the x batches; when x has another dtype, each batch is converted
    into a reused buffer (the same values a whole-array conversion gives).

    shuffle: False, True (a new permutation of the samples each epoch) or 'batch' (the
    order of the batch_size blocks is shuffled, each batch keeps its rows). Arrays on disk
    (x, y or sample weights given as an HDF5Matrix) are read one batch at a time, and
    True means 'batch' for them, so that every batch is one contiguous read.
    """

    def __init__(self, x, y, sw, batch_size, shuffle=False, steps=None, dtype=None):
        self.x, self.y, self.sw = x, y, sw
        self.n = len(x)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.lazy = any(is_lazy(a) for a in (x, y, sw))
        full = (self.n + batch_size - 1) // batch_size
        self.steps = full if steps is None else int(steps)
        self.dtype = np.dtype(x.dtype if dtype is None else dtype)
        self._bufs = None
        self._xcast = None
        # x of another dtype, in memory: shuffled rows are converted as they are gathered
        self._fused = _gathers_cast(x, self.dtype)
        # shuffled batches of x gathered a step ahead, on a worker thread (_shuffled_ahead)
        self._ahead = self._fused or (isinstance(x, np.ndarray) and x.dtype == self.dtype
                                      and x.ndim >= 1 and x.flags.c_contiguous
                                      and not x.dtype.hasobject)
        self._xahead = None
        # set by the engine for labels on disk: they are checked batch by batch as read
        self.check_labels = None

    def cast(self, xb):
        """A batch of x in self.dtype (a reused buffer when x has another dtype)."""
        if xb.dtype == self.dtype and xb.flags.c_contiguous:
            return xb
        out = self._cast_buffer()[:len(xb)]
        np.copyto(out, xb, casting="unsafe")
        return out

    def _cast_buffer(self):
        if self._xcast is None:
            bs = min(self.batch_size, self.n)
            self._xcast = np.empty((bs,) + self.x.shape[1:], self.dtype)
        return self._xcast

    def __len__(self):
        return self.steps

    def _buffers(self):
        if self._bufs is None:
            bs = min(self.batch_size, self.n)
            # x gathered straight into the cast buffer, or into the two buffers of
            # _shuffled_ahead
            x = None if self._fused or self._ahead else self.x
            self._bufs = tuple(None if a is None else np.empty((bs,) + a.shape[1:], a.dtype)
                               for a in (x, self.y, self.sw))
        return self._bufs

    def _slice(self, i, j):
        """Rows [i, j) of x, y and the weights: views, or one read each from disk."""
        yb = None if self.y is None else self.y[i:j]
        if yb is not None and self.check_labels is not None:
            self.check_labels(yb)
        return (self.cast(self.x[i:j]), yb, None if self.sw is None else self.sw[i:j])

    def _span(self, step):
        """Rows [i, j) of the order that make batch `step` (wrapping past the end)."""
        i = (step * self.batch_size) % self.n
        return i, min(i + self.batch_size, self.n)

    def epoch(self, rng=None):
        bs, n = self.batch_size, self.n
        mode = self.shuffle if rng is not None else False
        if mode and self.lazy:
            mode = "batch"  # data on disk: one contiguous read per batch
        if mode == "batch":  # the blocks [s, s + bs) in a shuffled order
            starts = np.arange(0, n, bs)
            rng.shuffle(starts)
            for step in range(self.steps):
                i = int(starts[step % len(starts)])
                yield self._slice(i, min(i + bs, n))
            return
        order = rng.permutation(n) if mode else None
        if order is not None and self._ahead:
            yield from self._shuffled_ahead(order)
            return
        for step in range(self.steps):
            i, j = self._span(step)
            if order is None:
                yield self._slice(i, j)
            else:
                idx = order[i:j]
                bx, by, bw = self._buffers()
                m = j - i
                if self._fused:
                    xb = _core.gather_rows_cast(self.x, idx, self._cast_buffer()[:m])
                else:
                    xb = self.cast(_gather(self.x, idx, bx[:m]))
                yb = None if self.y is None else _gather(self.y, idx, by[:m])
                wb = None if self.sw is None else _gather(self.sw, idx, bw[:m])
                yield xb, yb, wb

    def _shuffled_ahead(self, order):
        """The shuffled batches, each batch's x gathered (and converted) on a worker thread
        while the caller trains on the batch before it (_core.GatherAhead), into two buffers
        used in turn: the copy then fills the parts of a step where the worker would idle
        (the small kernels, the loss and the Python between steps) instead of preceding
        the step. Where no worker is free, wait() makes the copy itself. The batches are
        the same rows, with the same values, as the plain gather's."""
        if self._xahead is None:
            rows = min(self.batch_size, self.n)
            self._xahead = tuple(np.empty((rows,) + self.x.shape[1:], self.dtype)
                                 for _ in range(2))
        _, by, bw = self._buffers()
        span = self._span

        def start(step):
            i, j = span(step)
            return _core.GatherAhead(self.x, order[i:j], self._xahead[step % 2][:j - i])

        pending = start(0) if self.steps > 0 else None
        try:
            for step in range(self.steps):
                xb = pending.wait()
                pending = start(step + 1) if step + 1 < self.steps else None
                i, j = span(step)
                idx = order[i:j]
                yb = None if self.y is None else _gather(self.y, idx, by[:j - i])
                wb = None if self.sw is None else _gather(self.sw, idx, bw[:j - i])
                yield xb, yb, wb
        finally:
            if pending is not None:
                pending.wait()

    def on_epoch_end(self):
        pass


def _unpack(batch, where):
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise ValueError(f"{where}: expected batches of x, (x, y) or (x, y, sample_weight), "
                         f"received a tuple of {len(batch)}")
    if isinstance(batch, list) and len(batch) in (2, 3) and all(
            isinstance(b, np.ndarray) or b is None for b in batch):
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


class _Converted:
    """Converts each incoming batch with the model's rules."""

    def __init__(self, dtype, loss, input_names):
        self.dtype, self.loss, self.input_names = dtype, loss, input_names
        self.check_labels = None  # set by the engine once the model's outputs are known

    def convert(self, batch, where):
        bx, by, bw = _unpack(batch, where)
        xb = as_input(bx, self.dtype, "x", self.input_names)
        yb = None if by is None else as_target(by, self.loss, self.dtype, "y")
        if yb is not None and len(yb) != len(xb):
            raise ValueError(f"{where}: batch has {len(xb)} inputs but {len(yb)} targets")
        if yb is not None and self.check_labels is not None:
            self.check_labels(yb)
        wb = as_sample_weight(bw, len(xb), self.dtype)
        return xb, yb, wb


class SequenceData(_Converted):
    """Batches of a PyDataset / Sequence, optionally fetched ahead by workers."""

    def __init__(self, seq, dtype, loss, input_names, steps=None, workers=None,
                 use_multiprocessing=None, max_queue_size=None, shuffle=False):
        super().__init__(dtype, loss, input_names)
        self.seq = seq
        n = len(seq)
        if n <= 0:
            raise ValueError("x: the Sequence has no batches (len() returned 0)")
        self.steps = n if steps is None else int(steps)
        self.workers = workers if workers not in (None, 1) else seq.workers
        self.use_multiprocessing = bool(use_multiprocessing or seq.use_multiprocessing)
        self.max_queue_size = max(1, int(max_queue_size or seq.max_queue_size))
        self.shuffle = shuffle

    def __len__(self):
        return self.steps

    def _span(self, step):
        """Rows [i, j) of the order that make batch `step` (wrapping past the end)."""
        i = (step * self.batch_size) % self.n
        return i, min(i + self.batch_size, self.n)

    def epoch(self, rng=None):
        n = len(self.seq)
        order = list(range(n))
        if self.shuffle and rng is not None:
            rng.shuffle(order)
        indices = [order[s % n] for s in range(self.steps)]
        workers = int(self.workers or 1)
        if workers <= 1:
            for i in indices:
                yield self.convert(self.seq[i], "x")
            return
        pool_cls = (concurrent.futures.ProcessPoolExecutor if self.use_multiprocessing
                    else concurrent.futures.ThreadPoolExecutor)
        with pool_cls(max_workers=workers) as pool:
            pending = []
            it = iter(indices)
            for i in it:
                pending.append(pool.submit(self.seq.__getitem__, i))
                if len(pending) >= self.max_queue_size:
                    break
            while pending:
                batch = pending.pop(0).result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.append(pool.submit(self.seq.__getitem__, nxt))
                yield self.convert(batch, "x")

    def on_epoch_end(self):
        self.seq.on_epoch_end()


class GeneratorData(_Converted):
    """Batches from a Python generator or iterator, converted as they arrive."""

    def __init__(self, gen, dtype, loss, input_names, steps=None):
        super().__init__(dtype, loss, input_names)
        self.gen = iter(gen)
        self.steps = None if steps is None else int(steps)
        self.exhausted = False

    def __len__(self):
        return self.steps or 0

    def _span(self, step):
        """Rows [i, j) of the order that make batch `step` (wrapping past the end)."""
        i = (step * self.batch_size) % self.n
        return i, min(i + self.batch_size, self.n)

    def epoch(self, rng=None):
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self.gen)
            except StopIteration:
                self.exhausted = True
                if self.steps is not None:
                    warnings.warn("Your input ran out of data; interrupting training. Make sure "
                                  "that your dataset or generator can generate at least "
                                  "`steps_per_epoch * epochs` batches.", stacklevel=3)
                return
            count += 1
            yield self.convert(batch, "x")

    def on_epoch_end(self):
        pass


def is_batched_source(x):
    """Whether x yields whole batches (a Sequence or a generator) rather than arrays."""
    if isinstance(x, PyDataset):
        return True
    if isinstance(x, (np.ndarray, list, tuple, dict)) or x is None:
        return False
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "__len__"))


def prepare_arrays(x, y, sw, dtype, loss, input_names, need_y=True, lazy=False):
    """x, y and sample weights as arrays, converted once and checked against each other
    (x left in its own dtype when lazy: see as_input)."""
    xa = as_input(x, dtype, "x", input_names, lazy, rows_ok=True)
    ya = None
    if y is not None:
        ya = as_target(y, loss, dtype, "y", rows_ok=True)
        if len(ya) != len(xa):
            raise ValueError(f"y: expected {len(xa)} targets to match x's {len(xa)} samples, "
                             f"received {len(ya)}")
    elif need_y:
        raise ValueError("y: expected targets for the inputs x, received None")
    return xa, ya, as_sample_weight(sw, len(xa), dtype, rows_ok=True)


def make_data(x, y, sw, batch_size, dtype, loss, input_names, shuffle=False, steps=None,
              class_weight=None, workers=None, use_multiprocessing=None, max_queue_size=None,
              need_y=True):
    """The right batch source for x, with every argument checked."""
    if is_batched_source(x):
        if y is not None:
            raise ValueError("y: must be None when x is a Sequence or a generator (the batches "
                             "carry their targets)")
        if sw is not None:
            raise ValueError("sample_weight: must be None when x is a Sequence or a generator")
        if isinstance(x, PyDataset):
            return SequenceData(x, dtype, loss, input_names, steps, workers,
                                use_multiprocessing, max_queue_size, shuffle)
        return GeneratorData(x, dtype, loss, input_names, steps)
    xa, ya, swa = prepare_arrays(x, y, sw, dtype, loss, input_names, need_y)
    if class_weight is not None and ya is not None:
        swa = class_weights_to_sample_weights(ya, class_weight, swa, dtype)
    return ArrayData(xa, ya, swa, batch_size, shuffle, steps, dtype=dtype)
