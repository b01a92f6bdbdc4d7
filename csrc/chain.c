/* chain.c - see chain.h. */
#include <stdlib.h>
#include <string.h>
#include "fastnn.h"
#include "chain.h"

/* Scratch up to this many bytes lives on the stack (one sample through a few hundred
 * units); larger batches take it from malloc. */
#define FNN_CHAIN_STACK_BYTES 16384

#define FNN_DEFINE_CHAIN(T, SFX)                                                             \
  int fnn_chain_forward_##SFX(const fnn_chain_step *steps, int nsteps, const T *x, size_t m, \
                              T *out) {                                                      \
    if (nsteps < 1) return FNN_EINVAL;                                                       \
    size_t widest = 0;                                                                       \
    for (int s = 0; s + 1 < nsteps; s++)                                                     \
      if (steps[s].n > widest) widest = steps[s].n;                                          \
    const size_t half = m * widest;                                                          \
    T stack_buf[FNN_CHAIN_STACK_BYTES / sizeof(T)];                                          \
    T *heap = NULL, *buf = stack_buf;                                                        \
    if (nsteps > 1 && 2 * half * sizeof(T) > sizeof(stack_buf)) {                            \
      heap = (T *)malloc(2 * half * sizeof(T));                                              \
      if (!heap) return FNN_ENOMEM;                                                          \
      buf = heap;                                                                            \
    }                                                                                        \
    const T *cur = x;                                                                        \
    int rc = FNN_OK;                                                                         \
    for (int s = 0; s < nsteps && rc == FNN_OK; s++) {                                       \
      const fnn_chain_step *st = &steps[s];                                                  \
      T *dst = s + 1 == nsteps ? out : buf + (size_t)(s % 2) * half;                         \
      switch (st->op) {                                                                      \
        case FNN_CHAIN_DENSE:                                                                \
          rc = fnn_dense_forward_##SFX(cur, m, st->k, (const T *)st->w,                      \
                                       (const T *)st->w_packed, st->n, (const T *)st->bias,  \
                                       st->has_act ? &st->act : NULL, NULL, dst);            \
          break;                                                                             \
        case FNN_CHAIN_ACT:                                                                  \
          fnn_act_forward_##SFX(&st->act, cur, dst, m * st->n);                              \
          break;                                                                             \
        case FNN_CHAIN_SOFTMAX:                                                              \
          fnn_softmax_##SFX(cur, dst, m, st->n);                                             \
          break;                                                                             \
        case FNN_CHAIN_LOG_SOFTMAX:                                                          \
          fnn_log_softmax_##SFX(cur, dst, m, st->n);                                         \
          break;                                                                             \
        default:                                                                             \
          rc = FNN_EINVAL;                                                                   \
      }                                                                                      \
      cur = dst;                                                                             \
    }                                                                                        \
    free(heap);                                                                              \
    return rc;                                                                               \
  }

FNN_DEFINE_CHAIN(float, f32)
FNN_DEFINE_CHAIN(double, f64)
