/* gemm/driver_tmpl.h - the five loops around the micro-kernel (BLIS / GotoBLAS structure),
 * written once and instantiated for float and double by driver.c. Needs T, SFX, KERN_T. */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* Copy op(B) (k x n) into NR-wide panels that span all of K: panel p holds k rows of NR
 * values, columns beyond n are zero. One layout serves every KC block (a block starts at
 * row pc of each panel), so weights can be packed once and reused. */
static void FN(pack_b_panel_)(int nr, int trans_b, size_t k, size_t n, const T *b, size_t ldb,
                              size_t p, T *dst) {
  const size_t j0 = p * (size_t)nr;
  const size_t nj = n - j0 < (size_t)nr ? n - j0 : (size_t)nr;
  if (!trans_b && nj == (size_t)nr) {
    for (size_t kk = 0; kk < k; kk++) memcpy(dst + kk * (size_t)nr, b + kk * ldb + j0, (size_t)nr * sizeof(T));
  } else if (!trans_b) {
    for (size_t kk = 0; kk < k; kk++) {
      const T *src = b + kk * ldb + j0;
      T *d = dst + kk * (size_t)nr;
      size_t j = 0;
      for (; j < nj; j++) d[j] = src[j];
      for (; j < (size_t)nr; j++) d[j] = 0;
    }
  } else {
    for (size_t kk = 0; kk < k; kk++) {
      T *d = dst + kk * (size_t)nr;
      size_t j = 0;
      for (; j < nj; j++) d[j] = b[(j0 + j) * ldb + kk];
      for (; j < (size_t)nr; j++) d[j] = 0;
    }
  }
}

static size_t FN(packed_b_elems_)(const KERN_T *kern, size_t k, size_t n) {
  size_t panels = (n + (size_t)kern->nr - 1) / (size_t)kern->nr;
  return panels * (size_t)kern->nr * (k ? k : 1);
}

typedef struct {
  const KERN_T *kern;
  int trans_b;
  size_t k, n;
  const T *b;
  size_t ldb;
  T *packed;
} FN(pack_job_);

static void FN(pack_b_share_)(void *ctx, int tid, int nt) {
  const FN(pack_job_) *j = (const FN(pack_job_) *)ctx;
  const size_t nr = (size_t)j->kern->nr;
  size_t p0, p1;
  fnn_share((j->n + nr - 1) / nr, tid, nt, &p0, &p1);
  for (size_t p = p0; p < p1; p++)
    FN(pack_b_panel_)(j->kern->nr, j->trans_b, j->k, j->n, j->b, j->ldb, p,
                      j->packed + p * nr * j->k);
}

static void FN(pack_b_all_)(const KERN_T *kern, int trans_b, size_t k, size_t n, const T *b,
                            size_t ldb, T *packed, int nt) {
  FN(pack_job_) job = {kern, trans_b, k, n, b, ldb, packed};
  if (nt > 1)
    fnn_team_run(nt, FN(pack_b_share_), &job);
  else
    FN(pack_b_share_)(&job, 0, 1);
}

/* Copy an mc x kc block of op(A) into MR-row panels: panel q holds a[k * MR + r]. Full
 * panels of a row-major A go through the kernel's own packing routine where it has one. */
static void FN(pack_a_block_)(const KERN_T *kern, int trans_a, const T *a, size_t lda,
                              size_t i0, size_t mc, size_t p0, size_t kc, T *dst) {
  const int mr = kern->mr;
  for (size_t ir = 0; ir < mc; ir += (size_t)mr) {
    const size_t mrr = mc - ir < (size_t)mr ? mc - ir : (size_t)mr;
    T *d = dst + ir * kc;
    if (!trans_a && mrr == (size_t)mr && kern->packa) {
      kern->packa(kc, a + (i0 + ir) * lda + p0, lda, d);
      continue;
    }
    if (!trans_a && mrr == (size_t)mr) {
      /* a full panel: write each k's MR values together, reading MR rows in step */
      const T *rows[16];
      for (size_t r = 0; r < (size_t)mr; r++) rows[r] = a + (i0 + ir + r) * lda + p0;
      for (size_t kk = 0; kk < kc; kk++)
        for (size_t r = 0; r < (size_t)mr; r++) d[kk * mr + r] = rows[r][kk];
    } else if (!trans_a) {
      for (size_t r = 0; r < mrr; r++) {
        const T *src = a + (i0 + ir + r) * lda + p0;
        for (size_t kk = 0; kk < kc; kk++) d[kk * mr + r] = src[kk];
      }
    } else {
      for (size_t kk = 0; kk < kc; kk++) {
        const T *src = a + (p0 + kk) * lda + i0 + ir;
        for (size_t r = 0; r < mrr; r++) d[kk * mr + r] = src[r];
      }
    }
    for (size_t r = mrr; r < (size_t)mr; r++)
      for (size_t kk = 0; kk < kc; kk++) d[kk * mr + r] = 0;
  }
}

/* bias, pre-activation copy and activation on an m x n tile of C, row by row. */
static void FN(epilogue_)(T *c, size_t ldc, size_t i0, size_t j0, size_t m, size_t n,
                          const T *bias, const fnn_act *act, T *z, size_t ldz) {
  for (size_t r = 0; r < m; r++) {
    T *row = c + (i0 + r) * ldc + j0;
    if (bias)
      for (size_t j = 0; j < n; j++) row[j] = row[j] + bias[j0 + j];
    if (z) {
      T *zr = z + (i0 + r) * ldz + j0;
      for (size_t j = 0; j < n; j++) zr[j] = row[j];
    }
    if (act && act->kind != FNN_ACT_LINEAR) FN(fnn_act_forward_serial_)(act, row, row, n);
  }
}

static void *FN(aligned_alloc_)(size_t elems) {
  size_t bytes = (elems * sizeof(T) + 63) & ~(size_t)63;
  return aligned_alloc(64, bytes ? bytes : 64);
}

