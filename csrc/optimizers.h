/* optimizers.h - optimizer updates, gradient clipping and weight decay (optimizers.c).
 * Included by fastnn.h; do not include directly.
 *
 * Each update is one fused pass over a parameter array w (n elements) that, per element:
 *   1. reads the gradient g and clips it (fnn_opt_common.clip_mode);
 *   2. applies weight decay, w = w - w * wd * lr, when wd != 0 (Keras applies it to the
 *      variable before the update; wd == 0 skips it, which is the same for finite w);
 *   3. updates the slots and w with Keras 3's formulas, in Keras's order of operations.
 * Scalars arrive as double and are cast to the element type first; the caller computes
 * step-dependent factors (bias corrections, Nadam's momentum cache) in the element type, as
 * Keras does before its element-wise part. Elements are independent, so results are
 * bit-identical for any thread count. g is only read; slot arrays must not overlap w or g.
 */
#ifndef FASTNN_OPTIMIZERS_H
#define FASTNN_OPTIMIZERS_H

/* How the gradient is clipped as it is read (Keras's clipvalue / clipnorm / global_clipnorm). */
enum {
  FNN_CLIP_NONE = 0,  /* g                                                         */
  FNN_CLIP_VALUE = 1, /* min(max(g, -a), a)                  (clipvalue a)         */
  FNN_CLIP_NORM = 2,  /* (g * a) / b, b = max(||g||, a)       (clipnorm a)          */
  FNN_CLIP_SCALE = 3  /* g * a, a the global-norm scale      (global_clipnorm)     */
};

typedef struct {
  double lr;     /* learning rate, already rounded to the element type by the caller */
  double wd;     /* weight decay; 0 means none */
  int clip_mode; /* FNN_CLIP_* */
  double clip_a, clip_b;
} fnn_opt_common;

/* SGD. m (velocity) is NULL when momentum is 0:
 *   m = m * momentum - g * lr;  w += nesterov ? m * momentum - g * lr : m
 *   without m: w -= g * lr. */
void fnn_sgd_update_f32(float *w, const float *g, float *m, size_t n, const fnn_opt_common *c,
                        double momentum, int nesterov);
void fnn_sgd_update_f64(double *w, const double *g, double *m, size_t n,
                        const fnn_opt_common *c, double momentum, int nesterov);

/* RMSprop. mom is NULL without momentum, avg is NULL unless centered. omr = 1 - rho.
 *   v = rho * v + omr * g^2;  [avg = rho * avg + omr * g]
 *   inc = (lr * g) / sqrt(centered ? v - avg^2 + eps : v + eps)
 *   mom: mom = momentum * mom + inc, w -= mom;  else w -= inc. */
void fnn_rmsprop_update_f32(float *w, const float *g, float *v, float *mom, float *avg,
                            size_t n, const fnn_opt_common *c, double rho, double omr,
                            double momentum, double eps);
void fnn_rmsprop_update_f64(double *w, const double *g, double *v, double *mom, double *avg,
                            size_t n, const fnn_opt_common *c, double rho, double omr,
                            double momentum, double eps);

/* Adagrad: acc += g^2;  w -= (lr * g) / sqrt(acc + eps). */
void fnn_adagrad_update_f32(float *w, const float *g, float *acc, size_t n,
                            const fnn_opt_common *c, double eps);
void fnn_adagrad_update_f64(double *w, const double *g, double *acc, size_t n,
                            const fnn_opt_common *c, double eps);

/* Adadelta, omr = 1 - rho:
 *   ag = rho * ag + omr * g^2;  d = -((sqrt(ad + eps) * g) / sqrt(ag + eps))
 *   ad = rho * ad + omr * d^2;  w += lr * d. */
void fnn_adadelta_update_f32(float *w, const float *g, float *ag, float *ad, size_t n,
                             const fnn_opt_common *c, double rho, double omr, double eps);
void fnn_adadelta_update_f64(double *w, const double *g, double *ag, double *ad, size_t n,
                             const fnn_opt_common *c, double rho, double omr, double eps);

