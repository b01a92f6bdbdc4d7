/* threads.c - fastnn's own thread count, independent of other OpenMP users. */
#include "fastnn.h"
#ifdef FASTNN_HAVE_OPENMP
#include <omp.h>
#endif

/* 0 means "the default": OMP_NUM_THREADS when set, else the number of cores. */
static int g_num_threads = 0;

void fnn_set_num_threads(int n) { __atomic_store_n(&g_num_threads, n > 0 ? n : 0, __ATOMIC_RELAXED); }

int fnn_get_num_threads(void) {
  int n = __atomic_load_n(&g_num_threads, __ATOMIC_RELAXED);
  if (n > 0) return n;
#ifdef FASTNN_HAVE_OPENMP
  n = omp_get_max_threads();
  return n > 0 ? n : 1;
#else
  return 1;
#endif
}

int fnn_openmp_enabled(void) {
#ifdef FASTNN_HAVE_OPENMP
  return 1;
#else
  return 0;
#endif
}

/* Waking a team of OpenMP threads costs a few microseconds; at a few tens of GFLOP/s per
 * core that is worth about this many flops. Below it an extra thread cannot pay for itself. */
#define FNN_FLOPS_PER_EXTRA_THREAD 400000.0

int fnn_threads_for(double flops) {
  int nt = fnn_get_num_threads();
  if (nt <= 1 || flops < FNN_FLOPS_PER_EXTRA_THREAD) return 1;
  double useful = flops / FNN_FLOPS_PER_EXTRA_THREAD;
  if (useful < (double)nt) nt = (int)useful < 1 ? 1 : (int)useful;
  return nt;
}
