/* activations.c - element-wise activations, their derivatives, and PReLU.
 *
 * Semantics follow Keras 3 (tf.keras 2.21): keras.activations.relu with negative_slope,
 * max_value and threshold, leaky_relu, elu, selu, softplus, softsign, tanh, sigmoid,
 * hard_sigmoid (relu6(x + 3) / 6), exponential, swish/silu, gelu (exact and tanh), plus the
 * step ("threshold") and thresholded_relu functions.
 *
 * Determinism: every output element is a pure function of the input element(s) at the same
 * index and of the parameters, so neither the thread count nor an element's position in
 * the array can change a single bit. Threads only split the index range into fixed chunks.
 *
 * Precision: the cheap piecewise-linear kinds compute in the storage type, with the same
 * operations Keras performs. The transcendental kinds compute in double and round once,
 * which makes float32 results (nearly) correctly rounded; the libm calls are the plain
 * double ones, identical on every path.
 *
 * The file instantiates itself for float and double: the code after FNN_ACT_TEMPLATE is
 * included twice with T / SFX defined (the gemm driver uses a separate header for this;
 * here the template stays next to the only code that uses it).
 */
#ifndef FNN_ACT_TEMPLATE

#include <math.h>
#include <string.h>
#include "fastnn.h"
#ifdef FASTNN_HAVE_OPENMP
#include <omp.h>
#endif

/* Keras's SELU constants. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SELU_SA (SELU_SCALE * SELU_ALPHA)
/* The tanh approximation of GELU: 0.5 x (1 + tanh(GELU_C (x + GELU_K x^3))). */
#define GELU_C 0.7978845608028654 /* sqrt(2 / pi) */
#define GELU_K 0.044715
#define SQRT2 1.4142135623730951
#define INV_SQRT_2PI 0.3989422804014327

/* Elements per parallel chunk: large enough that a chunk amortises its scheduling, small
 * enough to balance threads. Results do not depend on it. */
#define ACT_CHUNK ((size_t)8192)

/* sigmoid(x) and sigmoid(-x) = 1 - sigmoid(x) from one exp of a non-positive number, so
 * neither overflows and the small one keeps its relative precision. */
static inline void sigmoid_pair(double x, double *s, double *sm) {
  if (x >= 0) {
    double e = exp(-x), r = 1.0 / (1.0 + e);
    *s = r;
    *sm = e * r;
  } else {
    double e = exp(x), r = 1.0 / (1.0 + e);
    *s = e * r;
    *sm = r;
  }
}

static inline double sigmoid_d(double x) {
  double s, sm;
  sigmoid_pair(x, &s, &sm);
  return s;
}

/* softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), which cannot overflow. */
static inline double softplus_d(double x) { return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x))); }

/* d/dx [x sigmoid(x)] = s + x s (1 - s). The product term is dropped where s (1 - s) is 0,
 * so that x = +-inf gives 1 or 0 instead of inf * 0. */
static inline double swish_grad_d(double x) {
  double s, sm;
  sigmoid_pair(x, &s, &sm);
  double c = s * sm;
  return c == 0 ? s : s + x * c;
}

/* Exact GELU, with erfc(-z) for 1 + erf(z): no cancellation for negative x. */
static inline double gelu_d(double x) { return 0.5 * x * erfc(-x / SQRT2); }

static inline double gelu_grad_d(double x) {
  double cdf = 0.5 * erfc(-x / SQRT2);
  double pdf = exp(-0.5 * x * x) * INV_SQRT_2PI;
  return pdf == 0 ? cdf : cdf + x * pdf;
}

/* 0.5 (1 + tanh(u)) = sigmoid(2u): the same function without the cancellation of 1 + tanh
 * for negative u. */
static inline double gelu_tanh_d(double x) {
  double u = GELU_C * (x + GELU_K * x * x * x);
  return x * sigmoid_d(2.0 * u);
}

static inline double gelu_tanh_grad_d(double x) {
  double u = GELU_C * (x + GELU_K * x * x * x);
  double du = GELU_C * (1.0 + 3.0 * GELU_K * x * x);
  double s, sm;
  sigmoid_pair(2.0 * u, &s, &sm);
  double c = s * sm;
  return c == 0 ? s : s + (x * c) * (2.0 * du);
}

