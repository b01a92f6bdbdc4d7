# _optimizers.pxi - bindings for the fused optimizer updates, clipping and sums of squares.
#
# Every update takes the parameter array w (updated in place), its gradient g (read only),
# the slot arrays (updated in place; None where the option is off), the learning rate and
# weight decay already rounded to w's dtype, a clip spec and the optimizer's scalars.
# clip is None, or (mode, a, b) with mode one of CLIP_VALUE, CLIP_NORM, CLIP_SCALE.

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_CLIP_NONE
        FNN_CLIP_VALUE
        FNN_CLIP_NORM
        FNN_CLIP_SCALE

    ctypedef struct fnn_opt_common:
        double lr
        double wd
        int clip_mode
        double clip_a
        double clip_b

    void fnn_sgd_update_f32(float *w, const float *g, float *m, size_t n, const fnn_opt_common *c,
                            double momentum, int nesterov)
    void fnn_sgd_update_f64(double *w, const double *g, double *m, size_t n,
                            const fnn_opt_common *c, double momentum, int nesterov)
    void fnn_rmsprop_update_f32(float *w, const float *g, float *v, float *mom, float *avg,
                                size_t n, const fnn_opt_common *c, double rho, double omr,
                                double momentum, double eps)
    void fnn_rmsprop_update_f64(double *w, const double *g, double *v, double *mom, double *avg,
                                size_t n, const fnn_opt_common *c, double rho, double omr,
                                double momentum, double eps)
    void fnn_adagrad_update_f32(float *w, const float *g, float *acc, size_t n,
                                const fnn_opt_common *c, double eps)
    void fnn_adagrad_update_f64(double *w, const double *g, double *acc, size_t n,
                                const fnn_opt_common *c, double eps)
    void fnn_adadelta_update_f32(float *w, const float *g, float *ag, float *ad, size_t n,
                                 const fnn_opt_common *c, double rho, double omr, double eps)
    void fnn_adadelta_update_f64(double *w, const double *g, double *ag, double *ad, size_t n,
                                 const fnn_opt_common *c, double rho, double omr, double eps)
    void fnn_adam_update_f32(float *w, const float *g, float *m, float *v, float *vhat, size_t n,
                             const fnn_opt_common *c, double omb1, double omb2, double alpha,
                             double eps)
    void fnn_adam_update_f64(double *w, const double *g, double *m, double *v, double *vhat,
                             size_t n, const fnn_opt_common *c, double omb1, double omb2,
                             double alpha, double eps)
    void fnn_adamax_update_f32(float *w, const float *g, float *m, float *u, size_t n,
                               const fnn_opt_common *c, double omb1, double beta_2, double omb1p,
                               double eps)
    void fnn_adamax_update_f64(double *w, const double *g, double *m, double *u, size_t n,
                               const fnn_opt_common *c, double omb1, double beta_2,
                               double omb1p, double eps)
    void fnn_nadam_update_f32(float *w, const float *g, float *m, float *v, size_t n,
                              const fnn_opt_common *c, double omb1, double omb2, double u1,
                              double omp1, double omu, double omp, double omb2p, double eps)
    void fnn_nadam_update_f64(double *w, const double *g, double *m, double *v, size_t n,
                              const fnn_opt_common *c, double omb1, double omb2, double u1,
                              double omp1, double omu, double omp, double omb2p, double eps)
    double fnn_sum_squares_f32(const float *x, size_t n)
    double fnn_sum_squares_f64(const double *x, size_t n)
    void fnn_clip_by_value_f32(float *x, size_t n, double clip)
    void fnn_clip_by_value_f64(double *x, size_t n, double clip)


CLIP_VALUE = FNN_CLIP_VALUE
CLIP_NORM = FNN_CLIP_NORM
CLIP_SCALE = FNN_CLIP_SCALE


cdef inline void* _opt_ptr(cnp.ndarray a):
    return NULL if a is None else cnp.PyArray_DATA(a)


cdef cnp.ndarray _opt_w(object w):
    return _arr(w, "w", None, -1, True)


