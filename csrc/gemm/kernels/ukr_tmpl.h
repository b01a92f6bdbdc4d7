/* gemm/kernels/ukr_tmpl.h - the MR x NR micro-kernel, written once over a small vector
 * vocabulary and instantiated per instruction set (ukr_portable.c, ukr_avx2.c,
 * ukr_avx512.c). Include after defining:
 *   T           element type             V       vector type (T itself for portable C)
 *   VL          lanes per vector         MR, NR  register tile (NR a multiple of VL)
 *   TGT         target attribute (may be empty)
 *   VZERO()     VLOAD(p)  VSTORE(p, v)  VBCAST(p)  VSET1(x)
 *   VFMA(a, b, c) = a * b + c (fused where the ISA has it)   VMUL(a, b)   VADD(a, b)
 *   VNEGZ(x)    nonzero when some lane of x is -0 (the sparse kernel's test)
 *   UKR_NAME    name of the function to define (and UKR_NAME_wide, the one-row kernel
 *               over WP panels at once)
 *   WP          panels per call of the one-row kernel
 *
 * Every output element has exactly one accumulator and sums k in order. The row count m
 * only decides which accumulators exist, never how one is computed: a row gives the same
 * bits alone or in a full tile. */

#define NV (NR / VL)
#define UNROLL _Pragma("GCC unroll 16")
#define UKR_BODY_NAME(n) UKR_BODY_NAME_(n)
#define UKR_BODY_NAME_(n) n##_body
#define BODY UKR_BODY_NAME(UKR_NAME)

/* c[0..ncols) = acc + beta * c, for one row of NR accumulators already scaled by alpha.
 * beta == 0 never reads c. Expects vb = VSET1(beta) in scope. */
#define STORE_ROW(cr, accrow, ncols)                                               \
  do {                                                                             \
    T *cr_ = (cr);                                                                 \
    const int nc_ = (ncols);                                                       \
    if (nc_ == NR) {                                                               \
      UNROLL for (int v_ = 0; v_ < NV; v_++) {                                     \
        V x_ = (accrow)[v_];                                                       \
        if (beta == (T)1)                                                          \
          x_ = VADD(VLOAD(cr_ + v_ * VL), x_);                                     \
        else if (beta != (T)0)                                                     \
          x_ = VADD(VMUL(vb, VLOAD(cr_ + v_ * VL)), x_);                           \
        VSTORE(cr_ + v_ * VL, x_);                                                 \
      }                                                                            \
    } else {                                                                       \
      T tmp_[NR];                                                                  \
      UNROLL for (int v_ = 0; v_ < NV; v_++) VSTORE(tmp_ + v_ * VL, (accrow)[v_]); \
      if (beta == (T)0)                                                            \
        for (int j_ = 0; j_ < nc_; j_++) cr_[j_] = tmp_[j_];                       \
      else if (beta == (T)1)                                                       \
        for (int j_ = 0; j_ < nc_; j_++) cr_[j_] = cr_[j_] + tmp_[j_];             \
      else                                                                         \
        for (int j_ = 0; j_ < nc_; j_++) cr_[j_] = beta * cr_[j_] + tmp_[j_];      \
    }                                                                              \
  } while (0)

