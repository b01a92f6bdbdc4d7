/* softmax.c - softmax and log-softmax along the last axis, and their backward passes.
 *
 * Rows are independent. Threads split rows only, and a row's arithmetic (its max, then
 * exp and a left-to-right sum accumulated in double) depends on nothing but the row, so
 * results are bit-identical for any thread count and for any batch the row sits in
 * (contracts 2 and 3).
 *
 * Subtracting the row max before exp keeps every exponent <= 0, so nothing overflows
 * for any finite input; a row holding NaN or +inf gives NaN, as NumPy's formula does.
 *
 * The float and double kernels share one body: this file includes itself once per type,
 * with T (element type), EXP (exp of that type) and FN (name suffix) defined, the way
 * gemm/driver_tmpl.h is used by the GEMM driver. Sums and the final scaling are done in
 * double, so a float result is rounded once from an accurate value.
 */
#ifndef FNN_SOFTMAX_BODY
#define FNN_SOFTMAX_BODY
#include <math.h>
#include "fastnn.h"

/* Rough cost of one element (exp plus a few flops), for fnn_threads_for. */
#define FNN_SOFTMAX_FLOPS_PER_ELEM 24.0

#define T float
#define EXP expf
#define FN(name) name##_f32
#include "softmax.c"
#undef T
#undef EXP
#undef FN

#define T double
#define EXP exp
#define FN(name) name##_f64
#include "softmax.c"
#undef T
#undef EXP
#undef FN

#else /* FNN_SOFTMAX_BODY: the per-type body */

static inline T FN(row_max)(const T *x, size_t cols) {
  T m = -INFINITY;
  for (size_t j = 0; j < cols; j++) m = x[j] > m ? x[j] : m;
  return m;
}

/* y may be x: every x[j] is read before y[j] is written. */
static void FN(softmax_row)(const T *x, T *y, size_t cols) {
  const T m = FN(row_max)(x, cols);
  double s = 0.0;
  for (size_t j = 0; j < cols; j++) {
    const T e = EXP(x[j] - m);
    y[j] = e;
    s += (double)e;
  }
  const double inv = 1.0 / s;
  for (size_t j = 0; j < cols; j++) y[j] = (T)((double)y[j] * inv);
}

static void FN(log_softmax_row)(const T *x, T *y, size_t cols) {
  const T m = FN(row_max)(x, cols);
  double s = 0.0;
  for (size_t j = 0; j < cols; j++) s += (double)EXP(x[j] - m);
  const double lse = log(s);
  for (size_t j = 0; j < cols; j++) y[j] = (T)(((double)x[j] - (double)m) - lse);
}

void FN(fnn_softmax)(const T *x, T *y, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t i = 0; i < rows; i++) FN(softmax_row)(x + i * cols, y + i * cols, cols);
}

void FN(fnn_log_softmax)(const T *x, T *y, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t i = 0; i < rows; i++) FN(log_softmax_row)(x + i * cols, y + i * cols, cols);
}

/* dx = y * (dy - <dy, y>). dx may be dy: the dot product is finished before any write. */
void FN(fnn_softmax_backward)(const T *y, const T *dy, T *dx, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(4.0 * (double)rows * (double)cols);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t i = 0; i < rows; i++) {
    const T *yr = y + i * cols, *dyr = dy + i * cols;
    T *dxr = dx + i * cols;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += (double)dyr[j] * (double)yr[j];
    for (size_t j = 0; j < cols; j++) dxr[j] = (T)((double)yr[j] * ((double)dyr[j] - s));
  }
}

/* dx = dy - exp(y) * sum(dy), y = log_softmax(x). dx may be dy. */
void FN(fnn_log_softmax_backward)(const T *y, const T *dy, T *dx, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t i = 0; i < rows; i++) {
    const T *yr = y + i * cols, *dyr = dy + i * cols;
    T *dxr = dx + i * cols;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += (double)dyr[j];
    for (size_t j = 0; j < cols; j++)
      dxr[j] = (T)((double)dyr[j] - (double)EXP(yr[j]) * s);
  }
}

#endif /* FNN_SOFTMAX_BODY */