cdef cnp.ndarray _opt_g(object g, cnp.ndarray W):
    cdef cnp.ndarray G = _arr(g, "g", W.dtype, -1)
    _shape(G, "g", (<object>W).shape)
    _no_overlap(W, "w", (G,))
    return G


cdef cnp.ndarray _opt_slot(object s, str name, cnp.ndarray W, cnp.ndarray G, tuple others):
    """A slot array: w's dtype and shape, writable, sharing memory with nothing else."""
    if s is None:
        return None
    cdef cnp.ndarray S = _arr(s, name, W.dtype, -1, True)
    _shape(S, name, (<object>W).shape)
    _no_overlap(S, name, (W, G) + others)
    return S


cdef int _opt_common(double lr, double wd, object clip, fnn_opt_common *c) except -1:
    c.lr = lr
    c.wd = wd
    c.clip_mode = FNN_CLIP_NONE
    c.clip_a = 0.0
    c.clip_b = 1.0
    if clip is None:
        return 0
    if not isinstance(clip, tuple) or len(clip) != 3:
        raise TypeError(f"clip: expected None or a (mode, a, b) tuple, received {clip!r}")
    mode = clip[0]
    if mode not in (FNN_CLIP_VALUE, FNN_CLIP_NORM, FNN_CLIP_SCALE):
        raise ValueError(f"clip: unknown clip mode {mode!r}")
    c.clip_mode = mode
    c.clip_a = float(clip[1])
    c.clip_b = float(clip[2])
    return 0


def sgd_update(w, g, m, double lr, double wd=0.0, clip=None, double momentum=0.0,
               bint nesterov=False):
    """SGD step in place on w (and its velocity m, or None without momentum)."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray M = _opt_slot(m, "m", W, G, ())
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef int nest = nesterov
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_M = _opt_ptr(M)
    if _is_f32(W):
        with nogil:
            fnn_sgd_update_f32(<float*>p_W, <float*>p_G, <float*>p_M, n, &c, momentum, nest)
    else:
        with nogil:
            fnn_sgd_update_f64(<double*>p_W, <double*>p_G, <double*>p_M, n, &c, momentum, nest)


def rmsprop_update(w, g, v, mom, avg, double lr, double wd, clip, double rho, double omr,
                   double momentum, double epsilon):
    """RMSprop step in place on w, v, mom (None without momentum), avg (None unless centered)."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray V = _opt_slot(v, "v", W, G, ())
    if V is None:
        raise TypeError("v: expected a numpy.ndarray, received None")
    cdef cnp.ndarray MO = _opt_slot(mom, "mom", W, G, (V,))
    cdef cnp.ndarray A = _opt_slot(avg, "avg", W, G, (V, MO))
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_V = _opt_ptr(V)
    cdef void *p_MO = _opt_ptr(MO)
    cdef void *p_A = _opt_ptr(A)
    if _is_f32(W):
        with nogil:
            fnn_rmsprop_update_f32(<float*>p_W, <float*>p_G, <float*>p_V, <float*>p_MO,
                                   <float*>p_A, n, &c, rho, omr, momentum, epsilon)
    else:
        with nogil:
            fnn_rmsprop_update_f64(<double*>p_W, <double*>p_G, <double*>p_V, <double*>p_MO,
                                   <double*>p_A, n, &c, rho, omr, momentum, epsilon)


