/* gemm/kernels/ukr_portable.c - portable C micro-kernels, always compiled. */
#include "gemm/gemm.h"
#include "config.h"

#define TGT
#define VL 1
#define VZERO() 0
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VBCAST(p) (*(p))
#define VSET1(x) (x)
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VMUL(a, b) ((a) * (b))
#define VADD(a, b) ((a) + (b))
#define VNEGZ(x) ((x) == 0 && __builtin_signbit(x))

#define T float
#define V float
#define MR FNN_PORTABLE_F32_MR
#define NR FNN_PORTABLE_F32_NR
#define UKR_NAME fnn_ukr_portable_f32
#define WP FNN_PORTABLE_WP
#include "ukr_tmpl.h"
#undef T
#undef V
#undef MR
#undef NR
#undef UKR_NAME
#undef WP

#define T double
#define V double
#define MR FNN_PORTABLE_F64_MR
#define NR FNN_PORTABLE_F64_NR
#define UKR_NAME fnn_ukr_portable_f64
#define WP FNN_PORTABLE_WP
#include "ukr_tmpl.h"

const fnn_kernel_f32 fnn_kernel_portable_f32 = {FNN_PORTABLE_F32_MR, FNN_PORTABLE_F32_NR,
                                                FNN_PORTABLE_MC, FNN_PORTABLE_KC,
                                                FNN_PORTABLE_NC, fnn_ukr_portable_f32,
                                            FNN_PORTABLE_WP, fnn_ukr_portable_f32_wide, NULL,
    fnn_ukr_portable_f32_sparse, fnn_ukr_portable_f32_spw, NULL};
const fnn_kernel_f64 fnn_kernel_portable_f64 = {FNN_PORTABLE_F64_MR, FNN_PORTABLE_F64_NR,
                                                FNN_PORTABLE_MC, FNN_PORTABLE_KC,
                                                FNN_PORTABLE_NC, fnn_ukr_portable_f64,
                                            FNN_PORTABLE_WP, fnn_ukr_portable_f64_wide, NULL,
    fnn_ukr_portable_f64_sparse, fnn_ukr_portable_f64_spw, NULL};
