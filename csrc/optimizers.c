/* optimizers.c - fused optimizer updates (Keras 3 formulas), clipping and sums of squares.
 *
 * Every update reads the gradient once, clips it on the fly (so the caller's gradient is
 * never modified), applies weight decay to w, then updates the slots and w, all in one
 * pass. Each element's arithmetic is the same sequence of float operations Keras performs
 * with its element-wise ops (no FMA contraction: CMakeLists sets -ffp-contract=off), and
 * depends on nothing but that element, so threads can split the array anywhere. The array
 * is cut into fixed chunks shared out by OpenMP; small arrays stay on one thread. Updates
 * run with subnormals flushed to zero (fpenv.h), as TensorFlow's kernels do.
 */
#ifndef FNN_OPT_BODY
#define FNN_OPT_BODY

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "fastnn.h"
#include "reduce.h"
#include "fpenv.h"

/* Elements per OpenMP work item: large enough to amortise scheduling, small enough to
 * balance a 1e6-element array over 16 threads. */
#define FNN_OPT_CHUNK 16384
/* Elements Adam updates before it copies them to a packed copy of w (fnn_adam_update_packed):
 * 8 KB of float w, still in L1 when copied. */
#define FNN_OPT_PACK_SUB 2048
/* Sum-of-squares block: partials per block, combined in block order. */
#define FNN_SSQ_BLOCK 4096
/* A rough flop count per element of an update (loads and stores dominate), for
 * fnn_threads_for. */
#define FNN_OPT_FLOPS_PER_ELEM 12.0

typedef void (*fnn_opt_range_fn)(size_t lo, size_t hi, const void *args);

typedef struct {
  size_t n;
  fnn_opt_range_fn f;
  const void *args;
} fnn_opt_job;

/* One part's share of the chunks, with subnormals flushed (per part: each thread has its
 * own control word). */
static void fnn_opt_share(void *ctx, int tid, int nt) {
  const fnn_opt_job *j = (const fnn_opt_job *)ctx;
  const size_t nchunks = (j->n + FNN_OPT_CHUNK - 1) / FNN_OPT_CHUNK;
  size_t b0, b1;
  fnn_share(nchunks, tid, nt, &b0, &b1);
  const fnn_fpenv env = fnn_fpenv_flush();
  for (size_t b = b0; b < b1; b++) {
    const size_t lo = b * FNN_OPT_CHUNK;
    const size_t hi = j->n - lo < FNN_OPT_CHUNK ? j->n : lo + FNN_OPT_CHUNK;
    j->f(lo, hi, j->args);
  }
  fnn_fpenv_restore(env);
}

/* Run f over [0, n) in fixed chunks, in parallel when the array is big enough. */
static void fnn_opt_run(size_t n, fnn_opt_range_fn f, const void *args) {
  const size_t nchunks = (n + FNN_OPT_CHUNK - 1) / FNN_OPT_CHUNK;
  const int nt = nchunks > 1 ? fnn_threads_for(FNN_OPT_FLOPS_PER_ELEM * (double)n) : 1;
  if (nt <= 1) {
    const fnn_fpenv env = fnn_fpenv_flush();
    f(0, n, args);
    fnn_fpenv_restore(env);
    return;
  }
  fnn_opt_job job = {n, f, args};
  fnn_team_run(nt, fnn_opt_share, &job);
}

#define FNN_INLINE static inline __attribute__((always_inline))

/* The update loops are also compiled for AVX2 (eight floats a vector instead of four) and
 * the clone is picked at load time where the CPU has it. Without FMA contraction and with
 * IEEE division and square root in both, the clones give the same bits. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(FNN_NO_CLONES)
#define FNN_OPT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FNN_OPT_CLONES
#endif

/* Calls body(lo, hi, a, mode, decay, variant) with the clip mode, the weight-decay flag and
 * the variant as constants, so that each combination compiles to its own branch-free,
 * vectorised loop. */
