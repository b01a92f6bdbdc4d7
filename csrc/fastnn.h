/* fastnn.h - the one public C header of fastnn's kernels.
 *
 * Conventions:
 *  - Every matrix is row-major. Buffer names carry their layout: x_bi is (batch, in),
 *    w_io is (in, out), y_bo is (batch, out).
 *  - Functions are named fnn_<operation>_<type>; the _f32 and _f64 variants have the same
 *    contract.
 *  - No kernel keeps a static or global buffer: scratch space is allocated per call, so
 *    Python threads may call any kernel concurrently.
 *  - Functions that allocate return 0 on success and FNN_ENOMEM when malloc fails.
 */
#ifndef FASTNN_H
#define FASTNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FNN_OK 0
#define FNN_ENOMEM (-1)
#define FNN_EINVAL (-2)

/* ---- threads (threads.c) ----------------------------------------------------------- */
void fnn_set_num_threads(int n);   /* n < 1 restores the default (OMP_NUM_THREADS or cores) */
int fnn_get_num_threads(void);
/* At most n threads for kernels called from this thread (n < 1: no cap). */
void fnn_set_thread_cap(int n);
/* Whether products whose A is mostly zeros may skip its zero terms (gemm/driver_tmpl.h,
 * gemm_sparse_; on by default; the results are the same bits either way), and how many
 * products took that path (which 0) and how many of their rows were recomputed by the
 * dense kernel (which 1) since the process started. */
void fnn_set_sparse_a(int on);
long fnn_sparse_a_stat(int which);
/* The kernel family's lister of nonzeros (gemm.h, fnn_spl_*), for the tests: the nonzero
 * values of x[0, bnd[ns]) as (idx, val), pos[s] of them before bnd[s]; idx and val hold
 * bnd[ns] entries. Returns the count. */
size_t fnn_sparse_list_f32(const float *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                           float *val, uint32_t *pos);
size_t fnn_sparse_list_f64(const double *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                           double *val, uint32_t *pos);
int fnn_openmp_enabled(void);
/* Threads for a kernel of `flops` floating-point operations: 1 below the point where a
 * fork/join costs more than it saves, else fnn_get_num_threads() (see threads.c for why
 * never a team of another size). */
int fnn_threads_for(double flops);
/* fnn_threads_for for a kernel whose team runs on fastnn's own workers (fnn_team_run):
 * a lower threshold, and at most one thread per share worth a second one. */
int fnn_team_threads_for(double flops);
/* 1 in a process forked after fastnn had run a multi-threaded kernel: neither GNU OpenMP's
 * thread pool nor fastnn's own workers survive fork, so such a child runs every kernel on
 * one thread. */
int fnn_forked_serial(void);
/* Work split over a team: fn(ctx, part, nparts) runs once for each part in [0, nparts),
 * on at most nt threads (the caller among them), and must do share `part` of nparts;
 * returns when every part has finished. Parts are claimed one at a time by whichever
 * thread is free, so any thread may run any part, one after another: a part must depend
 * only on its number, never on the thread (per-thread scratch is indexed by
 * fnn_team_slot()), and parts must not wait for each other. The team is fastnn's own pool
 * of workers, which spin for a short while after each task before they sleep (threads.c),
 * or an OpenMP region when the pool is in use by another thread. */
typedef void (*fnn_team_fn)(void *ctx, int part, int nparts);
void fnn_team_run_parts(int nt, int nparts, fnn_team_fn fn, void *ctx);
/* fnn_team_run_parts with one part per thread. */
void fnn_team_run(int nt, fnn_team_fn fn, void *ctx);
/* The executing thread's index in the team, in [0, nt): 0 on the caller. */
int fnn_team_slot(void);
/* A side job: fn(ctx, part, nparts) for each part, run by idle workers of the pool while
 * the caller goes on (a training batch gathered while the step before it runs). A worker
 * takes one part at a time and serves team tasks first. Returns 1 when the job was handed
 * over, and the caller must then call fnn_side_wait() before it touches what fn writes or
 * frees ctx; 0 when every part has already run on the calling thread (one thread, no
 * workers yet, a forked child, or another side job still pending). fnn_side_wait runs the
 * parts no worker has taken, then waits for those under way. One job at a time,
 * process-wide. A part must give the same result when run twice: in a child forked while
 * the job was under way, fnn_side_wait runs every part again. */
