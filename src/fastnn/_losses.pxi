# _losses.pxi - bindings for softmax, log-softmax, the fused cross-entropy losses and sum.

cdef extern from "fastnn.h" nogil:
    void fnn_softmax_f32(const float *x, float *y, size_t rows, size_t cols)
    void fnn_softmax_f64(const double *x, double *y, size_t rows, size_t cols)
    void fnn_log_softmax_f32(const float *x, float *y, size_t rows, size_t cols)
    void fnn_log_softmax_f64(const double *x, double *y, size_t rows, size_t cols)
    void fnn_softmax_backward_f32(const float *y, const float *dy, float *dx, size_t rows, size_t cols)
    void fnn_softmax_backward_f64(const double *y, const double *dy, double *dx, size_t rows, size_t cols)
    void fnn_log_softmax_backward_f32(const float *y, const float *dy, float *dx, size_t rows, size_t cols)
    void fnn_log_softmax_backward_f64(const double *y, const double *dy, double *dx, size_t rows, size_t cols)
    int64_t fnn_sparse_xent_f32(const float *z, const int64_t *labels, const float *sw, size_t n,
                                size_t c, int from_logits, float eps, float grad_scale,
                                float *loss_b, float *dz)
    int64_t fnn_sparse_xent_f64(const double *z, const int64_t *labels, const double *sw, size_t n,
                                size_t c, int from_logits, double eps, double grad_scale,
                                double *loss_b, double *dz)
    void fnn_categorical_xent_f32(const float *z, const float *t, const float *sw, size_t n, size_t c,
                                  int from_logits, float ls, float eps, float grad_scale,
                                  float *loss_b, float *dz)
    void fnn_categorical_xent_f64(const double *z, const double *t, const double *sw, size_t n,
                                  size_t c, int from_logits, double ls, double eps,
                                  double grad_scale, double *loss_b, double *dz)
    void fnn_binary_xent_f32(const float *z, const float *t, const float *sw, size_t n, size_t c,
                             int from_logits, float ls, float eps, float grad_scale,
                             float *loss_b, float *dz)
    void fnn_binary_xent_f64(const double *z, const double *t, const double *sw, size_t n, size_t c,
                             int from_logits, double ls, double eps, double grad_scale,
                             double *loss_b, double *dz)
    double fnn_sum_f32(const float *x, size_t n)
    double fnn_sum_f64(const double *x, size_t n)


cdef inline void *_ptr(cnp.ndarray a):
    return NULL if a is None else cnp.PyArray_DATA(a)