/* What the loop nest of one product needs, for the function every thread of the team runs. */
typedef struct {
  const KERN_T *kern;
  int trans_a;
  size_t m;
  size_t n;
  size_t k;
  T alpha;
  const T *a;
  size_t lda;
  const T *b;
  size_t ldb;
  const T *packed_b;
  T beta;
  T *c;
  size_t ldc;
  const T *bias;
  const fnn_act *act;
  T *z;
  size_t ldz;
  int has_epilogue;
  size_t MR;
  size_t NR;
  size_t KC;
  size_t NC;
  size_t nfull;
  int direct_b;
  const T *bedge;
  size_t mc;
  size_t mb;
  size_t jchunks;
  int may_pack_a;
  T *abuf;
  size_t abuf_elems;
  /* A two-part split at a row (fnn_gemm_ex): with split > 0, part 0 is rows [0, split)
   * and part 1 rows [split, m), each in blocks of at most mc rows; each part records how
   * long it took (ns[part]) for the next product of this shape. */
  size_t split;
  long ns[2];
} FN(gemm_job_);

/* The 2nd and 1st loops for one C block of one K slice: rows [ic, ic + mcur), panels
 * [q0, q1) of the NC chunk at jc, K slice [pc, pc + kc); A packed into my_a first when
 * pack_a. */
static inline void FN(gemm_block_)(const FN(gemm_job_) *j, T *my_a, size_t jc, size_t pc,
                                   size_t kc, size_t ic, size_t mcur, size_t q0, size_t q1,
                                   int pack_a) {
  const KERN_T *kern = j->kern;
  const int trans_a = j->trans_a;
  const size_t m = j->m, n = j->n, k = j->k, lda = j->lda, ldb = j->ldb, ldc = j->ldc;
  const T alpha = j->alpha;
  const T *a = j->a;
  const T *b = j->b;
  const T *packed_b = j->packed_b;
  T *const c = j->c;
  const size_t MR = j->MR, NR = j->NR, nfull = j->nfull;
  const int direct_b = j->direct_b, has_epilogue = j->has_epilogue;
  const size_t pan0 = jc / NR;
  const T beta_eff = pc == 0 ? j->beta : (T)1;
  const int last_k = pc + kc == k;
  if (pack_a) FN(pack_a_block_)(kern, trans_a, a, lda, ic, mcur, pc, kc, my_a);
  size_t q = q0;
  if (m == 1 && kern->ukr1) {
    /* one row: WP panels per call, so the FMA chains are independent */
    const T *a1 = trans_a ? a + pc * lda : a + pc;
    const ptrdiff_t cs1 = trans_a ? (ptrdiff_t)lda : 1;
    const size_t wp = (size_t)kern->wp;
    /* in-place B: groups of full panels only (the edge panel lives in bedge) */
    const size_t qlim = direct_b && pan0 + q1 > nfull ? nfull - pan0 : q1;
    for (; q + wp <= qlim; q += wp) {
      const size_t j0 = jc + q * NR;
      const size_t jend = j0 + wp * NR < n ? j0 + wp * NR : n;
      if (direct_b)
        kern->ukr1(kc, a1, cs1, b + pc * ldb + j0, NR, (ptrdiff_t)ldb, (int)NR, c + j0, alpha,
                   beta_eff);
      else
        kern->ukr1(kc, a1, cs1, packed_b + (pan0 + q) * NR * k + pc * NR, NR * k,
                   (ptrdiff_t)NR, (int)(jend - (j0 + (wp - 1) * NR)), c + j0, alpha,
                   beta_eff);
      if (last_k && has_epilogue)
        FN(epilogue_)(c, ldc, 0, j0, 1, jend - j0, j->bias, j->act, j->z, j->ldz);
    }
  }
  for (; q < q1; q++) { /* 2nd loop: NR-wide panels of B */
    const size_t j0 = jc + q * NR;
    const int ncur = (int)(n - j0 < NR ? n - j0 : NR);
    const T *bp;
    ptrdiff_t b_rs = (ptrdiff_t)NR;
    if (!direct_b) {
      bp = packed_b + (pan0 + q) * NR * k + pc * NR;
    } else if (pan0 + q < nfull) {
      bp = b + pc * ldb + j0;
      b_rs = (ptrdiff_t)ldb;
    } else {
      bp = j->bedge + pc * NR;
    }
    for (size_t ir = 0; ir < mcur; ir += MR) { /* 1st loop: MR rows of A */
      const int mcr = (int)(mcur - ir < MR ? mcur - ir : MR);
      const T *ap;
      ptrdiff_t rs, cs;
      if (pack_a) {
        ap = my_a + ir * kc;
        rs = 1;
        cs = (ptrdiff_t)MR;
      } else if (!trans_a) {
        ap = a + (ic + ir) * lda + pc;
        rs = (ptrdiff_t)lda;
        cs = 1;
      } else {
        ap = a + pc * lda + ic + ir;
        rs = 1;
        cs = (ptrdiff_t)lda;
      }
      T *ct = c + (ic + ir) * ldc + j0;
      kern->ukr(kc, mcr, ncur, ap, rs, cs, bp, b_rs, ct, ldc, alpha, beta_eff);
      if (last_k && has_epilogue)
        FN(epilogue_)(c, ldc, ic + ir, j0, (size_t)mcr, (size_t)ncur, j->bias, j->act, j->z,
                      j->ldz);
    }
  }
}

/* The 5th to 3rd loops around the micro-kernel, for one part of the product: a contiguous
 * share of the C blocks (row blocks and groups of panels), or with a split row (split > 0)
 * one side of it; each through every K slice, so every C element is accumulated by one
 * thread, in K order, with no barrier between slices.
 * Called directly, without a team, when the product runs on one thread. */
