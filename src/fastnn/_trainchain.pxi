# _trainchain.pxi - TrainChain: forward, loss and backward of one training step in one C call.

cdef extern from "trainchain.h" nogil:
    enum:
        FNN_TRAIN_DENSE
        FNN_TRAIN_DROPOUT
    ctypedef struct fnn_train_step:
        int op
        size_t k
        size_t n
        int need_dx
        const void *w
        const void *bias
        int has_act
        fnn_act act
        void *z
        void *dz
        void *dw
        void *db
        void *y
        void *dx
        void *wp
        int wp_nr
        int wp_use
        int wp_finite
        double rate
        uint64_t seed
        uint8_t *mask
    ctypedef struct fnn_adam_item:
        void *w
        void *m
        void *v
        void *vhat
        const void *g
        size_t n
        void *wp
        size_t rows
        size_t cols
        int wp_nr
        int *wp_finite
    ctypedef struct fnn_adam_job:
        const fnn_adam_item *items
        int count
        fnn_opt_common common
        double omb1
        double omb2
        double alpha
        double eps
    int fnn_train_step_f32(const fnn_train_step *steps, int nsteps, const float *x, size_t m,
                           const uint64_t *streams, const fnn_loss_spec *loss, const float *t,
                           const int64_t *labels, const float *sw, int red, float *grad,
                           const fnn_adam_job *adam, double *result, int64_t *bad_row)
    int fnn_train_step_f64(const fnn_train_step *steps, int nsteps, const double *x, size_t m,
                           const uint64_t *streams, const fnn_loss_spec *loss, const double *t,
                           const int64_t *labels, const double *sw, int red, double *grad,
                           const fnn_adam_job *adam, double *result, int64_t *bad_row)


cdef dict _TRAIN_STEP_LEN = {"dense": 8, "dropout": 5}


