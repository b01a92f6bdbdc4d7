# _gemm.pxi - bindings for threads, kernel dispatch, GEMM and the dense layer.

cdef extern from "fastnn.h" nogil:
    int fnn_gemm_f32(int ta, int tb, size_t m, size_t n, size_t k, float alpha,
                     const float *a, size_t lda, const float *b, size_t ldb, float beta,
                     float *c, size_t ldc)
    int fnn_gemm_f64(int ta, int tb, size_t m, size_t n, size_t k, double alpha,
                     const double *a, size_t lda, const double *b, size_t ldb, double beta,
                     double *c, size_t ldc)
    size_t fnn_packed_b_size_f32(size_t k, size_t n)
    size_t fnn_packed_b_size_f64(size_t k, size_t n)
    int fnn_packed_b_nr_f32()
    int fnn_packed_b_nr_f64()
    void fnn_pack_b_f32(int tb, size_t k, size_t n, const float *b, size_t ldb, float *packed)
    void fnn_pack_b_f64(int tb, size_t k, size_t n, const double *b, size_t ldb, double *packed)
    double fnn_gemm_split_fraction(size_t m, size_t n, size_t k, int trans_a, double set)
    int fnn_dense_forward_f32(const float *x, size_t m, size_t k, const float *w,
                              const float *wp, size_t n, const float *b, const fnn_act *act,
                              float *z, float *y)
    int fnn_dense_forward_f64(const double *x, size_t m, size_t k, const double *w,
                              const double *wp, size_t n, const double *b, const fnn_act *act,
                              double *z, double *y)
    int fnn_dense_backward_f32(const float *x, const float *w, const float *z, const float *y,
                               const float *dy, const fnn_act *act, size_t m, size_t k,
                               size_t n, float *dz, float *dw, float *db, float *dx)
    int fnn_dense_backward_f64(const double *x, const double *w, const double *z,
                               const double *y, const double *dy, const fnn_act *act,
                               size_t m, size_t k, size_t n, double *dz, double *dw,
                               double *db, double *dx)
    void fnn_sum_rows_f32(const float *x, size_t m, size_t n, float *out)
    void fnn_sum_rows_f64(const double *x, size_t m, size_t n, double *out)