static void FN(gemm_loops_)(void *ctx, int part, int nparts) {
  FN(gemm_job_) *j = (FN(gemm_job_) *)ctx;
  const long t0 = j->split ? fnn_now_ns() : 0;
  const size_t m = j->m, n = j->n, k = j->k;
  const size_t NR = j->NR, KC = j->KC, NC = j->NC, mc = j->mc;
  T *my_a = j->abuf ? j->abuf + j->abuf_elems * (size_t)fnn_team_slot() : NULL;
  for (size_t jc = 0; jc < n; jc += NC) { /* 5th loop: NC columns of B and C */
    const size_t nc = n - jc < NC ? n - jc : NC;
    const size_t npan = (nc + NR - 1) / NR;
    const int pack_all = j->may_pack_a && npan >= FNN_PACK_A_MIN_PANELS;
    for (size_t pc = 0; pc < k; pc += KC) { /* 4th loop: KC-deep slice of A and B */
      const size_t kc = k - pc < KC ? k - pc : KC;
      if (j->split) { /* this part's rows, in blocks of mc */
        const size_t r0 = part == 0 ? 0 : j->split, r1 = part == 0 ? j->split : m;
        for (size_t ic = r0; ic < r1; ic += mc)
          FN(gemm_block_)(j, my_a, jc, pc, kc, ic, r1 - ic < mc ? r1 - ic : mc, 0, npan,
                          pack_all);
        continue;
      }
      const size_t jchunks = j->jchunks;
      const size_t per_chunk = (npan + jchunks - 1) / jchunks;
      size_t it0, it1;
      fnn_share(j->mb * jchunks, part, nparts, &it0, &it1);
      for (size_t it = it0; it < it1; it++) { /* 3rd loop: MC rows of A and C (and N chunks) */
        const size_t ib = it / jchunks, jb = it % jchunks;
        const size_t ic = ib * mc;
        const size_t q0 = jb * per_chunk;
        const size_t q1 = q0 + per_chunk < npan ? q0 + per_chunk : npan;
        if (q0 >= q1) continue;
        FN(gemm_block_)(j, my_a, jc, pc, kc, ic, m - ic < mc ? m - ic : mc, q0, q1,
                        j->may_pack_a && (q1 - q0) >= FNN_PACK_A_MIN_PANELS);
      }
    }
  }
  if (j->split) j->ns[part] = fnn_now_ns() - t0;
}

