/* par.h - loops split over a team of threads, or run directly when the team is one thread.
 *
 * `#pragma omp parallel for ... if (nt > 1)` still enters the OpenMP runtime when nt is 1:
 * GNU OpenMP sets up a team of one and tears it down, about half a microsecond a call,
 * measured on the 2-core VM after a team of two had run. A training step runs a dozen
 * small kernels on one thread, and a single-sample prediction is a few microseconds in
 * all, so those calls are worth skipping. Both branches run the same loop body over the
 * same index range with a static schedule: the results are the same bits either way. */
#ifndef FASTNN_PAR_H
#define FASTNN_PAR_H
#include <time.h>

/* A monotonic clock in nanoseconds: the pool's spin limit (threads.c) and the GEMM's timing
 * of its two parts (gemm/driver.c). */
static inline long fnn_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* for (type i = 0; i < n; i++) { body } on the nt threads named by a variable `nt` in
 * scope (one contiguous block of i per thread), or on this thread when nt <= 1. */
#define FNN_FOR_NT(type, i, n, ...)                                   \
  do {                                                                \
    const type fnn_for_n_ = (n);                                      \
    if (nt > 1) {                                                     \
      _Pragma("omp parallel for schedule(static) num_threads(nt)")    \
      for (type i = 0; i < fnn_for_n_; i++) { __VA_ARGS__ }           \
    } else {                                                          \
      for (type i = 0; i < fnn_for_n_; i++) { __VA_ARGS__ }           \
    }                                                                 \
  } while (0)

#endif
