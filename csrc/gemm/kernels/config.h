/* gemm/kernels/config.h - register tiles and cache blocks, one section per micro-architecture.
 * MC x KC of A is sized for L2, KC x NR of B for L1; NC bounds the B block kept in L3. */
#ifndef FASTNN_GEMM_CONFIG_H
#define FASTNN_GEMM_CONFIG_H

/* Portable C (any CPU; vectorised by the compiler where it can) */
#define FNN_PORTABLE_F32_MR 4
#define FNN_PORTABLE_F32_NR 8
#define FNN_PORTABLE_F64_MR 4
#define FNN_PORTABLE_F64_NR 4
#define FNN_PORTABLE_MC 128
#define FNN_PORTABLE_KC 256
#define FNN_PORTABLE_NC 4096

/* AVX2 + FMA: 16 ymm registers, 12 accumulators */
#define FNN_AVX2_F32_MR 6
#define FNN_AVX2_F32_NR 16
#define FNN_AVX2_F64_MR 6
#define FNN_AVX2_F64_NR 8
#define FNN_AVX2_MC 96
#define FNN_AVX2_KC 256
#define FNN_AVX2_NC 4096

/* AVX-512F: 32 zmm registers, 16 accumulators */
#define FNN_AVX512_F32_MR 8
#define FNN_AVX512_F32_NR 32
#define FNN_AVX512_F64_MR 8
#define FNN_AVX512_F64_NR 16
#define FNN_AVX512_MC 96
#define FNN_AVX512_KC 192
#define FNN_AVX512_NC 4096

#endif
