# _losses_extra.pxi - bindings for the reduced loss kernels and the metric counters.

cdef extern from "fastnn.h" nogil:
    ctypedef struct fnn_loss_spec:
        int kind
        int from_logits
        int class_balancing
        int has_ignore_class
        int64_t ignore_class
        double eps
        double delta
        double label_smoothing
        double alpha
        double gamma
    int FNN_LOSS_COUNT
    int FNN_LOSS_SPARSE_XENT
    int FNN_LOSS_CATEGORICAL_XENT
    int FNN_LOSS_BINARY_XENT
    int fnn_loss_reduce_f32(const fnn_loss_spec *spec, const float *t, const int64_t *labels,
                            const float *p, const float *sw, size_t rows, size_t cols,
                            size_t rows_per_weight, int red, float *loss_b, float *dp,
                            double *result, int64_t *bad_row)
    int fnn_loss_reduce_f64(const fnn_loss_spec *spec, const double *t, const int64_t *labels,
                            const double *p, const double *sw, size_t rows, size_t cols,
                            size_t rows_per_weight, int red, double *loss_b, double *dp,
                            double *result, int64_t *bad_row)
    void fnn_accuracy_update_f32(int kind, const float *p, const float *t, const int64_t *labels,
                                 const float *sw, size_t rows, size_t cols, size_t rpw,
                                 double threshold, size_t k, double *total, double *count)
    void fnn_accuracy_update_f64(int kind, const double *p, const double *t,
                                 const int64_t *labels, const double *sw, size_t rows,
                                 size_t cols, size_t rpw, double threshold, size_t k,
                                 double *total, double *count)
    void fnn_confusion_update_f32(const float *p, const float *t, const float *w, size_t n,
                                  const double *thr, size_t nt, int evenly, int thr_eps,
                                  double *tp, double *fp, double *tn, double *fn)
    void fnn_confusion_update_f64(const double *p, const double *t, const double *w, size_t n,
                                  const double *thr, size_t nt, int evenly, int thr_eps,
                                  double *tp, double *fp, double *tn, double *fn)

LOSS_KINDS = ("mse", "mae", "mape", "msle", "hinge", "squared_hinge", "categorical_hinge",
              "log_cosh", "huber", "kld", "poisson", "cosine", "binary_focal",
              "categorical_xent", "sparse_xent", "binary_xent")
REDUCTIONS = {"none": 0, "sum": 1, "sum_over_batch_size": 2, "mean": 2,
              "mean_with_sample_weight": 3}
ACCURACY_KINDS = ("binary", "categorical", "sparse", "top_k", "sparse_top_k")


cdef class LossSpec:
    """The fixed parameters of one loss, kept in C form so each call converts nothing.

    Args:
        kind: One of LOSS_KINDS.
        eps: The fuzz factor (backend.epsilon()).
        from_logits, class_balancing: Flags. ignore_class: None or an int.
        delta, label_smoothing, alpha, gamma: Huber's delta, the smoothing, focal's terms.
    """
    cdef fnn_loss_spec s
    cdef readonly str kind

    def __init__(self, str kind, eps, bint from_logits=False, bint class_balancing=False,
                 ignore_class=None, delta=1.0, label_smoothing=0.0, alpha=0.25, gamma=2.0):
        if kind not in LOSS_KINDS:
            raise ValueError(f"kind: expected one of {list(LOSS_KINDS)}, received {kind!r}")
        self.kind = kind
        self.s.kind = LOSS_KINDS.index(kind)
        self.s.from_logits = from_logits
        self.s.class_balancing = class_balancing
        self.s.has_ignore_class = ignore_class is not None
        self.s.ignore_class = int(ignore_class) if ignore_class is not None else 0
        self.s.eps = _real(eps, "eps")
        if not (0.0 <= self.s.eps < 0.5):
            raise ValueError(f"eps: expected a number in [0, 0.5), received {eps!r}")
        self.s.delta = _real(delta, "delta")
        self.s.label_smoothing = _smoothing(label_smoothing)
        self.s.alpha = _real(alpha, "alpha")
        self.s.gamma = _real(gamma, "gamma")
        if self.s.kind >= FNN_LOSS_CATEGORICAL_XENT and (not self.s.eps > 0.0 or
                                                          <float>self.s.eps == 0.0):
            raise ValueError(f"eps: the cross-entropies need an epsilon that is positive in "
                             f"float32, received {eps!r}")