int fnn_act_backward_needs_input(int kind) {
  switch (kind) {
    case FNN_ACT_SOFTSIGN:         /* (1 - |y|)^2 cancels badly near |y| = 1 */
    case FNN_ACT_THRESHOLDED_RELU: /* y = 0 both below theta and at x = 0 when theta < 0 */
    case FNN_ACT_SWISH:            /* not invertible */
    case FNN_ACT_GELU:
    case FNN_ACT_GELU_TANH:
      return 1;
    default:
      return 0;
  }
}

int fnn_act_backward_needs_input_for(const fnn_act *act) {
  if (!act) return 0;
  if (fnn_act_backward_needs_input(act->kind)) return 1;
  const double a = act->alpha, mv = act->max_value, th = act->threshold;
  switch (act->kind) {
    case FNN_ACT_RELU: {
      const int clip = !(mv == INFINITY);
      if (a != a || mv != mv || th != th) return 1;
      /* y > 0 exactly on the rising part and y <= 0 below it, unless the slope is negative,
       * the clip is not positive, or a negative threshold lets x in (threshold, 0] through
       * (unclipped, or mixed with the slope part). */
      return a < 0 || mv <= 0 || (th < 0 && (a != 0 || !clip));
    }
    case FNN_ACT_LEAKY_RELU:
    case FNN_ACT_ELU:
      return !(a >= 0); /* a negative alpha makes y > 0 on both sides of 0 */
    default:
      return 0;
  }
}

static double act_cost(int kind) {
  switch (kind) {
    case FNN_ACT_LINEAR:
    case FNN_ACT_RELU:
    case FNN_ACT_LEAKY_RELU:
    case FNN_ACT_STEP:
    case FNN_ACT_THRESHOLDED_RELU:
    case FNN_ACT_HARD_SIGMOID:
      return 2.0;
    case FNN_ACT_SOFTSIGN:
      return 6.0;
    case FNN_ACT_SOFTPLUS:
    case FNN_ACT_GELU:
    case FNN_ACT_GELU_TANH:
      return 40.0;
    default:
      return 20.0;
  }
}

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

#define FNN_ACT_TEMPLATE
#define T float
#define SFX f32
#include "activations.c"
#undef T
#undef SFX
#define T double
#define SFX f64
#include "activations.c"
#undef T
#undef SFX

#else /* ---- template: T, SFX ------------------------------------------------------------ */

/* The parameters of one call, converted once to T as Keras casts them to the input's dtype. */
typedef struct {
  int kind;
  int clip;  /* relu: max_value given */
  int plain; /* relu with default parameters */
  int needx; /* the derivative for these parameters must come from x */
  T a, mv, th;
} FN(par_);

static inline FN(par_) FN(par_of_)(const fnn_act *act) {
  FN(par_) p;
  p.kind = act ? act->kind : FNN_ACT_LINEAR;
  if (p.kind < 0 || p.kind >= FNN_ACT_COUNT) p.kind = FNN_ACT_LINEAR;
  p.a = act ? (T)act->alpha : (T)0;
  p.mv = act ? (T)act->max_value : (T)INFINITY;
  p.th = act ? (T)act->threshold : (T)0;
  p.clip = act ? !(act->max_value == INFINITY) : 0;
  p.plain = p.a == 0 && p.th == 0 && !p.clip;
  p.needx = fnn_act_backward_needs_input_for(act);
  return p;
}

/* ---- forward, one element ------------------------------------------------------------ */

/* Keras's ReLU.static_call: the thresholded (or plain) rectifier, clipped to
 * [0, max_value], minus negative_slope * relu(threshold - x). A NaN input stays NaN. */
static inline T FN(f_relu_)(T v, const FN(par_) *p) {
  T r;
  if (p->th != 0)
    r = v * (v > p->th ? (T)1 : (T)0); /* as Keras: -0 below a threshold, NaN for -inf */
  else
    r = v < 0 ? (T)0 : v;
  if (p->clip) {
    r = r < 0 ? (T)0 : r;
    r = r > p->mv ? p->mv : r;
  }
  if (p->a != 0) {
    T neg = p->th - v;
    neg = neg < 0 ? (T)0 : neg;
    r = r - p->a * neg;
  }
  return r;
}

/* The cheap kinds are written as max/min (x < 0 ? 0 : x, x > 0 ? 0 : x) plus arithmetic:
 * GCC vectorises those under the default -ftrapping-math, but not a select with a product
 * in one arm. The values are Keras's (at most the sign of a zero differs). */
static inline T FN(pos_)(T v) { return v < 0 ? (T)0 : v; }
static inline T FN(neg_)(T v) { return v > 0 ? (T)0 : v; }

