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
#include <string.h>
#include "fastnn.h"
#include "par.h"

/* Rough cost of one element (exp plus a few flops), for fnn_threads_for. */
#define FNN_SOFTMAX_FLOPS_PER_ELEM 24.0

/* ---- exp for float rows, four lanes at a time (SSE2, the x86-64 baseline) ---------------------------------------------
 * glibc's expf is scalar. This one uses GCC vector extensions (as the GEMM micro-kernels do),
 * so it runs on SSE2 or better with no run-time dispatch. Every element, in the vector body
 * or in the padded tail, goes through the same IEEE operations (no FMA contraction, no
 * reassociation), so exp(x[j] - m) depends only on x[j] and m: results stay deterministic
 * and batch-invariant. exp(r) for |r| <= ln2/2 is a degree-7 Taylor polynomial (truncation
 * below 6e-9 relative), scaled by 2^k through the exponent bits: about 2 ulp in all.
 * Below -87.33 the result is 0 (where exp reaches the subnormals), above 88 it is +inf;
 * NaN gives NaN. */
#define FNN_EXP_CHUNK 256

typedef float fnn_v4f __attribute__((vector_size(16)));
typedef uint32_t fnn_v4u __attribute__((vector_size(16)));
typedef int32_t fnn_v4i __attribute__((vector_size(16)));

static inline fnn_v4f fnn_sel(fnn_v4u mask, fnn_v4f a, fnn_v4f b) {
  return (fnn_v4f)((mask & (fnn_v4u)a) | (~mask & (fnn_v4u)b));
}

static inline fnn_v4f exp4(fnn_v4f d) {
  const fnn_v4f zero = {0, 0, 0, 0};
  const fnn_v4u under = (fnn_v4u)(d < -87.33f), over = (fnn_v4u)(d > 88.0f);
  const fnn_v4u nan = (fnn_v4u)(d != d);
  fnn_v4f c = fnn_sel(under, zero - 87.33f, d);
  c = fnn_sel(over, zero + 88.0f, c);
  c = fnn_sel(nan, zero, c);
  const fnn_v4f kf = (c * 1.44269504f + 12582912.0f) - 12582912.0f; /* round(c / ln2) */
  const fnn_v4f r = (c - kf * 0.693145752f) - kf * 1.42860677e-06f; /* ln2 in two parts */
  fnn_v4f p = zero + 1.98412698e-04f;
  p = p * r + 1.38888889e-03f;
  p = p * r + 8.33333333e-03f;
  p = p * r + 4.16666667e-02f;
  p = p * r + 1.66666667e-01f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const fnn_v4u bits = ((fnn_v4u)__builtin_convertvector(kf, fnn_v4i) + 127u) << 23;
  fnn_v4f v = p * (fnn_v4f)bits;
  v = fnn_sel(under, zero, v);
  v = fnn_sel(over, zero + INFINITY, v);
  return fnn_sel(nan, d, v);
}

static void expf_shifted(const float *x, float m, float *e, size_t n) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    fnn_v4f v;
    memcpy(&v, x + j, sizeof v);
    v = exp4(v - m);
    memcpy(e + j, &v, sizeof v);
  }
  if (j < n) {
    float t[4] = {0, 0, 0, 0};
    memcpy(t, x + j, (n - j) * sizeof(float));
    fnn_v4f v;
    memcpy(&v, t, sizeof v);
    v = exp4(v - m);
    memcpy(t, &v, sizeof v);
    memcpy(e + j, t, (n - j) * sizeof(float));
  }
}