/* Adam (AdamW is Adam with wd). vhat is NULL unless amsgrad. omb1 = 1 - beta_1,
 * omb2 = 1 - beta_2, alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t):
 *   m += (g - m) * omb1;  v += (g^2 - v) * omb2;  [vhat = max(vhat, v); v -> vhat]
 *   w -= (m * alpha) / (sqrt(v) + eps). */
/* Adam's step size lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), evaluated in the element type
 * (powf/sqrtf in float for f32) exactly as Keras evaluates it in a float32 tensor. */
double fnn_adam_alpha_f32(float lr, float beta_1, float beta_2, float step);
double fnn_adam_alpha_f64(double lr, double beta_1, double beta_2, double step);

void fnn_adam_update_f32(float *w, const float *g, float *m, float *v, float *vhat, size_t n,
                         const fnn_opt_common *c, double omb1, double omb2, double alpha,
                         double eps);
void fnn_adam_update_f64(double *w, const double *g, double *m, double *v, double *vhat,
                         size_t n, const fnn_opt_common *c, double omb1, double omb2,
                         double alpha, double eps);

/* fnn_adam_update, which also writes the updated w (rows x cols, row-major) into wp in
 * the packed layout with panels nr wide (fnn_pack_b_span; the zero columns of a partial
 * last panel are not written). With wp NULL or rows * cols != n it is fnn_adam_update.
 * *wp_finite (when not NULL): on entry, whether to check the written values; on return, 1
 * when they were checked, wp was written and every value is finite, else 0 (a sparse
 * product may then skip its check of B, gemm/driver_tmpl.h). */
void fnn_adam_update_packed_f32(float *w, const float *g, float *m, float *v, float *vhat,
                                size_t n, const fnn_opt_common *c, double omb1, double omb2,
                                double alpha, double eps, float *wp, size_t rows, size_t cols,
                                int nr, int *wp_finite);
void fnn_adam_update_packed_f64(double *w, const double *g, double *m, double *v,
                                double *vhat, size_t n, const fnn_opt_common *c, double omb1,
                                double omb2, double alpha, double eps, double *wp, size_t rows,
                                size_t cols, int nr, int *wp_finite);

/* Adamax, omb1p = 1 - beta_1^t:
 *   m += (g - m) * omb1;  u = max(beta_2 * u, |g|);  w -= (lr * m) / (omb1p * (u + eps)). */
void fnn_adamax_update_f32(float *w, const float *g, float *m, float *u, size_t n,
                           const fnn_opt_common *c, double omb1, double beta_2, double omb1p,
                           double eps);
void fnn_adamax_update_f64(double *w, const double *g, double *m, double *u, size_t n,
                           const fnn_opt_common *c, double omb1, double beta_2, double omb1p,
                           double eps);

/* Nadam, with u_t, u_{t+1} the momentum schedule and P_t, P_{t+1} its running products:
 *   m += (g - m) * omb1;  v += (g^2 - v) * omb2
 *   mh = (u1 * m) / omp1 + (omu * g) / omp   (u1 = u_{t+1}, omp1 = 1 - P_{t+1},
 *                                             omu = 1 - u_t,  omp = 1 - P_t)
 *   vh = v / omb2p  (1 - beta_2^t);  w -= (mh * lr) / (sqrt(vh) + eps). */
void fnn_nadam_update_f32(float *w, const float *g, float *m, float *v, size_t n,
                          const fnn_opt_common *c, double omb1, double omb2, double u1,
                          double omp1, double omu, double omp, double omb2p, double eps);
void fnn_nadam_update_f64(double *w, const double *g, double *m, double *v, size_t n,
                          const fnn_opt_common *c, double omb1, double omb2, double u1,
                          double omp1, double omu, double omp, double omb2p, double eps);

/* Sum of squares in double, over fixed blocks combined in block order: the same bits for
 * any thread count (when a scratch buffer cannot be allocated it runs on one thread, with
 * the same blocks in the same order). */
double fnn_sum_squares_f32(const float *x, size_t n);
double fnn_sum_squares_f64(const double *x, size_t n);

/* In place: x = min(max(x, -clip), clip). */
void fnn_clip_by_value_f32(float *x, size_t n, double clip);
void fnn_clip_by_value_f64(double *x, size_t n, double clip);

#endif
