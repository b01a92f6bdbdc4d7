# _activations.pxi - bindings for the element-wise activations, their derivatives and PReLU.

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_ACT_STEP
    void fnn_act_forward_f32(const fnn_act *act, const float *x, float *y, size_t n)
    void fnn_act_forward_f64(const fnn_act *act, const double *x, double *y, size_t n)
    void fnn_act_backward_f32(const fnn_act *act, const float *x, const float *y,
                              const float *dy, float *dx, size_t n)
    void fnn_act_backward_f64(const fnn_act *act, const double *x, const double *y,
                              const double *dy, double *dx, size_t n)
    void fnn_prelu_forward_f32(const float *x, const float *alpha, float *y, size_t m, size_t f)
    void fnn_prelu_forward_f64(const double *x, const double *alpha, double *y, size_t m,
                               size_t f)
    void fnn_prelu_backward_f32(const float *x, const float *alpha, const float *dy, float *dx,
                                float *dalpha, size_t m, size_t f)
    void fnn_prelu_backward_f64(const double *x, const double *alpha, const double *dy,
                                double *dx, double *dalpha, size_t m, size_t f)


cdef inline void _same_or_disjoint(cnp.ndarray out, str oname, cnp.ndarray src) except *:
    """out may be src itself (in place, element by element) but must not partly overlap it."""
    if src is None or cnp.PyArray_DATA(out) == cnp.PyArray_DATA(src):
        return
    if np.may_share_memory(out, src):
        raise ValueError(f"{oname}: must be the same array as the input or not share memory with it")


def act_needs_input(kind):
    """Whether an activation's derivative needs the pre-activation x (not only y).

    kind is an fnn_act kind number (the answer for any parameters of that kind) or a spec
    tuple (kind, alpha, max_value, threshold), which also accounts for parameters that make
    y ambiguous, such as relu with a negative threshold.
    """
    cdef fnn_act act
    if isinstance(kind, tuple) or kind is None:
        _make_act(kind, &act)
        return bool(fnn_act_backward_needs_input_for(&act))
    if isinstance(kind, bool) or not isinstance(kind, (int, np.integer)):
        raise TypeError(f"kind: expected an int or a spec tuple, received {type(kind).__name__}")
    if not (0 <= kind < FNN_ACT_COUNT):
        raise ValueError(f"kind: expected an activation kind in [0, {FNN_ACT_COUNT}), received {kind}")
    return bool(fnn_act_backward_needs_input(<int>kind))


def act_forward(x, activation, out):
    """out = act(x) element-wise; x of any shape, out of the same shape (may be x itself)."""
    cdef cnp.ndarray X = _arr(x, "x")
    cdef cnp.ndarray O = _arr(out, "out", X.dtype, -1, True)
    _shape(O, "out", (<object>X).shape)
    _same_or_disjoint(O, "out", X)
    cdef fnn_act act
    _make_act(activation, &act)
    cdef size_t n = X.size
    if _is_f32(X):
        with nogil:
            fnn_act_forward_f32(&act, <float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(O), n)
    else:
        with nogil:
            fnn_act_forward_f64(&act, <double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(O), n)
    return out


def act_backward(activation, x, y, dy, out):
    """out = dy * act'(x), from y where the derivative allows it (see act_needs_input).

    x or y may be None when the derivative does not need it; out may be dy itself.
    """
    cdef fnn_act act
    _make_act(activation, &act)
    cdef cnp.ndarray DY = _arr(dy, "dy")
    shape = (<object>DY).shape
    cdef cnp.ndarray X = None, Yv = None
    cdef bint needs_x = fnn_act_backward_needs_input_for(&act)
    if act.kind != FNN_ACT_LINEAR and act.kind != FNN_ACT_STEP:
        if needs_x and x is None:
            raise ValueError("x: this activation's derivative (with these parameters) needs the "
                             "pre-activation x, received None")
        if not needs_x and x is None and y is None:
            raise ValueError("y: this activation's derivative needs the output y "
                             "(or the pre-activation x), received None for both")
    if x is not None:
        X = _arr(x, "x", DY.dtype)
        _shape(X, "x", shape)
    if y is not None:
        Yv = _arr(y, "y", DY.dtype)
        _shape(Yv, "y", shape)
    cdef cnp.ndarray O = _arr(out, "out", DY.dtype, -1, True)
    _shape(O, "out", shape)
    _same_or_disjoint(O, "out", DY)
    _no_overlap(O, "out", (X, Yv))
    cdef void *xp = NULL if X is None else cnp.PyArray_DATA(X)
    cdef void *yp = NULL if Yv is None else cnp.PyArray_DATA(Yv)
    cdef size_t n = DY.size
    if _is_f32(DY):
        with nogil:
            fnn_act_backward_f32(&act, <float*>xp, <float*>yp, <float*>cnp.PyArray_DATA(DY),
                                 <float*>cnp.PyArray_DATA(O), n)
    else:
        with nogil:
            fnn_act_backward_f64(&act, <double*>xp, <double*>yp, <double*>cnp.PyArray_DATA(DY),
                                 <double*>cnp.PyArray_DATA(O), n)
    return out