def set_num_threads(n):
    """Set the number of threads fastnn's kernels may use (n >= 1)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n: expected an int, received {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n: expected a thread count >= 1, received {n}")
    fnn_set_num_threads(<int>min(int(n), 4096))


def set_thread_cap(int n):
    """At most n threads for kernels called from the calling thread (n < 1: no cap)."""
    fnn_set_thread_cap(n)


def set_sparse_a(bint on):
    """Let products whose A is mostly zeros skip the zero terms (the default), or not.
    The results are the same bits either way; only the time differs."""
    fnn_set_sparse_a(on)


def sparse_a_stats():
    """(products that skipped A's zeros, rows of them recomputed densely) so far."""
    return (fnn_sparse_a_stat(0), fnn_sparse_a_stat(1))


def sparse_list(x, bounds):
    """The kernel family's lister of nonzeros, for the tests: x a 1-D float32 or float64
    array, bounds the segment ends (bounds[0] == 0, nondecreasing, bounds[-1] <= x.size).
    Returns (idx, val, pos): the indices and values of the nonzeros of x[:bounds[-1]] in
    order, and for each bound how many come before it."""
    xo = np.asarray(x)
    if xo.ndim != 1 or xo.dtype not in (np.float32, np.float64):
        raise TypeError(f"x: expected a 1-D float32 or float64 array, received "
                        f"{xo.dtype} with shape {xo.shape}")
    cdef cnp.ndarray xa = np.ascontiguousarray(xo)
    cdef cnp.ndarray bnd = np.ascontiguousarray(bounds, dtype=np.uint32)
    if (bnd.ndim != 1 or bnd.shape[0] < 1 or bnd[0] != 0 or np.any(np.diff(bnd.astype(np.int64)) < 0)
            or int(bnd[bnd.shape[0] - 1]) > xo.shape[0]):
        raise ValueError(f"bounds: expected nondecreasing ends from 0 to at most {xo.shape[0]}, "
                         f"received {np.asarray(bounds).tolist()}")
    cdef size_t ns = <size_t>bnd.shape[0] - 1
    cdef size_t total = <size_t>bnd[bnd.shape[0] - 1]
    cdef cnp.ndarray idx = np.empty(total, np.uint32)
    cdef cnp.ndarray val = np.empty(total, xa.dtype)
    cdef cnp.ndarray pos = np.empty(ns + 1, np.uint32)
    cdef size_t got
    if xa.dtype == np.float32:
        got = fnn_sparse_list_f32(<const float *>cnp.PyArray_DATA(xa),
                                  <const uint32_t *>cnp.PyArray_DATA(bnd), ns,
                                  <uint32_t *>cnp.PyArray_DATA(idx),
                                  <float *>cnp.PyArray_DATA(val),
                                  <uint32_t *>cnp.PyArray_DATA(pos))
    else:
        got = fnn_sparse_list_f64(<const double *>cnp.PyArray_DATA(xa),
                                  <const uint32_t *>cnp.PyArray_DATA(bnd), ns,
                                  <uint32_t *>cnp.PyArray_DATA(idx),
                                  <double *>cnp.PyArray_DATA(val),
                                  <uint32_t *>cnp.PyArray_DATA(pos))
    return idx[:got].copy(), val[:got].copy(), pos


def reset_num_threads():
    """Go back to the default thread count (OMP_NUM_THREADS, else the number of cores)."""
    fnn_set_num_threads(0)


def get_num_threads():
    """The number of threads fastnn's kernels may use."""
    return fnn_get_num_threads()


def openmp_enabled():
    """True when the kernels were built with OpenMP."""
    return bool(fnn_openmp_enabled())


def kernel_name():
    """The GEMM micro-kernel family in use: 'avx512', 'avx2' or 'portable'."""
    return fnn_kernel_name().decode()


# Changes each time set_kernel is called: packed weights made before then may not suit the
# kernel family now in use (InferencePlan rebuilds its chain when it changes).
kernel_serial = 0


def set_kernel(name):
    """Force a micro-kernel family ('avx512', 'avx2', 'portable') or 'auto'."""
    global kernel_serial
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, received {type(name).__name__}")
    if fnn_set_kernel(name.encode()) != 0:
        raise ValueError(f"name: expected 'auto' or a kernel family this CPU can run "
                         f"({', '.join(available_kernels())}), received {name!r}")
    kernel_serial += 1


def cpu_has(feature):
    """Whether the CPU has an instruction-set feature such as 'avx2' or 'avx512f'."""
    return bool(fnn_cpu_has(str(feature).encode()))


def available_kernels():
    """The kernel families this CPU can run, fastest last."""
    out = ["portable"]
    if fnn_cpu_has(b"avx2") and fnn_cpu_has(b"fma"):
        out.append("avx2")
    if fnn_cpu_has(b"avx512f"):
        out.append("avx512")
    return out


def gemm(a, b, c, double alpha=1.0, double beta=0.0, bint trans_a=False, bint trans_b=False):
    """c = alpha * op(a) @ op(b) + beta * c, in place; op transposes when asked."""
    cdef cnp.ndarray A = _arr(a, "a", None, 2)
    cdef cnp.ndarray B = _arr(b, "b", None, 2)
    cdef cnp.ndarray C = _arr(c, "c", None, 2, True)
    _same_dtype(A, "a", B, "b")
    _same_dtype(A, "a", C, "c")
    cdef size_t m = A.shape[1] if trans_a else A.shape[0]
    cdef size_t k = A.shape[0] if trans_a else A.shape[1]
    cdef size_t kb = B.shape[1] if trans_b else B.shape[0]
    cdef size_t n = B.shape[0] if trans_b else B.shape[1]
    if kb != k:
        raise ValueError(f"b: expected {k} rows in op(b) to match op(a)'s {k} columns, "
                         f"received op(b) of shape ({kb}, {n})")
    _shape(C, "c", (m, n))
    _no_overlap(C, "c", (A, B))
    cdef size_t lda = A.shape[1], ldb = B.shape[1], ldc = n
    cdef int ta = trans_a, tb = trans_b, rc
    cdef float af = alpha, bf = beta
    if _is_f32(A):
        with nogil:
            rc = fnn_gemm_f32(ta, tb, m, n, k, af, <float*>cnp.PyArray_DATA(A), lda, <float*>cnp.PyArray_DATA(B), ldb,
                              bf, <float*>cnp.PyArray_DATA(C), ldc)
    else:
        with nogil:
            rc = fnn_gemm_f64(ta, tb, m, n, k, alpha, <double*>cnp.PyArray_DATA(A), lda, <double*>cnp.PyArray_DATA(B),
                              ldb, beta, <double*>cnp.PyArray_DATA(C), ldc)
    _check_rc(rc, "gemm")
    return c


def gemm_split_fraction(size_t m, size_t n, size_t k, bint trans_a=False, double set=0.0):
    """The share of the rows the first part takes in a two-thread product of this shape
    split by rows (it follows how fast each part ran); set in (0, 1) sets it. For tests:
    the split never changes a result."""
    return fnn_gemm_split_fraction(m, n, k, trans_a, set)


def packed_size(k, n, dtype):
    """Elements needed to hold a k x n weight matrix packed for the current kernel."""
    if np.dtype(dtype) == _F32:
        return fnn_packed_b_size_f32(k, n)
    return fnn_packed_b_size_f64(k, n)


def pack_weights(w, out):
    """Pack w (k x n) into out (1-D, packed_size(k, n, w.dtype) elements)."""
    cdef cnp.ndarray W = _arr(w, "w", None, 2)
    cdef cnp.ndarray P = _arr(out, "out", W.dtype, 1, True)
    cdef size_t k = W.shape[0], n = W.shape[1]
    if <size_t>P.shape[0] != packed_size(k, n, W.dtype):
        raise ValueError(f"out: expected {packed_size(k, n, W.dtype)} elements, received {P.shape[0]}")
    _no_overlap(P, "out", (W,))
    if _is_f32(W):
        with nogil:
            fnn_pack_b_f32(0, k, n, <float*>cnp.PyArray_DATA(W), n, <float*>cnp.PyArray_DATA(P))
    else:
        with nogil:
            fnn_pack_b_f64(0, k, n, <double*>cnp.PyArray_DATA(W), n, <double*>cnp.PyArray_DATA(P))
    return out


def dense_forward(x, w, b, activation, y, z=None, w_packed=None):
    """y = act(x @ w + b) with bias and activation fused; z gets the pre-activation."""
    cdef cnp.ndarray X = _arr(x, "x", None, 2)
    cdef cnp.ndarray W = _arr(w, "w", X.dtype, 2)
    cdef size_t m = X.shape[0], k = X.shape[1], n = W.shape[1]
    if <size_t>W.shape[0] != k:
        raise ValueError(f"w: expected {k} rows to match x's last dimension {k}, "
                         f"received shape {(<object>W).shape}")
    cdef cnp.ndarray B = None, Y, Z = None, P = None
    if b is not None:
        B = _arr(b, "b", X.dtype, 1)
        _shape(B, "b", (n,))
    Y = _arr(y, "y", X.dtype, 2, True)
    _shape(Y, "y", (m, n))
    _no_overlap(Y, "y", (X, W, B))
    if z is not None:
        Z = _arr(z, "z", X.dtype, 2, True)
        _shape(Z, "z", (m, n))
        _no_overlap(Z, "z", (X, W, B, Y))
    if w_packed is not None:
        P = _arr(w_packed, "w_packed", X.dtype, 1)
        if <size_t>P.shape[0] != packed_size(k, n, X.dtype):
            raise ValueError(f"w_packed: expected {packed_size(k, n, X.dtype)} elements "
                             f"(packed for kernel {kernel_name()!r}), received {P.shape[0]}")
    cdef fnn_act act
    _make_act(activation, &act)
    cdef void *bp = NULL if B is None else cnp.PyArray_DATA(B)
    cdef void *zp = NULL if Z is None else cnp.PyArray_DATA(Z)
    cdef void *pp = NULL if P is None else cnp.PyArray_DATA(P)
    cdef int rc
    if _is_f32(X):
        with nogil:
            rc = fnn_dense_forward_f32(<float*>cnp.PyArray_DATA(X), m, k, <float*>cnp.PyArray_DATA(W), <float*>pp, n,
                                       <float*>bp, &act, <float*>zp, <float*>cnp.PyArray_DATA(Y))
    else:
        with nogil:
            rc = fnn_dense_forward_f64(<double*>cnp.PyArray_DATA(X), m, k, <double*>cnp.PyArray_DATA(W), <double*>pp, n,
                                       <double*>bp, &act, <double*>zp, <double*>cnp.PyArray_DATA(Y))
    _check_rc(rc, "dense_forward")
    return y


def dense_backward(x, w, z, y, dy, activation, dz, dw, db=None, dx=None):
    """Gradients of the dense layer; see fnn_dense_backward in fastnn.h."""
    cdef cnp.ndarray X = _arr(x, "x", None, 2)
    cdef cnp.ndarray W = _arr(w, "w", X.dtype, 2)
    cdef size_t m = X.shape[0], k = X.shape[1], n = W.shape[1]
    if <size_t>W.shape[0] != k:
        raise ValueError(f"w: expected {k} rows to match x's last dimension {k}, "
                         f"received shape {(<object>W).shape}")
    cdef fnn_act act
    _make_act(activation, &act)
    cdef cnp.ndarray Z = None, Yv = None, DB = None, DX = None
    cdef cnp.ndarray DY = _arr(dy, "dy", X.dtype, 2)
    _shape(DY, "dy", (m, n))
    if act.kind != FNN_ACT_LINEAR:
        if fnn_act_backward_needs_input_for(&act):
            if z is None:
                raise ValueError("z: this activation's derivative needs the pre-activation z, received None")
        elif y is None:
            raise ValueError("y: this activation's derivative needs the output y, received None")
    if z is not None:
        Z = _arr(z, "z", X.dtype, 2)
        _shape(Z, "z", (m, n))
    if y is not None:
        Yv = _arr(y, "y", X.dtype, 2)
        _shape(Yv, "y", (m, n))
    cdef cnp.ndarray DZ = _arr(dz, "dz", X.dtype, 2, True)
    _shape(DZ, "dz", (m, n))
    if DZ is not DY:
        _no_overlap(DZ, "dz", (X, W, Z, Yv, DY))
    cdef cnp.ndarray DW = _arr(dw, "dw", X.dtype, 2, True)
    _shape(DW, "dw", (k, n))
    _no_overlap(DW, "dw", (X, W, Z, Yv, DY, DZ))
    if db is not None:
        DB = _arr(db, "db", X.dtype, 1, True)
        _shape(DB, "db", (n,))
        _no_overlap(DB, "db", (X, W, Z, Yv, DY, DZ, DW))
    if dx is not None:
        DX = _arr(dx, "dx", X.dtype, 2, True)
        _shape(DX, "dx", (m, k))
        _no_overlap(DX, "dx", (X, W, Z, Yv, DY, DZ, DW, DB))
    cdef void *zp = NULL if Z is None else cnp.PyArray_DATA(Z)
    cdef void *yp = NULL if Yv is None else cnp.PyArray_DATA(Yv)
    cdef void *dbp = NULL if DB is None else cnp.PyArray_DATA(DB)
    cdef void *dxp = NULL if DX is None else cnp.PyArray_DATA(DX)
    cdef int rc
    if _is_f32(X):
        with nogil:
            rc = fnn_dense_backward_f32(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(W), <float*>zp, <float*>yp,
                                        <float*>cnp.PyArray_DATA(DY), &act, m, k, n, <float*>cnp.PyArray_DATA(DZ),
                                        <float*>cnp.PyArray_DATA(DW), <float*>dbp, <float*>dxp)
    else:
        with nogil:
            rc = fnn_dense_backward_f64(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(W), <double*>zp,
                                        <double*>yp, <double*>cnp.PyArray_DATA(DY), &act, m, k, n,
                                        <double*>cnp.PyArray_DATA(DZ), <double*>cnp.PyArray_DATA(DW), <double*>dbp,
                                        <double*>dxp)
    _check_rc(rc, "dense_backward")


def sum_rows(x, out):
    """out[j] = sum over rows of x[:, j], in a fixed order."""
    cdef cnp.ndarray X = _arr(x, "x", None, 2)
    cdef cnp.ndarray O = _arr(out, "out", X.dtype, 1, True)
    cdef size_t m = X.shape[0], n = X.shape[1]
    _shape(O, "out", (n,))
    _no_overlap(O, "out", (X,))
    if _is_f32(X):
        with nogil:
            fnn_sum_rows_f32(<float*>cnp.PyArray_DATA(X), m, n, <float*>cnp.PyArray_DATA(O))
    else:
        with nogil:
            fnn_sum_rows_f64(<double*>cnp.PyArray_DATA(X), m, n, <double*>cnp.PyArray_DATA(O))
    return out