static int FN(gemm_dense_)(const KERN_T *kern, int trans_a, int trans_b, size_t m, size_t n,
                          size_t k, T alpha, const T *a, size_t lda, const T *b, size_t ldb,
                          const T *packed_b, T beta, T *c, size_t ldc, const T *bias,
                          const fnn_act *act, T *z, size_t ldz) {
  if (m == 0 || n == 0) return FNN_OK;
  const int has_epilogue = bias || z || (act && act->kind != FNN_ACT_LINEAR);

  if (k == 0 || alpha == (T)0) {
    /* Nothing to multiply: C = beta * C (never reading C when beta is 0). */
    for (size_t i = 0; i < m; i++) {
      T *row = c + i * ldc;
      if (beta == (T)0)
        for (size_t j = 0; j < n; j++) row[j] = 0;
      else if (beta != (T)1)
        for (size_t j = 0; j < n; j++) row[j] = beta * row[j];
    }
    if (has_epilogue) FN(epilogue_)(c, ldc, 0, 0, m, n, bias, act, z, ldz);
    return FNN_OK;
  }

  const size_t MR = (size_t)kern->mr, NR = (size_t)kern->nr;
  /* K is cut into equal blocks of at most kern->kc (784 -> 2 x 392, not 384 + 384 + 16),
   * so no block is too short to repay its C update. The blocking depends on k alone, never
   * on m or the thread count: it is part of every element's summation order. */
  const size_t kblocks = (k + kern->kc - 1) / kern->kc;
  const size_t KC = (k + kblocks - 1) / kblocks;
  const size_t NC = kern->nc - kern->nc % NR;
  const size_t npanels = (n + NR - 1) / NR;
  /* The flops decide the thread count, except for one row against a large B: that product
   * is bound by streaming B from the core's L2 (784 x 128 floats, about 5.5 us on one core
   * of the 2-core VM), and two cores stream twice as fast from their own L2s, each always
   * reading the same half (the caller takes the first part). It gets two threads, not all
   * of them: more would each wait on a wake-up for a sliver of B. Before the team's parts
   * were claimed by whichever thread is free, this cost 180 us instead of 10 us median when
   * other processes kept the cores busy, since the caller waited for a worker that was not
   * running; now the caller runs both halves itself then. bench/RESULTS.md. */
  int nt = fnn_team_threads_for(2.0 * (double)m * (double)n * (double)k);
  if (m == 1 && nt == 1 && (double)n * (double)k >= FNN_ONE_ROW_SPLIT_ELEMS) {
    nt = fnn_threads_for(2.0 * FNN_ONE_ROW_SPLIT_ELEMS * 8.0);
    if (nt > 2) nt = 2;
  }

  /* B's panels: packed (given, or packed here), or read in place. A row-major B is read in
   * place when few row blocks reuse it (packing would cost about as much as the product) or
   * when its rows are short enough that a micro-panel stays within a few pages;
   * only a partial last panel is then copied, zero-padded, into bedge. Either way every
   * element sees the same values in the same order. */
  const size_t nfull = n / NR;
  const int direct_b = !packed_b && !trans_b &&
                       (m <= FNN_DIRECT_B_ROW_BLOCKS * kern->mc ||
                        ldb * sizeof(T) <= FNN_DIRECT_B_MAX_ROW_BYTES);
  T *bpack = NULL, *bedge = NULL;
  if (direct_b) {
    if (nfull * NR < n) {
      bedge = FN(aligned_alloc_)(NR * k);
      if (!bedge) return FNN_ENOMEM;
      FN(pack_b_panel_)(kern->nr, 0, k, n, b, ldb, nfull, bedge);
    }
  } else if (!packed_b) {
    bpack = FN(aligned_alloc_)(FN(packed_b_elems_)(kern, k, n));
    if (!bpack) return FNN_ENOMEM;
    FN(pack_b_all_)(kern, trans_b, k, n, b, ldb, bpack, fnn_threads_for((double)k * (double)n * 4.0));
    packed_b = bpack;
  }

  /* Work split (threads only ever split independent C tiles, never K): rows into mb
   * blocks of mc (a multiple of MR), and, when there are too few row blocks, each block's
   * panels into jchunks groups. The blocks are shared out as the team's parts, so that a
   * thread that starts late (a worker that had gone to sleep, or whose core another process
   * holds) hands its share to the others. mc only changes cache blocking, not the
   * arithmetic of any element. */
  size_t mc = kern->mc;
  size_t mb = (m + mc - 1) / mc;
  size_t jchunks = 1;
  size_t split = 0;
  unsigned split_slot = 0;
  if (nt > 1) {
    const size_t mtiles = (m + MR - 1) / MR;
    const size_t want = (size_t)nt * FNN_GEMM_PARTS_PER_THREAD;
    if (npanels >= (size_t)nt && (m <= mc || (m <= FNN_SPLIT_N_MAX_M && npanels % (size_t)nt == 0))) {
      const size_t per = (npanels + want - 1) / want; /* panels per group */
      jchunks = (npanels + per - 1) / per;
    } else if (nt == 2 && n <= NC && mtiles >= 8) {
      /* Two parts split at a row tile chosen from how fast each part ran in the last
       * products of this shape (fnn_split_*): the worker's part reads data that the
       * caller's serial kernels left in the caller's cache (a training step's batch and
       * gradients), and on a shared VM its core may be the slower one, so an even split
       * had the caller wait for it (30 us per product at batch 256). The split never
       * changes a result: every element is computed the same way by either part. */
      split_slot = fnn_split_slot(m, n, k, trans_a);
      const double f = fnn_split_fraction(split_slot);
      size_t tiles0 = (size_t)(f * (double)mtiles + 0.5);
      if (tiles0 < 1) tiles0 = 1;
      if (tiles0 > mtiles - 1) tiles0 = mtiles - 1;
      split = tiles0 * MR;
      /* each part in equal blocks of at most kern->mc rows */
      const size_t big = split > m - split ? split : m - split;
      const size_t nblk = (big + kern->mc - 1) / kern->mc;
      mc = ((big + nblk - 1) / nblk + MR - 1) / MR * MR;
    } else if (mtiles >= (size_t)nt) {
      /* a multiple of the thread count, so that threads that keep pace share evenly */
      size_t parts = ((mb + nt - 1) / nt) * want;
      if (parts > mtiles) parts = mtiles;
      size_t rows = (m + parts - 1) / parts;
      mc = ((rows + MR - 1) / MR) * MR;
      mb = (m + mc - 1) / mc;
    } else {
      jchunks = npanels < (size_t)nt ? npanels : (size_t)nt;
    }
  }

  /* A is packed only when it spans several row blocks, has a long K, is not transposed,
   * and each block is reused across enough panels to repay the copy. A short A (a training
   * batch of 32), a short K (a 10-unit layer's backward) or a transposed A (dW = X^T dZ,
   * whose rows the kernel already reads contiguously) is read in place: on the AVX2 VM that
   * was 3-18 % faster, while packing kept a 2-7 % lead for 256 and 1024 rows at K = 784
   * (bench/RESULTS.md). Packing changes no element's arithmetic. */
  const int may_pack_a = !trans_a && m > (size_t)kern->mc && k >= FNN_PACK_A_MIN_K &&
                         npanels >= FNN_PACK_A_MIN_PANELS;
  const size_t kc_max = k < KC ? k : KC;
  const size_t abuf_elems = may_pack_a ? ((mc + MR - 1) / MR) * MR * kc_max : 0;
  T *abuf = NULL;
  if (may_pack_a) {
    abuf = FN(aligned_alloc_)(abuf_elems * (size_t)nt);
    if (!abuf) {
      free(bpack);
      free(bedge);
      return FNN_ENOMEM;
    }
  }

  FN(gemm_job_) job = {kern, trans_a, m, n, k, alpha, a, lda, b, ldb, packed_b, beta, c,
                            ldc, bias, act, z, ldz, has_epilogue, MR, NR, KC, NC, nfull,
                            direct_b, bedge, mc, mb, jchunks, may_pack_a, abuf, abuf_elems,
                            split, {0, 0}};
  if (nt > 1) {
    /* each part a contiguous run of blocks: a thread that keeps pace streams one K slice
     * of B for all of its rows, as with a fixed split */
    const size_t blocks = mb * jchunks, most = (size_t)nt * FNN_GEMM_PARTS_PER_THREAD;
    const size_t nparts = split ? 2 : (blocks < most ? blocks : most);
    fnn_team_run_parts(nt, (int)nparts, FN(gemm_loops_), (void *)&job);
    if (split) fnn_split_update(split_slot, (double)job.ns[0], (double)split,
                                (double)job.ns[1], (double)(m - split));
  }
  else
    FN(gemm_loops_)((void *)&job, 0, 1);
  free(abuf);
  free(bpack);
  free(bedge);
  return FNN_OK;
}

/* ---- Products whose A is mostly zeros ----
 *
 * A term a * b with a == 0 adds 0 (of some sign) to an accumulator. While B is finite that
 * leaves the accumulator's value as it was, and can change only the sign of a zero: from
 * -0 to +0, never the other way (+0 + -0 and -0 + +0 are +0 when rounding to nearest).
 * So a product that skips the zero terms of A, and otherwise does the dense kernel's
 * operations in its order (the same K blocks, one accumulator per element from zero, C =
 * the first block's sum, then C + each later block's), gives every element the dense
 * value, and where the dense result is -0 the sparse one is -0 too. Each row of C that
 * holds a -0 (possible only where a product underflows) is therefore recomputed by the
 * dense kernel; every other row is the dense kernel's bits. An input image with four fifths
 * of its pixels at zero (MNIST) then costs about a fifth of the multiply-adds.
 *
 * Each part of the team lists the nonzero entries it needs (the lister, eight values at a
 * time where the kernel has one), uses them at once on the same core, and checks a share
 * of B for values that are not finite (0 * inf is NaN); if any part found one, the whole
 * product is done again by the dense kernel. Working memory is the thread's own
 * (fnn_scratch). */

