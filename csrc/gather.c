/* gather.c - rows of an array picked by index, for shuffled training batches. */
#include <string.h>
#include "fastnn.h"

/* Rows are read a few ahead of the copy, so that the memory latency of one random row
 * overlaps the copying of the rows before it. */
#define FNN_GATHER_AHEAD 4

/* Whether every index is in [0, nrows). */
static int indices_in_range(const int64_t *idx, size_t n, size_t nrows) {
  for (size_t i = 0; i < n; i++)
    if (idx[i] < 0 || (uint64_t)idx[i] >= (uint64_t)nrows) return 0;
  return 1;
}

/* out row i = src row idx[i], for i < n, rows of row_bytes bytes. */
static void copy_rows(const char *s, size_t row_bytes, const int64_t *idx, size_t n, char *o) {
  for (size_t i = 0; i < n; i++) {
    if (i + FNN_GATHER_AHEAD < n) {
      const char *p = s + (size_t)idx[i + FNN_GATHER_AHEAD] * row_bytes;
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b, 0, 0);
    }
    memcpy(o + i * row_bytes, s + (size_t)idx[i] * row_bytes, row_bytes);
  }
}

int fnn_gather_rows(const void *src, size_t nrows, size_t row_bytes, const int64_t *idx,
                    size_t n, void *out) {
  if (!indices_in_range(idx, n, nrows)) return FNN_EINVAL;
  copy_rows((const char *)src, row_bytes, idx, n, (char *)out);
  return FNN_OK;
}

/* ---- gather and convert ------------------------------------------------------------------
 * A shuffled batch of a float64 (or uint8, ...) training set for a float32 model: each row
 * is converted as it is copied, instead of a copy into a buffer of the source's type and a
 * second pass over that buffer. Each conversion is C's, which is the one NumPy's astype
 * uses: IEEE round to nearest even (the default rounding mode) for a float64 or a 32/64-bit
 * integer into float32 (one rounding, from the integer itself), exact otherwise. NaNs keep
 * their sign and their leading payload bits, as in NumPy. */

/* The conversion loops are also compiled for AVX2 (four doubles converted per instruction
 * instead of two, eight bytes widened at once) and the clone is picked at load time. A
 * conversion has one correctly rounded result, so both clones give the same bits. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(FNN_NO_CLONES)
#define FNN_GATHER_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FNN_GATHER_CLONES
#endif

#define FNN_GATHER_CAST(S, D, NAME)                                                        \
  static FNN_GATHER_CLONES void NAME(const void *src, size_t row_elems, const int64_t *idx, \
                                     size_t n, void *out) {                                \
    const size_t row_bytes = row_elems * sizeof(S);                                         \
    const char *s = (const char *)src;                                                      \
    for (size_t i = 0; i < n; i++) {                                                        \
      if (i + FNN_GATHER_AHEAD < n) {                                                       \
        const char *p = s + (size_t)idx[i + FNN_GATHER_AHEAD] * row_bytes;                  \
        for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b, 0, 0);         \
      }                                                                                     \
      const S *restrict r = (const S *)(s + (size_t)idx[i] * row_bytes);                    \
      D *restrict d = (D *)out + i * row_elems;                                             \
      for (size_t j = 0; j < row_elems; j++) d[j] = (D)r[j];                                \
    }                                                                                       \
  }

#define FNN_GATHER_CAST_TO(S, SN)                  \
  FNN_GATHER_CAST(S, float, gather_##SN##_to_f32)  \
  FNN_GATHER_CAST(S, double, gather_##SN##_to_f64)

FNN_GATHER_CAST_TO(double, f64)
FNN_GATHER_CAST_TO(float, f32)
FNN_GATHER_CAST_TO(int64_t, i64)
FNN_GATHER_CAST_TO(int32_t, i32)
FNN_GATHER_CAST_TO(int16_t, i16)
FNN_GATHER_CAST_TO(int8_t, i8)
FNN_GATHER_CAST_TO(uint64_t, u64)
FNN_GATHER_CAST_TO(uint32_t, u32)
FNN_GATHER_CAST_TO(uint16_t, u16)
FNN_GATHER_CAST_TO(uint8_t, u8)

typedef void (*fnn_gather_cast_fn)(const void *, size_t, const int64_t *, size_t, void *);

/* [source kind - 1][0: to float32, 1: to float64], in the order of the FNN_ELEM_ kinds. */
static const fnn_gather_cast_fn gather_cast_fns[][2] = {
    {gather_f64_to_f32, gather_f64_to_f64}, {gather_f32_to_f32, gather_f32_to_f64},
    {gather_i64_to_f32, gather_i64_to_f64}, {gather_i32_to_f32, gather_i32_to_f64},
    {gather_i16_to_f32, gather_i16_to_f64}, {gather_i8_to_f32, gather_i8_to_f64},
    {gather_u64_to_f32, gather_u64_to_f64}, {gather_u32_to_f32, gather_u32_to_f64},
    {gather_u16_to_f32, gather_u16_to_f64}, {gather_u8_to_f32, gather_u8_to_f64},
};

