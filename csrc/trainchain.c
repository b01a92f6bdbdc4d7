/* trainchain.c - see trainchain.h. */
#include "trainchain.h"

#define FNN_DEFINE_TRAIN(T, SFX)                                                              \
  int fnn_train_step_##SFX(const fnn_train_step *steps, int nsteps, const T *x, size_t m,     \
                           const uint64_t *streams, const fnn_loss_spec *loss, const T *t,    \
                           const int64_t *labels, const T *sw, int red, T *grad,              \
                           const fnn_adam_job *adam, double *result, int64_t *bad_row) {      \
    if (nsteps < 1) return FNN_EINVAL;                                                        \
    const T *cur = x;                                                                         \
    int rc;                                                                                   \
    /* packed copies are laid out for a panel width: one made for another kernel is unused */ \
    const int nr_now = fnn_packed_b_nr_##SFX();                                               \
    for (int s = 0; s < nsteps; s++) {                                                        \
      const fnn_train_step *st = &steps[s];                                                   \
      T *y = (T *)st->y;                                                                      \
      if (st->op == FNN_TRAIN_DENSE) {                                                        \
        const T *wp = st->wp && st->wp_use && st->wp_nr == nr_now ? (const T *)st->wp : NULL; \
        int sparse = 0;                                                                       \
        rc = fnn_dense_forward_hint_##SFX(cur, m, st->k, (const T *)st->w, wp, st->n,         \
                                          (const T *)st->bias, st->has_act ? &st->act : NULL, \
                                          (T *)st->z, y, wp && st->wp_finite, &sparse);       \
        if (rc) return rc;                                                                    \
        /* the hint is used; now it asks Adam to check its copy only where it will help */   \
        ((fnn_train_step *)st)->wp_finite = sparse;                                           \
      } else if (st->op == FNN_TRAIN_DROPOUT) {                                               \
        fnn_dropout_forward_##SFX(cur, y, st->mask, m * st->n, (T)st->rate, st->seed,         \
                                  streams[s]);                                                \
      } else {                                                                                \
        return FNN_EINVAL;                                                                    \
      }                                                                                       \
      cur = y;                                                                                \
    }                                                                                         \
    const size_t cols = steps[nsteps - 1].n;                                                  \
    rc = fnn_loss_reduce_##SFX(loss, t, labels, cur, sw, m, cols, 1, red, NULL, grad, result, \
                               bad_row);                                                      \
    if (rc) return rc;                                                                        \
    const T *g = grad;                                                                        \
    for (int s = nsteps - 1; s >= 0; s--) {                                                   \
      const fnn_train_step *st = &steps[s];                                                   \
      const T *in = s ? (const T *)steps[s - 1].y : x;                                        \
      T *dx = st->need_dx ? (T *)st->dx : NULL;                                               \
      if (st->op == FNN_TRAIN_DENSE) {                                                        \
        rc = fnn_dense_backward_##SFX(in, (const T *)st->w, (const T *)st->z,                 \
                                      (const T *)st->y, g, st->has_act ? &st->act : NULL, m,  \
                                      st->k, st->n, (T *)st->dz, (T *)st->dw, (T *)st->db,    \
                                      dx);                                                    \
        if (rc) return rc;                                                                    \
      } else if (dx) {                                                                        \
        fnn_dropout_backward_##SFX(g, st->mask, dx, m * st->n, (T)st->rate);                  \
      }                                                                                       \
      if (!dx) break;                                                                         \
      g = dx;                                                                                 \
    }                                                                                         \
    if (adam)                                                                                 \
      for (int i = 0; i < adam->count; i++) {                                                 \
        const fnn_adam_item *it = &adam->items[i];                                            \
        fnn_adam_update_packed_##SFX(                                                         \
            (T *)it->w, (const T *)it->g, (T *)it->m, (T *)it->v, (T *)it->vhat, it->n,       \
            &adam->common, adam->omb1, adam->omb2, adam->alpha, adam->eps,                    \
            it->wp && it->wp_nr == nr_now ? (T *)it->wp : NULL, it->rows, it->cols, nr_now,   \
            it->wp_finite);                                                                   \
      }                                                                                       \
    return FNN_OK;                                                                            \
  }

FNN_DEFINE_TRAIN(float, f32)
FNN_DEFINE_TRAIN(double, f64)
