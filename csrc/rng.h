/* rng.h - counter-based random numbers (rng.c): Philox-4x32-10.
 * Element i of a stream is a pure function of (seed, stream, i), so results do not depend
 * on the thread count or on how the work is split. Included by fastnn.h. */
#ifndef FASTNN_RNG_H
#define FASTNN_RNG_H

/* One Philox-4x32-10 block: out = philox(counter ctr[4], key key[2]). */
void fnn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The mapping from (seed, stream, i) to numbers, fixed so that results can be reproduced
 * anywhere (tests/kernels/test_rng.py holds a NumPy copy of it):
 *   block(b) = philox4x32_10(ctr = {b lo32, b hi32, stream lo32, stream hi32},
 *                            key = {seed lo32, seed hi32}), four 32-bit words w[0..3].
 *   float:  element i = (block(i / 4).w[i % 4] >> 8) * 2^-24, in [0, 1 - 2^-24].
 *   double: element i uses block(i / 2) and its words a = w[2 (i % 2)], b = w[2 (i % 2) + 1]:
 *           ((a >> 5) * 2^26 + (b >> 6)) * 2^-53, in [0, 1 - 2^-53].
 * Dropout, in both types, keeps element i when the float uniform u_i >= rate, so a mask
 * depends on (seed, stream, rate) and not on the element type or the thread count. */

/* out[i] uniform in [0, 1) for i in [0, n), element i of stream (seed, stream). */
void fnn_uniform_f32(uint64_t seed, uint64_t stream, float *out, size_t n);
void fnn_uniform_f64(uint64_t seed, uint64_t stream, double *out, size_t n);

/* Inverted dropout, as tf.nn.dropout: y = keep ? x * scale : 0 with scale = 1 / (1 - rate)
 * rounded to T, keep when u_i >= rate, u_i the i-th uniform of (seed, stream). mask (may be NULL) receives keep as 0/1. y may be x. */
void fnn_dropout_forward_f32(const float *x, float *y, uint8_t *mask, size_t n, float rate,
                             uint64_t seed, uint64_t stream);
void fnn_dropout_forward_f64(const double *x, double *y, uint8_t *mask, size_t n, double rate,
                             uint64_t seed, uint64_t stream);
/* dx = mask ? dy * scale : 0 (the same scale). dx may be dy. */
void fnn_dropout_backward_f32(const float *dy, const uint8_t *mask, float *dx, size_t n, float rate);
void fnn_dropout_backward_f64(const double *dy, const uint8_t *mask, double *dx, size_t n, double rate);

#endif
