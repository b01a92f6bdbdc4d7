/* gemm/kernels/ukr_avx2.c - AVX2 + FMA micro-kernels (6x16 f32, 6x8 f64), compiled with a
 * per-function target attribute and chosen at run time (cpu.c). */
#include "gemm/gemm.h"
#include "config.h"
#include <stdint.h>

#if FNN_X86
#include <immintrin.h>

#define TGT __attribute__((target("avx2,fma")))

#define T float
#define V __m256
#define VL 8
#define MR FNN_AVX2_F32_MR
#define NR FNN_AVX2_F32_NR
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VSET1(x) _mm256_set1_ps(x)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VNEGZ(x) _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32( \
    _mm256_castps_si256(x), _mm256_set1_epi32(INT32_MIN))))
#define UKR_NAME fnn_ukr_avx2_f32
#define WP FNN_AVX2_WP
#include "ukr_tmpl.h"
#undef T
#undef V
#undef VL
#undef MR
#undef NR
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VBCAST
#undef VSET1
#undef VFMA
#undef VMUL
#undef VADD
#undef VNEGZ
#undef UKR_NAME
#undef WP

#define T double
#define V __m256d
#define VL 4
#define MR FNN_AVX2_F64_MR
#define NR FNN_AVX2_F64_NR
#define VZERO() _mm256_setzero_pd()
#define VLOAD(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_storeu_pd((p), (v))
#define VBCAST(p) _mm256_broadcast_sd(p)
#define VSET1(x) _mm256_set1_pd(x)
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VADD(a, b) _mm256_add_pd((a), (b))
#define VNEGZ(x) _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64( \
    _mm256_castpd_si256(x), _mm256_set1_epi64x(INT64_MIN))))
#define UKR_NAME fnn_ukr_avx2_f64
#define WP FNN_AVX2_WP
#include "ukr_tmpl.h"

/* Packing one full panel of six rows of a row-major A (dst[k * 6 + r] = a[r * lda + k]):
 * the driver's scalar copy cost about 1.6 cycles per element, a fifth of the time of a
 * 10000 x 784 x 128 product; here each block of 8 (4) columns of the six rows is loaded
 * once and transposed in registers. */
/* The columns after the last whole vector, one at a time (rows r0..r5, column k on). */
#define PACKA6_REST()                                                                       \
  for (; k < kc; k++, d += 6) {                                                             \
    d[0] = r0[k];                                                                           \
    d[1] = r1[k];                                                                           \
    d[2] = r2[k];                                                                           \
    d[3] = r3[k];                                                                           \
    d[4] = r4[k];                                                                           \
    d[5] = r5[k];                                                                           \
  }

#if FNN_AVX2_F32_MR == 6
static TGT void packa_avx2_f32(size_t kc, const float *a, size_t lda, float *d) {
  const float *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda, *r4 = a + 4 * lda,
              *r5 = a + 5 * lda;
  size_t k = 0;
  for (; k + 8 <= kc; k += 8, d += 48) {
    const __m256 x0 = _mm256_loadu_ps(r0 + k), x1 = _mm256_loadu_ps(r1 + k);
    const __m256 x2 = _mm256_loadu_ps(r2 + k), x3 = _mm256_loadu_ps(r3 + k);
    const __m256 x4 = _mm256_loadu_ps(r4 + k), x5 = _mm256_loadu_ps(r5 + k);
    /* rows 0-3: (a0 b0 a1 b1 | a4 b4 a5 b5) ... then (a0 b0 c0 d0 | a4 b4 c4 d4) ... */
    const __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);
    const __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    /* rows 4-5: (e0 f0 e1 f1 | e4 f4 e5 f5) and (e2 f2 e3 f3 | e6 f6 e7 f7) */
    const __m256 t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5);
    const __m128 t4l = _mm256_castps256_ps128(t4), t4h = _mm256_extractf128_ps(t4, 1);
    const __m128 t5l = _mm256_castps256_ps128(t5), t5h = _mm256_extractf128_ps(t5, 1);
    _mm_storeu_ps(d + 0, _mm256_castps256_ps128(u0));
    _mm_storel_pi((__m64 *)(d + 4), t4l);
    _mm_storeu_ps(d + 6, _mm256_castps256_ps128(u1));
    _mm_storeh_pi((__m64 *)(d + 10), t4l);
    _mm_storeu_ps(d + 12, _mm256_castps256_ps128(u2));
    _mm_storel_pi((__m64 *)(d + 16), t5l);
    _mm_storeu_ps(d + 18, _mm256_castps256_ps128(u3));
    _mm_storeh_pi((__m64 *)(d + 22), t5l);
    _mm_storeu_ps(d + 24, _mm256_extractf128_ps(u0, 1));
    _mm_storel_pi((__m64 *)(d + 28), t4h);
    _mm_storeu_ps(d + 30, _mm256_extractf128_ps(u1, 1));
    _mm_storeh_pi((__m64 *)(d + 34), t4h);
    _mm_storeu_ps(d + 36, _mm256_extractf128_ps(u2, 1));
    _mm_storel_pi((__m64 *)(d + 40), t5h);
    _mm_storeu_ps(d + 42, _mm256_extractf128_ps(u3, 1));
    _mm_storeh_pi((__m64 *)(d + 46), t5h);
  }
  PACKA6_REST();
}
#define PACKA_F32 packa_avx2_f32
#else
#define PACKA_F32 NULL
#endif

