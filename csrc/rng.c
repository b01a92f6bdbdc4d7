/* rng.c - Philox-4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
 * easy as 1, 2, 3", SC 2011), uniforms and inverted dropout built on it.
 *
 * A counter-based generator has no state to carry from one element to the next: element
 * i is computed from (seed, stream, i) alone. Threads can therefore split the elements in
 * any way and the output stays bit-identical (contract 2). The exact mapping from
 * (seed, stream, i) to numbers is documented in rng.h.
 */
#include "fastnn.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

/* Element-wise cost of a block of four words, for fnn_threads_for. */
#define FNN_RNG_FLOPS_PER_ELEM 16.0

static inline void philox_round(uint32_t c[4], uint32_t k0, uint32_t k1) {
  const uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
  const uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
  const uint32_t c1 = c[1], c3 = c[3];
  c[0] = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
  c[1] = (uint32_t)p1;
  c[2] = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
  c[3] = (uint32_t)p0;
}

static inline void philox10(uint32_t c[4], uint32_t k0, uint32_t k1) {
  philox_round(c, k0, k1);
  for (int r = 1; r < 10; r++) {
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
    philox_round(c, k0, k1);
  }
}

void fnn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
  philox10(c, key[0], key[1]);
  for (int i = 0; i < 4; i++) out[i] = c[i];
}

/* Block b of stream (seed, stream): counter (b, stream), key seed, as 32-bit halves. */
static inline void philox_block(uint64_t seed, uint64_t stream, uint64_t b, uint32_t w[4]) {
  w[0] = (uint32_t)b;
  w[1] = (uint32_t)(b >> 32);
  w[2] = (uint32_t)stream;
  w[3] = (uint32_t)(stream >> 32);
  philox10(w, (uint32_t)seed, (uint32_t)(seed >> 32));
}

void fnn_uniform_f32(uint64_t seed, uint64_t stream, float *out, size_t n) {
  const size_t nb = (n + 3) / 4;
  const int nt = fnn_threads_for(FNN_RNG_FLOPS_PER_ELEM * (double)n);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t b = 0; b < nb; b++) {
    uint32_t w[4];
    philox_block(seed, stream, (uint64_t)b, w);
    const size_t i0 = 4 * b, m = n - i0 < 4 ? n - i0 : 4;
    for (size_t r = 0; r < m; r++) out[i0 + r] = (float)(w[r] >> 8) * 0x1p-24f;
  }
}

void fnn_uniform_f64(uint64_t seed, uint64_t stream, double *out, size_t n) {
  const size_t nb = (n + 1) / 2;
  const int nt = fnn_threads_for(2.0 * FNN_RNG_FLOPS_PER_ELEM * (double)n);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t b = 0; b < nb; b++) {
    uint32_t w[4];
    philox_block(seed, stream, (uint64_t)b, w);
    const size_t i0 = 2 * b, m = n - i0 < 2 ? n - i0 : 2;
    for (size_t r = 0; r < m; r++) {
      const uint64_t hi = w[2 * r] >> 5, lo = w[2 * r + 1] >> 6; /* 27 + 26 = 53 bits */
      out[i0 + r] = (double)((hi << 26) | lo) * 0x1p-53;
    }
  }
}

/* keep_i <=> (w_i >> 8) * 2^-24 >= rate <=> (w_i >> 8) >= ceil(rate * 2^24); the product
 * is exact in double, so the mask is the one fnn_uniform_f32 implies, for both types. */
static inline uint32_t keep_threshold(double rate) {
  double t = rate * 16777216.0;
  uint32_t ti = (uint32_t)t;
  return (double)ti < t ? ti + 1 : ti;
}

#define FNN_DEFINE_DROPOUT(T, SFX)                                                          \
  void fnn_dropout_forward_##SFX(const T *x, T *y, uint8_t *mask, size_t n, T rate,       \
                                 uint64_t seed, uint64_t stream) {                        \
    const uint32_t thr = keep_threshold((double)rate);                                    \
    const T keep = (T)1 - rate;                                                           \
    const size_t nb = (n + 3) / 4;                                                        \
    const int nt = fnn_threads_for(FNN_RNG_FLOPS_PER_ELEM * (double)n);                   \
    _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")              \
    for (size_t b = 0; b < nb; b++) {                                                     \
      uint32_t w[4];                                                                      \
      philox_block(seed, stream, (uint64_t)b, w);                                         \
      const size_t i0 = 4 * b, m = n - i0 < 4 ? n - i0 : 4;                              \
      for (size_t r = 0; r < m; r++) {                                                    \
        const int k = (w[r] >> 8) >= thr;                                                 \
        y[i0 + r] = k ? x[i0 + r] / keep : (T)0;                                          \
        if (mask) mask[i0 + r] = (uint8_t)k;                                              \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
  void fnn_dropout_backward_##SFX(const T *dy, const uint8_t *mask, T *dx, size_t n,      \
                                  T rate) {                                               \
    const T keep = (T)1 - rate;                                                           \
    const int nt = fnn_threads_for((double)n);                                            \
    _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")              \
    for (size_t i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] / keep : (T)0;                 \
  }

FNN_DEFINE_DROPOUT(float, f32)
FNN_DEFINE_DROPOUT(double, f64)
