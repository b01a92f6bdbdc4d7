/* gather.c - rows of an array picked by index, for shuffled training batches. */
#include <string.h>
#include "fastnn.h"

/* Rows are read a few ahead of the copy, so that the memory latency of one random row
 * overlaps the copying of the rows before it. */
#define FNN_GATHER_AHEAD 4

int fnn_gather_rows(const void *src, size_t nrows, size_t row_bytes, const int64_t *idx,
                    size_t n, void *out) {
  for (size_t i = 0; i < n; i++)
    if (idx[i] < 0 || (uint64_t)idx[i] >= (uint64_t)nrows) return FNN_EINVAL;
  const char *s = (const char *)src;
  char *o = (char *)out;
  for (size_t i = 0; i < n; i++) {
    if (i + FNN_GATHER_AHEAD < n) {
      const char *p = s + (size_t)idx[i + FNN_GATHER_AHEAD] * row_bytes;
      for (size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(p + b, 0, 0);
    }
    memcpy(o + i * row_bytes, s + (size_t)idx[i] * row_bytes, row_bytes);
  }
  return FNN_OK;
}
