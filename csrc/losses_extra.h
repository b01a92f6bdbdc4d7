/* losses_extra.h - every Keras loss as one fused, reduced call, and the metric kernels
 * (losses_extra.c). Included by fastnn.h; do not include directly.
 *
 * A loss works on a (rows x cols) row-major y_pred and, for all but the sparse
 * cross-entropy, a y_true of the same shape; the per-sample loss has one value per row
 * (Keras reduces the last axis). Weights are per sample: row i uses sw[i / rows_per_weight],
 * so a (batch,) weight vector covers (batch, steps, cols) outputs.
 */
#ifndef FASTNN_LOSSES_EXTRA_H
#define FASTNN_LOSSES_EXTRA_H

enum {
  FNN_LOSS_MSE = 0,
  FNN_LOSS_MAE,
  FNN_LOSS_MAPE,
  FNN_LOSS_MSLE,
  FNN_LOSS_HINGE,
  FNN_LOSS_SQUARED_HINGE,
  FNN_LOSS_CATEGORICAL_HINGE,
  FNN_LOSS_LOG_COSH,
  FNN_LOSS_HUBER,
  FNN_LOSS_KLD,
  FNN_LOSS_POISSON,
  FNN_LOSS_COSINE,
  FNN_LOSS_BINARY_FOCAL,
  FNN_LOSS_CATEGORICAL_XENT,
  FNN_LOSS_SPARSE_XENT,
  FNN_LOSS_BINARY_XENT,
  FNN_LOSS_COUNT
};

/* Keras 3's reductions. SUM_OVER_BATCH divides by the number of per-sample values (Keras's
 * "sum_over_batch_size" and "mean"); MEAN_WITH_SW by the sum of the weights. NONE leaves
 * the weighted per-sample losses in loss_b, and the gradient is that of their sum. */
enum { FNN_RED_NONE = 0, FNN_RED_SUM, FNN_RED_SUM_OVER_BATCH, FNN_RED_MEAN_WITH_SW };

typedef struct {
  int kind;               /* FNN_LOSS_* */
  int from_logits;        /* cross-entropies and focal */
  int class_balancing;    /* focal: apply_class_balancing */
  int has_ignore_class;   /* sparse: labels equal to ignore_class are masked out */
  int64_t ignore_class;
  double eps;             /* backend.epsilon() */
  double delta;           /* huber */
  double label_smoothing; /* cross-entropies and focal */
  double alpha, gamma;    /* focal */
} fnn_loss_spec;

/* The loss of `spec` over rows x cols, reduced, with its gradient, in one call.
 * t: y_true (rows x cols), unused for the sparse cross-entropy; labels: int64 (rows), only
 * for it. sw: per-sample weights (rows / rows_per_weight values) or NULL. loss_b (rows) may
 * be NULL unless red == FNN_RED_NONE; it receives the weighted per-sample losses. dp, when
 * not NULL, receives d(result)/d(p); it may not alias p, t or sw. *result receives the
 * reduced loss (0 for no rows, and 0 when the divisor is 0, as Keras's divide_no_nan).
 * Returns 0, FNN_ENOMEM, or FNN_EINVAL with *bad_row set to the first row whose label is
 * outside [0, cols) (nothing is written then). */
int fnn_loss_reduce_f32(const fnn_loss_spec *spec, const float *t, const int64_t *labels,
                        const float *p, const float *sw, size_t rows, size_t cols,
                        size_t rows_per_weight, int red, float *loss_b, float *dp,
                        double *result, int64_t *bad_row);
int fnn_loss_reduce_f64(const fnn_loss_spec *spec, const double *t, const int64_t *labels,
                        const double *p, const double *sw, size_t rows, size_t cols,
                        size_t rows_per_weight, int red, double *loss_b, double *dp,
                        double *result, int64_t *bad_row);

/* ---- metrics --------------------------------------------------------------------------- */
enum {
  FNN_ACC_BINARY = 0,  /* mean over cols of [(p > threshold) == t]            */
  FNN_ACC_CATEGORICAL, /* argmax(p) == argmax(t)                              */
  FNN_ACC_SPARSE,      /* argmax(p) == label                                  */
  FNN_ACC_TOP_K,       /* argmax(t) among the k largest p (ties count in)    */
  FNN_ACC_SPARSE_TOP_K /* label among the k largest p                        */
};

/* Accumulates a Keras Mean of per-sample accuracies: *total += sum_rows w * value / rpw,
 * *count += sum_rows w / rpw (w = 1 without sw). t is used by BINARY, CATEGORICAL and
 * TOP_K, labels by SPARSE and SPARSE_TOP_K (a negative label never matches). */
void fnn_accuracy_update_f32(int kind, const float *p, const float *t, const int64_t *labels,
                             const float *sw, size_t rows, size_t cols, size_t rows_per_weight,
                             double threshold, size_t k, double *total, double *count);
void fnn_accuracy_update_f64(int kind, const double *p, const double *t, const int64_t *labels,
                             const double *sw, size_t rows, size_t cols, size_t rows_per_weight,
                             double threshold, size_t k, double *total, double *count);

/* Adds weighted confusion counts over n predictions to tp, fp, tn, fn (nt thresholds each;
 * any may be NULL). A label is positive when t != 0; a prediction is positive at threshold
 * j when p > thr[j] (compared in the element type). w (n) may be NULL.
 * evenly != 0 uses Keras's bucket form for thresholds spread evenly over [0, 1]: p is
 * clipped to [0, 1] and counted for thresholds below bucket ceil(p (nt - 1)) - 1 (raised to
 * 0 when thr_eps, i.e. when the end thresholds lie just outside [0, 1]). */
void fnn_confusion_update_f32(const float *p, const float *t, const float *w, size_t n,
                              const double *thr, size_t nt, int evenly, int thr_eps,
                              double *tp, double *fp, double *tn, double *fn);
void fnn_confusion_update_f64(const double *p, const double *t, const double *w, size_t n,
                              const double *thr, size_t nt, int evenly, int thr_eps,
                              double *tp, double *fp, double *tn, double *fn);

#endif
