/* reduce.c - the deterministic blocked reduction (see reduce.h). */
#include <stdlib.h>
#include "fastnn.h"
#include "reduce.h"

#define BLOCKED_SUM(T, SFX)                                                                  \
  double fnn_blocked_sum_##SFX(const T *x, size_t n, size_t block,                           \
                               double (*fn)(const T *, size_t), double flops_per_elem) {     \
    const size_t nb = (n + block - 1) / block;                                               \
    const int nt = nb > 1 ? fnn_threads_for(flops_per_elem * (double)n) : 1;                 \
    double *part = nt > 1 ? (double *)malloc(nb * sizeof(double)) : NULL;                    \
    double total = 0.0;                                                                      \
    if (part) {                                                                              \
      _Pragma("omp parallel for schedule(static) num_threads(nt) if (nt > 1)")              \
      for (size_t b = 0; b < nb; b++) {                                                      \
        const size_t off = b * block;                                                        \
        part[b] = fn(x + off, n - off < block ? n - off : block);                            \
      }                                                                                      \
      for (size_t b = 0; b < nb; b++) total += part[b];                                      \
      free(part);                                                                            \
    } else {                                                                                 \
      /* same blocks, same order: identical to the threaded result */                        \
      for (size_t b = 0; b < nb; b++) {                                                      \
        const size_t off = b * block;                                                        \
        total += fn(x + off, n - off < block ? n - off : block);                             \
      }                                                                                      \
    }                                                                                        \
    return total;                                                                            \
  }

BLOCKED_SUM(float, f32)
BLOCKED_SUM(double, f64)
