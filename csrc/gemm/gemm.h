/* gemm/gemm.h - internal interface between the GEMM driver and its micro-kernels. */
#ifndef FASTNN_GEMM_H
#define FASTNN_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include "fastnn.h"

#if defined(__x86_64__) || defined(__i386__)
#define FNN_X86 1
#else
#define FNN_X86 0
#endif

enum { FNN_FAMILY_PORTABLE = 0, FNN_FAMILY_AVX2 = 1, FNN_FAMILY_AVX512 = 2, FNN_FAMILY_COUNT = 3 };

int fnn_family(void);
int fnn_family_from_name(const char *name);

/* A micro-kernel computes one m x n tile (m <= MR, n <= NR) of
 *     C = alpha * (A . B) + beta * C      (beta == 0: C is not read)
 * over kc steps. Element (r, k) of A is a[r * a_rs + k * a_cs]: packed panels have
 * a_rs = 1, a_cs = MR; an unpacked row-major A has a_rs = lda, a_cs = 1. B is a
 * micro-panel of kc rows of NR values, rows b_rs apart: NR when packed (zero beyond column
 * n), ldb when read in place from a row-major B.
 * Every output element uses one accumulator and runs k in order, whatever m is, so a row's
 * result does not depend on how many rows share its tile (batch invariance). */
typedef void (*fnn_ukr_f32_t)(size_t kc, int m, int n, const float *a, ptrdiff_t a_rs,
                              ptrdiff_t a_cs, const float *b, ptrdiff_t b_rs, float *c,
                              size_t ldc, float alpha, float beta);
typedef void (*fnn_ukr_f64_t)(size_t kc, int m, int n, const double *a, ptrdiff_t a_rs,
                              ptrdiff_t a_cs, const double *b, ptrdiff_t b_rs, double *c,
                              size_t ldc, double alpha, double beta);

/* The one-row kernel: a single row of C against wp consecutive panels (see ukr_tmpl.h). */
typedef void (*fnn_ukr1_f32_t)(size_t kc, const float *a, ptrdiff_t a_cs, const float *b,
                               size_t b_ps, ptrdiff_t b_rs, int n_last, float *c, float alpha,
                               float beta);
typedef void (*fnn_ukr1_f64_t)(size_t kc, const double *a, ptrdiff_t a_cs, const double *b,
                               size_t b_ps, ptrdiff_t b_rs, int n_last, double *c,
                               double alpha, double beta);

/* The sparse-row kernel: one row of C over np panels from the entries (idx[t], val[t]) of a
 * row of op(A) whose values are not zero (see ukr_tmpl.h). The accumulators start from
 * acc_in (np * NR values) or from zero where it is NULL, and end in acc_out, or in c
 * (c = acc, or c + acc with beta 1) where it is NULL; then, where negz is not NULL, *negz
 * is set to 1 if a value written to c is -0 (and left as it was otherwise). */
typedef void (*fnn_spr_f32_t)(size_t cnt, const uint32_t *idx, const float *val,
                              const float *const *bp, ptrdiff_t brs, int np, int n_last,
                              float *c, float beta, const float *acc_in, float *acc_out,
                              int *negz);
typedef void (*fnn_spr_f64_t)(size_t cnt, const uint32_t *idx, const double *val,
                              const double *const *bp, ptrdiff_t brs, int np, int n_last,
                              double *c, double beta, const double *acc_in, double *acc_out,
                              int *negz);
/* Lists the values of x[0, bnd[ns]) that are not zero, in order, as (idx, val) from
 * index 0; pos[s] (s <= ns) is how many come before bnd[s] (bnd[0] is 0). Writes up to
 * bnd[ns] entries. Returns the count. */
typedef size_t (*fnn_spl_f32_t)(const float *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                                float *val, uint32_t *pos);
typedef size_t (*fnn_spl_f64_t)(const double *x, const uint32_t *bnd, size_t ns,
                                uint32_t *idx, double *val, uint32_t *pos);

