/* reduce.h - internal: the deterministic blocked reduction shared by fnn_sum and
 * fnn_sum_squares (reduce.c). */
#ifndef FASTNN_REDUCE_H
#define FASTNN_REDUCE_H
#include <stddef.h>

/* The sum over fixed blocks of `block` elements of fn(block), taken in block order: threads
 * may compute blocks in parallel, but the partial results are always combined in the same
 * order, so the result does not depend on the thread count (nor on whether the scratch
 * allocation succeeded). flops_per_elem sizes the thread decision. */
double fnn_blocked_sum_f32(const float *x, size_t n, size_t block,
                           double (*fn)(const float *, size_t), double flops_per_elem);
double fnn_blocked_sum_f64(const double *x, size_t n, size_t block,
                           double (*fn)(const double *, size_t), double flops_per_elem);
#endif