int fnn_side_start(int nparts, fnn_team_fn fn, void *ctx);
void fnn_side_wait(void);
/* The [lo, hi) share of thread tid of nt over n items: contiguous, in thread order. */
static inline void fnn_share(size_t n, int tid, int nt, size_t *lo, size_t *hi) {
  *lo = n * (size_t)tid / (size_t)nt;
  *hi = n * (size_t)(tid + 1) / (size_t)nt;
}

/* ---- CPU features and kernel dispatch (cpu.c) ---------------------------------------- */
/* Name of the GEMM micro-kernel family in use: "avx512", "avx2" or "portable". */
const char *fnn_kernel_name(void);
/* Force a kernel family (tests and benchmarks). Returns 0, or FNN_EINVAL when the name is
 * unknown or the CPU cannot run it. NULL or "auto" restores the automatic choice. Packed
 * weight buffers made under one family must not be used under another. */
int fnn_set_kernel(const char *name);
int fnn_cpu_has(const char *feature); /* "avx2", "fma", "avx512f", ... */

#include "activations.h"

/* ---- GEMM (gemm/) -------------------------------------------------------------------- */
/* C = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
 * op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides in elements of
 * A, B, C as stored. beta == 0 never reads C (NaN in C does not propagate). */
int fnn_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta,
                 float *c, size_t ldc);
int fnn_gemm_f64(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta,
                 double *c, size_t ldc);

/* The fraction of the rows that the first of two parts takes in a two-thread product of
 * this shape split by rows (gemm/driver.c: it follows how fast each part ran); set in
 * (0, 1) sets it (for tests), anything else only reads it. */
double fnn_gemm_split_fraction(size_t m, size_t n, size_t k, int trans_a, double set);

/* Packed B: op(B) (k x n) copied once into the micro-kernel's panel layout, so that
 * inference does not repack weights on every call. Size is in elements. */
size_t fnn_packed_b_size_f32(size_t k, size_t n);
size_t fnn_packed_b_size_f64(size_t k, size_t n);
void fnn_pack_b_f32(int trans_b, size_t k, size_t n, const float *b, size_t ldb, float *packed);
void fnn_pack_b_f64(int trans_b, size_t k, size_t n, const double *b, size_t ldb, double *packed);
/* The layout depends on the kernel only through its panel width: panel p of a k x n matrix
 * holds k rows of nr values, columns p * nr .. p * nr + nr - 1 (zero beyond n), and panels
 * follow one another. fnn_packed_b_nr is the current kernel's nr. fnn_pack_b_span copies
 * elements [lo, hi) of a row-major k x n matrix (flat indices) to their places in that
 * layout for a given nr; the zero columns of a partial last panel are left as they are. */
int fnn_packed_b_nr_f32(void);
int fnn_packed_b_nr_f64(void);
void fnn_pack_b_span_f32(size_t k, size_t n, int nr, const float *b, size_t lo, size_t hi,
                         float *packed);
void fnn_pack_b_span_f64(size_t k, size_t n, int nr, const double *b, size_t lo, size_t hi,
                         double *packed);

/* ---- dense layer (dense.c) ------------------------------------------------------------- */
/* y_bo = act(x_bi . w_io + b_o): bias and activation are applied in the GEMM epilogue.
 * b_o may be NULL (no bias); act may be NULL (linear); z_bo, when not NULL, receives the
 * pre-activation (needed by backward for activations whose derivative needs it).
 * w_packed, when not NULL, is w_io packed by fnn_pack_b (and w_io is not read). */
int fnn_dense_forward_f32(const float *x_bi, size_t m, size_t k, const float *w_io,
                          const float *w_packed, size_t n, const float *b_o,
                          const fnn_act *act, float *z_bo, float *y_bo);
int fnn_dense_forward_f64(const double *x_bi, size_t m, size_t k, const double *w_io,
                          const double *w_packed, size_t n, const double *b_o,
                          const fnn_act *act, double *z_bo, double *y_bo);
/* Whether all n values are finite (no inf, no NaN): Adam's check of the packed copies it
 * writes and the sparse products' check of B (gemm/driver_tmpl.h). */
int fnn_all_finite_f32(const float *p, size_t n);
int fnn_all_finite_f64(const double *p, size_t n);
/* fnn_dense_forward, told by w_finite = 1 that the weights it reads (w_packed where given)
 * hold no inf or NaN, which spares a product with a mostly-zero x its check of them;
 * *sparse (when not NULL) is set to whether the product went that way. */