static size_t FN(spl_scalar_)(const T *x, const uint32_t *bnd, size_t ns, uint32_t *idx,
                              T *val, uint32_t *pos) {
  size_t cnt = 0;
  for (size_t s = 0; s < ns; s++) {
    pos[s] = (uint32_t)cnt;
    for (size_t kk = bnd[s]; kk < bnd[s + 1]; kk++) { /* written always, kept if not zero */
      const T a = x[kk];
      idx[cnt] = (uint32_t)kk;
      val[cnt] = a;
      cnt += a != (T)0;
    }
  }
  pos[ns] = (uint32_t)cnt;
  return cnt;
}

static inline size_t FN(spl_)(const KERN_T *kern, const T *x, const uint32_t *bnd, size_t ns,
                              uint32_t *idx, T *val, uint32_t *pos) {
  return kern->spl ? kern->spl(x, bnd, ns, idx, val, pos)
                   : FN(spl_scalar_)(x, bnd, ns, idx, val, pos);
}

/* What every part of one sparse product shares. */
typedef struct {
  const KERN_T *kern;
  size_t m, n, k; /* C is m x n; A is m x k, or k x m stored when transposed */
  const T *a;
  size_t lda;
  const T *b; /* B in place (with bedge for a partial last panel), or packed_b */
  size_t ldb;
  const T *packed_b;
  const T *bedge;
  T *c;
  size_t ldc;
  const T *bias;
  const fnn_act *act;
  T *z;
  size_t ldz;
  int has_epilogue;
  size_t NR, npanels;
  const uint32_t *sb; /* slices of K (of C's rows when transposed): [sb[s], sb[s + 1]) */
  const unsigned char *sflag; /* per slice of K: 1 first of its K block, 2 last, 4 in block 0 */
  size_t ns;
  size_t rows;         /* rows of A per part (not transposed) */
  size_t gsplit;       /* ... and parts per row block, each a share of the panel groups */
  size_t whole, ngroups; /* panels read whole (spw to a group), groups with bedge's */
  unsigned char *redo; /* rows of C to recompute densely */
  int *bad_b;          /* per part: its share of B is not all finite */
  int b_finite;        /* the caller knows B is finite: no check */
} FN(sparse_job_);

/* Whether the part's share of B is all finite. */
static int FN(sparse_b_ok_)(const FN(sparse_job_) *j, int part, int nparts, size_t brows) {
  size_t lo, hi;
  if (j->b_finite) return 1;
  if (j->packed_b) {
    fnn_share(j->npanels * j->NR * brows, part, nparts, &lo, &hi);
    return FN(fnn_all_finite_)(j->packed_b + lo, hi - lo);
  }
  fnn_share(brows, part, nparts, &lo, &hi);
  for (size_t kk = lo; kk < hi; kk++)
    if (!FN(fnn_all_finite_)(j->b + kk * j->ldb, j->n)) return 0;
  return 1;
}

/* A not transposed: a part takes `rows` rows of A, lists them, then goes through B a group
 * of panels at a time (as many accumulators as the registers hold), and a group a slice of
 * K at a time, sized so that the group's rows of B in the slice stay close to the core
 * while every row of the part uses them; a row's accumulators wait in accbuf between the
 * slices of one K block, which changes no value. Last come the -0 check and the epilogue. */
