# _rng.pxi - bindings for the counter-based generator (Philox-4x32-10), uniforms and dropout.

cdef extern from "fastnn.h" nogil:
    void fnn_philox4x32_10(const uint32_t *ctr, const uint32_t *key, uint32_t *out)
    void fnn_uniform_f32(uint64_t seed, uint64_t stream, float *out, size_t n)
    void fnn_uniform_f64(uint64_t seed, uint64_t stream, double *out, size_t n)
    void fnn_dropout_forward_f32(const float *x, float *y, uint8_t *mask, size_t n, float rate,
                                 uint64_t seed, uint64_t stream)
    void fnn_dropout_forward_f64(const double *x, double *y, uint8_t *mask, size_t n, double rate,
                                 uint64_t seed, uint64_t stream)
    void fnn_dropout_backward_f32(const float *dy, const uint8_t *mask, float *dx, size_t n, float rate)
    void fnn_dropout_backward_f64(const double *dy, const uint8_t *mask, double *dx, size_t n, double rate)


cdef object _U32 = np.dtype(np.uint32)


cdef uint64_t _u64(object v, str name) except? 0:
    """A Python or NumPy integer in [0, 2**64)."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{name}: expected a non-negative int, received {type(v).__name__}")
    if not (0 <= int(v) < 2 ** 64):
        raise ValueError(f"{name}: expected an int in [0, 2**64), received {v}")
    return <uint64_t>int(v)


cdef double _rate(object rate, object dtype) except? -1.0:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise TypeError(f"rate: expected a float in [0, 1), received {type(rate).__name__}")
    cdef double r = float(rate)
    cdef float rf = <float>r
    if not (0.0 <= r < 1.0) or (dtype == _F32 and not rf < 1.0):
        raise ValueError(f"rate: expected a float in [0, 1) (also in {dtype}), received {rate!r}")
    return r


cdef cnp.ndarray _words(object v, str name, int n):
    """n uint32 words, from a uint32 array or a sequence of ints in [0, 2**32)."""
    if isinstance(v, cnp.ndarray):
        a = _arr(v, name, _U32, 1)
    elif isinstance(v, (list, tuple)):
        for w in v:
            if isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, np.integer)):
                raise TypeError(f"{name}: expected ints, received {type(w).__name__}")
            if not (0 <= int(w) < 2 ** 32):
                raise ValueError(f"{name}: expected words in [0, 2**32), received {w}")
        a = np.array([int(w) for w in v], dtype=np.uint32)
    else:
        raise TypeError(f"{name}: expected a uint32 array or a sequence of {n} ints, "
                        f"received {type(v).__name__}")
    _shape(a, name, (n,))
    return a


def philox(ctr, key):
    """One Philox-4x32-10 block: the 4 uint32 words for counter ctr (4 words), key (2 words)."""
    cdef cnp.ndarray C = _words(ctr, "ctr", 4)
    cdef cnp.ndarray K = _words(key, "key", 2)
    cdef cnp.ndarray O = np.empty(4, dtype=np.uint32)
    fnn_philox4x32_10(<uint32_t*>cnp.PyArray_DATA(C), <uint32_t*>cnp.PyArray_DATA(K),
                      <uint32_t*>cnp.PyArray_DATA(O))
    return O


def uniform(seed, stream, out):
    """Fill out (float32 or float64, any shape) with uniforms in [0, 1) of stream (seed, stream)."""
    cdef uint64_t s = _u64(seed, "seed"), st = _u64(stream, "stream")
    cdef cnp.ndarray O = _arr(out, "out", None, -1, True)
    cdef size_t n = cnp.PyArray_SIZE(O)
    if _is_f32(O):
        with nogil:
            fnn_uniform_f32(s, st, <float*>cnp.PyArray_DATA(O), n)
    else:
        with nogil:
            fnn_uniform_f64(s, st, <double*>cnp.PyArray_DATA(O), n)
    return out


def dropout_forward(x, out, mask, rate, seed, stream):
    """Inverted dropout: out = keep ? x * scale : 0, scale = 1 / (1 - rate) rounded to the
    dtype (as tf.nn.dropout), keep where u >= rate.

    out may be x. mask (uint8, x's shape) or None receives keep as 0/1.
    """
    cdef cnp.ndarray X = _arr(x, "x", None, -1)
    cdef cnp.ndarray Y = _arr(out, "out", X.dtype, -1, True)
    _shape(Y, "out", (<object>X).shape)
    if Y is not X:
        _no_overlap(Y, "out", (X,))
    cdef cnp.ndarray M = None
    if mask is not None:
        M = _arr(mask, "mask", _U8, -1, True)
        _shape(M, "mask", (<object>X).shape)
        _no_overlap(M, "mask", (X, Y))
    cdef double r = _rate(rate, X.dtype)
    cdef uint64_t s = _u64(seed, "seed"), st = _u64(stream, "stream")
    cdef size_t n = cnp.PyArray_SIZE(X)
    cdef uint8_t *mp = NULL if M is None else <uint8_t*>cnp.PyArray_DATA(M)
    if _is_f32(X):
        with nogil:
            fnn_dropout_forward_f32(<float*>cnp.PyArray_DATA(X), <float*>cnp.PyArray_DATA(Y), mp, n,
                                    <float>r, s, st)
    else:
        with nogil:
            fnn_dropout_forward_f64(<double*>cnp.PyArray_DATA(X), <double*>cnp.PyArray_DATA(Y), mp, n,
                                    r, s, st)
    return out


def dropout_backward(dy, mask, out, rate):
    """out = mask ? dy * scale : 0 (scale as in dropout_forward); out may be dy."""
    cdef cnp.ndarray DY = _arr(dy, "dy", None, -1)
    if mask is None:
        raise TypeError("mask: expected a uint8 numpy.ndarray, received None")
    cdef cnp.ndarray M = _arr(mask, "mask", _U8, -1)
    _shape(M, "mask", (<object>DY).shape)
    cdef cnp.ndarray DX = _arr(out, "out", DY.dtype, -1, True)
    _shape(DX, "out", (<object>DY).shape)
    if DX is not DY:
        _no_overlap(DX, "out", (DY, M))
    else:
        _no_overlap(DX, "out", (M,))
    cdef double r = _rate(rate, DY.dtype)
    cdef size_t n = cnp.PyArray_SIZE(DY)
    if _is_f32(DY):
        with nogil:
            fnn_dropout_backward_f32(<float*>cnp.PyArray_DATA(DY), <uint8_t*>cnp.PyArray_DATA(M),
                                     <float*>cnp.PyArray_DATA(DX), n, <float>r)
    else:
        with nogil:
            fnn_dropout_backward_f64(<double*>cnp.PyArray_DATA(DY), <uint8_t*>cnp.PyArray_DATA(M),
                                     <double*>cnp.PyArray_DATA(DX), n, r)
    return out