static inline __attribute__((always_inline)) TGT void BODY(size_t kc, const int M,
                                                          const int PACKED, int n, const T *a,
                                                          ptrdiff_t rs, ptrdiff_t cs,
                                                          const T *b, ptrdiff_t b_rs,
                                                          T *c, size_t ldc,
                                                          T alpha, T beta) {
  V acc[MR][NV];
  /* C is touched only after the K loop; start fetching its rows now. */
  UNROLL for (int r = 0; r < M; r++) {
    __builtin_prefetch(c + (size_t)r * ldc, 1, 3);
    __builtin_prefetch(c + (size_t)r * ldc + NR - 1, 1, 3);
  }
  UNROLL for (int r = 0; r < M; r++)
    UNROLL for (int v = 0; v < NV; v++) acc[r][v] = VZERO();

  if (PACKED) {
    /* a is an MR-interleaved panel: a[k * MR + r] */
    _Pragma("GCC unroll 4") for (size_t k = 0; k < kc; k++) {
      V bv[NV];
      UNROLL for (int v = 0; v < NV; v++) bv[v] = VLOAD(b + v * VL);
      UNROLL for (int r = 0; r < M; r++) {
        V av = VBCAST(a + r);
        UNROLL for (int v = 0; v < NV; v++) acc[r][v] = VFMA(av, bv[v], acc[r][v]);
      }
      a += MR;
      b += b_rs;
    }
  } else {
    const T *ar[MR];
    UNROLL for (int r = 0; r < M; r++) ar[r] = a + r * rs;
    for (size_t k = 0; k < kc; k++) {
      V bv[NV];
      UNROLL for (int v = 0; v < NV; v++) bv[v] = VLOAD(b + v * VL);
      UNROLL for (int r = 0; r < M; r++) {
        V av = VBCAST(ar[r]);
        ar[r] += cs;
        UNROLL for (int v = 0; v < NV; v++) acc[r][v] = VFMA(av, bv[v], acc[r][v]);
      }
      b += b_rs;
    }
  }

  /* C update: alpha * acc, then beta * C added (beta == 0 never reads C). */
  const V va = VSET1(alpha), vb = VSET1(beta);
  const int scale = alpha != (T)1;
  UNROLL for (int r = 0; r < M; r++) {
    UNROLL for (int v = 0; v < NV; v++)
      if (scale) acc[r][v] = VMUL(va, acc[r][v]);
  }
  UNROLL for (int r = 0; r < M; r++) STORE_ROW(c + (size_t)r * ldc, acc[r], n);
}

/* One row against WP panels at once: the same per-element arithmetic as BODY with m = 1
 * (one accumulator per element, k in order, the same C update), but WP * NV independent
 * accumulator chains instead of NV, so a single-sample product is not bound by FMA latency.
 * Panel q of B starts at b + q * b_ps and its rows are b_rs apart; the last panel may have
 * fewer than NR columns (n_last). */
#define WIDE_NAME(n) WIDE_NAME_(n)
#define WIDE_NAME_(n) n##_wide
TGT void WIDE_NAME(UKR_NAME)(size_t kc, const T *a, ptrdiff_t cs, const T *b, size_t b_ps,
                             ptrdiff_t b_rs, int n_last, T *c, T alpha, T beta) {
  V acc[WP][NV];
  UNROLL for (int q = 0; q < WP; q++)
    UNROLL for (int v = 0; v < NV; v++) acc[q][v] = VZERO();
  const T *bq[WP];
  UNROLL for (int q = 0; q < WP; q++) bq[q] = b + (size_t)q * b_ps;
  for (size_t k = 0; k < kc; k++) {
    V av = VBCAST(a);
    a += cs;
    UNROLL for (int q = 0; q < WP; q++) {
      UNROLL for (int v = 0; v < NV; v++) acc[q][v] = VFMA(av, VLOAD(bq[q] + v * VL), acc[q][v]);
      bq[q] += b_rs;
    }
  }
  const V va = VSET1(alpha), vb = VSET1(beta);
  const int scale = alpha != (T)1;
  UNROLL for (int q = 0; q < WP; q++) {
    if (scale)
      UNROLL for (int v = 0; v < NV; v++) acc[q][v] = VMUL(va, acc[q][v]);
    STORE_ROW(c + q * NR, acc[q], q == WP - 1 ? n_last : NR);
  }
}
#undef WIDE_NAME
#undef WIDE_NAME_

/* One row of C from a sparse row of op(A), over np (1..SPW) consecutive panels: for each of
 * the cnt entries t in order, acc += val[t] * (row idx[t] of each panel), one accumulator
 * per element, from acc_in (np * NR values) or from zero; then acc to acc_out, or where
 * that is NULL to c: c = acc (beta == 0) or c + acc (beta == 1). Row r of panel q starts
 * at bp[q] + r * brs. These are the dense kernel's operations on the entries whose a is
 * not zero, in the same order: a term with a zero a adds 0 to the accumulator, which
 * leaves any value but the sign of a zero as it was (the driver checks for that,
 * gemm_sparse_ in driver_tmpl.h): where negz is not NULL, *negz is set to 1 when a value
 * written to c is -0, tested in the registers (reading the row back waited for its
 * stores). */