static void FN(sparse_rows_)(void *ctx, int part, int nparts) {
  const FN(sparse_job_) *j = (const FN(sparse_job_) *)ctx;
  const KERN_T *kern = j->kern;
  const size_t n = j->n, k = j->k, NR = j->NR, npanels = j->npanels, ns = j->ns;
  const size_t spw = (size_t)kern->spw, accw = spw * NR, whole = j->whole;
  j->bad_b[part] = !FN(sparse_b_ok_)(j, part, nparts, k);
  const size_t rb = (size_t)part / j->gsplit, gc = (size_t)part % j->gsplit;
  const size_t r_lo = rb * j->rows;
  const size_t rows = j->m - r_lo < j->rows ? j->m - r_lo : j->rows;
  size_t g_lo, g_hi; /* this part's groups of panels */
  fnn_share(j->ngroups, (int)gc, (int)j->gsplit, &g_lo, &g_hi);
  const size_t cap = (k + 15) & ~(size_t)15;
  char *mem = (char *)fnn_scratch(rows * cap * (sizeof(uint32_t) + sizeof(T)) +
                                  rows * accw * sizeof(T) +
                                  rows * (ns + 1) * sizeof(uint32_t) + 256);
  if (!mem) { /* no memory for the lists: these rows are done densely */
    for (size_t r = 0; r < rows; r++) __atomic_store_n(&j->redo[r_lo + r], 1, __ATOMIC_RELAXED);
    return;
  }
  T *val = (T *)mem; /* each region a multiple of 64 bytes from the aligned start */
  T *accbuf = val + rows * cap;
  uint32_t *idx = (uint32_t *)(accbuf + rows * accw);
  uint32_t *pos = idx + rows * cap;
  for (size_t r = 0; r < rows; r++)
    FN(spl_)(kern, j->a + (r_lo + r) * j->lda, j->sb, ns, idx + r * cap, val + r * cap,
             pos + r * (ns + 1));
  /* group q: panels [q * spw, ...) read whole (packed and zero-padded, or in place), or,
   * past the whole ones, an in-place partial last panel on its own, from bedge */
  size_t j0 = n, j1 = 0;
  for (size_t q = g_lo; q < g_hi; q++) {
    const T *bp[8];
    ptrdiff_t brs;
    size_t g;
    int np;
    if (q * spw < whole) {
      g = q * spw;
      np = (int)(whole - g < spw ? whole - g : spw);
      brs = j->packed_b ? (ptrdiff_t)NR : (ptrdiff_t)j->ldb;
      for (int t = 0; t < np; t++)
        bp[t] = j->packed_b ? j->packed_b + (g + (size_t)t) * NR * k : j->b + (g + (size_t)t) * NR;
    } else {
      g = whole;
      np = 1;
      brs = (ptrdiff_t)NR;
      bp[0] = j->bedge;
    }
    const int n_last = g + (size_t)np == npanels ? (int)(n - (npanels - 1) * NR) : (int)NR;
    if (g * NR < j0) j0 = g * NR;
    j1 = g + (size_t)np == npanels ? n : (g + (size_t)np) * NR;
    for (size_t s = 0; s < ns; s++) {
      const int first = j->sflag[s] & 1, last = j->sflag[s] & 2;
      const T beta = j->sflag[s] & 4 ? (T)0 : (T)1; /* the first K block sets C */
      for (size_t r = 0; r < rows; r++) {
        const uint32_t *ps = pos + r * (ns + 1);
        const size_t t0 = ps[s], t1 = ps[s + 1];
        if (t1 == t0 && !first && !last) continue; /* nothing to add in this slice */
        T *ab = accbuf + r * accw;
        int negz = 0; /* C's final values (the last slice) are tested for -0 */
        kern->spr(t1 - t0, idx + r * cap + t0, val + r * cap + t0, bp, brs, np, n_last,
                  j->c + (r_lo + r) * j->ldc + g * NR, beta, first ? NULL : ab,
                  last ? NULL : ab, s == ns - 1 ? &negz : NULL);
        if (negz) __atomic_store_n(&j->redo[r_lo + r], 1, __ATOMIC_RELAXED);
      }
    }
  }
  if (j0 >= j1 || !j->has_epilogue) return;
  for (size_t r = 0; r < rows; r++) { /* a row to be recomputed gets its epilogue then */
    const size_t row = r_lo + r;
    if (!__atomic_load_n(&j->redo[row], __ATOMIC_RELAXED))
      FN(epilogue_)(j->c, j->ldc, row, j0, 1, j1 - j0, j->bias, j->act, j->z, j->ldz);
  }
}

/* A transposed, C = A^T B (the weight gradient X^T dZ). Listing each column of A by
 * walking down it costs as much as the products save; instead a part owns a slice of C's
 * rows (columns of A), goes down A's rows in order, lists each row's nonzeros within the
 * slice (the lister), and appends each to its column's list, which so holds that column's
 * nonzeros in K order. Then each row of C is the forward's sparse kernel over its list
 * against B's rows, one call per K block of the dense driver (the part of the list in
 * that block, from zero; C = the first block's sum, then C + each later one's): the dense
 * kernel's order. */
static void FN(sparse_t_rows_)(void *ctx, int part, int nparts) {
  const FN(sparse_job_) *j = (const FN(sparse_job_) *)ctx;
  const KERN_T *kern = j->kern;
  const size_t NR = j->NR, spw = (size_t)kern->spw, npanels = j->npanels, k = j->k;
  j->bad_b[part] = !FN(sparse_b_ok_)(j, part, nparts, k);
  const size_t r0 = j->sb[part], r1 = j->sb[part + 1], w = r1 - r0;
  char *mem = (char *)fnn_scratch(w * k * (sizeof(uint32_t) + sizeof(T)) + 256);
  if (!mem) { /* no memory for the lists: these rows are done densely */
    for (size_t r = r0; r < r1; r++) __atomic_store_n(&j->redo[r], 1, __ATOMIC_RELAXED);
    return;
  }
  T *cval = (T *)mem;
  uint32_t *cidx = (uint32_t *)(cval + w * k);
  /* the dense driver's K blocks; bpos[b][r]: entries of row r's list before block b */
  const size_t kblocks = (k + kern->kc - 1) / kern->kc, KC = (k + kblocks - 1) / kblocks;
  uint32_t bpos[FNN_SPARSE_T_MAX_KBLOCKS + 1][FNN_SPARSE_T_MAX_SLICE];
  uint32_t cnt[FNN_SPARSE_T_MAX_SLICE];
  uint32_t tix[FNN_SPARSE_T_MAX_SLICE];
  T tval[FNN_SPARSE_T_MAX_SLICE];
  const uint32_t seg[2] = {0, (uint32_t)w};
  uint32_t tpos[2];
  for (size_t r = 0; r < w; r++) cnt[r] = 0;
  for (size_t kb = 0, kk = 0; kb < kblocks; kb++) {
    for (size_t r = 0; r < w; r++) bpos[kb][r] = cnt[r];
    const size_t kend = kk + KC < k ? kk + KC : k;
    for (; kk < kend; kk++) {
      if (kk + 8 < k) { /* the slice of a later row of A: rows lda apart defeat the
                           * hardware's prefetch (-6 % on a batch-256 epoch) */
        __builtin_prefetch(j->a + (kk + 8) * j->lda + r0, 0, 3);
        __builtin_prefetch(j->a + (kk + 8) * j->lda + r1 - 1, 0, 3);
      }
      const size_t got = FN(spl_)(kern, j->a + kk * j->lda + r0, seg, 1, tix, tval, tpos);
      for (size_t t = 0; t < got; t++) {
        const size_t r = tix[t];
        cidx[r * k + cnt[r]] = (uint32_t)kk;
        cval[r * k + cnt[r]] = tval[t];
        cnt[r]++;
      }
    }
  }
  for (size_t r = 0; r < w; r++) bpos[kblocks][r] = cnt[r];
  const size_t whole = j->n / NR; /* B's whole panels, read in place; then bedge's */
  for (size_t r = 0; r < w; r++) {
    T *crow = j->c + (r0 + r) * j->ldc;
    const uint32_t *ri = cidx + r * k;
    const T *rv = cval + r * k;
    const T *bp[8];
    int negz = 0; /* C's final values (the last K block) are tested for -0 */
    for (size_t g = 0; g < whole; g += spw) {
      const int np = (int)(whole - g < spw ? whole - g : spw);
      for (int q = 0; q < np; q++) bp[q] = j->b + (g + (size_t)q) * NR;
      for (size_t kb = 0; kb < kblocks; kb++)
        kern->spr(bpos[kb + 1][r] - bpos[kb][r], ri + bpos[kb][r], rv + bpos[kb][r], bp,
                  (ptrdiff_t)j->ldb, np, (int)NR, crow + g * NR, kb ? (T)1 : (T)0, NULL, NULL,
                  kb == kblocks - 1 ? &negz : NULL);
    }
    if (whole < npanels) { /* the partial last panel, zero-padded to NR columns */
      bp[0] = j->bedge;
      for (size_t kb = 0; kb < kblocks; kb++)
        kern->spr(bpos[kb + 1][r] - bpos[kb][r], ri + bpos[kb][r], rv + bpos[kb][r], bp,
                  (ptrdiff_t)NR, 1, (int)(j->n - whole * NR), crow + whole * NR,
                  kb ? (T)1 : (T)0, NULL, NULL, kb == kblocks - 1 ? &negz : NULL);
    }
    if (negz) __atomic_store_n(&j->redo[r0 + r], 1, __ATOMIC_RELAXED);
  }
}

