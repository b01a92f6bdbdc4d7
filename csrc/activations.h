/* activations.h - element-wise activations and their derivatives (activations.c).
 * Included by fastnn.h; do not include directly. */
#ifndef FASTNN_ACTIVATIONS_H
#define FASTNN_ACTIVATIONS_H

typedef enum {
  FNN_ACT_LINEAR = 0,
  FNN_ACT_RELU,             /* alpha = negative slope, max_value (INFINITY = none), threshold */
  FNN_ACT_LEAKY_RELU,       /* alpha = negative slope */
  FNN_ACT_ELU,              /* alpha */
  FNN_ACT_SELU,
  FNN_ACT_SOFTPLUS,
  FNN_ACT_SOFTSIGN,
  FNN_ACT_TANH,
  FNN_ACT_SIGMOID,
  FNN_ACT_HARD_SIGMOID,     /* Keras 3: relu6(x + 3) / 6 */
  FNN_ACT_EXPONENTIAL,
  FNN_ACT_STEP,             /* threshold: y = x > threshold ? 1 : 0 */
  FNN_ACT_THRESHOLDED_RELU, /* threshold = theta: y = x > theta ? x : 0 */
  FNN_ACT_SWISH,            /* x * sigmoid(x), also silu */
  FNN_ACT_GELU,             /* exact, with erf */
  FNN_ACT_GELU_TANH,        /* tanh approximation */
  FNN_ACT_COUNT
} fnn_act_kind;

typedef struct {
  int kind;          /* an fnn_act_kind */
  double alpha;      /* negative slope (relu, leaky_relu) or alpha (elu) */
  double max_value;  /* relu: upper clip, INFINITY for none */
  double threshold;  /* relu threshold, step threshold, thresholded_relu theta */
} fnn_act;

/* 1 when the derivative needs the pre-activation x; 0 when the output y is enough. */
int fnn_act_backward_needs_input(int kind);
/* The same question for one set of parameters. It can be 1 where the kind alone says 0:
 * relu with a negative slope, a non-positive max_value or a negative threshold (unclipped
 * or with a slope), and leaky_relu / elu with a negative alpha, where y does not tell the
 * two sides apart. Without x those derivatives fall back to the y rule. */
int fnn_act_backward_needs_input_for(const fnn_act *act);

/* y = act(x) on n elements, serially. y may be x (in place). Used inside GEMM epilogues. */
void fnn_act_forward_serial_f32(const fnn_act *act, const float *x, float *y, size_t n);
void fnn_act_forward_serial_f64(const fnn_act *act, const double *x, double *y, size_t n);

/* The same, split across threads for large n. act == NULL means linear. */
void fnn_act_forward_f32(const fnn_act *act, const float *x, float *y, size_t n);
void fnn_act_forward_f64(const fnn_act *act, const double *x, double *y, size_t n);

/* dx = dy * act'(x). x is the pre-activation, y = act(x); either may be NULL when the
 * derivative does not need it (see fnn_act_backward_needs_input). dx may be dy.
 * Kinds differentiated from y recompute y from x when only x is given (same bits). A kind
 * that needs x and gets none, or one of the others (not linear or step) given neither,
 * fills dx with NaN. */
void fnn_act_backward_f32(const fnn_act *act, const float *x, const float *y,
                          const float *dy, float *dx, size_t n);
void fnn_act_backward_f64(const fnn_act *act, const double *x, const double *y,
                          const double *dy, double *dx, size_t n);

/* fnn_act_backward on columns [j0, j1) of m x n row-major x, y, dy and dx (act NULL:
 * linear, a copy), at most FNN_ACT_COLS_MAX of them; with colsum not NULL, also
 * colsum[j - j0] = the sum of dx[:, j] over the rows, added in row order. Serial. */
#define FNN_ACT_COLS_MAX 64
void fnn_act_backward_cols_f32(const fnn_act *act, const float *x, const float *y,
                               const float *dy, float *dx, size_t m, size_t n, size_t j0,
                               size_t j1, float *colsum);
void fnn_act_backward_cols_f64(const fnn_act *act, const double *x, const double *y,
                               const double *dy, double *dx, size_t m, size_t n, size_t j0,
                               size_t j1, double *colsum);

/* PReLU over x viewed as (m, f): y = x > 0 ? x : alpha_f[j] * x. */
void fnn_prelu_forward_f32(const float *x, const float *alpha_f, float *y, size_t m, size_t f);
void fnn_prelu_forward_f64(const double *x, const double *alpha_f, double *y, size_t m, size_t f);
/* dx = dy * (x > 0 ? 1 : alpha); dalpha_f[j] = sum_i dy * x * (x <= 0), summed over i in
 * order (deterministic). dx may be NULL. */
void fnn_prelu_backward_f32(const float *x, const float *alpha_f, const float *dy, float *dx,
                            float *dalpha_f, size_t m, size_t f);
void fnn_prelu_backward_f64(const double *x, const double *alpha_f, const double *dy,
                            double *dx, double *dalpha_f, size_t m, size_t f);

#endif
