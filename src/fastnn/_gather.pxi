# _gather.pxi - rows of an array picked by index (shuffled training batches).

cdef extern from "fastnn.h" nogil:
    int fnn_gather_rows(const void *src, size_t nrows, size_t row_bytes, const int64_t *idx,
                        size_t n, void *out)


cdef tuple _copy_operands(src, idx, out):
    """gather_rows's checks: (S, I, O, nrows, n, row_bytes)."""
    if not cnp.PyArray_Check(src):
        raise TypeError(f"src: expected a numpy.ndarray, received {type(src).__name__}")
    if not cnp.PyArray_Check(out):
        raise TypeError(f"out: expected a numpy.ndarray, received {type(out).__name__}")
    cdef cnp.ndarray S = <cnp.ndarray>src
    cdef cnp.ndarray O = <cnp.ndarray>out
    cdef cnp.ndarray I = _arr(idx, "idx", _I64, 1)
    if cnp.PyArray_NDIM(S) < 1:
        raise ValueError("src: expected an array with at least one axis, received a 0-D array")
    if not cnp.PyArray_IS_C_CONTIGUOUS(S) or not cnp.PyArray_IS_C_CONTIGUOUS(O):
        raise ValueError("src, out: expected C-contiguous arrays")
    if not cnp.PyArray_ISWRITEABLE(O):
        raise ValueError("out: expected a writable array, received a read-only one")
    if S.dtype.hasobject:
        raise TypeError(f"src: expected an array of plain values, received dtype {S.dtype}")
    if S.dtype != O.dtype:
        raise TypeError(f"out: expected dtype {S.dtype} (the dtype of src), received {O.dtype}")
    shape = (I.shape[0],) + (<object>S).shape[1:]
    if (<object>O).shape != shape:
        raise ValueError(f"out: expected shape {shape}, received {(<object>O).shape}")
    _no_overlap(O, "out", (S, I))
    cdef size_t nrows = S.shape[0]
    cdef size_t row_bytes = 0 if nrows == 0 else <size_t>cnp.PyArray_NBYTES(S) // nrows
    return S, I, O, nrows, <size_t>I.shape[0], row_bytes


def gather_rows(src, idx, out):
    """out[i] = src[idx[i]] along the first axis, as np.take(src, idx, axis=0, out=out).

    src and out: C-contiguous arrays of one dtype (any), out of shape
    (len(idx),) + src.shape[1:]; idx: a 1-D int64 array of indices in [0, len(src)).
    Returns out.
    """
    cdef cnp.ndarray S, I, O
    cdef size_t nrows, n, row_bytes
    S, I, O, nrows, n, row_bytes = _copy_operands(src, idx, out)
    cdef int rc
    with nogil:
        rc = fnn_gather_rows(cnp.PyArray_DATA(S), nrows, row_bytes,
                             <const int64_t *>cnp.PyArray_DATA(I), n, cnp.PyArray_DATA(O))
    if rc != 0:
        raise ValueError(f"idx: expected indices in [0, {nrows}), received values outside it")
    return out


cdef extern from "fastnn.h" nogil:
    enum:
        FNN_ELEM_F64
        FNN_ELEM_F32
        FNN_ELEM_I64
        FNN_ELEM_I32
        FNN_ELEM_I16
        FNN_ELEM_I8
        FNN_ELEM_U64
        FNN_ELEM_U32
        FNN_ELEM_U16
        FNN_ELEM_U8
    int fnn_gather_rows_cast(const void *src, int src_kind, size_t nrows, size_t row_elems,
                             const int64_t *idx, size_t n, int dst_kind, void *out)

# (dtype.kind, itemsize) -> the C kernel's element kind
_ELEM_KINDS = {
    ("f", 8): FNN_ELEM_F64, ("f", 4): FNN_ELEM_F32,
    ("i", 8): FNN_ELEM_I64, ("i", 4): FNN_ELEM_I32, ("i", 2): FNN_ELEM_I16, ("i", 1): FNN_ELEM_I8,
    ("u", 8): FNN_ELEM_U64, ("u", 4): FNN_ELEM_U32, ("u", 2): FNN_ELEM_U16, ("u", 1): FNN_ELEM_U8,
}
GATHER_CAST_SOURCES = tuple(np.dtype(f"{k}{n}") for k, n in _ELEM_KINDS)