#if FNN_AVX2_F64_MR == 6
static TGT void packa_avx2_f64(size_t kc, const double *a, size_t lda, double *d) {
  const double *r0 = a, *r1 = a + lda, *r2 = a + 2 * lda, *r3 = a + 3 * lda,
               *r4 = a + 4 * lda, *r5 = a + 5 * lda;
  size_t k = 0;
  for (; k + 4 <= kc; k += 4, d += 24) {
    const __m256d x0 = _mm256_loadu_pd(r0 + k), x1 = _mm256_loadu_pd(r1 + k);
    const __m256d x2 = _mm256_loadu_pd(r2 + k), x3 = _mm256_loadu_pd(r3 + k);
    const __m256d x4 = _mm256_loadu_pd(r4 + k), x5 = _mm256_loadu_pd(r5 + k);
    /* rows 0-3: (a0 b0 | a2 b2), (a1 b1 | a3 b3), ... then whole columns */
    const __m256d t0 = _mm256_unpacklo_pd(x0, x1), t1 = _mm256_unpackhi_pd(x0, x1);
    const __m256d t2 = _mm256_unpacklo_pd(x2, x3), t3 = _mm256_unpackhi_pd(x2, x3);
    /* rows 4-5: (e0 f0 | e2 f2) and (e1 f1 | e3 f3) */
    const __m256d t4 = _mm256_unpacklo_pd(x4, x5), t5 = _mm256_unpackhi_pd(x4, x5);
    _mm256_storeu_pd(d + 0, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm_storeu_pd(d + 4, _mm256_castpd256_pd128(t4));
    _mm256_storeu_pd(d + 6, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm_storeu_pd(d + 10, _mm256_castpd256_pd128(t5));
    _mm256_storeu_pd(d + 12, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm_storeu_pd(d + 16, _mm256_extractf128_pd(t4, 1));
    _mm256_storeu_pd(d + 18, _mm256_permute2f128_pd(t1, t3, 0x31));
    _mm_storeu_pd(d + 22, _mm256_extractf128_pd(t5, 1));
  }
  PACKA6_REST();
}
#define PACKA_F64 packa_avx2_f64
#else
#define PACKA_F64 NULL
#endif

/* The nonzero lister (gemm.h, fnn_spl_f32_t): eight values at a time, the set lanes of
 * their "not zero" mask moved to the front by a permutation from this table (lane numbers,
 * one per byte, in order) and stored with their indices; the count moves on by the mask's
 * population. NaN counts as not zero. */
static const uint64_t spl_perm[256] = {
    0x0000000000000000ull, 0x0000000000000000ull, 0x0000000000000001ull, 0x0000000000000100ull,
    0x0000000000000002ull, 0x0000000000000200ull, 0x0000000000000201ull, 0x0000000000020100ull,
    0x0000000000000003ull, 0x0000000000000300ull, 0x0000000000000301ull, 0x0000000000030100ull,
    0x0000000000000302ull, 0x0000000000030200ull, 0x0000000000030201ull, 0x0000000003020100ull,
    0x0000000000000004ull, 0x0000000000000400ull, 0x0000000000000401ull, 0x0000000000040100ull,
    0x0000000000000402ull, 0x0000000000040200ull, 0x0000000000040201ull, 0x0000000004020100ull,
    0x0000000000000403ull, 0x0000000000040300ull, 0x0000000000040301ull, 0x0000000004030100ull,
    0x0000000000040302ull, 0x0000000004030200ull, 0x0000000004030201ull, 0x0000000403020100ull,
    0x0000000000000005ull, 0x0000000000000500ull, 0x0000000000000501ull, 0x0000000000050100ull,
    0x0000000000000502ull, 0x0000000000050200ull, 0x0000000000050201ull, 0x0000000005020100ull,
    0x0000000000000503ull, 0x0000000000050300ull, 0x0000000000050301ull, 0x0000000005030100ull,
    0x0000000000050302ull, 0x0000000005030200ull, 0x0000000005030201ull, 0x0000000503020100ull,
    0x0000000000000504ull, 0x0000000000050400ull, 0x0000000000050401ull, 0x0000000005040100ull,
    0x0000000000050402ull, 0x0000000005040200ull, 0x0000000005040201ull, 0x0000000504020100ull,
    0x0000000000050403ull, 0x0000000005040300ull, 0x0000000005040301ull, 0x0000000504030100ull,
    0x0000000005040302ull, 0x0000000504030200ull, 0x0000000504030201ull, 0x0000050403020100ull,
    0x0000000000000006ull, 0x0000000000000600ull, 0x0000000000000601ull, 0x0000000000060100ull,
    0x0000000000000602ull, 0x0000000000060200ull, 0x0000000000060201ull, 0x0000000006020100ull,
    0x0000000000000603ull, 0x0000000000060300ull, 0x0000000000060301ull, 0x0000000006030100ull,
    0x0000000000060302ull, 0x0000000006030200ull, 0x0000000006030201ull, 0x0000000603020100ull,
    0x0000000000000604ull, 0x0000000000060400ull, 0x0000000000060401ull, 0x0000000006040100ull,
    0x0000000000060402ull, 0x0000000006040200ull, 0x0000000006040201ull, 0x0000000604020100ull,
    0x0000000000060403ull, 0x0000000006040300ull, 0x0000000006040301ull, 0x0000000604030100ull,
    0x0000000006040302ull, 0x0000000604030200ull, 0x0000000604030201ull, 0x0000060403020100ull,
    0x0000000000000605ull, 0x0000000000060500ull, 0x0000000000060501ull, 0x0000000006050100ull,
    0x0000000000060502ull, 0x0000000006050200ull, 0x0000000006050201ull, 0x0000000605020100ull,
    0x0000000000060503ull, 0x0000000006050300ull, 0x0000000006050301ull, 0x0000000605030100ull,
    0x0000000006050302ull, 0x0000000605030200ull, 0x0000000605030201ull, 0x0000060503020100ull,
    0x0000000000060504ull, 0x0000000006050400ull, 0x0000000006050401ull, 0x0000000605040100ull,
    0x0000000006050402ull, 0x0000000605040200ull, 0x0000000605040201ull, 0x0000060504020100ull,
    0x0000000006050403ull, 0x0000000605040300ull, 0x0000000605040301ull, 0x0000060504030100ull,
    0x0000000605040302ull, 0x0000060504030200ull, 0x0000060504030201ull, 0x0006050403020100ull,
    0x0000000000000007ull, 0x0000000000000700ull, 0x0000000000000701ull, 0x0000000000070100ull,
    0x0000000000000702ull, 0x0000000000070200ull, 0x0000000000070201ull, 0x0000000007020100ull,
    0x0000000000000703ull, 0x0000000000070300ull, 0x0000000000070301ull, 0x0000000007030100ull,
    0x0000000000070302ull, 0x0000000007030200ull, 0x0000000007030201ull, 0x0000000703020100ull,
    0x0000000000000704ull, 0x0000000000070400ull, 0x0000000000070401ull, 0x0000000007040100ull,
    0x0000000000070402ull, 0x0000000007040200ull, 0x0000000007040201ull, 0x0000000704020100ull,
    0x0000000000070403ull, 0x0000000007040300ull, 0x0000000007040301ull, 0x0000000704030100ull,
    0x0000000007040302ull, 0x0000000704030200ull, 0x0000000704030201ull, 0x0000070403020100ull,
    0x0000000000000705ull, 0x0000000000070500ull, 0x0000000000070501ull, 0x0000000007050100ull,
    0x0000000000070502ull, 0x0000000007050200ull, 0x0000000007050201ull, 0x0000000705020100ull,
    0x0000000000070503ull, 0x0000000007050300ull, 0x0000000007050301ull, 0x0000000705030100ull,
    0x0000000007050302ull, 0x0000000705030200ull, 0x0000000705030201ull, 0x0000070503020100ull,
    0x0000000000070504ull, 0x0000000007050400ull, 0x0000000007050401ull, 0x0000000705040100ull,
    0x0000000007050402ull, 0x0000000705040200ull, 0x0000000705040201ull, 0x0000070504020100ull,
    0x0000000007050403ull, 0x0000000705040300ull, 0x0000000705040301ull, 0x0000070504030100ull,
    0x0000000705040302ull, 0x0000070504030200ull, 0x0000070504030201ull, 0x0007050403020100ull,
    0x0000000000000706ull, 0x0000000000070600ull, 0x0000000000070601ull, 0x0000000007060100ull,
    0x0000000000070602ull, 0x0000000007060200ull, 0x0000000007060201ull, 0x0000000706020100ull,
    0x0000000000070603ull, 0x0000000007060300ull, 0x0000000007060301ull, 0x0000000706030100ull,
    0x0000000007060302ull, 0x0000000706030200ull, 0x0000000706030201ull, 0x0000070603020100ull,
    0x0000000000070604ull, 0x0000000007060400ull, 0x0000000007060401ull, 0x0000000706040100ull,
    0x0000000007060402ull, 0x0000000706040200ull, 0x0000000706040201ull, 0x0000070604020100ull,
    0x0000000007060403ull, 0x0000000706040300ull, 0x0000000706040301ull, 0x0000070604030100ull,
    0x0000000706040302ull, 0x0000070604030200ull, 0x0000070604030201ull, 0x0007060403020100ull,
    0x0000000000070605ull, 0x0000000007060500ull, 0x0000000007060501ull, 0x0000000706050100ull,
    0x0000000007060502ull, 0x0000000706050200ull, 0x0000000706050201ull, 0x0000070605020100ull,
    0x0000000007060503ull, 0x0000000706050300ull, 0x0000000706050301ull, 0x0000070605030100ull,
    0x0000000706050302ull, 0x0000070605030200ull, 0x0000070605030201ull, 0x0007060503020100ull,
    0x0000000007060504ull, 0x0000000706050400ull, 0x0000000706050401ull, 0x0000070605040100ull,
    0x0000000706050402ull, 0x0000070605040200ull, 0x0000070605040201ull, 0x0007060504020100ull,
    0x0000000706050403ull, 0x0000070605040300ull, 0x0000070605040301ull, 0x0007060504030100ull,
    0x0000070605040302ull, 0x0007060504030200ull, 0x0007060504030201ull, 0x0706050403020100ull,
};

static TGT size_t spl_avx2_f32(const float *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                               float *val, uint32_t *pos) {
  size_t cnt = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (size_t s = 0; s < ns; s++) {
    pos[s] = (uint32_t)cnt;
    size_t kk = bnd[s];
    const size_t end = bnd[s + 1];
    for (; kk + 8 <= end; kk += 8) {
      const __m256 v = _mm256_loadu_ps(x + kk);
      const unsigned msk = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
      const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)spl_perm[msk]));
      _mm256_storeu_ps(val + cnt, _mm256_permutevar8x32_ps(v, perm));
      _mm256_storeu_si256((__m256i *)(idx + cnt),
                          _mm256_add_epi32(_mm256_set1_epi32((int)kk), perm));
      cnt += (size_t)__builtin_popcount(msk);
    }
    for (; kk < end; kk++) {
      const float a = x[kk];
      idx[cnt] = (uint32_t)kk;
      val[cnt] = a;
      cnt += a != 0.0f;
    }
  }
  pos[ns] = (uint32_t)cnt;
  return cnt;
}

const fnn_kernel_f32 fnn_kernel_avx2_f32 = {FNN_AVX2_F32_MR, FNN_AVX2_F32_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f32,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f32_wide, PACKA_F32,
    fnn_ukr_avx2_f32_sparse, fnn_ukr_avx2_f32_spw, spl_avx2_f32};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {FNN_AVX2_F64_MR, FNN_AVX2_F64_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f64,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f64_wide, PACKA_F64,
    fnn_ukr_avx2_f64_sparse, fnn_ukr_avx2_f64_spw, NULL};
#else
const fnn_kernel_f32 fnn_kernel_avx2_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
