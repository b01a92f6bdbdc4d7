/* losses.c - fused cross-entropy losses and their gradients, and a deterministic sum.
 *
 * The numbers follow Keras 3 with the TensorFlow backend (tf.keras 2.21):
 *  - categorical, probabilities: p / sum(p), clipped to [eps, 1 - eps], -sum t log(.);
 *  - sparse, probabilities: clipped to [eps, 1 - eps] first, then -log of the clipped
 *    value over the clipped row sum (TF takes log(clip(p)) as logits of a softmax);
 *  - binary, probabilities: clipped, -(t log p + (1 - t) log(1 - p)); logits: the stable
 *    max(z, 0) - z t + log1p(exp(-|z|)); the per-sample loss is the mean over the last axis.
 * Gradients are the exact derivatives of the loss as computed here, so they are zero
 * where a clip is active.
 *
 * Samples are independent, threads split samples only, and each sample's arithmetic is
 * fixed by its own row: results do not depend on the thread count or the batch.
 * Scalar work is done in double; element-wise exp/log run in the element type.
 *
 * The float and double kernels share one body: this file includes itself once per type.
 */
#ifndef FNN_LOSSES_BODY
#define FNN_LOSSES_BODY
#include <math.h>
#include <stdlib.h>
#include "fastnn.h"
#include "par.h"
#include "reduce.h"

#define FNN_XENT_FLOPS_PER_ELEM 24.0
/* The sparse cross-entropy's cost per element in GEMM flops' time (an exp and a share of a
 * max, a log and a division: about 11 ns per element on the 2-core VM, where 300,000 GEMM
 * flops take about 5 us), for fnn_team_threads_for: two threads from 150 rows of 10. */
#define FNN_XENT_TEAM_FLOPS_PER_ELEM 200.0
/* fnn_sum's block: partial sums are formed per block and combined in block order, so the
 * rounding is the same whatever the thread count. */
#define FNN_SUM_BLOCK 4096

#define T float
#define EXP expf
#define LOG logf
#define LOG1P log1pf
#define EXP_SHIFT_SUM fnn_exp_shift_sum_f32
#define FN(name) name##_f32
#include "losses.c"
#undef EXP_SHIFT_SUM
#undef T
#undef EXP
#undef LOG
#undef LOG1P
#undef FN

#define T double
#define EXP exp
#define LOG log
#define LOG1P log1p
#define EXP_SHIFT_SUM fnn_exp_shift_sum_f64
#define FN(name) name##_f64
#include "losses.c"
#undef EXP_SHIFT_SUM
#undef T
#undef EXP
#undef LOG
#undef LOG1P
#undef FN

#else /* FNN_LOSSES_BODY: the per-type body */

static inline T FN(xent_row_max)(const T *z, size_t c) { return FN(fnn_max)(z, c); }

/* exp(z - max) into e (which may be z, or NULL), returns max + log(sum). */
static inline double FN(row_logsumexp)(const T *z, T *e, size_t c, double *sum_out) {
  const T m = FN(xent_row_max)(z, c);
  const double s = EXP_SHIFT_SUM(z, m, e, c);
  *sum_out = s;
  return (double)m + log(s);
}