#define SPW (NV >= 8 ? 1 : 8 / NV)
#define SPARSE_NAME(n) SPARSE_NAME_(n)
#define SPARSE_NAME_(n) n##_sparse
#define SBODY_NAME(n) SBODY_NAME_(n)
#define SBODY_NAME_(n) n##_sparse_body
static inline __attribute__((always_inline)) TGT void SBODY_NAME(UKR_NAME)(
    size_t cnt, const uint32_t *idx, const T *val, const T *const *bp, ptrdiff_t brs,
    const int NP, int n_last, T *c, T beta, const T *acc_in, T *acc_out, int *negz) {
  V acc[SPW][NV];
  const T *base[SPW];
  UNROLL for (int q = 0; q < NP; q++) {
    base[q] = bp[q];
    UNROLL for (int v = 0; v < NV; v++)
      acc[q][v] = acc_in ? VLOAD(acc_in + q * NR + v * VL) : VZERO();
  }
  for (size_t t = 0; t < cnt; t++) {
    const V av = VSET1(val[t]);
    const ptrdiff_t off = (ptrdiff_t)idx[t] * brs;
    UNROLL for (int q = 0; q < NP; q++) {
      const T *row = base[q] + off;
      UNROLL for (int v = 0; v < NV; v++) acc[q][v] = VFMA(av, VLOAD(row + v * VL), acc[q][v]);
    }
  }
  if (acc_out) {
    UNROLL for (int q = 0; q < NP; q++)
      UNROLL for (int v = 0; v < NV; v++) VSTORE(acc_out + q * NR + v * VL, acc[q][v]);
    return;
  }
  const V vb = VSET1(beta);
  (void)vb;
  int nz = 0;
  UNROLL for (int q = 0; q < NP; q++) {
    if (q < NP - 1 || n_last == NR) {
      UNROLL for (int v = 0; v < NV; v++) {
        V x = acc[q][v];
        if (beta != (T)0) x = VADD(VLOAD(c + q * NR + v * VL), x); /* beta is 0 or 1 */
        VSTORE(c + q * NR + v * VL, x);
        nz |= VNEGZ(x);
      }
    } else { /* a partial panel: its first n_last values */
      STORE_ROW(c + q * NR, acc[q], n_last);
      if (negz)
        for (int j = 0; j < n_last; j++) {
          const T x = c[q * NR + j];
          nz |= x == (T)0 && __builtin_signbit(x);
        }
    }
  }
  if (negz && nz) *negz = 1;
}

TGT void SPARSE_NAME(UKR_NAME)(size_t cnt, const uint32_t *idx, const T *val,
                               const T *const *bp, ptrdiff_t brs, int np, int n_last,
                               T *c, T beta, const T *acc_in, T *acc_out, int *negz) {
  switch (np) {
#define SCASE(P)                                                                           \
    case P:                                                                                \
      SBODY_NAME(UKR_NAME)(cnt, idx, val, bp, brs, P, n_last, c, beta, acc_in, acc_out, negz); \
      break;
    SCASE(1)
#if SPW >= 2
    SCASE(2)
#endif
#if SPW >= 4
    SCASE(3)
    SCASE(4)
#endif
#undef SCASE
    default: break;
  }
}
/* panels per call of the sparse kernel, for the kernel table */
#define SPW_CONST(n) SPW_CONST_(n)
#define SPW_CONST_(n) n##_spw
enum { SPW_CONST(UKR_NAME) = SPW };
#undef SPW_CONST
#undef SPW_CONST_
#undef SBODY_NAME
#undef SBODY_NAME_
#undef SPARSE_NAME
#undef SPARSE_NAME_

#define UKR_CASE(M)                                                                   \
  case M:                                                                             \
    if (packed)                                                                       \
      BODY(kc, M, 1, n, a, rs, cs, b, b_rs, c, ldc, alpha, beta);                           \
    else                                                                              \
      BODY(kc, M, 0, n, a, rs, cs, b, b_rs, c, ldc, alpha, beta);                           \
    break;

TGT void UKR_NAME(size_t kc, int m, int n, const T *a, ptrdiff_t rs, ptrdiff_t cs,
                  const T *b, ptrdiff_t b_rs, T *c, size_t ldc, T alpha, T beta) {
  const int packed = (rs == 1 && cs == MR);
  switch (m) {
    UKR_CASE(1)
    UKR_CASE(2)
    UKR_CASE(3)
    UKR_CASE(4)
#if MR > 4
    UKR_CASE(5)
    UKR_CASE(6)
#endif
#if MR > 6
    UKR_CASE(7)
    UKR_CASE(8)
#endif
    default:
      break;
  }
}

#undef UKR_CASE
#undef BODY
#undef UKR_BODY_NAME
#undef UKR_BODY_NAME_
#undef NV
#undef UNROLL
#undef STORE_ROW
#undef SPW
