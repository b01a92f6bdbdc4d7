/* rng.c - Philox-4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
 * easy as 1, 2, 3", SC 2011), uniforms and inverted dropout built on it.
 *
 * A counter-based generator has no state to carry from one element to the next: element
 * i is computed from (seed, stream, i) alone. Threads can therefore split the elements in
 * any way and the output stays bit-identical (contract 2). The exact mapping from
 * (seed, stream, i) to numbers is documented in rng.h.
 */
#include <string.h>
#include "fastnn.h"
#include "par.h"

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

/* Eight consecutive blocks at once, in element order (out[4 l + r] is word r of block
 * b0 + l, b0 a multiple of 8): the same arithmetic as philox_block. Philox's rounds form one long
 * dependency chain per block, so a block at a time waits on multiply latency; eight
 * independent blocks fill the pipeline, and with AVX2 they run in the lanes of a vector. */
#define FNN_PHILOX_LANES 8
typedef void (*philox_lanes_fn)(uint64_t seed, uint64_t stream, uint64_t b0,
                                uint32_t out[4 * FNN_PHILOX_LANES]);

static void philox_lanes_portable(uint64_t seed, uint64_t stream, uint64_t b0,
                                  uint32_t out[4 * FNN_PHILOX_LANES]) {
  uint32_t c0[FNN_PHILOX_LANES], c1[FNN_PHILOX_LANES], c2[FNN_PHILOX_LANES],
      c3[FNN_PHILOX_LANES];
  for (int l = 0; l < FNN_PHILOX_LANES; l++) {
    const uint64_t b = b0 + (uint64_t)l;
    c0[l] = (uint32_t)b;
    c1[l] = (uint32_t)(b >> 32);
    c2[l] = (uint32_t)stream;
    c3[l] = (uint32_t)(stream >> 32);
  }
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    if (r) {
      k0 += PHILOX_W0;
      k1 += PHILOX_W1;
    }
    for (int l = 0; l < FNN_PHILOX_LANES; l++) {
      const uint64_t p0 = (uint64_t)PHILOX_M0 * c0[l];
      const uint64_t p1 = (uint64_t)PHILOX_M1 * c2[l];
      const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
      const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = (uint32_t)p1;
      c2[l] = n2;
      c3[l] = (uint32_t)p0;
    }
  }
  for (int l = 0; l < FNN_PHILOX_LANES; l++) {
    out[4 * l] = c0[l];
    out[4 * l + 1] = c1[l];
    out[4 * l + 2] = c2[l];
    out[4 * l + 3] = c3[l];
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FNN_HAVE_PHILOX_AVX2 1
/* Low and high 32-bit halves of the eight products a_l * m (m a constant in both halves
 * of every 64-bit lane). */
__attribute__((target("avx2"))) static inline void mul_lanes(__m256i a, __m256i m, __m256i *lo,
                                                            __m256i *hi) {
  const __m256i even = _mm256_mul_epu32(a, m);                        /* lanes 0, 2, ... */
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  /* lanes 1, 3, ... */
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

/* One group of eight blocks in vector lanes, c[0..3] the four counter words: its start
 * (blocks b .. b + 7, b a multiple of 8, so b + l never carries out of the low word), one
 * round, and the 4 x 8 words transposed into element order (out[4 l + r] = word r of
 * block b + l). */
__attribute__((target("avx2"))) static inline void philox8_start(uint64_t b, uint64_t stream,
                                                                 __m256i c[4]) {
  c[0] = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)b),
                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  c[1] = _mm256_set1_epi32((int)(uint32_t)(b >> 32));
  c[2] = _mm256_set1_epi32((int)(uint32_t)stream);
  c[3] = _mm256_set1_epi32((int)(uint32_t)(stream >> 32));
}

__attribute__((target("avx2"))) static inline void philox8_round(__m256i c[4], __m256i m0,
                                                                 __m256i m1, __m256i k0,
                                                                 __m256i k1) {
  __m256i lo0, hi0, lo1, hi1;
  mul_lanes(c[0], m0, &lo0, &hi0);
  mul_lanes(c[2], m1, &lo1, &hi1);
  c[0] = _mm256_xor_si256(_mm256_xor_si256(hi1, c[1]), k0);
  c[2] = _mm256_xor_si256(_mm256_xor_si256(hi0, c[3]), k1);
  c[1] = lo1;
  c[3] = lo0;
}

