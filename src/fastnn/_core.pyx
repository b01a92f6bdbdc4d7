# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""fastnn._core: the bindings to the C kernels.

Each function checks its arguments (type, dtype, shape, layout, writability), takes
pointers and calls one C function with the GIL released. No arithmetic happens here.
The friendly, Keras-named wrappers live in fastnn.ops.
"""
import numpy as np
cimport cython
cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

cnp.import_array()

include "_decl.pxi"
include "_check.pxi"
include "_gemm.pxi"
include "_activations.pxi"
include "_losses.pxi"
include "_rng.pxi"
include "_optimizers.pxi"
include "_losses_extra.pxi"
include "_chain.pxi"
include "_gather.pxi"
include "_trainchain.pxi"