#define FNN_OPT_DISPATCH(body, lo, hi, a, variant)                                       \
  switch ((a)->p.mode * 2 + (a)->p.decay) {                                              \
    case 0: body(lo, hi, a, FNN_CLIP_NONE, 0, variant); break;                           \
    case 1: body(lo, hi, a, FNN_CLIP_NONE, 1, variant); break;                           \
    case 2: body(lo, hi, a, FNN_CLIP_VALUE, 0, variant); break;                          \
    case 3: body(lo, hi, a, FNN_CLIP_VALUE, 1, variant); break;                          \
    case 4: body(lo, hi, a, FNN_CLIP_NORM, 0, variant); break;                           \
    case 5: body(lo, hi, a, FNN_CLIP_NORM, 1, variant); break;                           \
    case 6: body(lo, hi, a, FNN_CLIP_SCALE, 0, variant); break;                          \
    default: body(lo, hi, a, FNN_CLIP_SCALE, 1, variant); break;                         \
  }

#define T float
#define FN(name) name##_f32
#define SQRT sqrtf
#define FABS fabsf
#define UBITS uint32_t
#define EXP_BITS 0x7f800000u
#include "optimizers.c"
#undef T
#undef FN
#undef SQRT
#undef FABS
#undef UBITS
#undef EXP_BITS

#define T double
#define FN(name) name##_f64
#define SQRT sqrt
#define FABS fabs
#define UBITS uint64_t
#define EXP_BITS 0x7ff0000000000000ull
#include "optimizers.c"
#undef T
#undef FN
#undef SQRT
#undef FABS
#undef UBITS
#undef EXP_BITS

double fnn_adam_alpha_f32(float lr, float beta_1, float beta_2, float step) {
  const float b1p = powf(beta_1, step), b2p = powf(beta_2, step);
  return (double)(lr * sqrtf(1.0f - b2p) / (1.0f - b1p));
}

double fnn_adam_alpha_f64(double lr, double beta_1, double beta_2, double step) {
  const double b1p = pow(beta_1, step), b2p = pow(beta_2, step);
  return lr * sqrt(1.0 - b2p) / (1.0 - b1p);
}

#else /* FNN_OPT_BODY: the per-type body */

/* The gradient clip and weight decay scalars, in the element type. */
typedef struct {
  T lr, wd, ca, cb;
  int mode, decay;
} FN(pre);

FNN_INLINE FN(pre) FN(make_pre)(const fnn_opt_common *c) {
  FN(pre) p;
  p.lr = (T)c->lr;
  p.wd = (T)c->wd;
  p.ca = (T)c->clip_a;
  p.cb = (T)c->clip_b;
  p.mode = c->clip_mode;
  p.decay = c->wd != 0.0;
  return p;
}

/* The clipped gradient: Keras's ops.clip, clip_by_norm and the global-norm scale. */
FNN_INLINE T FN(grad)(T g, const FN(pre) *p, const int mode) {
  switch (mode) {
    case FNN_CLIP_VALUE: {
      const T lo = -p->ca;
      g = g < lo ? lo : g;
      return g > p->ca ? p->ca : g;
    }
    case FNN_CLIP_NORM:
      return (g * p->ca) / p->cb;
    case FNN_CLIP_SCALE:
      return g * p->ca;
    default:
      return g;
  }
}

/* Keras's decoupled weight decay, variable - variable * wd * lr, before the update. */
FNN_INLINE T FN(decay)(T w, const FN(pre) *p, const int decay) {
  return decay ? w - (w * p->wd) * p->lr : w;
}

/* ---- SGD ------------------------------------------------------------------------------ */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict m;
  FN(pre) p;
  T momentum;
  int nesterov;
} FN(sgd_args);