/* Packs one full MR-row panel of a row-major A: dst[k * MR + r] = a[r * lda + k] for
 * k < kc. Only copies values, so it cannot change any product's bits. */
typedef void (*fnn_packa_f32_t)(size_t kc, const float *a, size_t lda, float *dst);
typedef void (*fnn_packa_f64_t)(size_t kc, const double *a, size_t lda, double *dst);

typedef struct {
  int mr, nr;        /* register tile */
  size_t mc, kc, nc; /* cache blocks: A block mc x kc in L2, B micro-panel kc x nr in L1 */
  fnn_ukr_f32_t ukr;
  int wp;            /* panels per call of ukr1 */
  fnn_ukr1_f32_t ukr1;
  fnn_packa_f32_t packa; /* may be NULL: the driver's scalar copy */
  fnn_spr_f32_t spr;     /* the sparse-row kernel, over up to spw panels per call */
  int spw;
  fnn_spl_f32_t spl;     /* may be NULL: the driver's scalar lister */
} fnn_kernel_f32;

typedef struct {
  int mr, nr;
  size_t mc, kc, nc;
  fnn_ukr_f64_t ukr;
  int wp;
  fnn_ukr1_f64_t ukr1;
  fnn_packa_f64_t packa;
  fnn_spr_f64_t spr;
  int spw;
  fnn_spl_f64_t spl;
} fnn_kernel_f64;

/* The kernel tables of each family; an entry is NULL where the build has no such family. */
extern const fnn_kernel_f32 fnn_kernel_portable_f32, fnn_kernel_avx2_f32, fnn_kernel_avx512_f32;
extern const fnn_kernel_f64 fnn_kernel_portable_f64, fnn_kernel_avx2_f64, fnn_kernel_avx512_f64;

const fnn_kernel_f32 *fnn_kernel_f32_current(void);
const fnn_kernel_f64 *fnn_kernel_f64_current(void);

/* The general driver behind fnn_gemm, fnn_dense_forward and the backward products.
 * packed_b (may be NULL) is op(B) already packed by fnn_pack_b under the same kernel.
 * bias (n, may be NULL), act (may be NULL) and z (pre-activation copy, may be NULL) form the
 * epilogue, applied to each tile once its last K block is done. */
int fnn_gemm_ex_f32(const fnn_kernel_f32 *kern, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, float alpha, const float *a, size_t lda, const float *b,
                    size_t ldb, const float *packed_b, float beta, float *c, size_t ldc,
                    const float *bias, const fnn_act *act, float *z, size_t ldz);
int fnn_gemm_ex_f64(const fnn_kernel_f64 *kern, int trans_a, int trans_b, size_t m, size_t n,
                    size_t k, double alpha, const double *a, size_t lda, const double *b,
                    size_t ldb, const double *packed_b, double beta, double *c, size_t ldc,
                    const double *bias, const fnn_act *act, double *z, size_t ldz);
/* fnn_gemm_ex, told by b_finite = 1 that B holds no inf or NaN (see gemm_sparse_); *sparse
 * (when not NULL) is set to whether the product went the sparse way (A was found mostly
 * zeros), where that hint helps. */
int fnn_gemm_ex_hint_f32(const fnn_kernel_f32 *kern, int trans_a, int trans_b, size_t m,
                         size_t n, size_t k, float alpha, const float *a, size_t lda,
                         const float *b, size_t ldb, const float *packed_b, float beta, float *c,
                         size_t ldc, const float *bias, const fnn_act *act, float *z, size_t ldz,
                         int b_finite, int *sparse);
int fnn_gemm_ex_hint_f64(const fnn_kernel_f64 *kern, int trans_a, int trans_b, size_t m,
                         size_t n, size_t k, double alpha, const double *a, size_t lda,
                         const double *b, size_t ldb, const double *packed_b, double beta,
                         double *c, size_t ldc, const double *bias, const fnn_act *act,
                         double *z, size_t ldz, int b_finite, int *sparse);

#endif
