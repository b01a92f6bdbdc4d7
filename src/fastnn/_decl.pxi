# _decl.pxi - the C declarations of fastnn.h shared by all bindings.

cdef extern from "fastnn.h" nogil:
    enum:
        FNN_OK
        FNN_ENOMEM
        FNN_EINVAL

    void fnn_set_num_threads(int n)
    int fnn_get_num_threads()
    void fnn_set_thread_cap(int n)
    void fnn_set_sparse_a(int on)
    long fnn_sparse_a_stat(int which)
    size_t fnn_sparse_list_f32(const float *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                               float *val, uint32_t *pos)
    size_t fnn_sparse_list_f64(const double *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                               double *val, uint32_t *pos)
    int fnn_openmp_enabled()
    const char *fnn_kernel_name()
    int fnn_set_kernel(const char *name)
    int fnn_cpu_has(const char *feature)

    ctypedef struct fnn_act:
        int kind
        double alpha
        double max_value
        double threshold

    enum:
        FNN_ACT_LINEAR
        FNN_ACT_COUNT

    int fnn_act_backward_needs_input(int kind)
    int fnn_act_backward_needs_input_for(const fnn_act *act)
