/* gemm/driver.c - public GEMM entry points; the loops themselves are in driver_tmpl.h. */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <pthread.h>
#include <limits.h>
#include "gemm/gemm.h"
#include "par.h"

/* B is read in place, unpacked, when op(A) has at most this many MC row blocks ... */
#ifndef FNN_DIRECT_B_ROW_BLOCKS
#define FNN_DIRECT_B_ROW_BLOCKS 2
#endif
/* Up to this many rows, threads split the columns of C (when they divide evenly into
 * panels) rather than its rows: each thread then streams only its share of B. */
#ifndef FNN_SPLIT_N_MAX_M
#define FNN_SPLIT_N_MAX_M 96
#endif
/* A one-row product gets two threads from this many elements of B (see the driver). */
#ifndef FNN_ONE_ROW_SPLIT_ELEMS
#define FNN_ONE_ROW_SPLIT_ELEMS 65536.0
#endif
/* C blocks (team parts) per thread in a multi-threaded product, where it has the tiles.
 * Three were no faster on the 2-core VM, and slower at some shapes: a thread then takes
 * interleaved blocks, each through every K slice, so all of B passes through its core's
 * L2 for each block, where one part per thread streams one K slice of B for all of the
 * thread's rows. */
#ifndef FNN_GEMM_PARTS_PER_THREAD
#define FNN_GEMM_PARTS_PER_THREAD 1
#endif
/* Where a two-thread product split by rows puts its split: per shape (a small table of
 * slots, hashed from m, n, k and the transpose), the fraction of the rows that part 0
 * takes, moved after each product towards the fraction that would have made both parts
 * finish together (from each part's time per row), by a fifth of the gap, within
 * [0.3, 0.7]. Racing updates from two threads only lose an update; the split never
 * changes a result. */
#define FNN_SPLIT_SLOTS 64
static int g_split_frac[FNN_SPLIT_SLOTS]; /* fraction * 1e6; 0 means 0.5 (not yet set) */

static unsigned fnn_split_slot(size_t m, size_t n, size_t k, int trans_a) {
  uint64_t h = (uint64_t)m * 0x9E3779B97F4A7C15ull;
  h ^= (uint64_t)n * 0xC2B2AE3D27D4EB4Full + (h >> 29);
  h ^= (uint64_t)k * 0x165667B19E3779F9ull + (h >> 31);
  h ^= (uint64_t)(trans_a + 1) * 0x27D4EB2F165667C5ull;
  return (unsigned)(h >> 58) % FNN_SPLIT_SLOTS;
}

static double fnn_split_fraction(unsigned slot) {
  const int v = __atomic_load_n(&g_split_frac[slot], __ATOMIC_RELAXED);
  return v ? (double)v / 1e6 : 0.5;
}

double fnn_gemm_split_fraction(size_t m, size_t n, size_t k, int trans_a, double set) {
  const unsigned slot = fnn_split_slot(m, n, k, trans_a);
  if (set > 0 && set < 1) __atomic_store_n(&g_split_frac[slot], (int)(set * 1e6), __ATOMIC_RELAXED);
  return fnn_split_fraction(slot);
}

static void fnn_split_update(unsigned slot, double ns0, double rows0, double ns1,
                             double rows1) {
  if (ns0 <= 0 || ns1 <= 0 || rows0 <= 0 || rows1 <= 0) return;
  const double rate0 = ns0 / rows0, rate1 = ns1 / rows1;
  double want = rate1 / (rate0 + rate1);
  double f = fnn_split_fraction(slot);
  f += 0.2 * (want - f);
  if (f < 0.3) f = 0.3;
  if (f > 0.7) f = 0.7;
  __atomic_store_n(&g_split_frac[slot], (int)(f * 1e6), __ATOMIC_RELAXED);
}

/* A block is packed when at least this many B panels reuse it ... */
#ifndef FNN_PACK_A_MIN_PANELS
#define FNN_PACK_A_MIN_PANELS 4
#endif
/* ... and K is at least this long. */
#ifndef FNN_PACK_A_MIN_K
#define FNN_PACK_A_MIN_K 64
#endif
/* ... or whatever the row count, when B's rows are at most this many bytes apart. */
#ifndef FNN_DIRECT_B_MAX_ROW_BYTES
#define FNN_DIRECT_B_MAX_ROW_BYTES 2048
#endif
#ifdef FASTNN_HAVE_OPENMP
#include <omp.h>
#endif

