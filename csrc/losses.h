/* losses.h - softmax, log-softmax and the fused loss kernels (softmax.c, losses.c).
 * Included by fastnn.h; do not include directly.
 *
 * All work on a (rows x cols) row-major matrix; the class axis is the last one (the
 * Python layer moves any other axis there). Per-sample losses are written to loss_b;
 * gradients are scaled by grad_scale (the engine passes 1/batch for a mean). */
#ifndef FASTNN_LOSSES_H
#define FASTNN_LOSSES_H

void fnn_softmax_f32(const float *x, float *y, size_t rows, size_t cols);
void fnn_softmax_f64(const double *x, double *y, size_t rows, size_t cols);
void fnn_log_softmax_f32(const float *x, float *y, size_t rows, size_t cols);
void fnn_log_softmax_f64(const double *x, double *y, size_t rows, size_t cols);
/* (softmax, log_softmax: y may be x.) */
/* dx = y * (dy - sum(dy * y)) with y = softmax(x); dx may be dy. */
void fnn_softmax_backward_f32(const float *y, const float *dy, float *dx, size_t rows, size_t cols);
void fnn_softmax_backward_f64(const double *y, const double *dy, double *dx, size_t rows, size_t cols);
/* dx = dy - exp(y) * sum(dy) with y = log_softmax(x); dx may be dy. */
void fnn_log_softmax_backward_f32(const float *y, const float *dy, float *dx, size_t rows, size_t cols);
void fnn_log_softmax_backward_f64(const double *y, const double *dy, double *dx, size_t rows, size_t cols);

/* Sparse categorical cross-entropy over n samples and c classes.
 * from_logits: z holds logits (softmax fused in); otherwise z holds probabilities, which
 * are clipped to [eps, 1 - eps] and then normalised by their row sum, as tf.keras does
 * (it feeds log(clip(p)) to a softmax cross-entropy).
 * loss_b[i] = sw[i] * (-log p[i, labels[i]]); sw may be NULL (all ones).
 * dz (may be NULL, may be z) = grad_scale * d(sum_i loss_b[i]) / dz; zero where a clip
 * is active.
 * Returns -1 on success, or the index of the first sample whose label is outside [0, c). */
int64_t fnn_sparse_xent_f32(const float *z, const int64_t *labels, const float *sw,
                            size_t n, size_t c, int from_logits, float eps, float grad_scale,
                            float *loss_b, float *dz);
int64_t fnn_sparse_xent_f64(const double *z, const int64_t *labels, const double *sw,
                            size_t n, size_t c, int from_logits, double eps, double grad_scale,
                            double *loss_b, double *dz);

/* Categorical cross-entropy with one-hot (or soft) targets t (n x c), with Keras's
 * label_smoothing: t' = t * (1 - ls) + ls / c. Otherwise as fnn_sparse_xent, except that
 * probabilities are normalised by their row sum first and clipped after, as tf.keras does;
 * with logits the gradient is softmax(z) * sum(t') - t'. dz may be z (not t). */
void fnn_categorical_xent_f32(const float *z, const float *t, const float *sw, size_t n,
                              size_t c, int from_logits, float label_smoothing, float eps,
                              float grad_scale, float *loss_b, float *dz);
void fnn_categorical_xent_f64(const double *z, const double *t, const double *sw, size_t n,
                              size_t c, int from_logits, double label_smoothing, double eps,
                              double grad_scale, double *loss_b, double *dz);

/* Binary cross-entropy, element-wise over n x c, averaged over the last axis per sample.
 * from_logits: z are logits (sigmoid fused in, stable form); otherwise probabilities,
 * clipped to [eps, 1 - eps]. label_smoothing: t' = t * (1 - ls) + ls / 2.
 * dz may be z (not t). c == 0 gives NaN losses (the mean of nothing). */
void fnn_binary_xent_f32(const float *z, const float *t, const float *sw, size_t n, size_t c,
                         int from_logits, float label_smoothing, float eps, float grad_scale,
                         float *loss_b, float *dz);
void fnn_binary_xent_f64(const double *z, const double *t, const double *sw, size_t n, size_t c,
                         int from_logits, double label_smoothing, double eps, double grad_scale,
                         double *loss_b, double *dz);

/* Shared by softmax.c and losses.c: e[j] = exp(x[j] - m) (e may be NULL), returns the sum
 * of e in double, in an order fixed by n alone. Meant for m = max(x), so x - m <= 0. */
double fnn_exp_shift_sum_f32(const float *x, float m, float *e, size_t n);
double fnn_exp_shift_sum_f64(const double *x, double m, double *e, size_t n);
/* max(x[0..n)), -inf for n == 0 (softmax.c). */
float fnn_max_f32(const float *x, size_t n);
double fnn_max_f64(const double *x, size_t n);

/* Deterministic sum (fixed blocking, independent of the thread count), in double. */
double fnn_sum_f32(const float *x, size_t n);
double fnn_sum_f64(const double *x, size_t n);

#endif