/* variant 0: no momentum; 1: momentum; 2: Nesterov momentum. */
FNN_INLINE void FN(sgd_body)(size_t lo, size_t hi, const FN(sgd_args) *a, const int mode,
                             const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict m = a->m;
  const FN(pre) p = a->p;
  const T lr = p.lr, mu = a->momentum;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    if (variant == 0) {
      w[i] = wi - gi * lr;
    } else {
      const T mi = m[i] * mu - gi * lr;
      m[i] = mi;
      w[i] = variant == 2 ? wi + (mi * mu - gi * lr) : wi + mi;
    }
  }
}

FNN_OPT_CLONES static void FN(sgd_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(sgd_args) *a = (const FN(sgd_args) *)vargs;
  if (!a->m) {
    FNN_OPT_DISPATCH(FN(sgd_body), lo, hi, a, 0)
  } else if (!a->nesterov) {
    FNN_OPT_DISPATCH(FN(sgd_body), lo, hi, a, 1)
  } else {
    FNN_OPT_DISPATCH(FN(sgd_body), lo, hi, a, 2)
  }
}

void FN(fnn_sgd_update)(T *w, const T *g, T *m, size_t n, const fnn_opt_common *c,
                        double momentum, int nesterov) {
  FN(sgd_args) a = {w, g, m, FN(make_pre)(c), (T)momentum, nesterov};
  fnn_opt_run(n, FN(sgd_range), &a);
}

/* ---- RMSprop -------------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict v, *restrict mom, *restrict avg;
  FN(pre) p;
  T rho, omr, momentum, eps;
} FN(rmsprop_args);

/* variant bit 0: momentum; bit 1: centered. */
FNN_INLINE void FN(rmsprop_body)(size_t lo, size_t hi, const FN(rmsprop_args) *a,
                                 const int mode, const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict v = a->v;
  T *restrict mom = a->mom;
  T *restrict avg = a->avg;
  const FN(pre) p = a->p;
  const T lr = p.lr, rho = a->rho, omr = a->omr, mu = a->momentum, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T vi = rho * v[i] + omr * (gi * gi);
    v[i] = vi;
    T den;
    if (variant & 2) {
      const T ai = rho * avg[i] + omr * gi;
      avg[i] = ai;
      den = (vi - ai * ai) + eps;
    } else {
      den = vi + eps;
    }
    const T inc = (lr * gi) / SQRT(den);
    if (variant & 1) {
      const T mi = mu * mom[i] + inc;
      mom[i] = mi;
      w[i] = wi - mi;
    } else {
      w[i] = wi - inc;
    }
  }
}

FNN_OPT_CLONES static void FN(rmsprop_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(rmsprop_args) *a = (const FN(rmsprop_args) *)vargs;
  switch ((a->mom != NULL) | (a->avg != NULL) << 1) {
    case 0: FNN_OPT_DISPATCH(FN(rmsprop_body), lo, hi, a, 0) break;
    case 1: FNN_OPT_DISPATCH(FN(rmsprop_body), lo, hi, a, 1) break;
    case 2: FNN_OPT_DISPATCH(FN(rmsprop_body), lo, hi, a, 2) break;
    default: FNN_OPT_DISPATCH(FN(rmsprop_body), lo, hi, a, 3) break;
  }
}

void FN(fnn_rmsprop_update)(T *w, const T *g, T *v, T *mom, T *avg, size_t n,
                            const fnn_opt_common *c, double rho, double omr, double momentum,
                            double eps) {
  FN(rmsprop_args) a = {w, g, v, mom, avg, FN(make_pre)(c), (T)rho, (T)omr, (T)momentum, (T)eps};
  fnn_opt_run(n, FN(rmsprop_range), &a);
}