def adagrad_update(w, g, acc, double lr, double wd, clip, double epsilon):
    """Adagrad step in place on w and its accumulator acc."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray AC = _opt_slot(acc, "acc", W, G, ())
    if AC is None:
        raise TypeError("acc: expected a numpy.ndarray, received None")
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_AC = _opt_ptr(AC)
    if _is_f32(W):
        with nogil:
            fnn_adagrad_update_f32(<float*>p_W, <float*>p_G, <float*>p_AC, n, &c, epsilon)
    else:
        with nogil:
            fnn_adagrad_update_f64(<double*>p_W, <double*>p_G, <double*>p_AC, n, &c, epsilon)


def adadelta_update(w, g, ag, ad, double lr, double wd, clip, double rho, double omr,
                    double epsilon):
    """Adadelta step in place on w and its accumulators ag (gradients) and ad (updates)."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray AG = _opt_slot(ag, "ag", W, G, ())
    cdef cnp.ndarray AD = _opt_slot(ad, "ad", W, G, (AG,))
    if AG is None or AD is None:
        raise TypeError("ag, ad: expected numpy.ndarrays, received None")
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_AG = _opt_ptr(AG)
    cdef void *p_AD = _opt_ptr(AD)
    if _is_f32(W):
        with nogil:
            fnn_adadelta_update_f32(<float*>p_W, <float*>p_G, <float*>p_AG, <float*>p_AD, n,
                                    &c, rho, omr, epsilon)
    else:
        with nogil:
            fnn_adadelta_update_f64(<double*>p_W, <double*>p_G, <double*>p_AG, <double*>p_AD,
                                    n, &c, rho, omr, epsilon)


cdef extern from "fastnn.h" nogil:
    double fnn_adam_alpha_f32(float lr, float beta_1, float beta_2, float step)
    double fnn_adam_alpha_f64(double lr, double beta_1, double beta_2, double step)


def adam_alpha(bint f32, double lr, double beta_1, double beta_2, double step):
    """Adam's bias-corrected step size, in float32 (f32) or float64 arithmetic."""
    if f32:
        return fnn_adam_alpha_f32(<float>lr, <float>beta_1, <float>beta_2, <float>step)
    return fnn_adam_alpha_f64(lr, beta_1, beta_2, step)


def adam_update(w, g, m, v, vhat, double lr, double wd, clip, double omb1, double omb2,
                double alpha, double epsilon):
    """Adam step in place on w, m, v and vhat (None unless amsgrad)."""
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    _adam_one(w, g, m, v, vhat, &c, omb1, omb2, alpha, epsilon)