cdef tuple _prelu_dims(cnp.ndarray X, cnp.ndarray A):
    """(m, f): x viewed as m rows of alpha's f elements; alpha must match x's trailing axes."""
    xs = (<object>X).shape
    as_ = (<object>A).shape
    if A.ndim < 1 or A.ndim > X.ndim or xs[X.ndim - A.ndim:] != as_:
        raise ValueError(f"alpha: expected a shape equal to the trailing axes of x {xs}, "
                         f"received {as_}")
    cdef size_t f = A.size
    cdef size_t m = X.size // f if f else 0
    return m, f


def prelu_forward(x, alpha, out):
    """out = x where x > 0, else alpha * x; alpha has the shape of x's trailing axes."""
    cdef cnp.ndarray X = _arr(x, "x")
    cdef cnp.ndarray A = _arr(alpha, "alpha", X.dtype)
    m, f = _prelu_dims(X, A)
    cdef cnp.ndarray O = _arr(out, "out", X.dtype, -1, True)
    _shape(O, "out", (<object>X).shape)
    _same_or_disjoint(O, "out", X)
    _no_overlap(O, "out", (A,))
    cdef size_t mm = m, ff = f
    if _is_f32(X):
        with nogil:
            fnn_prelu_forward_f32(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(A),
                                  <float*>cnp.PyArray_DATA(O), mm, ff)
    else:
        with nogil:
            fnn_prelu_forward_f64(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(A),
                                  <double*>cnp.PyArray_DATA(O), mm, ff)
    return out


def prelu_backward(x, alpha, dy, dx, dalpha):
    """dx = dy * (1 if x > 0 else alpha); dalpha = sum over rows of dy * x where x <= 0.

    dx may be None (only dalpha wanted) or dy itself; dalpha has alpha's shape.
    """
    cdef cnp.ndarray X = _arr(x, "x")
    cdef cnp.ndarray A = _arr(alpha, "alpha", X.dtype)
    m, f = _prelu_dims(X, A)
    cdef cnp.ndarray DY = _arr(dy, "dy", X.dtype)
    _shape(DY, "dy", (<object>X).shape)
    cdef cnp.ndarray DX = None
    cdef cnp.ndarray DA = _arr(dalpha, "dalpha", X.dtype, -1, True)
    _shape(DA, "dalpha", (<object>A).shape)
    _no_overlap(DA, "dalpha", (X, A, DY))
    if dx is not None:
        DX = _arr(dx, "dx", X.dtype, -1, True)
        _shape(DX, "dx", (<object>X).shape)
        _same_or_disjoint(DX, "dx", DY)
        _no_overlap(DX, "dx", (X, A, DA))
    cdef void *dxp = NULL if DX is None else cnp.PyArray_DATA(DX)
    cdef size_t mm = m, ff = f
    if _is_f32(X):
        with nogil:
            fnn_prelu_backward_f32(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(A),
                                   <float*>cnp.PyArray_DATA(DY), <float*>dxp,
                                   <float*>cnp.PyArray_DATA(DA), mm, ff)
    else:
        with nogil:
            fnn_prelu_backward_f64(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(A),
                                   <double*>cnp.PyArray_DATA(DY), <double*>dxp,
                                   <double*>cnp.PyArray_DATA(DA), mm, ff)
    return dx, dalpha