__attribute__((target("avx2"))) static inline void philox8_store(const __m256i c[4],
                                                                 uint32_t *out) {
  const __m256i t0 = _mm256_unpacklo_epi32(c[0], c[1]), t1 = _mm256_unpackhi_epi32(c[0], c[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(c[2], c[3]), t3 = _mm256_unpackhi_epi32(c[2], c[3]);
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(u0, u1, 0x20));
  _mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
  _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
  _mm256_storeu_si256((__m256i *)(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
}

/* G groups at once (blocks b0 .. b0 + 8 G - 1, b0 a multiple of 8): a round waits on its
 * multiplies, so one group keeps the multiplier idle most of the time, and several
 * independent ones keep it busy. */
#define PHILOX_GROUPS_AVX2(G)                                                                \
  do {                                                                                      \
    __m256i c[G][4];                                                                        \
    for (int q = 0; q < G; q++) philox8_start(b0 + 8 * (uint64_t)q, stream, c[q]);          \
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0), m1 = _mm256_set1_epi64x(PHILOX_M1);  \
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);                              \
    for (int r = 0; r < 10; r++) {                                                          \
      if (r) {                                                                              \
        k0 += PHILOX_W0;                                                                    \
        k1 += PHILOX_W1;                                                                    \
      }                                                                                     \
      const __m256i kk0 = _mm256_set1_epi32((int)k0), kk1 = _mm256_set1_epi32((int)k1);    \
      for (int q = 0; q < G; q++) philox8_round(c[q], m0, m1, kk0, kk1);                    \
    }                                                                                       \
    for (int q = 0; q < G; q++) philox8_store(c[q], out + 32 * q);                          \
  } while (0)

__attribute__((target("avx2"))) static void philox_lanes_avx2(
    uint64_t seed, uint64_t stream, uint64_t b0, uint32_t out[4 * FNN_PHILOX_LANES]) {
  PHILOX_GROUPS_AVX2(1);
}

/* Four groups (out[32 q + 4 l + r] is word r of block b0 + 8 q + l). */
__attribute__((target("avx2"))) static void philox_lanes4_avx2(
    uint64_t seed, uint64_t stream, uint64_t b0, uint32_t out[16 * FNN_PHILOX_LANES]) {
  PHILOX_GROUPS_AVX2(4);
}
#endif

/* The AVX2 lanes unless the CPU lacks AVX2 or the portable kernels were chosen
 * (fnn_set_kernel), so that tests run both; both give the same words. */
static philox_lanes_fn philox_lanes_pick(void) {
#ifdef FNN_HAVE_PHILOX_AVX2
  if (__builtin_cpu_supports("avx2") && strcmp(fnn_kernel_name(), "portable") != 0)
    return philox_lanes_avx2;
#endif
  return philox_lanes_portable;
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

/* The scale is computed in double and rounded to T once, as tf.nn.dropout does
 * (x * (1 / (1 - rate)) with the scale converted to x's type). Elements are taken in
 * groups of FNN_PHILOX_LANES blocks; the mask of element i still depends on i alone. */
/* v where k is 1, +0.0 where k is 0, without a branch (masks are random, so a branch
 * mispredicts on every few elements) and without multiplying (inf * 0 would be NaN). */
static inline float keep_f32(float v, uint32_t k) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits &= (uint32_t)0 - k;
  memcpy(&v, &bits, sizeof v);
  return v;
}
static inline double keep_f64(double v, uint32_t k) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits &= (uint64_t)0 - (uint64_t)k;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* One group of 4 * FNN_PHILOX_LANES float32 elements (w in element order, as the lanes
 * functions give them): y = keep ? x * scale : +0.0 and mask = keep, eight at a time, the
 * scalar loop's bits. keep is (w >> 8) >= thr, with w >> 8 < 2^24 and thr <= 2^24, so a
 * signed compare with thr - 1 decides it. The masks of four vectors are narrowed to bytes
 * by two saturating packs, whose lane interleave one permutation of 4-byte groups undoes. */
typedef void (*dropout_apply_f32_fn)(const uint32_t *w, const float *x, float *y,
                                     uint8_t *mask, uint32_t thr, float scale);
#ifdef FNN_HAVE_PHILOX_AVX2
__attribute__((target("avx2"))) static void dropout_apply_avx2_f32(
    const uint32_t *w, const float *x, float *y, uint8_t *mask, uint32_t thr, float scale) {
  const __m256i lim = _mm256_set1_epi32((int)thr - 1);
  const __m256 sc = _mm256_set1_ps(scale);
  __m256i k[4];
  for (int q = 0; q < 4; q++) {
    const __m256i v = _mm256_srli_epi32(_mm256_loadu_si256((const __m256i *)(w + 8 * q)), 8);
    k[q] = _mm256_cmpgt_epi32(v, lim);
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * q), sc);
    _mm256_storeu_ps(y + 8 * q, _mm256_and_ps(p, _mm256_castsi256_ps(k[q])));
  }
  if (mask) {
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(k[0], k[1]),
                                         _mm256_packs_epi32(k[2], k[3]));
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)mask, _mm256_and_si256(ordered, _mm256_set1_epi8(1)));
  }
}
#endif

/* The four-group lanes go with the AVX2 apply (dropout_apply_pick_f32 returns it only
 * with the AVX2 lanes). */
typedef void (*philox_lanes4_fn)(uint64_t seed, uint64_t stream, uint64_t b0,
                                 uint32_t out[16 * FNN_PHILOX_LANES]);
static philox_lanes4_fn philox_lanes4_pick(void) {
#ifdef FNN_HAVE_PHILOX_AVX2
  return philox_lanes4_avx2;
#else
  return NULL;
#endif
}

static dropout_apply_f32_fn dropout_apply_pick_f32(philox_lanes_fn lanes) {
#ifdef FNN_HAVE_PHILOX_AVX2
  if (lanes == philox_lanes_avx2) return dropout_apply_avx2_f32;
#endif
  (void)lanes;
  return NULL;
}

