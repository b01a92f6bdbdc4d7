/* chain.h - the inference forward pass of a stack of layers in one call.
 *
 * A model whose layers are all dense layers, element-wise activations, row softmaxes and
 * shape-only layers (dropout at inference, flatten, reshape) is a chain of steps over
 * (rows x width) matrices. Running the whole chain in C takes the per-layer binding and
 * Python costs out of single-sample prediction. Each step calls the same kernel the layer
 * would call on its own, so the results are the same bits.
 */
#ifndef FASTNN_CHAIN_H
#define FASTNN_CHAIN_H

#include <stddef.h>

enum { FNN_CHAIN_DENSE = 0, FNN_CHAIN_ACT = 1, FNN_CHAIN_SOFTMAX = 2, FNN_CHAIN_LOG_SOFTMAX = 3 };

typedef struct {
  int op;               /* an FNN_CHAIN_* value */
  size_t k, n;          /* row width in and out (equal except for dense) */
  const void *w;        /* dense: the k x n kernel */
  const void *w_packed; /* dense: the kernel packed by fnn_pack_b, or NULL */
  const void *bias;     /* dense: n biases, or NULL */
  int has_act;          /* dense: whether act applies (else linear) */
  fnn_act act;          /* dense epilogue, or the element-wise activation of FNN_CHAIN_ACT */
} fnn_chain_step;

/* out (m x steps[nsteps-1].n) = the chain applied to x (m x steps[0].k). Intermediate
 * results go to a scratch buffer allocated per call, so concurrent calls share nothing
 * but the read-only weights. Returns FNN_OK, FNN_ENOMEM or FNN_EINVAL (nsteps < 1). */
int fnn_chain_forward_f32(const fnn_chain_step *steps, int nsteps, const float *x, size_t m,
                          float *out);
int fnn_chain_forward_f64(const fnn_chain_step *steps, int nsteps, const double *x, size_t m,
                          double *out);

#endif
