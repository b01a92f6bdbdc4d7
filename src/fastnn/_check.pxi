# _check.pxi - argument checks shared by every binding. Bad input stops here, before C.

cdef object _F32 = np.dtype(np.float32)
cdef object _F64 = np.dtype(np.float64)
cdef object _I64 = np.dtype(np.int64)
cdef object _U8 = np.dtype(np.uint8)


cdef inline bint _is_f32(cnp.ndarray a):
    return cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32


cdef cnp.ndarray _arr(object x, str name, object dtype=None, int ndim=-1, bint writable=False):
    """Return x as an ndarray after checking type, dtype, rank, layout and writability.

    The checks are C-level (no Python calls on the success path): they run on every
    kernel call, including single-sample predictions.
    """
    if not cnp.PyArray_Check(x):
        raise TypeError(f"{name}: expected a numpy.ndarray, received {type(x).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>x
    cdef int tn = cnp.PyArray_TYPE(a)
    if dtype is None:
        if tn != cnp.NPY_FLOAT32 and tn != cnp.NPY_FLOAT64:
            raise TypeError(f"{name}: expected dtype float32 or float64, received {a.dtype}")
    elif tn != (<cnp.dtype>dtype).type_num:
        raise TypeError(f"{name}: expected dtype {dtype}, received {a.dtype}")
    if ndim >= 0 and cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, received shape {(<object>a).shape}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISALIGNED(a):
        raise ValueError(f"{name}: expected a C-contiguous, aligned array")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name}: expected a writable array, received a read-only one")
    return a


cdef inline void _same_dtype(cnp.ndarray a, str aname, cnp.ndarray b, str bname) except *:
    if cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(b):
        raise TypeError(f"{bname}: expected dtype {a.dtype} (the dtype of {aname}), received {b.dtype}")


cdef inline void _shape(cnp.ndarray a, str name, tuple expected) except *:
    cdef Py_ssize_t i, nd = len(expected)
    cdef bint ok = cnp.PyArray_NDIM(a) == nd
    if ok:
        for i in range(nd):
            if cnp.PyArray_DIM(a, i) != <cnp.npy_intp>expected[i]:
                ok = False
                break
    if not ok:
        raise ValueError(f"{name}: expected shape {expected}, received {(<object>a).shape}")


cdef inline void _no_overlap(cnp.ndarray out, str oname, tuple inputs,
                             str others="the inputs") except *:
    """Outputs must not share memory with inputs the kernel still reads (or, with the
    roles named by `others`, an input with what the kernel writes)."""
    cdef char *lo = <char*>cnp.PyArray_DATA(out)
    cdef char *hi = lo + cnp.PyArray_NBYTES(out)
    cdef char *olo
    cdef char *ohi
    if hi == lo:
        return
    for other in inputs:
        if other is None:
            continue
        if cnp.PyArray_Check(other) and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>other):
            olo = <char*>cnp.PyArray_DATA(<cnp.ndarray>other)
            ohi = olo + cnp.PyArray_NBYTES(<cnp.ndarray>other)
            if lo < ohi and olo < hi:
                raise ValueError(f"{oname}: must not share memory with {others}")
        elif np.may_share_memory(out, other):
            raise ValueError(f"{oname}: must not share memory with {others}")


cdef inline void _check_rc(int rc, str what) except *:
    if rc == FNN_ENOMEM:
        raise MemoryError(f"{what}: out of memory")
    if rc != 0:
        raise RuntimeError(f"{what}: kernel failed with code {rc}")


cdef int _make_act(object spec, fnn_act *out) except -1:
    """Fill out from spec: None (linear) or (kind, alpha, max_value, threshold)."""
    if spec is None:
        out.kind = FNN_ACT_LINEAR
        out.alpha = 0.0
        out.max_value = float("inf")
        out.threshold = 0.0
        return 0
    if not isinstance(spec, tuple) or len(spec) != 4:
        raise TypeError(f"activation: expected None or a (kind, alpha, max_value, threshold) "
                        f"tuple, received {spec!r}")
    kind = spec[0]
    if not isinstance(kind, int) or not (0 <= kind < FNN_ACT_COUNT):
        raise ValueError(f"activation: unknown activation kind {kind!r}")
    out.kind = kind
    out.alpha = float(spec[1])
    out.max_value = float(spec[2])
    out.threshold = float(spec[3])
    return 0