double fnn_exp_shift_sum_f32(const float *x, float m, float *e, size_t n) {
  float buf[FNN_EXP_CHUNK];
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t off = 0; off < n; off += FNN_EXP_CHUNK) {
    const size_t len = n - off < FNN_EXP_CHUNK ? n - off : FNN_EXP_CHUNK;
    float *dst = e ? e + off : buf;
    expf_shifted(x + off, m, dst, len);
    /* Eight interleaved partial sums, in a pattern fixed by the element index. */
    size_t j = 0;
    for (; j + 8 <= len; j += 8)
      for (int l = 0; l < 8; l++) acc[l] += (double)dst[j + l];
    for (; j < len; j++) acc[j % 8] += (double)dst[j];
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* Row max, four lanes at a time: max is exact, so the lane split cannot change the value.
 * (A row holding NaN gives NaN outputs whichever way the max treats it.) */
float fnn_max_f32(const float *x, size_t n) {
  const fnn_v4f ninf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  fnn_v4f mv = ninf;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    fnn_v4f v;
    memcpy(&v, x + j, sizeof v);
    mv = fnn_sel((fnn_v4u)(v > mv), v, mv);
  }
  float m = -INFINITY;
  for (int l = 0; l < 4; l++) m = mv[l] > m ? mv[l] : m;
  for (; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
}

double fnn_max_f64(const double *x, size_t n) {
  double m = -INFINITY;
  for (size_t j = 0; j < n; j++) m = x[j] > m ? x[j] : m;
  return m;
}

/* The double version uses libm's exp (already faster than NumPy's there) and a plain sum. */
double fnn_exp_shift_sum_f64(const double *x, double m, double *e, size_t n) {
  double s = 0.0;
  for (size_t j = 0; j < n; j++) {
    const double v = exp(x[j] - m);
    if (e) e[j] = v;
    s += v;
  }
  return s;
}

#define T float
#define EXP expf
#define EXP_SHIFT_SUM fnn_exp_shift_sum_f32
#define FN(name) name##_f32
#include "softmax.c"
#undef T
#undef EXP
#undef EXP_SHIFT_SUM
#undef FN

#define T double
#define EXP exp
#define EXP_SHIFT_SUM fnn_exp_shift_sum_f64
#define FN(name) name##_f64
#include "softmax.c"
#undef T
#undef EXP
#undef EXP_SHIFT_SUM
#undef FN

#else /* FNN_SOFTMAX_BODY: the per-type body */

static inline T FN(row_max)(const T *x, size_t cols) { return FN(fnn_max)(x, cols); }

/* y may be x: every x[j] is read before y[j] is written. */
static void FN(softmax_row)(const T *x, T *y, size_t cols) {
  const T m = FN(row_max)(x, cols);
  const double s = EXP_SHIFT_SUM(x, m, y, cols);
  const double inv = 1.0 / s;
  for (size_t j = 0; j < cols; j++) y[j] = (T)((double)y[j] * inv);
}

static void FN(log_softmax_row)(const T *x, T *y, size_t cols) {
  const T m = FN(row_max)(x, cols);
  const double lse = log(EXP_SHIFT_SUM(x, m, NULL, cols));
  for (size_t j = 0; j < cols; j++) y[j] = (T)(((double)x[j] - (double)m) - lse);
}

void FN(fnn_softmax)(const T *x, T *y, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
  FNN_FOR_NT(size_t, i, rows, FN(softmax_row)(x + i * cols, y + i * cols, cols););
}

void FN(fnn_log_softmax)(const T *x, T *y, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
  FNN_FOR_NT(size_t, i, rows, FN(log_softmax_row)(x + i * cols, y + i * cols, cols););
}

/* dx = y * (dy - <dy, y>). dx may be dy: the dot product is finished before any write. */
void FN(fnn_softmax_backward)(const T *y, const T *dy, T *dx, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(4.0 * (double)rows * (double)cols);
  FNN_FOR_NT(size_t, i, rows, {
    const T *yr = y + i * cols, *dyr = dy + i * cols;
    T *dxr = dx + i * cols;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += (double)dyr[j] * (double)yr[j];
    for (size_t j = 0; j < cols; j++) dxr[j] = (T)((double)yr[j] * ((double)dyr[j] - s));
  });
}

/* dx = dy - exp(y) * sum(dy), y = log_softmax(x). dx may be dy. */
void FN(fnn_log_softmax_backward)(const T *y, const T *dy, T *dx, size_t rows, size_t cols) {
  const int nt = fnn_threads_for(FNN_SOFTMAX_FLOPS_PER_ELEM * (double)rows * (double)cols);
  FNN_FOR_NT(size_t, i, rows, {
    const T *yr = y + i * cols, *dyr = dy + i * cols;
    T *dxr = dx + i * cols;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += (double)dyr[j];
    for (size_t j = 0; j < cols; j++)
      dxr[j] = (T)((double)dyr[j] - (double)EXP(yr[j]) * s);
  });
}

#endif /* FNN_SOFTMAX_BODY */
