/* trainchain.h - the forward pass, loss and backward pass of one training step in one call.
 *
 * A model made of dense layers (with element-wise or no activation), dropout layers and
 * shape-only layers (flatten, reshape), trained with a loss the C kernels compute, runs
 * its whole step below the optimizer update as a fixed list of kernel calls. The list is
 * the one the Python training plan makes, layer by layer: the same kernels with the same
 * arguments in the same order, so the gradients are the same bits. Only the per-layer
 * Python and binding costs (tens of microseconds a step) are gone.
 *
 * All buffers belong to the caller, sized for rows_max rows; a smaller batch uses the
 * first rows of each (they are row-major, so a prefix is contiguous).
 */
#ifndef FASTNN_TRAINCHAIN_H
#define FASTNN_TRAINCHAIN_H

#include <stddef.h>
#include <stdint.h>
#include "fastnn.h"

enum { FNN_TRAIN_DENSE = 0, FNN_TRAIN_DROPOUT = 1 };

typedef struct {
  int op;              /* an FNN_TRAIN_* value */
  size_t k, n;         /* row width in and out (equal for dropout) */
  int need_dx;         /* backward: whether the gradient of the input is needed */
  /* dense */
  const void *w;       /* k x n kernel */
  const void *bias;    /* n biases, or NULL */
  int has_act;         /* whether act applies (else linear) */
  fnn_act act;
  void *z;             /* pre-activation, rows_max x n, or NULL when act needs only y */
  void *dz;            /* rows_max x n scratch */
  void *dw, *db;       /* the gradients the optimizer reads (db NULL without a bias) */
  /* A packed copy of w (fnn_pack_b_span's layout, panels wp_nr wide), or NULL. The forward
   * reads it instead of w when wp_use is set and wp_nr is the current kernel's panel width;
   * Adam's update of w (an item with this wp) rewrites it. */
  void *wp;
  int wp_nr;
  int wp_use;
  /* Written by the step (the struct is otherwise read-only to it). After Adam's update:
   * 1 when it checked wp and every value it wrote is finite, which spares the next forward
   * product that skips x's zeros its check of w. The forward then sets it to whether its
   * product went that way, which asks Adam for the check (dense inputs are spared it).
   * Starts at 0. */
  int wp_finite;
  /* both */
  void *y;             /* output, rows_max x n */
  void *dx;            /* input gradient, rows_max x k, or NULL when !need_dx */
  /* dropout */
  double rate;
  uint64_t seed;
  uint8_t *mask;       /* rows_max x n */
} fnn_train_step;

/* Adam's update of the step's variables, run right after the backward pass (in the same
 * call): fnn_adam_update on each item in order, with `common` (no weight decay
 * and no clipping) and the step's scalars. vhat is NULL unless amsgrad. */
typedef struct {
  void *w, *m, *v, *vhat;
  const void *g;
  size_t n;
  /* w's packed copy to rewrite (fnn_adam_update_packed; w is rows x cols), or NULL; it is
   * written only when wp_nr is the current kernel's panel width */
  void *wp;
  size_t rows, cols;
  int wp_nr;
  int *wp_finite; /* the step's wp_finite (fnn_adam_update_packed's), set with wp; or NULL */
} fnn_adam_item;

typedef struct {
  const fnn_adam_item *items;
  int count;
  fnn_opt_common common;
  double omb1, omb2, alpha, eps;
} fnn_adam_job;

/* One step on x (m x steps[0].k): forward through every step (dropout step s uses stream
 * streams[s]), the loss (rows_per_weight 1) with its gradient into grad (m x n_out), then
 * the backward pass down to the first step, then adam's update when adam is not NULL.
 * *result: the reduced loss. Returns FNN_OK,
 * FNN_ENOMEM, or FNN_EINVAL with *bad_row set (a label outside [0, n_out); nothing but
 * the forward buffers is written then). */
int fnn_train_step_f32(const fnn_train_step *steps, int nsteps, const float *x, size_t m,
                       const uint64_t *streams, const fnn_loss_spec *loss, const float *t,
                       const int64_t *labels, const float *sw, int red, float *grad,
                       const fnn_adam_job *adam, double *result, int64_t *bad_row);
int fnn_train_step_f64(const fnn_train_step *steps, int nsteps, const double *x, size_t m,
                       const uint64_t *streams, const fnn_loss_spec *loss, const double *t,
                       const int64_t *labels, const double *sw, int red, double *grad,
                       const fnn_adam_job *adam, double *result, int64_t *bad_row);

#endif