#define FNN_DEFINE_DROPOUT(T, SFX)                                                          \
  typedef struct {                                                                        \
    const T *x;                                                                           \
    T *y;                                                                                 \
    uint8_t *mask;                                                                        \
    size_t n;                                                                             \
    uint32_t thr;                                                                         \
    T scale;                                                                              \
    uint64_t seed, stream;                                                                \
    philox_lanes_fn lanes;                                                                \
    dropout_apply_f32_fn apply; /* float32 full groups, or NULL */                        \
  } dropout_job_##SFX;                                                                    \
                                                                                          \
  /* One part's share of the groups of FNN_PHILOX_LANES blocks. */                        \
  static void dropout_share_##SFX(void *ctx, int tid, int nt) {                           \
    const dropout_job_##SFX *j = (const dropout_job_##SFX *)ctx;                          \
    const size_t per = 4 * FNN_PHILOX_LANES; /* elements per group */                     \
    size_t g0, g1;                                                                        \
    fnn_share((j->n + per - 1) / per, tid, nt, &g0, &g1);                                 \
    const uint32_t thr = j->thr;                                                          \
    const T scale = j->scale;                                                             \
    size_t g = g0;                                                                        \
    if (j->apply) /* four whole groups at a time */                                       \
      for (; g + 4 <= g1 && (g + 4) * per <= j->n; g += 4) {                              \
        uint32_t w4[16 * FNN_PHILOX_LANES];                                               \
        philox_lanes4_pick()(j->seed, j->stream, (uint64_t)g * FNN_PHILOX_LANES, w4);     \
        for (size_t q = 0; q < 4; q++) {                                                  \
          const size_t i0 = (g + q) * per;                                                \
          j->apply(w4 + q * per, (const float *)(j->x + i0), (float *)(j->y + i0),        \
                   j->mask ? j->mask + i0 : NULL, thr, (float)scale);                     \
        }                                                                                 \
      }                                                                                   \
    for (; g < g1; g++) {                                                                 \
      uint32_t w[4 * FNN_PHILOX_LANES];                                                   \
      j->lanes(j->seed, j->stream, (uint64_t)g * FNN_PHILOX_LANES, w);                    \
      const size_t i0 = g * per;                                                          \
      const size_t cnt = j->n - i0 < per ? j->n - i0 : per;                               \
      const T *xg = j->x + i0;                                                            \
      T *yg = j->y + i0;                                                                  \
      if (j->apply && cnt == per) {                                                       \
        j->apply(w, (const float *)xg, (float *)yg, j->mask ? j->mask + i0 : NULL, thr,   \
                 (float)scale);                                                           \
      } else if (j->mask) {                                                               \
        uint8_t *mg = j->mask + i0;                                                       \
        for (size_t e = 0; e < cnt; e++) {                                                \
          const uint32_t k = (w[e] >> 8) >= thr;                                          \
          yg[e] = keep_##SFX(xg[e] * scale, k);                                           \
          mg[e] = (uint8_t)k;                                                             \
        }                                                                                 \
      } else {                                                                            \
        for (size_t e = 0; e < cnt; e++)                                                  \
          yg[e] = keep_##SFX(xg[e] * scale, (w[e] >> 8) >= thr);                          \
      }                                                                                   \
    }                                                                                     \
  }                                                                                       \
                                                                                          \
  /* On fastnn's worker threads (cheap to start while they spin), so the thread count is \
   * the pool's rule (fnn_team_threads_for): 256 x 128 values go on two threads, 32 x 128 \
   * stay on one. */                                                                      \
  void fnn_dropout_forward_##SFX(const T *x, T *y, uint8_t *mask, size_t n, T rate,       \
                                 uint64_t seed, uint64_t stream) {                        \
    dropout_job_##SFX job = {x, y, mask, n, keep_threshold((double)rate),                 \
                             (T)(1.0 / (1.0 - (double)rate)), seed, stream,               \
                             philox_lanes_pick(), NULL};                                  \
    if (sizeof(T) == sizeof(float)) job.apply = dropout_apply_pick_f32(job.lanes);        \
    const int nt = fnn_team_threads_for(FNN_RNG_FLOPS_PER_ELEM * (double)n);              \
    if (nt > 1)                                                                           \
      fnn_team_run(nt, dropout_share_##SFX, &job);                                        \
    else                                                                                  \
      dropout_share_##SFX(&job, 0, 1);                                                    \
  }                                                                                       \
  void fnn_dropout_backward_##SFX(const T *dy, const uint8_t *mask, T *dx, size_t n,      \
                                  T rate) {                                               \
    const T scale = (T)(1.0 / (1.0 - (double)rate));                                      \
    const int nt = fnn_threads_for((double)n);                                            \
    FNN_FOR_NT(size_t, i, n, dx[i] = keep_##SFX(dy[i] * scale, mask[i] != 0););            \
  }

FNN_DEFINE_DROPOUT(float, f32)
FNN_DEFINE_DROPOUT(double, f64)