/* Products with a mostly-zero A (driver_tmpl.h, gemm_sparse_). They are tried from this
 * many flops of the dense product, this many rows (finding B finite costs about what a row
 * of dense products does, so a single sample stays dense) and this long a K, ... */
#ifndef FNN_SPARSE_MIN_FLOPS
#define FNN_SPARSE_MIN_FLOPS 100000.0
#endif
#ifndef FNN_SPARSE_MIN_ROWS
#define FNN_SPARSE_MIN_ROWS 8
#endif
#ifndef FNN_SPARSE_MIN_K
#define FNN_SPARSE_MIN_K 16
#endif
/* ... when a sample of about this many of A's values ... */
#ifndef FNN_SPARSE_PROBE
#define FNN_SPARSE_PROBE 4096
#endif
/* ... has at most this fraction of them not zero. At 256 x 784 x 128 on one core of the 2-core
 * VM, the path's first version listed in about 70 us and multiplied in about 1900 us per
 * unit of density, against 630 us dense: even at about 0.3 (bench/RESULTS.md has the later
 * versions' times, all faster, at MNIST's 0.19). The sample stops as soon as it holds more
 * nonzeros than this allows. */
#ifndef FNN_SPARSE_MAX_DENSITY
#define FNN_SPARSE_MAX_DENSITY 0.25
#endif
/* A part takes about a quarter of a thread's share of A's rows, at least
 * FNN_SPARSE_MIN_PART_ROWS (each part reads its rows of B: fewer rows share them less), at
 * most FNN_SPARSE_MAX_PART_ROWS and at most FNN_SPARSE_CHUNK_ENTRIES of A's values. */
#ifndef FNN_SPARSE_MIN_PART_ROWS
#define FNN_SPARSE_MIN_PART_ROWS 16
#endif
/* Up to this many rows, the parts share out B's panels rather than A's rows. */
#ifndef FNN_SPARSE_SPLIT_N_MAX_M
#define FNN_SPARSE_SPLIT_N_MAX_M 96
#endif
#ifndef FNN_SPARSE_MAX_PART_ROWS
#define FNN_SPARSE_MAX_PART_ROWS 64
#endif
#ifndef FNN_SPARSE_CHUNK_ENTRIES
#define FNN_SPARSE_CHUNK_ENTRIES 65536
#endif
/* A slice of K is as long as keeps a group of panels' rows of B in this many bytes. At
 * 256 x 784 x 128 on one thread: 440, 334, 283 and 318 us with 12, 24, 64 and 200 KB
 * (shorter slices cost more calls of the kernel per row than their L1 hits saved). */
#ifndef FNN_SPARSE_L1_BYTES
#define FNN_SPARSE_L1_BYTES 65536
#endif
/* The transposed case: a part's slice of C's rows (columns of A) holds about this many
 * bytes of C, and at most FNN_SPARSE_T_MAX_SLICE rows; ... */
#ifndef FNN_SPARSE_T_BLOCK_BYTES
#define FNN_SPARSE_T_BLOCK_BYTES 16384
#endif
/* ... and needs K (the batch) this long: a batch-32 step was 2-4 % faster with it
 * (bench/RESULTS.md). */
#ifndef FNN_SPARSE_T_MIN_K
#define FNN_SPARSE_T_MIN_K 32
#endif
#ifndef FNN_SPARSE_T_MAX_SLICE
#define FNN_SPARSE_T_MAX_SLICE 64
#endif
/* ... and K in at most this many of the dense driver's K blocks (a batch of 256 is two
 * blocks with the AVX-512 kernels' kc of 192). */
#ifndef FNN_SPARSE_T_MAX_KBLOCKS
#define FNN_SPARSE_T_MAX_KBLOCKS 8
#endif
#ifndef FNN_SPARSE_PARTS_PER_THREAD
#define FNN_SPARSE_PARTS_PER_THREAD 4
#endif

/* The sparse path's working memory (a part's lists: at most FNN_SPARSE_CHUNK_ENTRIES values
 * and their indices), kept per thread and grown when a product needs more: allocated and
 * freed per product, it came back from the system each time as fresh pages, and their
 * faults (84,000 in a batch-256 epoch) cost more than the path saved. Freed when the thread
 * ends. */
typedef struct {
  void *p;
  size_t cap;
} fnn_scratch_t;
static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static int g_scratch_ok;