/* ---- Adagrad -------------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict acc;
  FN(pre) p;
  T eps;
} FN(adagrad_args);

FNN_INLINE void FN(adagrad_body)(size_t lo, size_t hi, const FN(adagrad_args) *a,
                                 const int mode, const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict acc = a->acc;
  const FN(pre) p = a->p;
  const T lr = p.lr, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T ai = acc[i] + gi * gi;
    acc[i] = ai;
    w[i] = wi - (lr * gi) / SQRT(ai + eps);
  }
}

FNN_OPT_CLONES static void FN(adagrad_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(adagrad_args) *a = (const FN(adagrad_args) *)vargs;
  FNN_OPT_DISPATCH(FN(adagrad_body), lo, hi, a, 0)
}

void FN(fnn_adagrad_update)(T *w, const T *g, T *acc, size_t n, const fnn_opt_common *c,
                            double eps) {
  FN(adagrad_args) a = {w, g, acc, FN(make_pre)(c), (T)eps};
  fnn_opt_run(n, FN(adagrad_range), &a);
}

/* ---- Adadelta ------------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict ag, *restrict ad;
  FN(pre) p;
  T rho, omr, eps;
} FN(adadelta_args);

FNN_INLINE void FN(adadelta_body)(size_t lo, size_t hi, const FN(adadelta_args) *a,
                                  const int mode, const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict ag = a->ag;
  T *restrict ad = a->ad;
  const FN(pre) p = a->p;
  const T lr = p.lr, rho = a->rho, omr = a->omr, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T agi = rho * ag[i] + omr * (gi * gi);
    ag[i] = agi;
    const T adi = ad[i];
    const T d = -((SQRT(adi + eps) * gi) / SQRT(agi + eps));
    ad[i] = rho * adi + omr * (d * d);
    w[i] = wi + lr * d;
  }
}

FNN_OPT_CLONES static void FN(adadelta_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(adadelta_args) *a = (const FN(adadelta_args) *)vargs;
  FNN_OPT_DISPATCH(FN(adadelta_body), lo, hi, a, 0)
}

void FN(fnn_adadelta_update)(T *w, const T *g, T *ag, T *ad, size_t n, const fnn_opt_common *c,
                             double rho, double omr, double eps) {
  FN(adadelta_args) a = {w, g, ag, ad, FN(make_pre)(c), (T)rho, (T)omr, (T)eps};
  fnn_opt_run(n, FN(adadelta_range), &a);
}

/* ---- Adam / AdamW --------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict m, *restrict v, *restrict vhat;
  FN(pre) p;
  T omb1, omb2, alpha, eps;
} FN(adam_args);

/* variant 1: amsgrad. */
FNN_INLINE void FN(adam_body)(size_t lo, size_t hi, const FN(adam_args) *a, const int mode,
                              const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict m = a->m;
  T *restrict v = a->v;
  T *restrict vhat = a->vhat;
  const FN(pre) p = a->p;
  const T omb1 = a->omb1, omb2 = a->omb2, alpha = a->alpha, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T mi = m[i] + (gi - m[i]) * omb1;
    T vi = v[i] + (gi * gi - v[i]) * omb2;
    m[i] = mi;
    v[i] = vi;
    if (variant) {
      const T h = vhat[i];
      vi = h > vi ? h : vi;
      vhat[i] = vi;
    }
    w[i] = wi - (mi * alpha) / (SQRT(vi) + eps);
  }
}

FNN_OPT_CLONES static void FN(adam_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(adam_args) *a = (const FN(adam_args) *)vargs;
  if (a->vhat) {
    FNN_OPT_DISPATCH(FN(adam_body), lo, hi, a, 1)
  } else {
    FNN_OPT_DISPATCH(FN(adam_body), lo, hi, a, 0)
  }
}


/* Adam that also keeps a packed copy of w (fnn_pack_b_span's layout): each part updates
 * its chunks in sub-blocks of FNN_OPT_PACK_SUB elements and copies each sub-block to the
 * packed copy while it is still in the core's L1. The update's arithmetic is
 * fnn_adam_update's; the copy changes no value. */