cdef tuple _cast_operands(src, idx, out):
    """gather_rows_cast's checks: (S, I, O, src kind, out kind, nrows, n, row_elems)."""
    if not cnp.PyArray_Check(src):
        raise TypeError(f"src: expected a numpy.ndarray, received {type(src).__name__}")
    cdef cnp.ndarray O = _arr(out, "out", None, -1, True)
    if not cnp.PyArray_ISNOTSWAPPED(O):
        raise TypeError(f"out: expected dtype float32 or float64 in native byte order, "
                        f"received {O.dtype.str}")
    cdef cnp.ndarray S = <cnp.ndarray>src
    cdef cnp.ndarray I = _arr(idx, "idx", _I64, 1)
    cdef object sdt = S.dtype
    skind = _ELEM_KINDS.get((sdt.kind, sdt.itemsize)) if sdt.isnative else None
    if skind is None:
        raise TypeError(f"src: expected dtype float64, float32, int8-int64 or uint8-uint64 in "
                        f"native byte order, received {sdt.str if sdt.kind in 'fiu' else sdt}")
    if cnp.PyArray_NDIM(S) < 1:
        raise ValueError("src: expected an array with at least one axis, received a 0-D array")
    if not cnp.PyArray_IS_C_CONTIGUOUS(S) or not cnp.PyArray_ISALIGNED(S):
        raise ValueError("src: expected a C-contiguous, aligned array")
    shape = (I.shape[0],) + (<object>S).shape[1:]
    if (<object>O).shape != shape:
        raise ValueError(f"out: expected shape {shape}, received {(<object>O).shape}")
    _no_overlap(O, "out", (S, I))
    cdef size_t nrows = S.shape[0]
    cdef size_t row_elems = 0 if nrows == 0 else <size_t>cnp.PyArray_SIZE(S) // nrows
    return (S, I, O, skind, FNN_ELEM_F32 if _is_f32(O) else FNN_ELEM_F64, nrows,
            <size_t>I.shape[0], row_elems)


def gather_rows_cast(src, idx, out):
    """out[i] = src[idx[i]] along the first axis, converted to out's dtype in the same pass.

    The values are those of src[idx].astype(out.dtype), bit for bit.

    src: a C-contiguous, aligned array of float64, float32, int8-int64 or uint8-uint64
    (native byte order: GATHER_CAST_SOURCES); out: a C-contiguous float32 or float64 array
    of shape (len(idx),) + src.shape[1:]; idx: a 1-D int64 array of indices in
    [0, len(src)). Returns out.
    """
    cdef cnp.ndarray S, I, O
    cdef int sk, dk
    cdef size_t nrows, n, row_elems
    S, I, O, sk, dk, nrows, n, row_elems = _cast_operands(src, idx, out)
    cdef int rc
    with nogil:
        rc = fnn_gather_rows_cast(cnp.PyArray_DATA(S), sk, nrows, row_elems,
                                  <const int64_t *>cnp.PyArray_DATA(I), n, dk,
                                  cnp.PyArray_DATA(O))
    if rc != 0:
        raise ValueError(f"idx: expected indices in [0, {nrows}), received values outside it")
    return out


cdef extern from "fastnn.h" nogil:
    ctypedef struct fnn_gather_ahead:
        int pending
    int fnn_gather_ahead_start(fnn_gather_ahead *job, const void *src, int src_kind,
                               size_t nrows, size_t row_elems, size_t row_bytes,
                               const int64_t *idx, size_t n, int dst_kind, void *out)
    void fnn_gather_ahead_wait(fnn_gather_ahead *job)


# Not tracked by the garbage collector: it refers only to arrays, which cannot refer back,
# and a collector clearing its references in a cycle would let an array go while a worker
# still writes into it (__dealloc__ waits for the copy before the references are dropped).
@cython.no_gc
cdef class GatherAhead:
    """gather_rows(src, idx, out) when src and out share a dtype, else
    gather_rows_cast(src, idx, out), with the same checks and the same result, started on
    an idle worker thread so that it runs while the caller goes on. wait() returns out once
    it is complete (doing the copy itself if no worker has started it). The arrays are held
    until then; out must not be read, nor src or idx changed, before wait()."""
    cdef fnn_gather_ahead job
    cdef object arrays
    cdef readonly object out
    cdef readonly bint handed_over  # True when a worker was given the copy

    def __cinit__(self, src, idx, out):
        self.job.pending = 0
        cdef cnp.ndarray S, I, O
        cdef int sk = 0, dk = 0
        cdef size_t nrows, n, row_elems = 0, row_bytes
        if cnp.PyArray_Check(src) and cnp.PyArray_Check(out) and \
                (<cnp.ndarray>src).dtype == (<cnp.ndarray>out).dtype:
            S, I, O, nrows, n, row_bytes = _copy_operands(src, idx, out)
        else:
            S, I, O, sk, dk, nrows, n, row_elems = _cast_operands(src, idx, out)
            row_bytes = row_elems * <size_t>S.dtype.itemsize
        self.arrays = (S, I, O)
        self.out = out
        cdef int rc
        with nogil:
            rc = fnn_gather_ahead_start(&self.job, cnp.PyArray_DATA(S), sk, nrows, row_elems,
                                        row_bytes, <const int64_t *>cnp.PyArray_DATA(I), n, dk,
                                        cnp.PyArray_DATA(O))
        if rc != 0:
            raise ValueError(f"idx: expected indices in [0, {nrows}), received values outside it")
        self.handed_over = self.job.pending

    def wait(self):
        """Block until the rows are in out; returns out."""
        if self.job.pending:
            with nogil:
                fnn_gather_ahead_wait(&self.job)
        self.arrays = None
        return self.out

    def __dealloc__(self):
        if self.job.pending:
            with nogil:
                fnn_gather_ahead_wait(&self.job)
