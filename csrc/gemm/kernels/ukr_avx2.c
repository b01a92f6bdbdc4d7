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

const fnn_kernel_f32 fnn_kernel_avx2_f32 = {FNN_AVX2_F32_MR, FNN_AVX2_F32_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f32,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f32_wide};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {FNN_AVX2_F64_MR, FNN_AVX2_F64_NR, FNN_AVX2_MC,
                                            FNN_AVX2_KC, FNN_AVX2_NC, fnn_ukr_avx2_f64,
                                            FNN_AVX2_WP, fnn_ukr_avx2_f64_wide};
#else
const fnn_kernel_f32 fnn_kernel_avx2_f32 = {0, 0, 0, 0, 0, 0, 0, 0};
const fnn_kernel_f64 fnn_kernel_avx2_f64 = {0, 0, 0, 0, 0, 0, 0, 0};
#endif