static inline T FN(f_leaky_)(T v, const FN(par_) *p) { return FN(pos_)(v) + p->a * FN(neg_)(v); }
static inline T FN(f_elu_)(T v, const FN(par_) *p) {
  return v > 0 ? v : (T)((double)p->a * expm1((double)v));
}
static inline T FN(f_selu_)(T v, const FN(par_) *p) {
  return v > 0 ? (T)(SELU_SCALE * (double)v) : (T)(SELU_SA * expm1((double)v));
}
static inline T FN(f_softplus_)(T v, const FN(par_) *p) { return (T)softplus_d((double)v); }
static inline T FN(f_softsign_)(T v, const FN(par_) *p) {
  return v / ((T)1 + (v < 0 ? -v : v));
}
static inline T FN(f_tanh_)(T v, const FN(par_) *p) { return (T)tanh((double)v); }
static inline T FN(f_sigmoid_)(T v, const FN(par_) *p) { return (T)sigmoid_d((double)v); }
/* relu6(x + 3) / 6 as clip((x + 3) / 6, 0, 1): the same values, since dividing by 6 is
 * monotonic and maps 0 and 6 to exactly 0 and 1. */
static inline T FN(f_hard_sigmoid_)(T v, const FN(par_) *p) {
  T r = (v + (T)3) / (T)6;
  r = r < 0 ? (T)0 : r;
  return r > (T)1 ? (T)1 : r;
}
static inline T FN(f_exponential_)(T v, const FN(par_) *p) { return (T)exp((double)v); }
static inline T FN(f_step_)(T v, const FN(par_) *p) { return v > p->th ? (T)1 : (T)0; }
static inline T FN(f_thresholded_relu_)(T v, const FN(par_) *p) {
  return v * (v > p->th ? (T)1 : (T)0);
}
static inline T FN(f_swish_)(T v, const FN(par_) *p) {
  return (T)((double)v * sigmoid_d((double)v));
}
static inline T FN(f_gelu_)(T v, const FN(par_) *p) { return (T)gelu_d((double)v); }
static inline T FN(f_gelu_tanh_)(T v, const FN(par_) *p) { return (T)gelu_tanh_d((double)v); }

/* ---- derivative from the output y: dy * act'(x) with x implied by y ------------------------ */

static inline T FN(gy_relu_)(T y, T d, const FN(par_) *p) {
  T s = p->a != 0 ? d * p->a : (T)0;
  if (y > 0) return (!p->clip || y < p->mv) ? d : (T)0;
  return s;
}
static inline T FN(gy_leaky_)(T y, T d, const FN(par_) *p) {
  T up = y > 0 ? d : (T)0, down = y > 0 ? (T)0 : d;
  return up + p->a * down;
}
static inline T FN(gy_elu_)(T y, T d, const FN(par_) *p) {
  return y > 0 ? d : (T)((double)d * ((double)y + (double)p->a));
}
/* tf.nn.selu's gradient: scale where y >= 0 (so 0 at x = 0), scale*alpha*exp(x) below. */
static inline T FN(gy_selu_)(T y, T d, const FN(par_) *p) {
  return y < 0 ? (T)((double)d * ((double)y + SELU_SA)) : (T)((double)d * SELU_SCALE);
}
/* sigmoid(x) = 1 - exp(-softplus(x)), accurate at both ends. */
static inline T FN(gy_softplus_)(T y, T d, const FN(par_) *p) {
  return (T)((double)d * -expm1(-(double)y));
}
static inline T FN(gy_tanh_)(T y, T d, const FN(par_) *p) {
  double yy = (double)y;
  return (T)((double)d * (1.0 - yy * yy));
}
static inline T FN(gy_sigmoid_)(T y, T d, const FN(par_) *p) {
  double yy = (double)y;
  return (T)((double)d * (yy * (1.0 - yy)));
}
static inline T FN(gy_hard_sigmoid_)(T y, T d, const FN(par_) *p) {
  T g = (y > 0) & (y < 1) ? d : (T)0;
  return g / (T)6;
}
static inline T FN(gy_exponential_)(T y, T d, const FN(par_) *p) { return d * y; }

/* ---- derivative from the input x -------------------------------------------------------- */

/* Rising part: slope 1 inside (0, max_value) when clipped; below the threshold: the
 * negative slope (also at the threshold itself, as tf.nn.leaky_relu's gradient has it). */