/* The product through the sparse path, or FNN_SPARSE_DECLINED (nothing written) where it
 * does not apply: alpha 1, beta 0, a B the kernel can read in place or packed, and an A
 * sampled and found mostly zeros; with A transposed, also B in place, no epilogue and at
 * most FNN_SPARSE_T_MAX_KBLOCKS K blocks. b_finite: the caller knows that B holds no inf or
 * NaN (a packed copy that Adam wrote and checked, trainchain.c), and B is not checked
 * again. */
#define FNN_SPARSE_DECLINED 1
static int FN(gemm_sparse_)(const KERN_T *kern, int trans_a, int trans_b, size_t m, size_t n,
                            size_t k, T alpha, const T *a, size_t lda, const T *b, size_t ldb,
                            const T *packed_b, T beta, T *c, size_t ldc, const T *bias,
                            const fnn_act *act, T *z, size_t ldz, int b_finite) {
  const int has_epilogue = bias || z || (act && act->kind != FNN_ACT_LINEAR);
  const size_t NR = (size_t)kern->nr, spw = (size_t)kern->spw;
  if (!fnn_sparse_a_enabled() || !kern->spr || spw < 1 || spw > 8 ||
      alpha != (T)1 || beta != (T)0 || (trans_b && !packed_b) || k < FNN_SPARSE_MIN_K ||
      k >= (size_t)UINT32_MAX || m >= (size_t)UINT32_MAX || m < FNN_SPARSE_MIN_ROWS ||
      n == 0 || 2.0 * (double)m * (double)n * (double)k < FNN_SPARSE_MIN_FLOPS)
    return FNN_SPARSE_DECLINED;
  if (trans_a && (!b || trans_b || has_epilogue || k < FNN_SPARSE_T_MIN_K ||
                  (k + kern->kc - 1) / kern->kc > FNN_SPARSE_T_MAX_KBLOCKS))
    return FNN_SPARSE_DECLINED;
  /* a sample of about FNN_SPARSE_PROBE values from A's first rows as stored */
  const size_t srows = trans_a ? k : m, scols = trans_a ? m : k;
  size_t prow = (FNN_SPARSE_PROBE + scols - 1) / scols;
  if (prow > srows) prow = srows;
  const double most = FNN_SPARSE_MAX_DENSITY * (double)prow * (double)scols;
  size_t nz = 0;
  for (size_t i = 0; i < prow; i++) {
    for (size_t e = 0; e < scols; e++) nz += a[i * lda + e] != (T)0;
    if ((double)nz > most) return FNN_SPARSE_DECLINED; /* a dense A stops early */
  }
  const double density = (double)nz / ((double)prow * (double)scols);

  const int nt = fnn_team_threads_for(2.0 * density * (double)m * (double)n * (double)k);
  const size_t npanels = (n + NR - 1) / NR;
  /* slices: of K in each K block (not transposed), or of C's rows (transposed) */
  size_t ns, sl = 0, SB, KC = k, nparts, rows = 0, gsplit = 1, whole = 0, ngroups = 0;
  if (!trans_a) {
    const size_t kblocks = (k + kern->kc - 1) / kern->kc;
    KC = (k + kblocks - 1) / kblocks; /* as the dense driver cuts K */
    SB = FNN_SPARSE_L1_BYTES / (spw * NR * sizeof(T));
    if (SB < 1) SB = 1;
    ns = 0;
    for (size_t pc = 0; pc < k; pc += KC) ns += ((k - pc < KC ? k - pc : KC) + SB - 1) / SB;
    whole = packed_b ? npanels : n / NR;
    ngroups = (whole + spw - 1) / spw + (whole < npanels ? 1 : 0);
    if (nt > 1 && m <= FNN_SPARSE_SPLIT_N_MAX_M && m * k <= FNN_SPARSE_CHUNK_ENTRIES &&
        ngroups >= (size_t)nt) {
      /* few rows: each part takes all of them and a share of the panels, so that it
       * reads only its share of B, as the dense driver splits such products */
      rows = m;
      gsplit = (size_t)nt;
    } else {
      rows = (m + (size_t)nt * FNN_SPARSE_PARTS_PER_THREAD - 1) /
             ((size_t)nt * FNN_SPARSE_PARTS_PER_THREAD);
      if (rows < FNN_SPARSE_MIN_PART_ROWS) rows = FNN_SPARSE_MIN_PART_ROWS;
      if (rows > FNN_SPARSE_MAX_PART_ROWS) rows = FNN_SPARSE_MAX_PART_ROWS;
      if (rows * k > FNN_SPARSE_CHUNK_ENTRIES) rows = FNN_SPARSE_CHUNK_ENTRIES / k;
      if (rows < 1) rows = 1;
    }
    nparts = (m + rows - 1) / rows * gsplit;
  } else {
    SB = FNN_SPARSE_T_BLOCK_BYTES / (n * sizeof(T));
    if (SB > FNN_SPARSE_T_MAX_SLICE) SB = FNN_SPARSE_T_MAX_SLICE;
    if (SB < 1) SB = 1;
    ns = (m + SB - 1) / SB;
    sl = (m + ns - 1) / ns;
    nparts = ns;
  }
  if (nparts > INT_MAX) return FNN_SPARSE_DECLINED;
  const int need_edge = (trans_a || !packed_b) && n % NR; /* A transposed: B in place */
  uint32_t *sb = malloc((ns + 1) * sizeof(uint32_t));
  unsigned char *sflag = malloc(ns + 1);
  unsigned char *redo = calloc(m, 1);
  int *bad_b = malloc(nparts * sizeof(int));
  T *bedge = need_edge ? FN(aligned_alloc_)(NR * k) : NULL;
  int rc = FNN_OK;
  if (!sb || !sflag || !redo || !bad_b || (need_edge && !bedge)) {
    rc = FNN_SPARSE_DECLINED; /* the dense path may still find memory */
    goto done;
  }
  if (!trans_a) {
    size_t s = 0;
    for (size_t pc = 0; pc < k; pc += KC) {
      const size_t len = k - pc < KC ? k - pc : KC;
      const size_t nsl = (len + SB - 1) / SB, sl2 = (len + nsl - 1) / nsl;
      for (size_t q = 0; q < nsl; q++, s++) {
        sb[s] = (uint32_t)(pc + q * sl2);
        sflag[s] = (unsigned char)((q == 0 ? 1 : 0) | (q == nsl - 1 ? 2 : 0) | (pc == 0 ? 4 : 0));
      }
    }
    sb[ns] = (uint32_t)k;
  } else {
    for (size_t s = 0; s < ns; s++) sb[s] = (uint32_t)(s * sl);
    sb[ns] = (uint32_t)m;
  }
  if (bedge) FN(pack_b_panel_)(kern->nr, 0, k, n, b, ldb, n / NR, bedge);
  {
    FN(sparse_job_) job = {kern, m, n, k, a, lda, b, ldb, packed_b, bedge, c, ldc, bias, act,
                           z, ldz, has_epilogue, NR, npanels, sb, sflag, ns, rows, gsplit,
                           whole, ngroups, redo, bad_b, b_finite};
    const fnn_team_fn fn = trans_a ? FN(sparse_t_rows_) : FN(sparse_rows_);
    if (nt > 1 && nparts > 1)
      fnn_team_run_parts(nt, (int)nparts, fn, &job);
    else
      for (size_t p = 0; p < nparts; p++) fn(&job, (int)p, (int)nparts);
  }
  int bad = 0;
  for (size_t p = 0; p < nparts; p++) bad |= bad_b[p];
  if (bad) { /* B holds inf or NaN: all of it again, densely */
    rc = FN(gemm_dense_)(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, packed_b,
                         beta, c, ldc, bias, act, z, ldz);
    goto done;
  }
  __atomic_fetch_add(&fnn_sparse_stats[0], 1, __ATOMIC_RELAXED);
  for (size_t r = 0; r < m && rc == FNN_OK; r++) {
    if (!redo[r]) continue;
    __atomic_fetch_add(&fnn_sparse_stats[1], 1, __ATOMIC_RELAXED);
    rc = FN(gemm_dense_)(kern, trans_a, trans_b, 1, n, k, alpha, trans_a ? a + r : a + r * lda,
                         lda, b, ldb, packed_b, beta, c + r * ldc, ldc, bias, act,
                         z ? z + r * ldz : NULL, ldz);
  }
done:
  free(sb);
  free(sflag);
  free(redo);
  free(bad_b);
  free(bedge);
  return rc;
}

