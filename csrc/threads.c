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

/* A kernel runs on one thread, or on all of them: never on a team of some other size.
 * GNU OpenMP keeps one pool of worker threads, sized by the last parallel region; a
 * region with fewer threads than the one before makes the surplus workers exit, and the
 * next larger region creates them again (pthread_create, tens of microseconds each). A
 * training step mixes kernels of very different sizes, so scaled team sizes (16 threads
 * for a GEMM, 3 for an optimizer update) cost more in thread churn than the work they
 * saved; measured with 16 threads, an MNIST epoch took four times as long as on one.
 * Workers a small region does not need wait at its closing barrier instead. */
int fnn_threads_for(double flops) {
  const int nt = fnn_get_num_threads();
  if (nt <= 1 || flops < 2.0 * FNN_FLOPS_PER_EXTRA_THREAD) return 1;
  return nt;
}