cdef double _real(object v, str name) except? -1.0:
    """A finite real number (bool excluded)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a real number, received {type(v).__name__}")
    cdef double d = float(v)
    if d != d or d in (float("inf"), float("-inf")):
        raise ValueError(f"{name}: expected a finite number, received {v!r}")
    return d


cdef double _eps(object eps, cnp.ndarray like) except? -1.0:
    cdef double e = _real(eps, "eps")
    cdef float ef = <float>e
    if not (0.0 < e < 0.5) or (_is_f32(like) and not ef > 0.0):
        raise ValueError(f"eps: expected a number in (0, 0.5) that is positive in "
                         f"{like.dtype}, received {eps!r}")
    return e


cdef double _smoothing(object label_smoothing) except? -1.0:
    cdef double ls = _real(label_smoothing, "label_smoothing")
    if not (0.0 <= ls <= 1.0):
        raise ValueError(f"label_smoothing: expected a number in [0, 1], received {label_smoothing!r}")
    return ls


cdef cnp.ndarray _out2(object out, str name, cnp.ndarray like):
    cdef cnp.ndarray O = _arr(out, name, like.dtype, 2, True)
    _shape(O, name, (<object>like).shape)
    return O


def softmax(x, out):
    """out = softmax(x) along the last axis of a 2-D array; out may be x."""
    cdef cnp.ndarray X = _arr(x, "x", None, 2)
    cdef cnp.ndarray Y = _out2(out, "out", X)
    if Y is not X:
        _no_overlap(Y, "out", (X,))
    cdef size_t r = X.shape[0], c = X.shape[1]
    cdef void *xp = _ptr(X)
    cdef void *yp = _ptr(Y)
    if _is_f32(X):
        with nogil:
            fnn_softmax_f32(<float*>xp, <float*>yp, r, c)
    else:
        with nogil:
            fnn_softmax_f64(<double*>xp, <double*>yp, r, c)
    return out


def log_softmax(x, out):
    """out = log_softmax(x) along the last axis of a 2-D array; out may be x."""
    cdef cnp.ndarray X = _arr(x, "x", None, 2)
    cdef cnp.ndarray Y = _out2(out, "out", X)
    if Y is not X:
        _no_overlap(Y, "out", (X,))
    cdef size_t r = X.shape[0], c = X.shape[1]
    cdef void *xp = _ptr(X)
    cdef void *yp = _ptr(Y)
    if _is_f32(X):
        with nogil:
            fnn_log_softmax_f32(<float*>xp, <float*>yp, r, c)
    else:
        with nogil:
            fnn_log_softmax_f64(<double*>xp, <double*>yp, r, c)
    return out


cdef tuple _backward_args(object y, object dy, object out):
    cdef cnp.ndarray Y = _arr(y, "y", None, 2)
    cdef cnp.ndarray DY = _arr(dy, "dy", Y.dtype, 2)
    _shape(DY, "dy", (<object>Y).shape)
    cdef cnp.ndarray DX = _out2(out, "out", Y)
    if DX is DY:
        _no_overlap(DX, "out", (Y,))
    else:
        _no_overlap(DX, "out", (Y, DY))
    return Y, DY, DX


def softmax_backward(y, dy, out):
    """out = y * (dy - sum(dy * y)) row-wise, with y = softmax(x); out may be dy."""
    cdef cnp.ndarray Y, DY, DX
    Y, DY, DX = _backward_args(y, dy, out)
    cdef size_t r = Y.shape[0], c = Y.shape[1]
    cdef void *yp = _ptr(Y)
    cdef void *dyp = _ptr(DY)
    cdef void *dxp = _ptr(DX)
    if _is_f32(Y):
        with nogil:
            fnn_softmax_backward_f32(<float*>yp, <float*>dyp, <float*>dxp, r, c)
    else:
        with nogil:
            fnn_softmax_backward_f64(<double*>yp, <double*>dyp, <double*>dxp, r, c)
    return out


def log_softmax_backward(y, dy, out):
    """out = dy - exp(y) * sum(dy) row-wise, with y = log_softmax(x); out may be dy."""
    cdef cnp.ndarray Y, DY, DX
    Y, DY, DX = _backward_args(y, dy, out)
    cdef size_t r = Y.shape[0], c = Y.shape[1]
    cdef void *yp = _ptr(Y)
    cdef void *dyp = _ptr(DY)
    cdef void *dxp = _ptr(DX)
    if _is_f32(Y):
        with nogil:
            fnn_log_softmax_backward_f32(<float*>yp, <float*>dyp, <float*>dxp, r, c)
    else:
        with nogil:
            fnn_log_softmax_backward_f64(<double*>yp, <double*>dyp, <double*>dxp, r, c)
    return out


cdef tuple _loss_outputs(cnp.ndarray Z, object sw, object loss_out, object dz_out, tuple inputs):
    """Check sw, loss_out and dz_out against z (n x c); dz_out may be z itself."""
    cdef size_t n = Z.shape[0], c = Z.shape[1]
    if c == 0 and n > 0:
        raise ValueError(f"z: expected at least one class in the last dimension, "
                         f"received shape {(<object>Z).shape}")
    cdef cnp.ndarray SW = None, L, DZ = None
    if sw is not None:
        SW = _arr(sw, "sw", Z.dtype, 1)
        _shape(SW, "sw", (n,))
    L = _arr(loss_out, "loss_out", Z.dtype, 1, True)
    _shape(L, "loss_out", (n,))
    _no_overlap(L, "loss_out", inputs + (Z, SW))
    if dz_out is not None:
        DZ = _out2(dz_out, "dz_out", Z)
        _no_overlap(DZ, "dz_out", inputs + (SW, L))
        if DZ is not Z:
            _no_overlap(DZ, "dz_out", (Z,))
    return SW, L, DZ


def sparse_xent(z, labels, sw, bint from_logits, eps, grad_scale, loss_out, dz_out=None):
    """Sparse categorical cross-entropy per sample, with its gradient fused in.

    z is (n, c) logits or probabilities, labels int64 (n,), sw (n,) or None. loss_out (n,)
    receives sw * loss; dz_out (n, c) or None receives grad_scale * d(sum loss)/dz and may
    be z. Raises ValueError naming the first label outside [0, c).
    """
    cdef cnp.ndarray Z = _arr(z, "z", None, 2)
    cdef cnp.ndarray LB = _arr(labels, "labels", _I64, 1)
    cdef size_t n = Z.shape[0], c = Z.shape[1]
    _shape(LB, "labels", (n,))
    cdef double e = _eps(eps, Z), gs = _real(grad_scale, "grad_scale")
    cdef cnp.ndarray SW, L, DZ
    SW, L, DZ = _loss_outputs(Z, sw, loss_out, dz_out, (LB,))
    cdef int fl = from_logits
    cdef int64_t bad
    cdef void *zp = _ptr(Z)
    cdef void *lbp = _ptr(LB)
    cdef void *swp = _ptr(SW)
    cdef void *lp = _ptr(L)
    cdef void *dzp = _ptr(DZ)
    if _is_f32(Z):
        with nogil:
            bad = fnn_sparse_xent_f32(<float*>zp, <int64_t*>lbp, <float*>swp, n, c, fl,
                                      <float>e, <float>gs, <float*>lp, <float*>dzp)
    else:
        with nogil:
            bad = fnn_sparse_xent_f64(<double*>zp, <int64_t*>lbp, <double*>swp, n, c, fl,
                                      e, gs, <double*>lp, <double*>dzp)
    if bad >= 0:
        raise ValueError(f"labels: expected class indices in [0, {c}), received {labels[bad]} "
                         f"at index {bad}")
    return loss_out


cdef tuple _dense_target(cnp.ndarray Z, object t):
    cdef cnp.ndarray TT = _arr(t, "t", Z.dtype, 2)
    _shape(TT, "t", (<object>Z).shape)
    return (TT,)


def categorical_xent(z, t, sw, bint from_logits, label_smoothing, eps, grad_scale, loss_out,
                     dz_out=None):
    """Categorical cross-entropy per sample against targets t (n, c), gradient fused in.

    Arguments as sparse_xent, with t in place of labels and Keras's label_smoothing.
    """
    cdef cnp.ndarray Z = _arr(z, "z", None, 2)
    cdef tuple ins = _dense_target(Z, t)
    cdef cnp.ndarray TT = ins[0]
    cdef size_t n = Z.shape[0], c = Z.shape[1]
    cdef double ls = _smoothing(label_smoothing), e = _eps(eps, Z), gs = _real(grad_scale, "grad_scale")
    cdef cnp.ndarray SW, L, DZ
    SW, L, DZ = _loss_outputs(Z, sw, loss_out, dz_out, ins)
    cdef int fl = from_logits
    cdef void *zp = _ptr(Z)
    cdef void *tp = _ptr(TT)
    cdef void *swp = _ptr(SW)
    cdef void *lp = _ptr(L)
    cdef void *dzp = _ptr(DZ)
    if _is_f32(Z):
        with nogil:
            fnn_categorical_xent_f32(<float*>zp, <float*>tp, <float*>swp, n, c, fl,
                                     <float>ls, <float>e, <float>gs, <float*>lp, <float*>dzp)
    else:
        with nogil:
            fnn_categorical_xent_f64(<double*>zp, <double*>tp, <double*>swp, n, c, fl,
                                     ls, e, gs, <double*>lp, <double*>dzp)
    return loss_out


def binary_xent(z, t, sw, bint from_logits, label_smoothing, eps, grad_scale, loss_out,
                dz_out=None):
    """Binary cross-entropy per sample (mean over the last axis), gradient fused in.

    Arguments as categorical_xent; label smoothing moves targets towards 0.5.
    """
    cdef cnp.ndarray Z = _arr(z, "z", None, 2)
    cdef tuple ins = _dense_target(Z, t)
    cdef cnp.ndarray TT = ins[0]
    cdef size_t n = Z.shape[0], c = Z.shape[1]
    cdef double ls = _smoothing(label_smoothing), e = _eps(eps, Z), gs = _real(grad_scale, "grad_scale")
    cdef cnp.ndarray SW, L, DZ
    SW, L, DZ = _loss_outputs(Z, sw, loss_out, dz_out, ins)
    cdef int fl = from_logits
    cdef void *zp = _ptr(Z)
    cdef void *tp = _ptr(TT)
    cdef void *swp = _ptr(SW)
    cdef void *lp = _ptr(L)
    cdef void *dzp = _ptr(DZ)
    if _is_f32(Z):
        with nogil:
            fnn_binary_xent_f32(<float*>zp, <float*>tp, <float*>swp, n, c, fl,
                                <float>ls, <float>e, <float>gs, <float*>lp, <float*>dzp)
    else:
        with nogil:
            fnn_binary_xent_f64(<double*>zp, <double*>tp, <double*>swp, n, c, fl,
                                ls, e, gs, <double*>lp, <double*>dzp)
    return loss_out


def _sum(x):
    """Sum of all elements of a C-contiguous float array, in double, in a fixed order."""
    cdef cnp.ndarray X = _arr(x, "x", None, -1)
    cdef size_t n = cnp.PyArray_SIZE(X)
    cdef double s
    cdef void *xp = _ptr(X)
    if _is_f32(X):
        with nogil:
            s = fnn_sum_f32(<float*>xp, n)
    else:
        with nogil:
            s = fnn_sum_f64(<double*>xp, n)
    return s


# Exported as _core.sum. Binding it through globals() rather than `def sum` keeps every
# other sum(...) in this module bound to the builtin, which Cython resolves at compile time.
globals()["sum"] = _sum
