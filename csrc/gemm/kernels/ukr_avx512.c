/* gemm/kernels/ukr_avx2.c - AVX-512F micro-kernels (8x32 f32, 8x16 f64), compiled with a
 * per-function target attribute and chosen at run time (cpu.c). */
#include "gemm/gemm.h"
#include "config.h"
#include <stdint.h>

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
#define VNEGZ(x) ((int)_mm512_cmpeq_epi32_mask(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)))
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
#undef VNEGZ
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
#define VNEGZ(x) ((int)_mm512_cmpeq_epi64_mask(_mm512_castpd_si512(x), _mm512_set1_epi64(INT64_MIN)))
#define UKR_NAME fnn_ukr_avx512_f64
#define WP FNN_AVX512_WP
#include "ukr_tmpl.h"

/* The listers (gemm.h, fnn_spl_*): sixteen floats (eight doubles) at a time, the nonzero
 * ones and their indices packed to the front of a register by vcompress, then stored whole;
 * a store may write past the count, never past what the segment's values could fill. The
 * last few values of a segment go through a masked load and a masked store. NaN is kept
 * (it is not equal to zero); -0 is dropped, as the scalar lister does. */
static TGT size_t spl_avx512_f32(const float *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                                 float *val, uint32_t *pos) {
  size_t cnt = 0;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  for (size_t s = 0; s < ns; s++) {
    pos[s] = (uint32_t)cnt;
    size_t kk = bnd[s];
    const size_t end = bnd[s + 1];
    for (; kk + 16 <= end; kk += 16) {
      const __m512 v = _mm512_loadu_ps(x + kk);
      const __mmask16 m = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
      const __m512i ix = _mm512_add_epi32(_mm512_set1_epi32((int)kk), iota);
      _mm512_storeu_ps(val + cnt, _mm512_maskz_compress_ps(m, v));
      _mm512_storeu_si512((void *)(idx + cnt), _mm512_maskz_compress_epi32(m, ix));
      cnt += (size_t)__builtin_popcount((unsigned)m);
    }
    if (kk < end) {
      const __mmask16 live = (__mmask16)((1u << (end - kk)) - 1u);
      const __m512 v = _mm512_maskz_loadu_ps(live, x + kk);
      const __mmask16 m = _mm512_mask_cmp_ps_mask(live, v, zero, _CMP_NEQ_UQ);
      const unsigned got = (unsigned)__builtin_popcount((unsigned)m);
      const __mmask16 out = (__mmask16)((1u << got) - 1u);
      const __m512i ix = _mm512_add_epi32(_mm512_set1_epi32((int)kk), iota);
      _mm512_mask_storeu_ps(val + cnt, out, _mm512_maskz_compress_ps(m, v));
      _mm512_mask_storeu_epi32(idx + cnt, out, _mm512_maskz_compress_epi32(m, ix));
      cnt += got;
    }
  }
  pos[ns] = (uint32_t)cnt;
  return cnt;
}

static TGT size_t spl_avx512_f64(const double *x, const uint32_t *bnd, size_t ns,
                                 uint32_t *idx, double *val, uint32_t *pos) {
  size_t cnt = 0;
  const __m512d zero = _mm512_setzero_pd();
  const __m512i iota = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  for (size_t s = 0; s < ns; s++) {
    pos[s] = (uint32_t)cnt;
    size_t kk = bnd[s];
    const size_t end = bnd[s + 1];
    for (; kk < end; kk += 8) {
      const unsigned left = (unsigned)(end - kk < 8 ? end - kk : 8);
      const __mmask8 live = (__mmask8)((1u << left) - 1u);
      const __m512d v = _mm512_maskz_loadu_pd(live, x + kk);
      const __mmask8 m = _mm512_mask_cmp_pd_mask(live, v, zero, _CMP_NEQ_UQ);
      const unsigned got = (unsigned)__builtin_popcount((unsigned)m);
      const __m512i ix = _mm512_add_epi64(_mm512_set1_epi64((long long)kk), iota);
      if (left == 8) {
        _mm512_storeu_pd(val + cnt, _mm512_maskz_compress_pd(m, v));
        _mm256_storeu_si256((__m256i *)(idx + cnt),
                            _mm512_cvtepi64_epi32(_mm512_maskz_compress_epi64(m, ix)));
      } else {
        const __mmask8 out = (__mmask8)((1u << got) - 1u);
        _mm512_mask_storeu_pd(val + cnt, out, _mm512_maskz_compress_pd(m, v));
        _mm512_mask_cvtepi64_storeu_epi32(idx + cnt, out, _mm512_maskz_compress_epi64(m, ix));
      }
      cnt += got;
    }
  }
  pos[ns] = (uint32_t)cnt;
  return cnt;
}

const fnn_kernel_f32 fnn_kernel_avx512_f32 = {FNN_AVX512_F32_MR, FNN_AVX512_F32_NR, FNN_AVX512_MC,
                                            FNN_AVX512_KC, FNN_AVX512_NC, fnn_ukr_avx512_f32,
                                            FNN_AVX512_WP, fnn_ukr_avx512_f32_wide, NULL,
    fnn_ukr_avx512_f32_sparse, fnn_ukr_avx512_f32_spw, spl_avx512_f32};
const fnn_kernel_f64 fnn_kernel_avx512_f64 = {FNN_AVX512_F64_MR, FNN_AVX512_F64_NR, FNN_AVX512_MC,
                                            FNN_AVX512_KC, FNN_AVX512_NC, fnn_ukr_avx512_f64,
                                            FNN_AVX512_WP, fnn_ukr_avx512_f64_wide, NULL,
    fnn_ukr_avx512_f64_sparse, fnn_ukr_avx512_f64_spw, spl_avx512_f64};
#else
const fnn_kernel_f32 fnn_kernel_avx512_f32 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
const fnn_kernel_f64 fnn_kernel_avx512_f64 = {0, 0, 0, 0, 0, 0, 0, 0, 0};
#endif