typedef struct {
  FN(adam_args) a;
  T *wp;
  size_t rows, cols;
  int nr;
  int *not_finite; /* set when an updated value is inf or NaN; NULL: not checked */
} FN(adam_pack_args);

/* fnn_all_finite (fastnn.h): the exponent bits tested, so that the loop vectorises. */
FNN_OPT_CLONES int FN(fnn_all_finite)(const T *p, size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    UBITS u;
    memcpy(&u, p + i, sizeof u);
    bad |= (u & EXP_BITS) == EXP_BITS;
  }
  return !bad;
}

static void FN(adam_pack_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(adam_pack_args) *pa = (const FN(adam_pack_args) *)vargs;
  for (size_t s = lo; s < hi; s += FNN_OPT_PACK_SUB) {
    const size_t e = hi - s < FNN_OPT_PACK_SUB ? hi : s + FNN_OPT_PACK_SUB;
    FN(adam_range)(s, e, &pa->a);
    FN(fnn_pack_b_span)(pa->rows, pa->cols, pa->nr, pa->a.w, s, e, pa->wp);
    if (pa->not_finite && !FN(fnn_all_finite)(pa->a.w + s, e - s))
      __atomic_store_n(pa->not_finite, 1, __ATOMIC_RELAXED);
  }
}

void FN(fnn_adam_update_packed)(T *w, const T *g, T *m, T *v, T *vhat, size_t n,
                                const fnn_opt_common *c, double omb1, double omb2,
                                double alpha, double eps, T *wp, size_t rows, size_t cols,
                                int nr, int *wp_finite) {
  int not_finite = 0;
  const int check = wp_finite && *wp_finite;
  FN(adam_pack_args) pa = {{w, g, m, v, vhat, FN(make_pre)(c), (T)omb1, (T)omb2, (T)alpha,
                            (T)eps},
                           wp, rows, cols, nr, check ? &not_finite : NULL};
  if (!wp || rows * cols != n) {
    fnn_opt_run(n, FN(adam_range), &pa.a);
    if (wp_finite) *wp_finite = 0;
    return;
  }
  fnn_opt_run(n, FN(adam_pack_range), &pa);
  if (wp_finite) *wp_finite = check && !not_finite;
}

void FN(fnn_adam_update)(T *w, const T *g, T *m, T *v, T *vhat, size_t n,
                         const fnn_opt_common *c, double omb1, double omb2, double alpha,
                         double eps) {
  FN(fnn_adam_update_packed)(w, g, m, v, vhat, n, c, omb1, omb2, alpha, eps, NULL, 0, 0, 0,
                             NULL);
}

/* ---- Adamax --------------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict m, *restrict u;
  FN(pre) p;
  T omb1, beta_2, omb1p, eps;
} FN(adamax_args);

FNN_INLINE void FN(adamax_body)(size_t lo, size_t hi, const FN(adamax_args) *a,
                                const int mode, const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict m = a->m;
  T *restrict u = a->u;
  const FN(pre) p = a->p;
  const T lr = p.lr, omb1 = a->omb1, b2 = a->beta_2, omb1p = a->omb1p, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T mi = m[i] + (gi - m[i]) * omb1;
    const T bu = b2 * u[i], ag = FABS(gi);
    const T ui = bu > ag ? bu : ag;
    m[i] = mi;
    u[i] = ui;
    w[i] = wi - (lr * mi) / (omb1p * (ui + eps));
  }
}

FNN_OPT_CLONES static void FN(adamax_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(adamax_args) *a = (const FN(adamax_args) *)vargs;
  FNN_OPT_DISPATCH(FN(adamax_body), lo, hi, a, 0)
}

void FN(fnn_adamax_update)(T *w, const T *g, T *m, T *u, size_t n, const fnn_opt_common *c,
                           double omb1, double beta_2, double omb1p, double eps) {
  FN(adamax_args) a = {w, g, m, u, FN(make_pre)(c), (T)omb1, (T)beta_2, (T)omb1p, (T)eps};
  fnn_opt_run(n, FN(adamax_range), &a);
}

/* ---- Nadam ---------------------------------------------------------------------------- */
typedef struct {
  T *restrict w;
  const T *restrict g;
  T *restrict m, *restrict v;
  FN(pre) p;
  T omb1, omb2, u1, omp1, omu, omp, omb2p, eps;
} FN(nadam_args);