static inline T FN(clip)(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* One row range of the sparse cross-entropy; rows are independent. */
typedef struct {
  const T *z;
  const int64_t *labels;
  const T *sw;
  size_t n, c;
  int from_logits;
  T lo, hi, grad_scale;
  T *loss_b, *dz;
} FN(sxent_job);

static void FN(sxent_rows)(const FN(sxent_job) *jb, size_t i0, size_t i1) {
  const size_t c = jb->c;
  const T lo = jb->lo, hi = jb->hi;
  for (size_t i = i0; i < i1; i++) {
    const T *zr = jb->z + i * c;
    T *dr = jb->dz ? jb->dz + i * c : NULL;
    const size_t y = (size_t)jb->labels[i];
    const double w = jb->sw ? (double)jb->sw[i] : 1.0;
    const double g = (double)jb->grad_scale * w;
    if (jb->from_logits) {
      const T zy = zr[y]; /* read before dr (which may be zr) is written */
      double s;
      const double lse = FN(row_logsumexp)(zr, dr, c, &s);
      jb->loss_b[i] = (T)(w * (lse - (double)zy));
      if (dr) {
        const double inv = 1.0 / s;
        for (size_t j = 0; j < c; j++) dr[j] = (T)(g * ((double)dr[j] * inv - (j == y)));
      }
    } else {
      /* loss = log(S) - log(q_y), q = clip(p), S = sum q: d/dp_k = [k unclipped](1/S - [k=y]/q_y) */
      double s = 0.0;
      for (size_t j = 0; j < c; j++) s += (double)FN(clip)(zr[j], lo, hi);
      const double qy = (double)FN(clip)(zr[y], lo, hi);
      jb->loss_b[i] = (T)(w * (log(s) - log(qy)));
      if (dr) {
        const double inv = 1.0 / s;
        for (size_t j = 0; j < c; j++) {
          const T p = zr[j];
          const int active = p >= lo && p <= hi;
          dr[j] = active ? (T)(g * (inv - (j == y ? 1.0 / qy : 0.0))) : (T)0;
        }
      }
    }
  }
}

static void FN(sxent_share)(void *ctx, int part, int nparts) {
  const FN(sxent_job) *jb = (const FN(sxent_job) *)ctx;
  size_t i0, i1;
  fnn_share(jb->n, part, nparts, &i0, &i1);
  FN(sxent_rows)(jb, i0, i1);
}

/* Labels are checked before any arithmetic, so a bad batch writes nothing. The rows are
 * shared by the pool's threads (fnn_team_threads_for, which joins a task in about a
 * microsecond: a batch-256 step's loss, about 28 us on one thread of the 2-core VM, is
 * worth two). */
int64_t FN(fnn_sparse_xent)(const T *z, const int64_t *labels, const T *sw, size_t n,
                            size_t c, int from_logits, T eps, T grad_scale, T *loss_b, T *dz) {
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (uint64_t)labels[i] >= (uint64_t)c) return (int64_t)i;
  FN(sxent_job) job = {z, labels, sw, n, c, from_logits, eps, (T)1 - eps, grad_scale, loss_b, dz};
  const int nt = fnn_team_threads_for(FNN_XENT_TEAM_FLOPS_PER_ELEM * (double)n * (double)c);
  if (nt > 1)
    fnn_team_run(nt, FN(sxent_share), &job);
  else
    FN(sxent_rows)(&job, 0, n);
  return -1;
}

void FN(fnn_categorical_xent)(const T *z, const T *t, const T *sw, size_t n, size_t c,
                              int from_logits, T label_smoothing, T eps, T grad_scale,
                              T *loss_b, T *dz) {
  const double keep = 1.0 - (double)label_smoothing;
  const double add = c ? (double)label_smoothing / (double)c : 0.0;
  const T lo = eps, hi = (T)1 - eps;
  const int nt = fnn_threads_for(FNN_XENT_FLOPS_PER_ELEM * (double)n * (double)c);
  FNN_FOR_NT(size_t, i, n, {
    const T *zr = z + i * c, *tr = t + i * c;
    T *dr = dz ? dz + i * c : NULL;
    const double w = sw ? (double)sw[i] : 1.0;
    const double g = (double)grad_scale * w;
    double loss = 0.0;
    if (from_logits) {
      /* loss = sum_j t_j (lse - z_j); d/dz_k = softmax_k * sum(t) - t_k. */
      const T m = FN(xent_row_max)(zr, c);
      const double s = EXP_SHIFT_SUM(zr, m, NULL, c);
      const double lse = (double)m + log(s);
      double tsum = 0.0;
      for (size_t j = 0; j < c; j++) {
        const double tj = (double)tr[j] * keep + add;
        tsum += tj;
        loss += tj * (lse - (double)zr[j]);
      }
      if (dr) {
        /* exp(z - m) again, now into dr (which may be zr: the loss no longer needs z). */
        EXP_SHIFT_SUM(zr, m, dr, c);
        const double inv = 1.0 / s;
        for (size_t j = 0; j < c; j++) {
          const double tj = (double)tr[j] * keep + add;
          dr[j] = (T)(g * ((double)dr[j] * inv * tsum - tj));
        }
      }
    } else {
      /* r = p / S, loss = -sum_j t_j log clip(r_j):
       * d/dp_k = -[k unclipped] t_k / p_k + sum_j [j unclipped] t_j / S. */
      double s = 0.0;
      for (size_t j = 0; j < c; j++) s += (double)zr[j];
      const double inv = 1.0 / s;
      double ta = 0.0;
      for (size_t j = 0; j < c; j++) {
        const double tj = (double)tr[j] * keep + add;
        const double r = (double)zr[j] * inv;
        const double q = r < (double)lo ? (double)lo : (r > (double)hi ? (double)hi : r);
        loss -= tj * log(q);
        if (r >= (double)lo && r <= (double)hi) ta += tj;
      }
      if (dr) {
        for (size_t j = 0; j < c; j++) {
          const double tj = (double)tr[j] * keep + add;
          const double r = (double)zr[j] * inv;
          const int active = r >= (double)lo && r <= (double)hi;
          const double own = active ? tj / (double)zr[j] : 0.0;
          dr[j] = (T)(g * (ta * inv - own));
        }
      }
    }
    loss_b[i] = (T)(w * loss);
  });
}