cdef class TrainChain:
    """The kernel calls of one training step below the optimizer update, run by one C call.

    steps is a list of tuples:
      ("dense", w, b or None, activation spec or None, keep_z, dw, db or None, need_dx)
      ("dropout", width, rate, seed, need_dx)
    w and b are the layer's weights (read), dw and db the gradient buffers the optimizer
    reads (written). The chain allocates every other buffer for rows_max rows and keeps all
    the arrays alive. Each call checks only its own arguments.

    With pack, each dense step also has a packed copy of w, laid out for the kernel in use
    when the chain was made (zero until Adam first writes it): Adam's update in step()
    rewrites it, and the forward of a later step reads it instead of w when that step's
    packed_valid entry says w has not changed since. The copy changes no result.
    """
    cdef fnn_train_step *_steps
    cdef uint64_t *_streams
    cdef int _n
    cdef list _keep
    cdef tuple _written  # the arrays a step writes: gradients and the chain's buffers
    cdef readonly object dtype
    cdef readonly Py_ssize_t in_width, out_width, rows_max
    cdef readonly cnp.ndarray out, grad
    cdef bint _f32
    cdef list _packed  # per step: the packed copy of w, or None

    def __cinit__(self):
        self._steps = NULL
        self._streams = NULL
        self._n = 0

    def __init__(self, steps, dtype, Py_ssize_t rows_max, bint pack=False):
        self.dtype = np.dtype(dtype)
        if self.dtype != np.float32 and self.dtype != np.float64:
            raise TypeError(f"dtype: expected float32 or float64, received {self.dtype}")
        self._f32 = self.dtype == np.float32
        if rows_max < 1:
            raise ValueError(f"rows_max: expected a positive row count, received {rows_max}")
        if not isinstance(steps, list) or not steps:
            raise ValueError("steps: expected a non-empty list of steps")
        for i, step in enumerate(steps):
            if not isinstance(step, tuple) or not step:
                raise TypeError(f"steps[{i}]: expected a non-empty tuple, received {step!r}")
            if step[0] not in _TRAIN_STEP_LEN:
                raise ValueError(f"steps[{i}]: unknown step {step[0]!r}")
            if len(step) != _TRAIN_STEP_LEN[step[0]]:
                raise ValueError(f"steps[{i}]: a {step[0]!r} step is a tuple of "
                                 f"{_TRAIN_STEP_LEN[step[0]]} items, received {len(step)}")
        free(self._steps)
        free(self._streams)
        self._n = 0
        self._steps = <fnn_train_step *>malloc(len(steps) * sizeof(fnn_train_step))
        self._streams = <uint64_t *>malloc(len(steps) * sizeof(uint64_t))
        if self._steps == NULL or self._streams == NULL:
            raise MemoryError()
        self.rows_max = rows_max
        self._keep = []
        self._packed = [None] * len(steps)
        cdef list read_only = []
        cdef fnn_train_step *st
        cdef cnp.ndarray W, B, DW, DB, buf
        cdef Py_ssize_t width = -1
        cdef size_t k, n
        cdef Py_ssize_t j
        cdef bint shared
        for i, step in enumerate(steps):
            st = &self._steps[i]
            self._streams[i] = 0
            st.w = st.bias = NULL
            st.z = st.dz = st.dw = st.db = st.y = st.dx = NULL
            st.mask = NULL
            st.wp = NULL
            st.wp_nr = 0
            st.wp_use = 0
            st.wp_finite = 0
            st.has_act = 0
            st.rate = 0.0
            st.seed = 0
            _make_act(None, &st.act)
            if step[0] == "dense":
                W = _arr(step[1], "w", self.dtype, 2)
                k, n = W.shape[0], W.shape[1]
                st.op = FNN_TRAIN_DENSE
                st.w = cnp.PyArray_DATA(W)
                DW = _arr(step[5], "dw", self.dtype, 2, True)
                _shape(DW, "dw", (k, n))
                _no_overlap(DW, "dw", (W,))
                st.dw = cnp.PyArray_DATA(DW)
                self._keep += [W, DW]
                read_only.append(W)
                if step[2] is not None:
                    B = _arr(step[2], "b", self.dtype, 1)
                    _shape(B, "b", (n,))
                    if step[6] is None:
                        raise ValueError(f"steps[{i}]: a dense step with a bias needs db")
                    DB = _arr(step[6], "db", self.dtype, 1, True)
                    _shape(DB, "db", (n,))
                    _no_overlap(DB, "db", (W, B, DW))
                    st.bias = cnp.PyArray_DATA(B)
                    st.db = cnp.PyArray_DATA(DB)
                    self._keep += [B, DB]
                    read_only.append(B)
                if step[3] is not None:
                    _make_act(step[3], &st.act)
                    st.has_act = 1
                    if fnn_act_backward_needs_input_for(&st.act) and not step[4]:
                        raise ValueError(f"steps[{i}]: this activation's derivative needs z")
                if step[4] and st.has_act:
                    buf = np.empty((rows_max, n), self.dtype)
                    st.z = cnp.PyArray_DATA(buf)
                    self._keep.append(buf)
                buf = np.empty((rows_max, n), self.dtype)
                st.dz = cnp.PyArray_DATA(buf)
                self._keep.append(buf)
                st.need_dx = 1 if step[7] else 0
                # a kernel that two steps share is packed for the first only: Adam's item
                # for it rewrites one copy
                shared = False
                for j in range(i):
                    if self._steps[j].op == FNN_TRAIN_DENSE and self._steps[j].w == st.w:
                        shared = True
                if pack and not shared:
                    buf = np.zeros(packed_size(k, n, self.dtype), self.dtype)
                    st.wp = cnp.PyArray_DATA(buf)
                    st.wp_nr = fnn_packed_b_nr_f32() if self._f32 else fnn_packed_b_nr_f64()
                    self._packed[i] = buf
                    self._keep.append(buf)
            else:
                n = k = step[1]
                if n < 1:
                    raise ValueError(f"steps[{i}]: expected a positive width, received {n}")
                st.op = FNN_TRAIN_DROPOUT
                st.rate = _rate(step[2], self.dtype)
                st.seed = _u64(step[3], "seed")
                buf = np.empty((rows_max, n), np.uint8)
                st.mask = <uint8_t *>cnp.PyArray_DATA(buf)
                self._keep.append(buf)
                st.need_dx = 1 if step[4] else 0
            if width >= 0 and <Py_ssize_t>k != width:
                raise ValueError(f"steps[{i}]: expected input width {width}, received {k}")
            if i == 0:
                self.in_width = k
            width = n
            st.k, st.n = k, n
            buf = np.empty((rows_max, n), self.dtype)
            st.y = cnp.PyArray_DATA(buf)
            self._keep.append(buf)
            if i == len(steps) - 1:
                self.out = buf
            if st.need_dx:
                buf = np.empty((rows_max, k), self.dtype)
                st.dx = cnp.PyArray_DATA(buf)
                self._keep.append(buf)
        self.out_width = width
        self.grad = np.empty((rows_max, width), self.dtype)
        # every kept array but the weights and biases, which a step only reads (Adam's
        # update writes them after the last read of x)
        self._written = tuple(a for a in self._keep
                              if not any(a is r for r in read_only)) + (self.grad,)
        self._n = len(steps)

    def __dealloc__(self):
        free(self._steps)
        free(self._streams)

    def packed_weights(self, Py_ssize_t i):
        """Step i's packed copy of w (the chain's own array), or None."""
        if i < 0 or i >= self._n:
            raise IndexError(f"i: expected a step index in [0, {self._n}), received {i}")
        return self._packed[i]

    def step(self, x, Py_ssize_t m, streams, LossSpec loss, t, labels, sw, int red,
             adam=None, packed_valid=None):
        """Run the step on the first m rows of x (C-contiguous, m * in_width values).

        streams: one int per step (the dropout steps' streams; others ignored). t: y_true
        (m * out_width values) or None; labels: int64 (m,) for the sparse cross-entropy;
        sw: None or (m,). adam: None, or (AdamGroup, lr, 1 - beta_1, 1 - beta_2, alpha,
        epsilon) to run the group's update after the backward pass, in the same call; it
        also rewrites the packed copy of each w the chain packs. packed_valid: None, or one
        truth value per step: whether that step's packed copy still holds w (the caller
        knows, from the variables' versions); the forward reads it then.
        Returns the reduced loss; the logits are out[:m], the gradients are in the dw and
        db arrays.
        """
        if self._n == 0:
            raise ValueError("TrainChain: not initialised")
        if m < 0 or m > self.rows_max:
            raise ValueError(f"m: expected a row count in [0, {self.rows_max}], received {m}")
        cdef cnp.ndarray X = _arr(x, "x", self.dtype, -1)
        if cnp.PyArray_SIZE(X) != m * self.in_width:
            raise ValueError(f"x: expected {m} rows of {self.in_width} values, received shape "
                             f"{(<object>X).shape}")
        if len(streams) != self._n:
            raise ValueError(f"streams: expected {self._n} values, received {len(streams)}")
        cdef Py_ssize_t i, j
        for i in range(self._n):
            self._streams[i] = _u64(streams[i], "streams")
        if packed_valid is not None and len(packed_valid) != self._n:
            raise ValueError(f"packed_valid: expected None or {self._n} values, received "
                             f"{len(packed_valid)}")
        for i in range(self._n):
            self._steps[i].wp_use = 1 if packed_valid is not None and packed_valid[i] else 0
        cdef cnp.ndarray TT = None, LB = None, SW = None
        cdef bint sparse = loss.s.kind == FNN_LOSS_SPARSE_XENT
        if sparse:
            LB = _arr(labels, "y_true", _I64, 1)
            _shape(LB, "y_true", (m,))
        else:
            TT = _arr(t, "y_true", self.dtype, -1)
            if cnp.PyArray_SIZE(TT) != m * self.out_width:
                raise ValueError(f"y_true: expected {m * self.out_width} values, received "
                                 f"shape {(<object>TT).shape}")
        if sw is not None:
            SW = _arr(sw, "sample_weight", self.dtype, 1)
            _shape(SW, "sample_weight", (m,))
        if red < 1 or red > 3:
            raise ValueError(f"red: expected a reduction code in [1, 3], received {red}")
        for A, name in ((X, "x"), (TT, "y_true"), (LB, "y_true"), (SW, "sample_weight")):
            if A is not None:
                _no_overlap(A, name, self._written,
                            "the chain's gradients or buffers, which the step writes")
        cdef fnn_loss_spec *sp = &loss.s
        cdef double result
        cdef fnn_adam_job job
        cdef fnn_adam_job *jp = NULL
        cdef fnn_adam_item *items = NULL
        cdef list keep = []
        cdef cnp.ndarray W, G, M, V, VH
        if adam is not None:
            if not isinstance(adam, tuple) or len(adam) != 6 or not isinstance(adam[0], AdamGroup):
                raise TypeError("adam: expected None or (AdamGroup, lr, omb1, omb2, alpha, "
                                "epsilon)")
            entries = (<AdamGroup>adam[0])._entries
            items = <fnn_adam_item *>malloc(max(len(entries), 1) * sizeof(fnn_adam_item))
            if items == NULL:
                raise MemoryError()
            jp = &job
            job.items = items
            job.count = 0
            _opt_common(float(adam[1]), 0.0, None, &job.common)
            job.omb1, job.omb2 = float(adam[2]), float(adam[3])
            job.alpha, job.eps = float(adam[4]), float(adam[5])
        try:
            if jp != NULL:
                for i, (w, g, mv, vv, hv) in enumerate(entries):
                    W, G, M, V, VH = _adam_arrays(w.value, g, mv.value, vv.value,
                                                  None if hv is None else hv.value)
                    if W.dtype != self.dtype:
                        raise TypeError(f"adam: expected variables of dtype {self.dtype}, "
                                        f"received {W.dtype}")
                    keep.append((W, G, M, V, VH))
                    items[i].w = cnp.PyArray_DATA(W)
                    items[i].g = cnp.PyArray_DATA(G)
                    items[i].m = cnp.PyArray_DATA(M)
                    items[i].v = cnp.PyArray_DATA(V)
                    items[i].vhat = _opt_ptr(VH)
                    items[i].n = cnp.PyArray_SIZE(W)
                    items[i].wp = NULL
                    items[i].rows = items[i].cols = 0
                    items[i].wp_nr = 0
                    items[i].wp_finite = NULL
                    for j in range(self._n):
                        if self._steps[j].wp != NULL and self._steps[j].w == items[i].w:
                            items[i].wp = self._steps[j].wp
                            items[i].rows = self._steps[j].k
                            items[i].cols = self._steps[j].n
                            items[i].wp_nr = self._steps[j].wp_nr
                            items[i].wp_finite = &self._steps[j].wp_finite
                            break
                job.count = len(entries)
            result = self._run(X, m, sp, TT, LB, SW, red, jp, labels)
        finally:
            free(items)
        return result

    cdef double _run(self, cnp.ndarray X, Py_ssize_t m, fnn_loss_spec *sp, cnp.ndarray TT,
                     cnp.ndarray LB, cnp.ndarray SW, int red, fnn_adam_job *jp,
                     object labels) except? -1.0:
        cdef double result = 0.0
        cdef int64_t bad = -1
        cdef int rc
        cdef void *tp = _ptr(TT)
        cdef int64_t *lp = <int64_t *>_ptr(LB)
        cdef void *swp = _ptr(SW)
        if self._f32:
            with nogil:
                rc = fnn_train_step_f32(self._steps, self._n, <float *>cnp.PyArray_DATA(X), m,
                                        self._streams, sp, <float *>tp, lp, <float *>swp, red,
                                        <float *>cnp.PyArray_DATA(self.grad), jp, &result, &bad)
        else:
            with nogil:
                rc = fnn_train_step_f64(self._steps, self._n, <double *>cnp.PyArray_DATA(X), m,
                                        self._streams, sp, <double *>tp, lp, <double *>swp, red,
                                        <double *>cnp.PyArray_DATA(self.grad), jp, &result, &bad)
        if rc == FNN_EINVAL and bad >= 0:
            raise ValueError(f"y_true: expected class indices in [0, {self.out_width}), "
                             f"received {labels[bad]} at index {bad}")
        _check_rc(rc, "train step")
        return result