FNN_INLINE void FN(nadam_body)(size_t lo, size_t hi, const FN(nadam_args) *a, const int mode,
                               const int decay, const int variant) {
  T *restrict w = a->w;
  const T *restrict g = a->g;
  T *restrict m = a->m;
  T *restrict v = a->v;
  const FN(pre) p = a->p;
  const T lr = p.lr, omb1 = a->omb1, omb2 = a->omb2, u1 = a->u1, omp1 = a->omp1,
          omu = a->omu, omp = a->omp, omb2p = a->omb2p, eps = a->eps;
  for (size_t i = lo; i < hi; i++) {
    const T gi = FN(grad)(g[i], &p, mode);
    const T wi = FN(decay)(w[i], &p, decay);
    const T mi = m[i] + (gi - m[i]) * omb1;
    const T vi = v[i] + (gi * gi - v[i]) * omb2;
    m[i] = mi;
    v[i] = vi;
    const T mh = (u1 * mi) / omp1 + (omu * gi) / omp;
    const T vh = vi / omb2p;
    w[i] = wi - (mh * lr) / (SQRT(vh) + eps);
  }
}

FNN_OPT_CLONES static void FN(nadam_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(nadam_args) *a = (const FN(nadam_args) *)vargs;
  FNN_OPT_DISPATCH(FN(nadam_body), lo, hi, a, 0)
}

void FN(fnn_nadam_update)(T *w, const T *g, T *m, T *v, size_t n, const fnn_opt_common *c,
                          double omb1, double omb2, double u1, double omp1, double omu,
                          double omp, double omb2p, double eps) {
  FN(nadam_args) a = {w, g, m, v, FN(make_pre)(c), (T)omb1, (T)omb2, (T)u1, (T)omp1, (T)omu,
                      (T)omp, (T)omb2p, (T)eps};
  fnn_opt_run(n, FN(nadam_range), &a);
}

/* ---- clipping helpers ----------------------------------------------------------------- */
static double FN(ssq_block)(const T *x, size_t n) {
  /* Four interleaved accumulators in a fixed pattern: one fixed order, and faster. */
  double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double x0 = (double)x[j], x1 = (double)x[j + 1];
    const double x2 = (double)x[j + 2], x3 = (double)x[j + 3];
    a0 += x0 * x0;
    a1 += x1 * x1;
    a2 += x2 * x2;
    a3 += x3 * x3;
  }
  for (; j < n; j++) a0 += (double)x[j] * (double)x[j];
  return (a0 + a1) + (a2 + a3);
}

double FN(fnn_sum_squares)(const T *x, size_t n) {
  return FN(fnn_blocked_sum)(x, n, FNN_SSQ_BLOCK, FN(ssq_block), 2.0);
}

typedef struct {
  T *restrict x;
  T clip;
} FN(clip_args);

static void FN(clip_range)(size_t lo, size_t hi, const void *vargs) {
  const FN(clip_args) *a = (const FN(clip_args) *)vargs;
  T *restrict x = a->x;
  const T c = a->clip, lo_ = -a->clip;
  for (size_t i = lo; i < hi; i++) {
    T xi = x[i];
    xi = xi < lo_ ? lo_ : xi;
    x[i] = xi > c ? c : xi;
  }
}

void FN(fnn_clip_by_value)(T *x, size_t n, double clip) {
  FN(clip_args) a = {x, (T)clip};
  fnn_opt_run(n, FN(clip_range), &a);
}

#endif /* FNN_OPT_BODY */
