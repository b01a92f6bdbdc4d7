/* gemm/kernels/ukr_avx2.c - AVX2 + FMA micro-kernels (6x16 f32, 6x8 f64), compiled with a
 * per-function target attribute and chosen at run time (cpu.c). */
#include "gemm/gemm.h"
#include "config.h"

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

const fnn_kernel_f32 fnn_kernel_avx2_f32 = {FNN_AVX2_F32_MR, FNN_AVX2_F32_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f32,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f32_wide, PACKA_F32};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {FNN_AVX2_F64_MR, FNN_AVX2_F64_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f64,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f64_wide, PACKA_F64};
#else
const fnn_kernel_f32 fnn_kernel_avx2_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
