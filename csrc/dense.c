/* dense.c - the dense layer: fused forward (GEMM + bias + activation epilogue) and backward. */
#include <stdlib.h>
#include <string.h>
#include "fastnn.h"
#include "gemm/gemm.h"
#include "par.h"
#include "activations.h"

/* A rough cost per element of the backward's activation derivative and column sum, for
 * fnn_team_threads_for. */
#define FNN_BWD_COLS_FLOPS 4.0

#define DENSE_IMPL(T, SFX)                                                                      \
  int fnn_dense_forward_hint_##SFX(const T *x_bi, size_t m, size_t k, const T *w_io,            \
                                   const T *w_packed, size_t n, const T *b_o,                   \
                                   const fnn_act *act, T *z_bo, T *y_bo, int w_finite,          \
                                   int *sparse) {                                               \
    return fnn_gemm_ex_hint_##SFX(fnn_kernel_##SFX##_current(), 0, 0, m, n, k, (T)1, x_bi, k,  \
                                  w_io, n, w_packed, (T)0, y_bo, n, b_o, act, z_bo, n,          \
                                  w_finite, sparse);                                            \
  }                                                                                             \
                                                                                                \
  int fnn_dense_forward_##SFX(const T *x_bi, size_t m, size_t k, const T *w_io,                 \
                              const T *w_packed, size_t n, const T *b_o, const fnn_act *act,    \
                              T *z_bo, T *y_bo) {                                               \
    return fnn_dense_forward_hint_##SFX(x_bi, m, k, w_io, w_packed, n, b_o, act, z_bo, y_bo,   \
                                        0, NULL);                                               \
  }                                                                                             \
                                                                                                \
  /* dz = dy * act'(z) and db = the column sums of dz, in one pass over column blocks of   \
   * FNN_ACT_COLS_MAX: each column is summed over the rows in order by one part, so the    \
   * bits do not depend on the thread count; the pool's threads split the blocks. With    \
   * dz == dy and no activation it is the column sum alone. */                             \
  typedef struct {                                                                              \
    const fnn_act *act;                                                                         \
    const T *z, *y, *dy;                                                                        \
    T *dz, *db;                                                                                 \
    size_t m, n;                                                                                \
  } bwd_cols_job_##SFX;                                                                         \
                                                                                                \
  static void bwd_cols_share_##SFX(void *ctx, int part, int nparts) {                           \
    const bwd_cols_job_##SFX *j = (const bwd_cols_job_##SFX *)ctx;                              \
    const size_t nb = (j->n + FNN_ACT_COLS_MAX - 1) / FNN_ACT_COLS_MAX;                         \
    size_t b0, b1;                                                                              \
    fnn_share(nb, part, nparts, &b0, &b1);                                                      \
    for (size_t b = b0; b < b1; b++) {                                                          \
      const size_t j0 = b * FNN_ACT_COLS_MAX;                                                   \
      const size_t j1 = j->n - j0 < FNN_ACT_COLS_MAX ? j->n : j0 + FNN_ACT_COLS_MAX;            \
      fnn_act_backward_cols_##SFX(j->act, j->z, j->y, j->dy, j->dz, j->m, j->n, j0, j1,         \
                                  j->db ? j->db + j0 : NULL);                                   \
    }                                                                                           \
  }                                                                                             \
                                                                                                \
  static void bwd_cols_##SFX(const fnn_act *act, const T *z, const T *y, const T *dy, T *dz,   \
                             T *db, size_t m, size_t n) {                                      \
    const size_t nb = (n + FNN_ACT_COLS_MAX - 1) / FNN_ACT_COLS_MAX;                            \
    const int nt = fnn_team_threads_for(FNN_BWD_COLS_FLOPS * (double)m * (double)n);           \
    if (act && nt > 1 && nb < (size_t)nt) {                                                     \
      /* too few column blocks to share: the derivative split by elements, then the sums */   \
      fnn_act_backward_##SFX(act, z, y, dy, dz, m * n);                                         \
      act = NULL;                                                                               \
      dy = dz;                                                                                  \
      if (!db) return;                                                                          \
    }                                                                                           \
    bwd_cols_job_##SFX job = {act, z, y, dy, dz, db, m, n};                                     \
    if (nt > 1 && nb > 1)                                                                       \
      fnn_team_run_parts(nt, (int)nb, bwd_cols_share_##SFX, &job);                              \
    else                                                                                        \
      bwd_cols_share_##SFX(&job, 0, 1);                                                         \
  }                                                                                             \
                                                                                                \
  void fnn_sum_rows_##SFX(const T *x_bo, size_t m, size_t n, T *out_o) {                        \
    bwd_cols_##SFX(NULL, NULL, NULL, x_bo, (T *)x_bo, out_o, m, n);                             \
  }                                                                                             \
                                                                                                \
  int fnn_dense_backward_##SFX(const T *x_bi, const T *w_io, const T *z_bo, const T *y_bo,      \
                               const T *dy_bo, const fnn_act *act, size_t m, size_t k,          \
                               size_t n, T *dz_bo, T *dw_io, T *db_o, T *dx_bi) {               \
    const fnn_kernel_##SFX *kern = fnn_kernel_##SFX##_current();                                \
    int rc;                                                                                     \
    /* dZ and dB in one pass */                                                                \
    if (m != 0 && n != 0)                                                                       \
      bwd_cols_##SFX(act && act->kind != FNN_ACT_LINEAR ? act : NULL, z_bo, y_bo, dy_bo, dz_bo,  \
                     db_o, m, n);                                                               \
    else if (db_o)                                                                              \
      for (size_t j = 0; j < n; j++) db_o[j] = 0;                                               \
    /* dW = X^T . dZ  (in x out), K = batch */                                                  \
    rc = fnn_gemm_ex_##SFX(kern, 1, 0, k, n, m, (T)1, x_bi, k, dz_bo, n, NULL, (T)0, dw_io, n,  \
                           NULL, NULL, NULL, 0);                                                \
    if (rc) return rc;                                                                          \
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