static void scratch_free_(void *v) {
  fnn_scratch_t *s = (fnn_scratch_t *)v;
  free(s->p);
  free(s);
}
static void scratch_init_(void) {
  g_scratch_ok = pthread_key_create(&g_scratch_key, scratch_free_) == 0;
}

/* At least `bytes` of 64-byte aligned memory for this thread, until its next call here. */
static void *fnn_scratch(size_t bytes) {
  pthread_once(&g_scratch_once, scratch_init_);
  if (!g_scratch_ok) return NULL;
  fnn_scratch_t *s = (fnn_scratch_t *)pthread_getspecific(g_scratch_key);
  if (!s) {
    s = (fnn_scratch_t *)calloc(1, sizeof *s);
    if (!s) return NULL;
    if (pthread_setspecific(g_scratch_key, s) != 0) {
      free(s);
      return NULL;
    }
  }
  if (s->cap < bytes) {
    free(s->p);
    const size_t want = (bytes + 63) & ~(size_t)63;
    s->p = aligned_alloc(64, want);
    s->cap = s->p ? want : 0;
  }
  return s->p;
}

static int g_sparse_a = 1;
/* [0]: products that took the sparse path; [1]: rows of them recomputed densely. */
static long fnn_sparse_stats[2];

void fnn_set_sparse_a(int on) { __atomic_store_n(&g_sparse_a, on ? 1 : 0, __ATOMIC_RELAXED); }
static int fnn_sparse_a_enabled(void) { return __atomic_load_n(&g_sparse_a, __ATOMIC_RELAXED); }
long fnn_sparse_a_stat(int which) {
  return which == 0 || which == 1 ? __atomic_load_n(&fnn_sparse_stats[which], __ATOMIC_RELAXED)
                                  : -1;
}

const fnn_kernel_f32 *fnn_kernel_f32_current(void) {
  switch (fnn_family()) {
    case FNN_FAMILY_AVX512: return &fnn_kernel_avx512_f32;
    case FNN_FAMILY_AVX2: return &fnn_kernel_avx2_f32;
    default: return &fnn_kernel_portable_f32;
  }
}

const fnn_kernel_f64 *fnn_kernel_f64_current(void) {
  switch (fnn_family()) {
    case FNN_FAMILY_AVX512: return &fnn_kernel_avx512_f64;
    case FNN_FAMILY_AVX2: return &fnn_kernel_avx2_f64;
    default: return &fnn_kernel_portable_f64;
  }
}

#define T float
#define SFX f32
#define KERN_T fnn_kernel_f32
#include "driver_tmpl.h"
#undef T
#undef SFX
#undef KERN_T

#define T double
#define SFX f64
#define KERN_T fnn_kernel_f64
#include "driver_tmpl.h"
#undef T
#undef SFX
#undef KERN_T

int fnn_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc) {
  return fnn_gemm_ex_f32(fnn_kernel_f32_current(), trans_a, trans_b, m, n, k, alpha, a, lda, b,
                         ldb, NULL, beta, c, ldc, NULL, NULL, NULL, 0);
}

int fnn_gemm_f64(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                 const double *a, size_t lda, const double *b, size_t ldb, double beta,
                 double *c, size_t ldc) {
  return fnn_gemm_ex_f64(fnn_kernel_f64_current(), trans_a, trans_b, m, n, k, alpha, a, lda, b,
                         ldb, NULL, beta, c, ldc, NULL, NULL, NULL, 0);
}

size_t fnn_packed_b_size_f32(size_t k, size_t n) {
  return packed_b_elems_f32(fnn_kernel_f32_current(), k, n);
}
size_t fnn_packed_b_size_f64(size_t k, size_t n) {
  return packed_b_elems_f64(fnn_kernel_f64_current(), k, n);
}

int fnn_packed_b_nr_f32(void) { return fnn_kernel_f32_current()->nr; }
int fnn_packed_b_nr_f64(void) { return fnn_kernel_f64_current()->nr; }

/* fnn_pack_b_span. Whole rows go panel by panel with copies of a fixed width (nr = 8, 16 or
 * 32, the kernels' widths), which the compiler turns into a few vector moves; a partial row
 * at either end of the span, and other widths, go run by run (the part of a row in one
 * panel) through span_part_, which carries the panel and the offset in it along instead of
 * dividing them out per element. */