static inline T FN(gx_relu_)(T v, T d, const FN(par_) *p) {
  int rising = p->th != 0 ? v > p->th : v > 0;
  if (rising) return (!p->clip || (v > 0 && v < p->mv)) ? d : (T)0;
  return p->a != 0 ? d * p->a : (T)0;
}
static inline T FN(gx_leaky_)(T v, T d, const FN(par_) *p) {
  T up = v > 0 ? d : (T)0, down = v > 0 ? (T)0 : d;
  return up + p->a * down;
}
/* The side comes from x (alpha < 0 puts y > 0 on both sides); the value is the y rule's. */
static inline T FN(gx_elu_)(T v, T d, const FN(par_) *p) {
  return v > 0 ? d : (T)((double)d * ((double)FN(f_elu_)(v, p) + (double)p->a));
}
static inline T FN(gx_softsign_)(T v, T d, const FN(par_) *p) {
  double r = 1.0 / (1.0 + fabs((double)v));
  return (T)((double)d * (r * r));
}
static inline T FN(gx_thresholded_relu_)(T v, T d, const FN(par_) *p) {
  return v > p->th ? d : (T)0;
}
static inline T FN(gx_swish_)(T v, T d, const FN(par_) *p) {
  return (T)((double)d * swish_grad_d((double)v));
}
static inline T FN(gx_gelu_)(T v, T d, const FN(par_) *p) {
  return (T)((double)d * gelu_grad_d((double)v));
}
static inline T FN(gx_gelu_tanh_)(T v, T d, const FN(par_) *p) {
  return (T)((double)d * gelu_tanh_grad_d((double)v));
}

/* ---- serial loops ------------------------------------------------------------------------ */