def loss_reduce(LossSpec spec, p, t, labels, sw, size_t rows_per_weight, int reduction,
                loss_out=None, grad_out=None):
    """The reduced loss of spec over p (rows, cols), with d(result)/dp into grad_out.

    t is (rows, cols) like p (None for the sparse cross-entropy), labels int64 (rows,) for it
    only; sw is None or (rows / rows_per_weight,). loss_out (rows,) receives the weighted
    per-row losses (required for reduction 0, 'none'). Returns the reduced loss as a float.
    """
    cdef cnp.ndarray P = _arr(p, "y_pred", None, 2)
    cdef size_t rows = P.shape[0], cols = P.shape[1]
    cdef bint sparse = spec.s.kind == FNN_LOSS_SPARSE_XENT
    cdef cnp.ndarray TT = None, LB = None, SW = None, L = None, G = None
    if sparse:
        LB = _arr(labels, "y_true", _I64, 1)
        _shape(LB, "y_true", (rows,))
    else:
        TT = _arr(t, "y_true", P.dtype, 2)
        _shape(TT, "y_true", (rows, cols))
    if cols == 0 and rows > 0:
        raise ValueError(f"y_pred: expected a non-empty last dimension, received shape "
                         f"{(<object>P).shape}")
    if rows_per_weight < 1 or rows % rows_per_weight:
        raise ValueError(f"rows_per_weight: expected a divisor of {rows}, received {rows_per_weight}")
    if sw is not None:
        SW = _arr(sw, "sample_weight", P.dtype, 1)
        _shape(SW, "sample_weight", (rows // rows_per_weight,))
    if reduction < 0 or reduction > 3:
        raise ValueError(f"reduction: expected a code in [0, 3], received {reduction}")
    if loss_out is not None:
        L = _arr(loss_out, "loss_out", P.dtype, 1, True)
        _shape(L, "loss_out", (rows,))
        _no_overlap(L, "loss_out", (P, TT, LB, SW))
    elif reduction == 0:
        raise ValueError("loss_out: required when the reduction is 'none'")
    if grad_out is not None:
        G = _arr(grad_out, "grad_out", P.dtype, 2, True)
        _shape(G, "grad_out", (rows, cols))
        _no_overlap(G, "grad_out", (P, TT, LB, SW, L))
    cdef double result = 0.0
    cdef int64_t bad = -1
    cdef int rc
    cdef fnn_loss_spec *sp = &spec.s
    cdef void *pp = _ptr(P)
    cdef void *tp = _ptr(TT)
    cdef int64_t *lp = <int64_t*>_ptr(LB)
    cdef void *swp = _ptr(SW)
    cdef void *op = _ptr(L)
    cdef void *gp = _ptr(G)
    if _is_f32(P):
        with nogil:
            rc = fnn_loss_reduce_f32(sp, <float*>tp, lp, <float*>pp, <float*>swp, rows, cols,
                                     rows_per_weight, reduction, <float*>op, <float*>gp,
                                     &result, &bad)
    else:
        with nogil:
            rc = fnn_loss_reduce_f64(sp, <double*>tp, lp, <double*>pp, <double*>swp, rows, cols,
                                     rows_per_weight, reduction, <double*>op, <double*>gp,
                                     &result, &bad)
    if rc == FNN_EINVAL:
        raise ValueError(f"y_true: expected class indices in [0, {cols}), received "
                         f"{labels[bad]} at index {bad}")
    _check_rc(rc, "loss")
    return result


def accuracy_update(str kind, p, t, labels, sw, size_t rows_per_weight=1, threshold=0.5,
                    size_t k=5):
    """(total, count) of a Keras Mean of per-sample accuracies over p (rows, cols).

    t (rows, cols) for 'binary', 'categorical' and 'top_k'; labels int64 (rows,) for
    'sparse' and 'sparse_top_k'; sw None or (rows / rows_per_weight,).
    """
    if kind not in ACCURACY_KINDS:
        raise ValueError(f"kind: expected one of {list(ACCURACY_KINDS)}, received {kind!r}")
    cdef int kd = ACCURACY_KINDS.index(kind)
    cdef cnp.ndarray P = _arr(p, "y_pred", None, 2)
    cdef size_t rows = P.shape[0], cols = P.shape[1]
    cdef cnp.ndarray TT = None, LB = None, SW = None
    if kd == 2 or kd == 4:
        LB = _arr(labels, "y_true", _I64, 1)
        _shape(LB, "y_true", (rows,))
    else:
        TT = _arr(t, "y_true", P.dtype, 2)
        _shape(TT, "y_true", (rows, cols))
    if cols == 0 and rows > 0 and kd != 0:
        raise ValueError(f"y_pred: expected a non-empty last dimension, received shape "
                         f"{(<object>P).shape}")
    if rows_per_weight < 1 or rows % rows_per_weight:
        raise ValueError(f"rows_per_weight: expected a divisor of {rows}, received {rows_per_weight}")
    if sw is not None:
        SW = _arr(sw, "sample_weight", P.dtype, 1)
        _shape(SW, "sample_weight", (rows // rows_per_weight,))
    cdef double thr = _real(threshold, "threshold"), total = 0.0, count = 0.0
    cdef void *pp = _ptr(P)
    cdef void *tp = _ptr(TT)
    cdef int64_t *lp = <int64_t*>_ptr(LB)
    cdef void *swp = _ptr(SW)
    if _is_f32(P):
        with nogil:
            fnn_accuracy_update_f32(kd, <float*>pp, <float*>tp, lp, <float*>swp, rows, cols,
                                    rows_per_weight, thr, k, &total, &count)
    else:
        with nogil:
            fnn_accuracy_update_f64(kd, <double*>pp, <double*>tp, lp, <double*>swp, rows, cols,
                                    rows_per_weight, thr, k, &total, &count)
    return total, count


def confusion_update(p, t, w, thresholds, bint evenly, bint thr_eps, tp, fp, tn, fn):
    """Add weighted tp/fp/tn/fn counts of flat predictions p against labels t (t != 0).

    p, t and w (or None) are 1-D of one length and float dtype; thresholds float64 (nt,);
    tp, fp, tn, fn are float64 (nt,) accumulators or None.
    """
    cdef cnp.ndarray P = _arr(p, "y_pred", None, 1)
    cdef size_t n = P.shape[0]
    cdef cnp.ndarray TT = _arr(t, "y_true", P.dtype, 1)
    _shape(TT, "y_true", (n,))
    cdef cnp.ndarray W = None
    if w is not None:
        W = _arr(w, "sample_weight", P.dtype, 1)
        _shape(W, "sample_weight", (n,))
    cdef cnp.ndarray TH = _arr(thresholds, "thresholds", _F64, 1)
    cdef size_t nt = TH.shape[0]
    cdef list accs = []
    for name, a in (("tp", tp), ("fp", fp), ("tn", tn), ("fn", fn)):
        if a is None:
            accs.append(None)
        else:
            A = _arr(a, name, _F64, 1, True)
            _shape(A, name, (nt,))
            _no_overlap(A, name, (P, TT, W, TH))
            accs.append(A)
    cdef double *o0 = <double*>_ptr(accs[0])
    cdef double *o1 = <double*>_ptr(accs[1])
    cdef double *o2 = <double*>_ptr(accs[2])
    cdef double *o3 = <double*>_ptr(accs[3])
    cdef void *pp = _ptr(P)
    cdef void *tq = _ptr(TT)
    cdef void *wp = _ptr(W)
    cdef double *thp = <double*>_ptr(TH)
    cdef int ev = evenly, te = thr_eps
    if _is_f32(P):
        with nogil:
            fnn_confusion_update_f32(<float*>pp, <float*>tq, <float*>wp, n, thp, nt, ev, te,
                                     o0, o1, o2, o3)
    else:
        with nogil:
            fnn_confusion_update_f64(<double*>pp, <double*>tq, <double*>wp, n, thp, nt, ev, te,
                                     o0, o1, o2, o3)