cdef tuple _adam_arrays(object w, object g, object m, object v, object vhat):
    """(W, G, M, V, VH) for one Adam update, checked: dtypes, shapes, layout, no overlap."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray M = _opt_slot(m, "m", W, G, ())
    cdef cnp.ndarray V = _opt_slot(v, "v", W, G, (M,))
    if M is None or V is None:
        raise TypeError("m, v: expected numpy.ndarrays, received None")
    return W, G, M, V, _opt_slot(vhat, "vhat", W, G, (M, V))


cdef int _adam_one(object w, object g, object m, object v, object vhat, fnn_opt_common *cp,
                   double omb1, double omb2, double alpha, double epsilon) except -1:
    cdef cnp.ndarray W, G, M, V, VH
    W, G, M, V, VH = _adam_arrays(w, g, m, v, vhat)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_M = _opt_ptr(M)
    cdef void *p_V = _opt_ptr(V)
    cdef void *p_VH = _opt_ptr(VH)
    if _is_f32(W):
        with nogil:
            fnn_adam_update_f32(<float*>p_W, <float*>p_G, <float*>p_M, <float*>p_V,
                                <float*>p_VH, n, cp, omb1, omb2, alpha, epsilon)
    else:
        with nogil:
            fnn_adam_update_f64(<double*>p_W, <double*>p_G, <double*>p_M, <double*>p_V,
                                <double*>p_VH, n, cp, omb1, omb2, alpha, epsilon)
    return 0


cdef class AdamGroup:
    """Adam's step on several variables in one call: adam_update's checks and arithmetic,
    variable after variable in the given order, with no weight decay and no clipping.

    entries: (w, g, m, v, vhat) per variable; w, m, v and vhat (None unless amsgrad) are
    objects whose .value is the array (read on every call, so a replaced array is seen),
    g is the gradient array itself.
    """
    cdef list _entries

    def __init__(self, entries):
        self._entries = [tuple(e) for e in entries]
        for i, e in enumerate(self._entries):
            if len(e) != 5:
                raise ValueError(f"entries[{i}]: expected (w, g, m, v, vhat), received "
                                 f"{len(e)} items")

    def run(self, double lr, double omb1, double omb2, double alpha, double epsilon):
        """One Adam step of every variable (lr and alpha already in the variables' dtype)."""
        cdef fnn_opt_common c
        _opt_common(lr, 0.0, None, &c)
        for w, g, m, v, vhat in self._entries:
            _adam_one(w.value, g, m.value, v.value, None if vhat is None else vhat.value, &c,
                      omb1, omb2, alpha, epsilon)


def adamax_update(w, g, m, u, double lr, double wd, clip, double omb1, double beta_2,
                  double omb1p, double epsilon):
    """Adamax step in place on w, m and the infinity norm u."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray M = _opt_slot(m, "m", W, G, ())
    cdef cnp.ndarray U = _opt_slot(u, "u", W, G, (M,))
    if M is None or U is None:
        raise TypeError("m, u: expected numpy.ndarrays, received None")
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_M = _opt_ptr(M)
    cdef void *p_U = _opt_ptr(U)
    if _is_f32(W):
        with nogil:
            fnn_adamax_update_f32(<float*>p_W, <float*>p_G, <float*>p_M, <float*>p_U, n, &c,
                                  omb1, beta_2, omb1p, epsilon)
    else:
        with nogil:
            fnn_adamax_update_f64(<double*>p_W, <double*>p_G, <double*>p_M, <double*>p_U, n,
                                  &c, omb1, beta_2, omb1p, epsilon)


def nadam_update(w, g, m, v, double lr, double wd, clip, double omb1, double omb2, double u1,
                 double omp1, double omu, double omp, double omb2p, double epsilon):
    """Nadam step in place on w, m and v; the momentum-cache factors come from the caller."""
    cdef cnp.ndarray W = _opt_w(w)
    cdef cnp.ndarray G = _opt_g(g, W)
    cdef cnp.ndarray M = _opt_slot(m, "m", W, G, ())
    cdef cnp.ndarray V = _opt_slot(v, "v", W, G, (M,))
    if M is None or V is None:
        raise TypeError("m, v: expected numpy.ndarrays, received None")
    cdef fnn_opt_common c
    _opt_common(lr, wd, clip, &c)
    cdef size_t n = cnp.PyArray_SIZE(W)
    cdef void *p_W = _opt_ptr(W)
    cdef void *p_G = _opt_ptr(G)
    cdef void *p_M = _opt_ptr(M)
    cdef void *p_V = _opt_ptr(V)
    if _is_f32(W):
        with nogil:
            fnn_nadam_update_f32(<float*>p_W, <float*>p_G, <float*>p_M, <float*>p_V, n, &c,
                                 omb1, omb2, u1, omp1, omu, omp, omb2p, epsilon)
    else:
        with nogil:
            fnn_nadam_update_f64(<double*>p_W, <double*>p_G, <double*>p_M, <double*>p_V, n,
                                 &c, omb1, omb2, u1, omp1, omu, omp, omb2p, epsilon)


def sum_squares(x):
    """sum(x * x) in double, over fixed blocks: the same bits for any thread count."""
    cdef cnp.ndarray X = _arr(x, "x", None, -1)
    cdef size_t n = cnp.PyArray_SIZE(X)
    cdef double r
    cdef void *p_X = _opt_ptr(X)
    if _is_f32(X):
        with nogil:
            r = fnn_sum_squares_f32(<float*>p_X, n)
    else:
        with nogil:
            r = fnn_sum_squares_f64(<double*>p_X, n)
    return r


def clip_by_value(x, double clip):
    """In place: x = min(max(x, -clip), clip)."""
    cdef cnp.ndarray X = _arr(x, "x", None, -1, True)
    cdef size_t n = cnp.PyArray_SIZE(X)
    cdef void *p_X = _opt_ptr(X)
    if _is_f32(X):
        with nogil:
            fnn_clip_by_value_f32(<float*>p_X, n, clip)
    else:
        with nogil:
            fnn_clip_by_value_f64(<double*>p_X, n, clip)
    return x
