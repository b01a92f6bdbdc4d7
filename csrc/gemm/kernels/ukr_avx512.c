/* gemm/kernels/ukr_avx2.c - AVX-512F micro-kernels (8x32 f32, 8x16 f64), compiled with a
 * per-function target attribute and chosen at run time (cpu.c). */
#include "gemm/gemm.h"
#include "config.h"

#if FNN_X86
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))

#define T float
#define V __m512
#define VL 16
#define MR FNN_AVX512_F32_MR
#define NR FNN_AVX512_F32_NR
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VSET1(x) _mm512_set1_ps(x)
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VADD(a, b) _mm512_add_ps((a), (b))
#define UKR_NAME fnn_ukr_avx512_f32
#define WP FNN_AVX512_WP
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
#define V __m512d
#define VL 8
#define MR FNN_AVX512_F64_MR
#define NR FNN_AVX512_F64_NR
#define VZERO() _mm512_setzero_pd()
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, v) _mm512_storeu_pd((p), (v))
#define VBCAST(p) _mm512_set1_pd(*(p))
#define VSET1(x) _mm512_set1_pd(x)
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VMUL(a, b) _mm512_mul_pd((a), (b))
#define VADD(a, b) _mm512_add_pd((a), (b))
#define UKR_NAME fnn_ukr_avx512_f64
#define WP FNN_AVX512_WP
#include "ukr_tmpl.h"

const fnn_kernel_f32 fnn_kernel_avx512_f32 = {FNN_AVX512_F32_MR, FNN_AVX512_F32_NR, FNN_AVX512_MC,
                                            FNN_AVX512_KC, FNN_AVX512_NC, fnn_ukr_avx512_f32,
                                            FNN_AVX512_WP, fnn_ukr_avx512_f32_wide, NULL,
    fnn_ukr_avx512_f32_sparse, fnn_ukr_avx512_f32_spw, NULL};
const fnn_kernel_f64 fnn_kernel_avx512_f64 = {FNN_AVX512_F64_MR, FNN_AVX512_F64_NR, FNN_AVX512_MC,
                                            FNN_AVX512_KC, FNN_AVX512_NC, fnn_ukr_avx512_f64,
                                            FNN_AVX512_WP, fnn_ukr_avx512_f64_wide, NULL,
    fnn_ukr_avx512_f64_sparse, fnn_ukr_avx512_f64_spw, NULL};
#else
const fnn_kernel_f32 fnn_kernel_avx512_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
const fnn_kernel_f64 fnn_kernel_avx512_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
