/* dense.c - the dense layer: fused forward (GEMM + bias + activation epilogue) and backward. */
#include <stdlib.h>
#include <string.h>
#include "fastnn.h"
#include "gemm/gemm.h"
#include "par.h"

#define DENSE_IMPL(T, SFX)                                                                      \
  int fnn_dense_forward_##SFX(const T *x_bi, size_t m, size_t k, const T *w_io,                 \
                              const T *w_packed, size_t n, const T *b_o, const fnn_act *act,    \
                              T *z_bo, T *y_bo) {                                               \
    return fnn_gemm_ex_##SFX(fnn_kernel_##SFX##_current(), 0, 0, m, n, k, (T)1, x_bi, k, w_io, \
                             n, w_packed, (T)0, y_bo, n, b_o, act, z_bo, n);                    \
  }                                                                                             \
                                                                                                \
  void fnn_sum_rows_##SFX(const T *x_bo, size_t m, size_t n, T *out_o) {                        \
    /* Each column is summed over rows in order by one thread: the same bits for any thread  \
     * count. Threads split the columns. */                                                     \
    const size_t chunk = 64;                                                                    \
    const long nchunks = (long)((n + chunk - 1) / chunk);                                       \
    const int nt = fnn_threads_for((double)m * (double)n);                                      \
    (void)nt;                                                                                   \
    FNN_FOR_NT(long, q, nchunks, {                                                              \
      const size_t j0 = (size_t)q * chunk, j1 = j0 + chunk < n ? j0 + chunk : n;                \
      for (size_t j = j0; j < j1; j++) out_o[j] = 0;                                            \
      for (size_t i = 0; i < m; i++) {                                                          \
        const T *row = x_bo + i * n;                                                            \
        for (size_t j = j0; j < j1; j++) out_o[j] = out_o[j] + row[j];                          \
      }                                                                                         \
    });                                                                                         \
  }                                                                                             \
                                                                                                \
  int fnn_dense_backward_##SFX(const T *x_bi, const T *w_io, const T *z_bo, const T *y_bo,      \
                               const T *dy_bo, const fnn_act *act, size_t m, size_t k,          \
                               size_t n, T *dz_bo, T *dw_io, T *db_o, T *dx_bi) {               \
    const fnn_kernel_##SFX *kern = fnn_kernel_##SFX##_current();                                \
    int rc;                                                                                     \
    if (act && act->kind != FNN_ACT_LINEAR)                                                     \
      fnn_act_backward_##SFX(act, z_bo, y_bo, dy_bo, dz_bo, m * n);                             \
    else if (dz_bo != dy_bo && m != 0 && n != 0)                                                           \
      memcpy(dz_bo, dy_bo, m * n * sizeof(T));                                                  \
    /* dW = X^T . dZ  (in x out), K = batch */                                                  \
    rc = fnn_gemm_ex_##SFX(kern, 1, 0, k, n, m, (T)1, x_bi, k, dz_bo, n, NULL, (T)0, dw_io, n,  \
                           NULL, NULL, NULL, 0);                                                \
    if (rc) return rc;                                                                          \
    if (db_o) fnn_sum_rows_##SFX(dz_bo, m, n, db_o);                                            \
    /* dX = dZ . W^T  (batch x in), K = out. Packing W^T costs k * n copies; for a small   \
     * batch it is cheaper to form dX^T = W . dZ^T (packing only dZ) and transpose it: the   \
     * same products summed in the same order, so the same bits. */                          \
    if (dx_bi) {                                                                                \
      if (m * (n + k) < n * k && m > 0) {                                                       \
        T *dxt = malloc(m * k * sizeof(T));                                                     \
        if (!dxt) return FNN_ENOMEM;                                                            \
        rc = fnn_gemm_ex_##SFX(kern, 0, 1, k, m, n, (T)1, w_io, n, dz_bo, n, NULL, (T)0, dxt,   \
                               m, NULL, NULL, NULL, 0);                                         \
        if (!rc)                                                                                \
          for (size_t i = 0; i < m; i++)                                                        \
            for (size_t j = 0; j < k; j++) dx_bi[i * k + j] = dxt[j * m + i];                   \
        free(dxt);                                                                              \
      } else {                                                                                  \
        rc = fnn_gemm_ex_##SFX(kern, 0, 1, m, k, n, (T)1, dz_bo, n, w_io, n, NULL, (T)0, dx_bi, \
                               k, NULL, NULL, NULL, 0);                                         \
      }                                                                                         \
    }                                                                                           \
    return rc;                                                                                  \
  }

DENSE_IMPL(float, f32)
DENSE_IMPL(double, f64)