int FN(fnn_gemm_ex_hint_)(const KERN_T *kern, int trans_a, int trans_b, size_t m, size_t n,
                          size_t k, T alpha, const T *a, size_t lda, const T *b, size_t ldb,
                          const T *packed_b, T beta, T *c, size_t ldc, const T *bias,
                          const fnn_act *act, T *z, size_t ldz, int b_finite, int *sparse) {
  const int rc = FN(gemm_sparse_)(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                                  packed_b, beta, c, ldc, bias, act, z, ldz, b_finite);
  if (sparse) *sparse = rc != FNN_SPARSE_DECLINED;
  if (rc != FNN_SPARSE_DECLINED) return rc;
  return FN(gemm_dense_)(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, packed_b,
                         beta, c, ldc, bias, act, z, ldz);
}

int FN(fnn_gemm_ex_)(const KERN_T *kern, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                     T alpha, const T *a, size_t lda, const T *b, size_t ldb, const T *packed_b,
                     T beta, T *c, size_t ldc, const T *bias, const fnn_act *act, T *z,
                     size_t ldz) {
  return FN(fnn_gemm_ex_hint_)(kern, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, packed_b,
                               beta, c, ldc, bias, act, z, ldz, 0, NULL);
}
#undef FNN_SPARSE_DECLINED

size_t FN(fnn_sparse_list_)(const T *x, const uint32_t *bnd, size_t ns, uint32_t *idx, T *val,
                            uint32_t *pos) {
  return FN(spl_)(CAT(FN(fnn_kernel_), _current)(), x, bnd, ns, idx, val, pos);
}

#undef FN
#undef CAT
#undef CAT_