#define FNN_PACK_SPAN(T, SFX)                                                                 \
  static void span_part_##SFX(size_t k, size_t n, size_t nr, const T *b, size_t lo,          \
                              size_t hi, T *packed) {                                         \
    if (lo >= hi) return;                                                                     \
    size_t i = lo / n, j = lo - i * n;                                                        \
    const size_t p = j / nr;                                                                  \
    size_t jj = j - p * nr;                                                                   \
    T *panel_row = packed + p * nr * k + i * nr; /* element (i, p * nr) */                    \
    const T *s = b + lo;                                                                      \
    size_t left = hi - lo;                                                                    \
    while (left) { /* one run of a row within one panel at a time */                          \
      size_t len = nr - jj;                                                                   \
      if (len > n - j) len = n - j;                                                           \
      if (len > left) len = left;                                                             \
      for (size_t t = 0; t < len; t++) panel_row[jj + t] = s[t];                              \
      s += len;                                                                               \
      left -= len;                                                                            \
      j += len;                                                                               \
      jj = 0;                                                                                 \
      if (j == n) { /* the next row starts at panel 0 */                                      \
        j = 0;                                                                                \
        i++;                                                                                  \
        panel_row = packed + i * nr;                                                          \
      } else {                                                                                \
        panel_row += nr * k;                                                                  \
      }                                                                                       \
    }                                                                                         \
  }                                                                                           \
                                                                                              \
  static inline void span_rows_##SFX(size_t k, size_t n, size_t nr, const T *b, size_t i0,   \
                                     size_t i1, T *packed) {                                  \
    const size_t npan = n / nr, rest = n - npan * nr, pstride = nr * k;                       \
    for (size_t i = i0; i < i1; i++) {                                                        \
      const T *s = b + i * n;                                                                 \
      T *d = packed + i * nr;                                                                 \
      for (size_t p = 0; p < npan; p++, s += nr, d += pstride) {                              \
        if (nr == 16)                                                                         \
          memcpy(d, s, 16 * sizeof(T));                                                       \
        else if (nr == 8)                                                                     \
          memcpy(d, s, 8 * sizeof(T));                                                        \
        else                                                                                  \
          memcpy(d, s, 32 * sizeof(T));                                                       \
      }                                                                                       \
      for (size_t t = 0; t < rest; t++) d[t] = s[t]; /* the partial last panel */             \
    }                                                                                         \
  }                                                                                           \
                                                                                              \
  void fnn_pack_b_span_##SFX(size_t k, size_t n, int nr, const T *b, size_t lo, size_t hi,   \
                             T *packed) {                                                     \
    if (lo >= hi || n == 0 || nr < 1) return;                                                 \
    const size_t NR = (size_t)nr;                                                             \
    if (NR != 8 && NR != 16 && NR != 32) {                                                    \
      span_part_##SFX(k, n, NR, b, lo, hi, packed);                                           \
      return;                                                                                 \
    }                                                                                         \
    const size_t i0 = (lo + n - 1) / n, i1 = hi / n; /* the whole rows in [lo, hi) */         \
    if (i0 >= i1) {                                                                           \
      span_part_##SFX(k, n, NR, b, lo, hi, packed);                                           \
      return;                                                                                 \
    }                                                                                         \
    span_part_##SFX(k, n, NR, b, lo, i0 * n, packed);                                         \
    if (NR == 16)                                                                             \
      span_rows_##SFX(k, n, 16, b, i0, i1, packed);                                           \
    else if (NR == 8)                                                                         \
      span_rows_##SFX(k, n, 8, b, i0, i1, packed);                                            \
    else                                                                                      \
      span_rows_##SFX(k, n, 32, b, i0, i1, packed);                                           \
    span_part_##SFX(k, n, NR, b, i1 * n, hi, packed);                                         \
  }

FNN_PACK_SPAN(float, f32)
FNN_PACK_SPAN(double, f64)

void fnn_pack_b_f32(int trans_b, size_t k, size_t n, const float *b, size_t ldb, float *packed) {
  pack_b_all_f32(fnn_kernel_f32_current(), trans_b, k, n, b, ldb, packed,
                 fnn_threads_for((double)k * (double)n * 4.0));
}
void fnn_pack_b_f64(int trans_b, size_t k, size_t n, const double *b, size_t ldb,
                    double *packed) {
  pack_b_all_f64(fnn_kernel_f64_current(), trans_b, k, n, b, ldb, packed,
                 fnn_threads_for((double)k * (double)n * 4.0));
}
