/* threads.c - fastnn's own thread count, independent of other OpenMP users. */
#include "fastnn.h"
#ifdef FASTNN_HAVE_OPENMP
#include <omp.h>
#endif
#if defined(FASTNN_HAVE_OPENMP) && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
#define FNN_ATFORK 1
#endif

/* 0 means "the default": OMP_NUM_THREADS when set, else the number of cores. */
static int g_num_threads = 0;

/* Fork safety. GNU OpenMP keeps a pool of worker threads that fork() does not copy: in a
 * child of a process that has run a parallel region, the next parallel region waits for
 * workers that do not exist, and the child hangs (os.fork, multiprocessing's "fork" start
 * method, servers that fork workers after loading a model). So a child forked after
 * fastnn ran a team of more than one thread runs every kernel on one thread: the results
 * are the same bits (contract 2), only the speed differs. A child forked before any team
 * ran keeps its threads. g_team_used is set the first time a kernel asks for a team;
 * g_forked_serial is set in the child by the pthread_atfork handler. */
static int g_team_used = 0;
static int g_forked_serial = 0;

#ifdef FNN_ATFORK
static void fnn_atfork_child(void) {
  if (__atomic_load_n(&g_team_used, __ATOMIC_RELAXED))
    __atomic_store_n(&g_forked_serial, 1, __ATOMIC_RELAXED);
}

/* Runs when the extension module is loaded (threads.o is always linked in). */
__attribute__((constructor)) static void fnn_register_atfork(void) {
  pthread_atfork(NULL, NULL, fnn_atfork_child);
}
#endif

int fnn_forked_serial(void) { return __atomic_load_n(&g_forked_serial, __ATOMIC_RELAXED); }

void fnn_set_num_threads(int n) { __atomic_store_n(&g_num_threads, n > 0 ? n : 0, __ATOMIC_RELAXED); }

/* A cap on the thread count for the calling thread only (0: none). fit's thread tuner
 * sets it around a training step; other threads' kernels are not affected. */
static _Thread_local int t_cap = 0;

void fnn_set_thread_cap(int n) { t_cap = n > 0 ? n : 0; }

int fnn_get_num_threads(void) {
  if (__atomic_load_n(&g_forked_serial, __ATOMIC_RELAXED)) return 1;
  int n = __atomic_load_n(&g_num_threads, __ATOMIC_RELAXED);
  if (n <= 0) {
#ifdef FASTNN_HAVE_OPENMP
    n = omp_get_max_threads();
    if (n <= 0) n = 1;
#else
    n = 1;
#endif
  }
  return t_cap > 0 && t_cap < n ? t_cap : n;
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
  if (!__atomic_load_n(&g_team_used, __ATOMIC_RELAXED))
    __atomic_store_n(&g_team_used, 1, __ATOMIC_RELAXED);
  return nt;
}