int fnn_dense_forward_hint_f32(const float *x_bi, size_t m, size_t k, const float *w_io,
                               const float *w_packed, size_t n, const float *b_o,
                               const fnn_act *act, float *z_bo, float *y_bo, int w_finite,
                               int *sparse);
int fnn_dense_forward_hint_f64(const double *x_bi, size_t m, size_t k, const double *w_io,
                               const double *w_packed, size_t n, const double *b_o,
                               const fnn_act *act, double *z_bo, double *y_bo, int w_finite,
                               int *sparse);

/* Backward of the dense layer.
 *   dz_bo = dy_bo * act'(.)  (from y_bo, or from z_bo when the derivative needs it);
 *   dw_io = x_bi^T . dz_bo;  db_o = sum over the batch of dz_bo;  dx_bi = dz_bo . w_io^T.
 * dz_bo is a workspace of m x n and may be the same buffer as dy_bo. db_o and dx_bi may be
 * NULL (no bias; first layer). Reductions over the batch use a fixed order, so the result
 * does not depend on the thread count. */
int fnn_dense_backward_f32(const float *x_bi, const float *w_io, const float *z_bo,
                           const float *y_bo, const float *dy_bo, const fnn_act *act,
                           size_t m, size_t k, size_t n, float *dz_bo, float *dw_io,
                           float *db_o, float *dx_bi);
int fnn_dense_backward_f64(const double *x_bi, const double *w_io, const double *z_bo,
                           const double *y_bo, const double *dy_bo, const fnn_act *act,
                           size_t m, size_t k, size_t n, double *dz_bo, double *dw_io,
                           double *db_o, double *dx_bi);

/* Column sums over the batch, fixed order: out_o[j] = sum_i x_bo[i, j]. */
void fnn_sum_rows_f32(const float *x_bo, size_t m, size_t n, float *out_o);
void fnn_sum_rows_f64(const double *x_bo, size_t m, size_t n, double *out_o);

#include "losses.h"
#include "rng.h"
#include "optimizers.h"
#include "losses_extra.h"
#include "chain.h"

/* ---- row gather (gather.c) ------------------------------------------------------------ */
/* out[i] = src[idx[i]] for rows of row_bytes bytes. Returns FNN_EINVAL, copying nothing,
 * when an index is outside [0, nrows). */
int fnn_gather_rows(const void *src, size_t nrows, size_t row_bytes, const int64_t *idx,
                    size_t n, void *out);

/* Element types for fnn_gather_rows_cast: NumPy's numeric types, in native byte order. */
enum {
  FNN_ELEM_F64 = 1, FNN_ELEM_F32, FNN_ELEM_I64, FNN_ELEM_I32, FNN_ELEM_I16, FNN_ELEM_I8,
  FNN_ELEM_U64, FNN_ELEM_U32, FNN_ELEM_U16, FNN_ELEM_U8
};
/* out[i, :] = src[idx[i], :] converted from src_kind to dst_kind (FNN_ELEM_F32 or _F64), as
 * NumPy's astype converts: round to nearest even where the value is not exact. Rows hold
 * row_elems elements. Returns FNN_EINVAL, writing nothing, when an index is outside
 * [0, nrows) or a kind is not one of these. */
int fnn_gather_rows_cast(const void *src, int src_kind, size_t nrows, size_t row_elems,
                         const int64_t *idx, size_t n, int dst_kind, void *out);

/* The same gather, started on a worker of the pool (fnn_side_start) so that it runs while
 * the caller goes on: src_kind 0 copies rows of row_bytes bytes as they are (dst_kind
 * ignored), else rows of row_elems values are converted as fnn_gather_rows_cast converts.
 * The indices are checked first, on the calling thread (FNN_EINVAL, nothing started). The
 * caller must call fnn_gather_ahead_wait(job) before it reads out or lets go of src, idx,
 * out or the job; the wait does the copy itself if no worker has started it. */
typedef struct {
  int pending;
  int src_kind, dst_kind;
  const void *src;
  size_t row_elems, row_bytes;
  const int64_t *idx;
  size_t n;
  void *out;
} fnn_gather_ahead;
int fnn_gather_ahead_start(fnn_gather_ahead *job, const void *src, int src_kind, size_t nrows,
                           size_t row_elems, size_t row_bytes, const int64_t *idx, size_t n,
                           int dst_kind, void *out);
void fnn_gather_ahead_wait(fnn_gather_ahead *job);

#ifdef __cplusplus
}
#endif
#endif /* FASTNN_H */
