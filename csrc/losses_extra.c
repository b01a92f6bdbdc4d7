/* losses_extra.c - Keras 3's losses with their gradients, reduced in one call, and the
 * counting kernels behind the accuracy and confusion-matrix metrics.
 *
 * Numbers follow tf.keras 2.21 (Keras 3, TensorFlow backend). Clips and thresholds are
 * compared in the element type, as TensorFlow compares them; the arithmetic around them
 * runs in double and is rounded once. Each gradient is the exact derivative of the value
 * computed here, with TensorFlow's conventions at the kinks: abs and sign give 0 at 0,
 * maximum(x, y) passes its gradient to x when x >= y, minimum(x, y) when x <= y, a clip
 * passes it inside [lo, hi] inclusive, and a reduce_max shares it among tied maxima.
 *
 * Rows are independent: threads split rows only and each row's arithmetic depends on the
 * row alone, so results do not depend on the thread count or on the batch. The reduction
 * sums the weighted per-row losses with fnn_sum (fixed blocking).
 *
 * The float and double kernels share one body: this file includes itself once per type.
 */
#ifndef FNN_LOSSES_EXTRA_BODY
#define FNN_LOSSES_EXTRA_BODY
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fastnn.h"
#include "par.h"

#define FNN_LOSS_FLOPS_PER_ELEM 16.0

static int fnn_loss_is_xent(int kind) {
  return kind == FNN_LOSS_CATEGORICAL_XENT || kind == FNN_LOSS_SPARSE_XENT ||
         kind == FNN_LOSS_BINARY_XENT;
}

#define T float
#define FN(name) name##_f32
#include "losses_extra.c"
#undef T
#undef FN

#define T double
#define FN(name) name##_f64
#include "losses_extra.c"
#undef T
#undef FN

#else /* FNN_LOSSES_EXTRA_BODY: the per-type body */

static inline double FN(lx_sign)(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0); }