#define ACT_FWD_LOOP(K) \
  for (size_t i = 0; i < n; i++) y[i] = FN(f_##K##_)(x[i], &p)

void FN(fnn_act_forward_serial_)(const fnn_act *act, const T *x, T *y, size_t n) {
  const FN(par_) p = FN(par_of_)(act);
  switch (p.kind) {
    case FNN_ACT_RELU:
      if (p.plain) {
        /* The common cases, kept simple enough for the compiler to vectorise. */
        for (size_t i = 0; i < n; i++) y[i] = x[i] < 0 ? (T)0 : x[i];
      } else if (p.a == 0 && p.th == 0) { /* relu6 and other clipped relus */
        const T mv = p.mv;
        for (size_t i = 0; i < n; i++) {
          T r = x[i] < 0 ? (T)0 : x[i];
          y[i] = r > mv ? mv : r;
        }
      } else {
        ACT_FWD_LOOP(relu);
      }
      break;
    case FNN_ACT_LEAKY_RELU: ACT_FWD_LOOP(leaky); break;
    case FNN_ACT_ELU: ACT_FWD_LOOP(elu); break;
    case FNN_ACT_SELU: ACT_FWD_LOOP(selu); break;
    case FNN_ACT_SOFTPLUS: ACT_FWD_LOOP(softplus); break;
    case FNN_ACT_SOFTSIGN: ACT_FWD_LOOP(softsign); break;
    case FNN_ACT_TANH: ACT_FWD_LOOP(tanh); break;
    case FNN_ACT_SIGMOID: ACT_FWD_LOOP(sigmoid); break;
    case FNN_ACT_HARD_SIGMOID: ACT_FWD_LOOP(hard_sigmoid); break;
    case FNN_ACT_EXPONENTIAL: ACT_FWD_LOOP(exponential); break;
    case FNN_ACT_STEP: ACT_FWD_LOOP(step); break;
    case FNN_ACT_THRESHOLDED_RELU: ACT_FWD_LOOP(thresholded_relu); break;
    case FNN_ACT_SWISH: ACT_FWD_LOOP(swish); break;
    case FNN_ACT_GELU: ACT_FWD_LOOP(gelu); break;
    case FNN_ACT_GELU_TANH: ACT_FWD_LOOP(gelu_tanh); break;
    default: /* linear */
      if (y != x && n) memcpy(y, x, n * sizeof(T));
      break;
  }
}
#undef ACT_FWD_LOOP

static void FN(fill_nan_)(T *dx, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = (T)NAN;
}

/* From y when given, else from y recomputed from x: both paths give the same bits. */
#define ACT_BWD_Y(K)                                                                        \
  do {                                                                                      \
    if (y)                                                                                  \
      for (size_t i = 0; i < n; i++) dx[i] = FN(gy_##K##_)(y[i], dy[i], &p);                \
    else if (x)                                                                             \
      for (size_t i = 0; i < n; i++) dx[i] = FN(gy_##K##_)(FN(f_##K##_)(x[i], &p), dy[i], &p); \
    else                                                                                    \
      FN(fill_nan_)(dx, n);                                                                 \
  } while (0)

#define ACT_BWD_X(K)                                                                        \
  do {                                                                                      \
    if (x)                                                                                  \
      for (size_t i = 0; i < n; i++) dx[i] = FN(gx_##K##_)(x[i], dy[i], &p);                \
    else                                                                                    \
      FN(fill_nan_)(dx, n);                                                                 \
  } while (0)

/* Kinds whose derivative comes from y except for some parameters: with those parameters
 * use x; without x (a caller that ignored fnn_act_backward_needs_input_for) fall back to
 * the y rule rather than fail. */
#define ACT_BWD_YX(K)                    \
  do {                                   \
    if (p.needx && x)                    \
      ACT_BWD_X(K);                      \
    else                                 \
      ACT_BWD_Y(K);                      \
  } while (0)

static void FN(act_backward_serial_)(const FN(par_) *pp, const T *x, const T *y, const T *dy,
                                     T *dx, size_t n) {
  const FN(par_) p = *pp;
  switch (p.kind) {
    case FNN_ACT_RELU:
      if (p.plain) {
        if (y)
          for (size_t i = 0; i < n; i++) {
            T d = dy[i];
            dx[i] = y[i] > 0 ? d : (T)0;
          }
        else if (x)
          for (size_t i = 0; i < n; i++) {
            T d = dy[i];
            dx[i] = x[i] > 0 ? d : (T)0;
          }
        else
          FN(fill_nan_)(dx, n);
      } else if (p.a == 0 && p.th == 0 && y) { /* relu6 and other clipped relus */
        const T mv = p.mv;
        for (size_t i = 0; i < n; i++) {
          T d = dy[i];
          dx[i] = (y[i] > 0) & (y[i] < mv) ? d : (T)0;
        }
      } else {
        ACT_BWD_YX(relu);
      }
      break;
    case FNN_ACT_LEAKY_RELU: ACT_BWD_YX(leaky); break;
    case FNN_ACT_ELU: ACT_BWD_YX(elu); break;
    case FNN_ACT_SELU: ACT_BWD_Y(selu); break;
    case FNN_ACT_SOFTPLUS: ACT_BWD_Y(softplus); break;
    case FNN_ACT_SOFTSIGN: ACT_BWD_X(softsign); break;
    case FNN_ACT_TANH: ACT_BWD_Y(tanh); break;
    case FNN_ACT_SIGMOID: ACT_BWD_Y(sigmoid); break;
    case FNN_ACT_HARD_SIGMOID: ACT_BWD_Y(hard_sigmoid); break;
    case FNN_ACT_EXPONENTIAL: ACT_BWD_Y(exponential); break;
    case FNN_ACT_STEP:
      for (size_t i = 0; i < n; i++) dx[i] = 0;
      break;
    case FNN_ACT_THRESHOLDED_RELU: ACT_BWD_X(thresholded_relu); break;
    case FNN_ACT_SWISH: ACT_BWD_X(swish); break;
    case FNN_ACT_GELU: ACT_BWD_X(gelu); break;
    case FNN_ACT_GELU_TANH: ACT_BWD_X(gelu_tanh); break;
    default: /* linear */
      if (dx != dy && n) memcpy(dx, dy, n * sizeof(T));
      break;
  }
}
#undef ACT_BWD_Y
#undef ACT_BWD_X
#undef ACT_BWD_YX

/* ---- threaded entry points ------------------------------------------------------------- */

void FN(fnn_act_forward_)(const fnn_act *act, const T *x, T *y, size_t n) {
  const int kind = act ? act->kind : FNN_ACT_LINEAR;
  const int nt = fnn_threads_for((double)n * act_cost(kind));
  const long nch = (long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
  if (nt <= 1 || nch <= 1) {
    FN(fnn_act_forward_serial_)(act, x, y, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (long c = 0; c < nch; c++) {
    const size_t i0 = (size_t)c * ACT_CHUNK;
    const size_t len = n - i0 < ACT_CHUNK ? n - i0 : ACT_CHUNK;
    FN(fnn_act_forward_serial_)(act, x + i0, y + i0, len);
  }
}

void FN(fnn_act_backward_)(const fnn_act *act, const T *x, const T *y, const T *dy, T *dx,
                           size_t n) {
  const FN(par_) p = FN(par_of_)(act);
  const int nt = fnn_threads_for((double)n * act_cost(p.kind));
  const long nch = (long)((n + ACT_CHUNK - 1) / ACT_CHUNK);
  if (nt <= 1 || nch <= 1) {
    FN(act_backward_serial_)(&p, x, y, dy, dx, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (long c = 0; c < nch; c++) {
    const size_t i0 = (size_t)c * ACT_CHUNK;
    const size_t len = n - i0 < ACT_CHUNK ? n - i0 : ACT_CHUNK;
    FN(act_backward_serial_)(&p, x ? x + i0 : NULL, y ? y + i0 : NULL, dy + i0, dx + i0, len);
  }
}

/* Columns [j0, j1) (at most FNN_ACT_COLS_MAX) of m x n row-major arrays, row by row, each row's
 * run through act_backward_serial_; with colsum, the column sums of dx added in row order
 * into a local block (so they stay in registers: colsum may alias nothing it is read from). */
void FN(fnn_act_backward_cols_)(const fnn_act *act, const T *x, const T *y, const T *dy,
                                T *dx, size_t m, size_t n, size_t j0, size_t j1, T *colsum) {
  const FN(par_) p = FN(par_of_)(act);
  const size_t w = j1 - j0;
  T acc[FNN_ACT_COLS_MAX];
  for (size_t j = 0; j < w; j++) acc[j] = 0;
  for (size_t i = 0; i < m; i++) {
    const size_t o = i * n + j0;
    if (p.kind == FNN_ACT_LINEAR) {
      if (dx != dy) memcpy(dx + o, dy + o, w * sizeof(T));
    } else {
      FN(act_backward_serial_)(&p, x ? x + o : NULL, y ? y + o : NULL, dy + o, dx + o, w);
    }
    if (colsum) {
      const T *r = dx + o;
      for (size_t j = 0; j < w; j++) acc[j] = acc[j] + r[j];
    }
  }
  if (colsum)
    for (size_t j = 0; j < w; j++) colsum[j] = acc[j];
}

/* ---- PReLU ------------------------------------------------------------------------------ */

void FN(fnn_prelu_forward_)(const T *x, const T *alpha_f, T *y, size_t m, size_t f) {
  if (m == 0 || f == 0) return;
  const int nt = fnn_threads_for((double)m * (double)f * 2.0);
  const long mm = (long)m;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (long i = 0; i < mm; i++) {
    const T *xr = x + (size_t)i * f;
    T *yr = y + (size_t)i * f;
    for (size_t j = 0; j < f; j++) yr[j] = FN(pos_)(xr[j]) + alpha_f[j] * FN(neg_)(xr[j]);
  }
}

/* Columns per dalpha block: one thread owns a block and walks all rows in order, so every
 * dalpha[j] is the same sum whatever the thread count. */
#define PRELU_JB 256

void FN(fnn_prelu_backward_)(const T *x, const T *alpha_f, const T *dy, T *dx, T *dalpha_f,
                             size_t m, size_t f) {
  if (f == 0) return;
  const int nt = fnn_threads_for((double)m * (double)f * 3.0);
  /* dalpha first: dx may be the same buffer as dy. */
  if (dalpha_f) {
    const long nb = (long)((f + PRELU_JB - 1) / PRELU_JB);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nb > 1)
    for (long b = 0; b < nb; b++) {
      const size_t j0 = (size_t)b * PRELU_JB;
      const size_t jn = f - j0 < PRELU_JB ? f - j0 : PRELU_JB;
      double acc[PRELU_JB];
      for (size_t j = 0; j < jn; j++) acc[j] = 0;
      for (size_t i = 0; i < m; i++) {
        const T *xr = x + i * f + j0, *dr = dy + i * f + j0;
        for (size_t j = 0; j < jn; j++) acc[j] += (double)dr[j] * (double)FN(neg_)(xr[j]);
      }
      for (size_t j = 0; j < jn; j++) dalpha_f[j0 + j] = (T)acc[j];
    }
  }
  if (dx && m) {
    const long mm = (long)m;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (long i = 0; i < mm; i++) {
      const T *xr = x + (size_t)i * f, *dr = dy + (size_t)i * f;
      T *gr = dx + (size_t)i * f;
      for (size_t j = 0; j < f; j++) {
        T d = dr[j], up = xr[j] > 0 ? d : (T)0, down = xr[j] > 0 ? (T)0 : d;
        gr[j] = up + alpha_f[j] * down;
      }
    }
  }
}
#undef PRELU_JB

#endif /* FNN_ACT_TEMPLATE */
