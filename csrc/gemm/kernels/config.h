/* gemm/kernels/config.h - register tiles and cache blocks, one section per micro-architecture.
 * MC x KC of A is sized for L2, KC x NR of B for L1; NC bounds the B block kept in L3. */
#ifndef FASTNN_GEMM_CONFIG_H
#define FASTNN_GEMM_CONFIG_H

/* Portable C (any CPU; vectorised by the compiler where it can) */
#ifndef FNN_PORTABLE_F32_MR
#define FNN_PORTABLE_F32_MR 4
#endif
#ifndef FNN_PORTABLE_F32_NR
#define FNN_PORTABLE_F32_NR 8
#endif
#ifndef FNN_PORTABLE_F64_MR
#define FNN_PORTABLE_F64_MR 4
#endif
#ifndef FNN_PORTABLE_F64_NR
#define FNN_PORTABLE_F64_NR 4
#endif
#ifndef FNN_PORTABLE_MC
#define FNN_PORTABLE_MC 128
#endif
#ifndef FNN_PORTABLE_KC
#define FNN_PORTABLE_KC 256
#endif
#ifndef FNN_PORTABLE_WP
#define FNN_PORTABLE_WP 2
#endif
#ifndef FNN_PORTABLE_NC
#define FNN_PORTABLE_NC 4096
#endif

/* AVX2 + FMA: 16 ymm registers, 12 accumulators */
#ifndef FNN_AVX2_F32_MR
#define FNN_AVX2_F32_MR 6
#endif
#ifndef FNN_AVX2_F32_NR
#define FNN_AVX2_F32_NR 16
#endif
#ifndef FNN_AVX2_F64_MR
#define FNN_AVX2_F64_MR 6
#endif
#ifndef FNN_AVX2_F64_NR
#define FNN_AVX2_F64_NR 8
#endif
#ifndef FNN_AVX2_MC
#define FNN_AVX2_MC 96
#endif
#ifndef FNN_AVX2_KC
#define FNN_AVX2_KC 384
#endif
#ifndef FNN_AVX2_WP
#define FNN_AVX2_WP 4
#endif
#ifndef FNN_AVX2_NC
#define FNN_AVX2_NC 4096
#endif

/* AVX-512F: 32 zmm registers, 16 accumulators */
#ifndef FNN_AVX512_F32_MR
#define FNN_AVX512_F32_MR 8
#endif
#ifndef FNN_AVX512_F32_NR
#define FNN_AVX512_F32_NR 32
#endif
#ifndef FNN_AVX512_F64_MR
#define FNN_AVX512_F64_MR 8
#endif
#ifndef FNN_AVX512_F64_NR
#define FNN_AVX512_F64_NR 16
#endif
#ifndef FNN_AVX512_MC
#define FNN_AVX512_MC 96
#endif
#ifndef FNN_AVX512_KC
#define FNN_AVX512_KC 192
#endif
#ifndef FNN_AVX512_WP
#define FNN_AVX512_WP 4
#endif
#ifndef FNN_AVX512_NC
#define FNN_AVX512_NC 4096
#endif

#endif
