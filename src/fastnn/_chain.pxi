# _chain.pxi - InferenceChain: a model's whole inference forward pass in one C call.

from libc.stdlib cimport malloc, free

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_CHAIN_DENSE
        FNN_CHAIN_ACT
        FNN_CHAIN_SOFTMAX
        FNN_CHAIN_LOG_SOFTMAX
    ctypedef struct fnn_chain_step:
        int op
        size_t k
        size_t n
        const void *w
        const void *w_packed
        const void *bias
        int has_act
        fnn_act act
    int fnn_chain_forward_f32(const fnn_chain_step *steps, int nsteps, const float *x,
                              size_t m, float *out)
    int fnn_chain_forward_f64(const fnn_chain_step *steps, int nsteps, const double *x,
                              size_t m, double *out)


cdef dict _CHAIN_STEP_LEN = {"dense": 5, "act": 3, "softmax": 2, "log_softmax": 2}


cdef class InferenceChain:
    """A fixed sequence of steps over (rows x width) matrices, run by one C call.

    steps is a list of tuples:
      ("dense", w, w_packed or None, b or None, activation spec or None)
      ("act", activation spec, width)
      ("softmax", width) and ("log_softmax", width)
    The arrays are checked once here and kept alive by the chain; a call checks only x.
    """
    cdef fnn_chain_step *_steps
    cdef int _n
    cdef list _keep
    cdef readonly object dtype
    cdef readonly Py_ssize_t in_width, out_width
    cdef bint _f32
    # the model's shapes for try_call: x is (rows,) + in_dims, the output (rows,) + out_dims
    cdef int _in_nd, _out_nd
    cdef cnp.npy_intp _in_dims[8]
    cdef cnp.npy_intp _out_dims[9]

    def __cinit__(self):
        self._steps = NULL
        self._n = 0
        self._in_nd = -1

    def __init__(self, steps, dtype):
        self.dtype = np.dtype(dtype)
        if self.dtype != np.float32 and self.dtype != np.float64:
            raise TypeError(f"dtype: expected float32 or float64, received {self.dtype}")
        self._f32 = self.dtype == np.float32
        if not isinstance(steps, list) or not steps:
            raise ValueError("steps: expected a non-empty list of steps")
        # Each step's length is checked before it is indexed: this module is compiled
        # with boundscheck=False, so step[4] of a shorter tuple would read past its end.
        for i, step in enumerate(steps):
            if not isinstance(step, tuple) or not step:
                raise TypeError(f"steps[{i}]: expected a non-empty tuple, received {step!r}")
            if step[0] not in _CHAIN_STEP_LEN:
                raise ValueError(f"steps[{i}]: unknown step {step[0]!r}")
            if len(step) != _CHAIN_STEP_LEN[step[0]]:
                raise ValueError(f"steps[{i}]: a {step[0]!r} step is a tuple of "
                                 f"{_CHAIN_STEP_LEN[step[0]]} items, received {len(step)}")
        free(self._steps)  # (a second __init__ on the same object)
        self._steps = NULL
        self._n = 0
        self._steps = <fnn_chain_step *>malloc(len(steps) * sizeof(fnn_chain_step))
        if self._steps == NULL:
            raise MemoryError()
        self._keep = []
        cdef fnn_chain_step *st
        cdef cnp.ndarray W, P, B
        cdef Py_ssize_t width = -1
        for i, step in enumerate(steps):
            st = &self._steps[i]
            op = step[0]
            st.w = NULL
            st.w_packed = NULL
            st.bias = NULL
            st.has_act = 0
            _make_act(None, &st.act)
            if op == "dense":
                W = _arr(step[1], "w", self.dtype, 2)
                st.op = FNN_CHAIN_DENSE
                st.k = W.shape[0]
                st.n = W.shape[1]
                st.w = cnp.PyArray_DATA(W)
                self._keep.append(W)
                if step[2] is not None:
                    P = _arr(step[2], "w_packed", self.dtype, 1)
                    if <size_t>P.shape[0] != packed_size(st.k, st.n, self.dtype):
                        raise ValueError(f"w_packed: expected {packed_size(st.k, st.n, self.dtype)} "
                                         f"elements, received {P.shape[0]}")
                    st.w_packed = cnp.PyArray_DATA(P)
                    self._keep.append(P)
                if step[3] is not None:
                    B = _arr(step[3], "b", self.dtype, 1)
                    _shape(B, "b", (st.n,))
                    st.bias = cnp.PyArray_DATA(B)
                    self._keep.append(B)
                if step[4] is not None:
                    _make_act(step[4], &st.act)
                    st.has_act = 1
            elif op in ("act", "softmax", "log_softmax"):
                n = step[2] if op == "act" else step[1]  # (no negative indexing here)
                if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                    raise ValueError(f"steps[{i}]: expected a positive width, received {n!r}")
                st.k = st.n = n
                if op == "act":
                    st.op = FNN_CHAIN_ACT
                    _make_act(step[1], &st.act)
                else:
                    st.op = FNN_CHAIN_SOFTMAX if op == "softmax" else FNN_CHAIN_LOG_SOFTMAX
            else:
                raise ValueError(f"steps[{i}]: unknown step {op!r}")
            if width >= 0 and <Py_ssize_t>st.k != width:
                raise ValueError(f"steps[{i}]: expected input width {width}, received {st.k}")
            width = st.n
        self.in_width = self._steps[0].k
        self.out_width = width
        self._n = len(steps)  # only a chain built in full can run

    def __dealloc__(self):
        free(self._steps)

    cdef _run(self, cnp.ndarray X, cnp.ndarray Y, size_t m):
        """The C call: m rows of X (checked by the caller) into Y."""
        cdef int rc
        if self._f32:
            with nogil:
                rc = fnn_chain_forward_f32(self._steps, self._n, <float *>cnp.PyArray_DATA(X), m,
                                           <float *>cnp.PyArray_DATA(Y))
        else:
            with nogil:
                rc = fnn_chain_forward_f64(self._steps, self._n, <double *>cnp.PyArray_DATA(X), m,
                                           <double *>cnp.PyArray_DATA(Y))
        _check_rc(rc, "chain_forward")

    def set_shapes(self, in_shape, out_shape):
        """The model's input and output shapes without the batch axis, for try_call: their
        products must be in_width and out_width, with at most 8 axes each."""
        cdef Py_ssize_t p
        for name, shape, width, cap in (("in_shape", in_shape, self.in_width, 8),
                                        ("out_shape", out_shape, self.out_width, 8)):
            if not isinstance(shape, tuple) or len(shape) > cap:
                raise ValueError(f"{name}: expected a tuple of at most {cap} sizes, "
                                 f"received {shape!r}")
            p = 1
            for d in shape:
                if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
                    raise ValueError(f"{name}: expected sizes (ints >= 0), received {shape!r}")
                p *= d
            if p != width:
                raise ValueError(f"{name}: expected sizes whose product is {width}, "
                                 f"received {shape!r}")
        self._in_nd = len(in_shape)
        for i, d in enumerate(in_shape):
            self._in_dims[i] = d
        self._out_nd = len(out_shape) + 1
        for i, d in enumerate(out_shape):
            self._out_dims[i + 1] = d

    def try_call(self, x):
        """A new output array for x, or None when x is not an array the chain takes as it
        is: a numpy.ndarray of the chain's dtype (native byte order), C-contiguous and
        aligned, of shape (rows,) + in_shape (set_shapes). The fast path of a model's
        single-sample call: every check reads the array's header, nothing is allocated
        before the output."""
        if self._in_nd < 0 or type(x) is not np.ndarray:
            return None
        cdef cnp.ndarray X = <cnp.ndarray>x
        if cnp.PyArray_TYPE(X) != (cnp.NPY_FLOAT32 if self._f32 else cnp.NPY_FLOAT64):
            return None
        if not cnp.PyArray_ISNOTSWAPPED(X) or not cnp.PyArray_IS_C_CONTIGUOUS(X) or \
                not cnp.PyArray_ISALIGNED(X) or cnp.PyArray_NDIM(X) != self._in_nd + 1:
            return None
        cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(X)
        cdef int i
        for i in range(self._in_nd):
            if dims[i + 1] != self._in_dims[i]:
                return None
        cdef size_t m = <size_t>dims[0]
        self._out_dims[0] = dims[0]
        cdef cnp.ndarray Y = cnp.PyArray_EMPTY(self._out_nd, self._out_dims,
                                               cnp.NPY_FLOAT32 if self._f32 else cnp.NPY_FLOAT64, 0)
        self._run(X, Y, m)
        return Y

    def __call__(self, x, out=None):
        """Run the chain on x (rows x in_width, C-contiguous, the chain's dtype); return out
        (a new rows x out_width array unless given)."""
        cdef cnp.ndarray X = _arr(x, "x", self.dtype, 2)
        if X.shape[1] != self.in_width:
            raise ValueError(f"x: expected {self.in_width} columns, received shape "
                             f"{(<object>X).shape}")
        cdef size_t m = X.shape[0]
        cdef cnp.ndarray Y
        cdef cnp.npy_intp dims[2]
        if out is None:
            dims[0] = <cnp.npy_intp>m
            dims[1] = self.out_width
            Y = cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT32 if self._f32 else cnp.NPY_FLOAT64, 0)
        else:
            Y = _arr(out, "out", self.dtype, 2, True)
            _shape(Y, "out", (m, self.out_width))
            _no_overlap(Y, "out", (X,))
        self._run(X, Y, m)
        return Y