typedef struct {
  fnn_gather_cast_fn fn;
  const void *src;
  size_t row_elems;
  const int64_t *idx;
  size_t n;
  void *out;
  size_t out_size; /* bytes per output value */
} gather_job;

static void gather_share(void *ctx, int tid, int nt) {
  const gather_job *j = (const gather_job *)ctx;
  size_t lo, hi;
  fnn_share(j->n, tid, nt, &lo, &hi);
  if (hi > lo)
    j->fn(j->src, j->row_elems, j->idx + lo, hi - lo,
          (char *)j->out + lo * j->row_elems * j->out_size);
}

int fnn_gather_rows_cast(const void *src, int src_kind, size_t nrows, size_t row_elems,
                         const int64_t *idx, size_t n, int dst_kind, void *out) {
  if (src_kind < FNN_ELEM_F64 || src_kind > FNN_ELEM_U8) return FNN_EINVAL;
  if (dst_kind != FNN_ELEM_F32 && dst_kind != FNN_ELEM_F64) return FNN_EINVAL;
  if (!indices_in_range(idx, n, nrows)) return FNN_EINVAL;
  if (n == 0 || row_elems == 0) return FNN_OK;
  gather_job job = {gather_cast_fns[src_kind - 1][dst_kind == FNN_ELEM_F64], src, row_elems,
                    idx, n, out, (dst_kind == FNN_ELEM_F64 ? sizeof(double) : sizeof(float))};
  /* Threads split the rows; a big batch (256 rows of 784 doubles: 1.6 MB of scattered
   * reads) is bound by memory latency, which two threads overlap. Counted as 8 "flops" a
   * value, so a batch of 32 such rows stays on one thread. */
  const int nt = fnn_threads_for(8.0 * (double)n * (double)row_elems);
  if (nt > 1)
    fnn_team_run(nt, gather_share, &job);
  else
    gather_share(&job, 0, 1);
  return FNN_OK;
}

/* ---- a gather started ahead --------------------------------------------------------------
 * fit gathers batch i + 1 on the pool's workers while step i trains (fnn_side_start): the
 * copy then fills the stretches of a step where a worker has nothing to do (the small
 * kernels, the loss and the Python between steps) instead of delaying the next step. The
 * rows are cut into parts of FNN_GATHER_AHEAD_ROWS, so that a worker goes back to the
 * step's own work within a few microseconds, and the caller copies what is left when it
 * needs the batch. */
#define FNN_GATHER_AHEAD_ROWS 16

static void gather_ahead_part(void *ctx, int part, int nparts) {
  const fnn_gather_ahead *j = (const fnn_gather_ahead *)ctx;
  if (j->src_kind != 0) { /* the converting gather's own share of the rows */
    const gather_job cast = {gather_cast_fns[j->src_kind - 1][j->dst_kind == FNN_ELEM_F64],
                             j->src, j->row_elems, j->idx, j->n, j->out,
                             j->dst_kind == FNN_ELEM_F64 ? sizeof(double) : sizeof(float)};
    gather_share((void *)&cast, part, nparts);
    return;
  }
  size_t lo, hi;
  fnn_share(j->n, part, nparts, &lo, &hi);
  copy_rows((const char *)j->src, j->row_bytes, j->idx + lo, hi - lo,
            (char *)j->out + lo * j->row_bytes);
}

int fnn_gather_ahead_start(fnn_gather_ahead *job, const void *src, int src_kind, size_t nrows,
                           size_t row_elems, size_t row_bytes, const int64_t *idx, size_t n,
                           int dst_kind, void *out) {
  job->pending = 0;
  if (src_kind < 0 || src_kind > FNN_ELEM_U8) return FNN_EINVAL;
  if (src_kind != 0 && dst_kind != FNN_ELEM_F32 && dst_kind != FNN_ELEM_F64) return FNN_EINVAL;
  if (!indices_in_range(idx, n, nrows)) return FNN_EINVAL;
  if (n == 0 || row_bytes == 0) return FNN_OK;
  job->src = src;
  job->src_kind = src_kind;
  job->row_elems = row_elems;
  job->row_bytes = row_bytes;
  job->idx = idx;
  job->n = n;
  job->dst_kind = dst_kind;
  job->out = out;
  size_t parts = (n + FNN_GATHER_AHEAD_ROWS - 1) / FNN_GATHER_AHEAD_ROWS;
  if (parts > 0xFFFF) parts = 0xFFFF;
  job->pending = fnn_side_start((int)parts, gather_ahead_part, job);
  return FNN_OK;
}

void fnn_gather_ahead_wait(fnn_gather_ahead *job) {
  if (job->pending) fnn_side_wait();
  job->pending = 0;
}