void FN(fnn_binary_xent)(const T *z, const T *t, const T *sw, size_t n, size_t c,
                         int from_logits, T label_smoothing, T eps, T grad_scale, T *loss_b,
                         T *dz) {
  const double keep = 1.0 - (double)label_smoothing;
  const double add = 0.5 * (double)label_smoothing;
  const double inv_c = 1.0 / (double)c; /* c == 0 gives NaN losses, as a mean of nothing */
  const T lo = eps, hi = (T)1 - eps;
  const int nt = fnn_threads_for(FNN_XENT_FLOPS_PER_ELEM * (double)n * (double)c);
  FNN_FOR_NT(size_t, i, n, {
    const T *zr = z + i * c, *tr = t + i * c;
    T *dr = dz ? dz + i * c : NULL;
    const double w = sw ? (double)sw[i] : 1.0;
    const double g = (double)grad_scale * w * inv_c;
    double loss = 0.0;
    for (size_t j = 0; j < c; j++) {
      const double tj = (double)tr[j] * keep + add;
      const T zj = zr[j];
      double gj;
      if (from_logits) {
        const T e = EXP(-(zj < 0 ? -zj : zj)); /* exp(-|z|) in (0, 1] */
        const double zd = (double)zj;
        loss += (zd > 0.0 ? zd : 0.0) - zd * tj + (double)LOG1P(e);
        const double sig = zd >= 0.0 ? 1.0 / (1.0 + (double)e) : (double)e / (1.0 + (double)e);
        gj = sig - tj;
      } else {
        const double q = (double)FN(clip)(zj, lo, hi);
        loss -= tj * log(q) + (1.0 - tj) * log(1.0 - q);
        gj = (zj >= lo && zj <= hi) ? (q - tj) / (q * (1.0 - q)) : 0.0;
      }
      if (dr) dr[j] = (T)(g * gj);
    }
    loss_b[i] = (T)(w * loss * inv_c);
  });
}

static double FN(sum_block)(const T *x, size_t n) {
  /* Four interleaved accumulators in a fixed pattern: faster, and still one fixed order. */
  double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    a0 += (double)x[j];
    a1 += (double)x[j + 1];
    a2 += (double)x[j + 2];
    a3 += (double)x[j + 3];
  }
  for (; j < n; j++) a0 += (double)x[j];
  return (a0 + a1) + (a2 + a3);
}

double FN(fnn_sum)(const T *x, size_t n) {
  return FN(fnn_blocked_sum)(x, n, FNN_SUM_BLOCK, FN(sum_block), 1.0);
}

#endif /* FNN_LOSSES_BODY */