/* softplus(x) = log(1 + exp(x)), stably. */
static inline double FN(lx_softplus)(double x) {
  return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* Loss of one row (unweighted); when dr is not NULL, dr[j] = g * dL/dp[j].
 * hinge_pm: the hinge targets are already in {-1, 1} (0 means convert {0, 1} labels). */
static double FN(lx_row)(const fnn_loss_spec *s, const T *tr, const T *pr, size_t c,
                         int hinge_convert, double g, T *dr) {
  const T eps = (T)s->eps;
  const double inv_c = 1.0 / (double)c;
  double loss = 0.0;
  switch (s->kind) {
    case FNN_LOSS_MSE:
      for (size_t j = 0; j < c; j++) {
        const double d = (double)pr[j] - (double)tr[j];
        loss += d * d;
        if (dr) dr[j] = (T)(g * 2.0 * d * inv_c);
      }
      return loss * inv_c;
    case FNN_LOSS_MAE:
      for (size_t j = 0; j < c; j++) {
        const double d = (double)pr[j] - (double)tr[j];
        loss += fabs(d);
        if (dr) dr[j] = (T)(g * FN(lx_sign)(d) * inv_c);
      }
      return loss * inv_c;
    case FNN_LOSS_MAPE:
      for (size_t j = 0; j < c; j++) {
        const T at = tr[j] < 0 ? -tr[j] : tr[j];
        const double den = (double)(at >= eps ? at : eps);
        const double d = (double)pr[j] - (double)tr[j];
        loss += fabs(d) / den;
        if (dr) dr[j] = (T)(g * 100.0 * FN(lx_sign)(d) / den * inv_c);
      }
      return 100.0 * loss * inv_c;
    case FNN_LOSS_MSLE:
      for (size_t j = 0; j < c; j++) {
        const T pm = pr[j] >= eps ? pr[j] : eps, tm = tr[j] >= eps ? tr[j] : eps;
        const double d = log((double)pm + 1.0) - log((double)tm + 1.0);
        loss += d * d;
        if (dr) dr[j] = pr[j] >= eps ? (T)(g * 2.0 * d / ((double)pm + 1.0) * inv_c) : (T)0;
      }
      return loss * inv_c;
    case FNN_LOSS_HINGE:
    case FNN_LOSS_SQUARED_HINGE: {
      const int sq = s->kind == FNN_LOSS_SQUARED_HINGE;
      for (size_t j = 0; j < c; j++) {
        const T y = hinge_convert ? (T)2 * tr[j] - (T)1 : tr[j];
        const T m = (T)1 - y * pr[j];
        const double mp = m >= 0 ? (double)m : 0.0;
        loss += sq ? mp * mp : mp;
        if (dr) {
          const double dm = m >= 0 ? (sq ? 2.0 * mp : 1.0) : 0.0;
          dr[j] = (T)(-g * dm * (double)y * inv_c);
        }
      }
      return loss * inv_c;
    }
    case FNN_LOSS_CATEGORICAL_HINGE: {
      double pos = 0.0;
      T neg = 0;
      size_t ties = 0;
      for (size_t j = 0; j < c; j++) {
        pos += (double)tr[j] * (double)pr[j];
        const T v = ((T)1 - tr[j]) * pr[j];
        if (j == 0 || v > neg) {
          neg = v;
          ties = 1;
        } else if (v == neg) {
          ties++;
        }
      }
      const double m = (double)neg - pos + 1.0;
      const T mt = (T)m;
      loss = mt >= 0 ? m : 0.0;
      if (dr) {
        const double on = mt >= 0 ? g : 0.0;
        for (size_t j = 0; j < c; j++) {
          const T v = ((T)1 - tr[j]) * pr[j];
          const double share = v == neg ? (1.0 - (double)tr[j]) / (double)ties : 0.0;
          dr[j] = (T)(on * (share - (double)tr[j]));
        }
      }
      return loss;
    }
    case FNN_LOSS_LOG_COSH: {
      const double log2 = log(2.0);
      for (size_t j = 0; j < c; j++) {
        const double x = (double)pr[j] - (double)tr[j];
        loss += x + FN(lx_softplus)(-2.0 * x) - log2;
        if (dr) dr[j] = (T)(g * tanh(x) * inv_c);
      }
      return loss * inv_c;
    }
    case FNN_LOSS_HUBER: {
      const T delta = (T)s->delta;
      const double dd = (double)delta;
      for (size_t j = 0; j < c; j++) {
        const T e = pr[j] - tr[j];
        const T ae = e < 0 ? -e : e;
        const double ed = (double)pr[j] - (double)tr[j];
        if (ae <= delta) {
          loss += 0.5 * ed * ed;
          if (dr) dr[j] = (T)(g * ed * inv_c);
        } else {
          loss += dd * fabs(ed) - 0.5 * dd * dd;
          if (dr) dr[j] = (T)(g * dd * FN(lx_sign)(ed) * inv_c);
        }
      }
      return loss * inv_c;
    }
    case FNN_LOSS_KLD:
      for (size_t j = 0; j < c; j++) {
        const T tc = tr[j] < eps ? eps : (tr[j] > (T)1 ? (T)1 : tr[j]);
        const T pc = pr[j] < eps ? eps : (pr[j] > (T)1 ? (T)1 : pr[j]);
        loss += (double)tc * log((double)tc / (double)pc);
        if (dr) {
          const int active = pr[j] >= eps && pr[j] <= (T)1;
          dr[j] = active ? (T)(-g * (double)tc / (double)pc) : (T)0;
        }
      }
      return loss;
    case FNN_LOSS_POISSON:
      for (size_t j = 0; j < c; j++) {
        const double q = (double)(pr[j] + eps);
        loss += (double)pr[j] - (double)tr[j] * log(q);
        if (dr) dr[j] = (T)(g * (1.0 - (double)tr[j] / q) * inv_c);
      }
      return loss * inv_c;
    case FNN_LOSS_COSINE: {
      /* normalize(x) = x * min(rsqrt(sum x^2), 1 / eps); loss = -sum(t_hat * p_hat). */
      double st = 0.0, sp = 0.0, dot = 0.0;
      for (size_t j = 0; j < c; j++) {
        st += (double)tr[j] * (double)tr[j];
        sp += (double)pr[j] * (double)pr[j];
        dot += (double)tr[j] * (double)pr[j];
      }
      const T cap = (T)(1.0 / s->eps);
      const T rt_raw = (T)(1.0 / sqrt(st)), rp_raw = (T)(1.0 / sqrt(sp));
      const double rt = (double)(rt_raw <= cap ? rt_raw : cap);
      const int p_free = rp_raw <= cap;
      const double rp = (double)(p_free ? rp_raw : cap);
      if (dr) {
        const double k = p_free ? rt * dot * rp * rp * rp : 0.0;
        for (size_t j = 0; j < c; j++)
          dr[j] = (T)(g * (k * (double)pr[j] - rt * rp * (double)tr[j]));
      }
      return -rt * rp * dot;
    }
    case FNN_LOSS_BINARY_FOCAL: {
      const double keep = 1.0 - s->label_smoothing, add = 0.5 * s->label_smoothing;
      const double gam = s->gamma, al = s->alpha;
      const T lo = eps, hi = (T)1 - eps;
      for (size_t j = 0; j < c; j++) {
        const double tj = (double)tr[j] * keep + add;
        const double bal = s->class_balancing ? tj * al + (1.0 - tj) * (1.0 - al) : 1.0;
        double pv, bce, dbce, dpv; /* dpv: dp/d(input) */
        if (s->from_logits) {
          const double z = (double)pr[j];
          const double e = exp(-fabs(z));
          pv = z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
          bce = (z > 0.0 ? z : 0.0) - z * tj + log1p(e);
          dbce = pv - tj;
          dpv = pv * (1.0 - pv);
        } else {
          const T pq = pr[j] < lo ? lo : (pr[j] > hi ? hi : pr[j]);
          const double q = (double)pq;
          pv = (double)pr[j];
          bce = -(tj * log(q) + (1.0 - tj) * log(1.0 - q));
          dbce = (pr[j] >= lo && pr[j] <= hi) ? (q - tj) / (q * (1.0 - q)) : 0.0;
          dpv = 1.0;
        }
        const double pt = tj * pv + (1.0 - tj) * (1.0 - pv);
        const double u = 1.0 - pt;
        const double f = pow(u, gam);
        loss += bal * f * bce;
        if (dr) {
          const double dfdp = gam != 0.0 ? -gam * pow(u, gam - 1.0) * (2.0 * tj - 1.0) : 0.0;
          dr[j] = (T)(g * bal * (dfdp * dpv * bce + f * dbce) * inv_c);
        }
      }
      return loss * inv_c;
    }
    default:
      return NAN;
  }
}

/* The cross-entropies run through the fused kernels of losses.c. */
static int64_t FN(lx_xent)(const fnn_loss_spec *s, const T *t, const int64_t *labels, const T *p,
                           const T *w, size_t rows, size_t cols, double gs, T *loss_b, T *dp) {
  const T eps = (T)s->eps, ls = (T)s->label_smoothing;
  switch (s->kind) {
    case FNN_LOSS_SPARSE_XENT:
      return FN(fnn_sparse_xent)(p, labels, w, rows, cols, s->from_logits, eps, (T)gs, loss_b, dp);
    case FNN_LOSS_CATEGORICAL_XENT:
      FN(fnn_categorical_xent)(p, t, w, rows, cols, s->from_logits, ls, eps, (T)gs, loss_b, dp);
      return -1;
    default:
      FN(fnn_binary_xent)(p, t, w, rows, cols, s->from_logits, ls, eps, (T)gs, loss_b, dp);
      return -1;
  }
}

int FN(fnn_loss_reduce)(const fnn_loss_spec *s, const T *t, const int64_t *labels, const T *p,
                        const T *sw, size_t rows, size_t cols, size_t rpw, int red, T *loss_b,
                        T *dp, double *result, int64_t *bad_row) {
  if (rpw == 0) rpw = 1;
  *result = 0.0;
  if (bad_row) *bad_row = -1;
  if (rows == 0) return FNN_OK;
  const int ignore = s->kind == FNN_LOSS_SPARSE_XENT && s->has_ignore_class;
  if (s->kind == FNN_LOSS_SPARSE_XENT) {
    for (size_t i = 0; i < rows; i++) {
      const int64_t y = labels[i];
      if (ignore && y == s->ignore_class) continue;
      if (y < 0 || (uint64_t)y >= (uint64_t)cols) {
        if (bad_row) *bad_row = (int64_t)i;
        return FNN_EINVAL;
      }
    }
  }
  /* Row weights: the per-sample weight, 0 on ignored rows. Only materialised when the
   * kernels cannot read sw directly. */
  T *wbuf = NULL, *lbuf = NULL;
  int64_t *labbuf = NULL;
  const T *w = sw;
  double valid = (double)rows, wsum = 0.0;
  if (ignore || (sw && rpw > 1)) {
    wbuf = (T *)malloc(rows * sizeof(T));
    if (!wbuf) return FNN_ENOMEM;
    valid = 0.0;
    for (size_t i = 0; i < rows; i++) {
      const int keep = !(ignore && labels[i] == s->ignore_class);
      wbuf[i] = keep ? (sw ? sw[i / rpw] : (T)1) : (T)0;
      valid += keep;
    }
    w = wbuf;
  }
  if (red == FNN_RED_MEAN_WITH_SW) {
    if (w) {
      for (size_t i = 0; i < rows; i++) wsum += (double)w[i];
    } else {
      wsum = (double)rows;
    }
  }
  double divisor = 1.0;
  if (red == FNN_RED_SUM_OVER_BATCH) divisor = ignore ? valid : (double)rows;
  if (red == FNN_RED_MEAN_WITH_SW) divisor = wsum;
  const double gs = divisor != 0.0 ? 1.0 / divisor : 0.0;
  if (!loss_b) {
    loss_b = lbuf = (T *)malloc(rows * sizeof(T));
    if (!lbuf) {
      free(wbuf);
      return FNN_ENOMEM;
    }
  }
  if (fnn_loss_is_xent(s->kind)) {
    const int64_t *lab = labels;
    if (ignore) {
      labbuf = (int64_t *)malloc(rows * sizeof(int64_t));
      if (!labbuf) {
        free(wbuf);
        free(lbuf);
        return FNN_ENOMEM;
      }
      for (size_t i = 0; i < rows; i++) labbuf[i] = labels[i] == s->ignore_class ? 0 : labels[i];
      lab = labbuf;
    }
    FN(lx_xent)(s, t, lab, p, w, rows, cols, gs, loss_b, dp);
  } else {
    int hinge_convert = 0;
    if (s->kind == FNN_LOSS_HINGE || s->kind == FNN_LOSS_SQUARED_HINGE) {
      /* Keras converts {0, 1} labels to {-1, 1} only when the whole batch is binary. */
      hinge_convert = 1;
      for (size_t i = 0; i < rows * cols && hinge_convert; i++)
        hinge_convert = t[i] == (T)0 || t[i] == (T)1;
    }
    const int nt = fnn_threads_for(FNN_LOSS_FLOPS_PER_ELEM * (double)rows * (double)cols);
    FNN_FOR_NT(size_t, i, rows, {
      const double wi = w ? (double)w[i] : (sw ? (double)sw[i / rpw] : 1.0);
      const double l = FN(lx_row)(s, t + i * cols, p + i * cols, cols, hinge_convert, gs * wi,
                                  dp ? dp + i * cols : NULL);
      loss_b[i] = (T)(wi * l);
    });
  }
  const double total = FN(fnn_sum)(loss_b, rows);
  *result = red == FNN_RED_NONE ? total : (divisor != 0.0 ? total / divisor : 0.0);
  free(wbuf);
  free(lbuf);
  free(labbuf);
  return FNN_OK;
}

/* ---- metrics ----------------------------------------------------------------------------- */

static inline size_t FN(lx_argmax)(const T *x, size_t c) {
  size_t best = 0;
  for (size_t j = 1; j < c; j++)
    if (x[j] > x[best]) best = j;
  return best;
}

/* TensorFlow's in_top_k: the target's score is finite and fewer than k scores beat it. */
static inline int FN(lx_in_top_k)(const T *x, size_t c, int64_t target, size_t k) {
  if (target < 0 || (uint64_t)target >= (uint64_t)c) return 0;
  const T v = x[target];
  if (!isfinite((double)v)) return 0;
  size_t above = 0;
  for (size_t j = 0; j < c; j++) above += x[j] > v;
  return above < k;
}

void FN(fnn_accuracy_update)(int kind, const T *p, const T *t, const int64_t *labels, const T *sw,
                             size_t rows, size_t cols, size_t rpw, double threshold, size_t k,
                             double *total, double *count) {
  if (rpw == 0) rpw = 1;
  const T thr = (T)threshold;
  double tot = 0.0, cnt = 0.0;
  for (size_t i = 0; i < rows; i++) {
    const T *pr = p + i * cols;
    const T *tr = t ? t + i * cols : NULL;
    double v = 0.0;
    switch (kind) {
      case FNN_ACC_BINARY: {
        size_t hits = 0;
        for (size_t j = 0; j < cols; j++) hits += (pr[j] > thr ? (T)1 : (T)0) == tr[j];
        v = cols ? (double)hits / (double)cols : NAN;
        break;
      }
      case FNN_ACC_CATEGORICAL:
        v = FN(lx_argmax)(pr, cols) == FN(lx_argmax)(tr, cols);
        break;
      case FNN_ACC_SPARSE:
        v = labels[i] >= 0 && (uint64_t)labels[i] == (uint64_t)FN(lx_argmax)(pr, cols);
        break;
      case FNN_ACC_TOP_K:
        v = FN(lx_in_top_k)(pr, cols, (int64_t)FN(lx_argmax)(tr, cols), k);
        break;
      default:
        v = FN(lx_in_top_k)(pr, cols, labels[i], k);
        break;
    }
    const double w = sw ? (double)sw[i / rpw] : 1.0;
    tot += w * v;
    cnt += w;
  }
  *total += tot / (double)rpw;
  *count += cnt / (double)rpw;
}

void FN(fnn_confusion_update)(const T *p, const T *t, const T *w, size_t n, const double *thr,
                              size_t nt, int evenly, int thr_eps, double *tp, double *fp,
                              double *tn, double *fn) {
  if (nt == 0) return;
  if (evenly) {
    /* Each prediction falls in one bucket; counts at threshold j are suffix sums. */
    double *bt = (double *)calloc(2 * nt, sizeof(double));
    double tot_t = 0.0, tot_f = 0.0;
    if (bt) {
      double *bf = bt + nt;
      const T scale = (T)(nt - 1);
      for (size_t i = 0; i < n; i++) {
        const T pc = p[i] < (T)0 ? (T)0 : (p[i] > (T)1 ? (T)1 : p[i]);
        double b = ceil((double)(pc * scale)) - 1.0;
        if (thr_eps && b < 0.0) b = 0.0;
        const double wi = w ? (double)w[i] : 1.0;
        const int pos = t[i] != (T)0;
        if (pos) tot_t += wi; else tot_f += wi;
        if (b < 0.0 || b >= (double)nt) continue;
        if (pos) bt[(size_t)b] += wi; else bf[(size_t)b] += wi;
      }
      double ct = 0.0, cf = 0.0;
      for (size_t j = nt; j-- > 0;) {
        ct += bt[j];
        cf += bf[j];
        if (tp) tp[j] += ct;
        if (fp) fp[j] += cf;
        if (tn) tn[j] += tot_f - cf;
        if (fn) fn[j] += tot_t - ct;
      }
      free(bt);
      return;
    }
    /* Out of memory: fall back to comparing with each threshold directly. */
  }
  for (size_t j = 0; j < nt; j++) {
    const T th = (T)thr[j];
    double a = 0.0, b = 0.0, c = 0.0, d = 0.0;
    for (size_t i = 0; i < n; i++) {
      const double wi = w ? (double)w[i] : 1.0;
      const int pos = t[i] != (T)0, pred = p[i] > th;
      if (pos && pred) a += wi;
      else if (!pos && pred) b += wi;
      else if (!pos) c += wi;
      else d += wi;
    }
    if (tp) tp[j] += a;
    if (fp) fp[j] += b;
    if (tn) tn[j] += c;
    if (fn) fn[j] += d;
  }
}

#endif /* FNN_LOSSES_EXTRA_BODY */
