/* threads.c - fastnn's own thread count, independent of other OpenMP users. */
#include "fastnn.h"
#include "par.h"
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
static void side_after_fork(void);

static void fnn_atfork_child(void) {
  if (__atomic_load_n(&g_team_used, __ATOMIC_RELAXED))
    __atomic_store_n(&g_forked_serial, 1, __ATOMIC_RELAXED);
  side_after_fork();
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
static int threads_over(double flops, double per_extra_thread) {
  const int nt = fnn_get_num_threads();
  if (nt <= 1 || flops < 2.0 * per_extra_thread) return 1;
  if (!__atomic_load_n(&g_team_used, __ATOMIC_RELAXED))
    __atomic_store_n(&g_team_used, 1, __ATOMIC_RELAXED);
  return nt;
}

int fnn_threads_for(double flops) { return threads_over(flops, FNN_FLOPS_PER_EXTRA_THREAD); }

/* A product handed to fastnn's own workers (below), whose spinning workers join a task in
 * about a microsecond, pays for a second thread from fewer flops than an OpenMP region.
 * Measured on the 2-core VM: the batch-256 MNIST step's 128 -> 10 layer products (655,360
 * flops each, three a step) on two threads made the step 1.4-2.2 % faster in six runs of
 * eight (plan.step, 80 interleaved rounds each) and 1-2 % slower in the two runs made in a
 * slower minute; bench/RESULTS.md. */
#define FNN_TEAM_FLOPS_PER_EXTRA_THREAD 150000.0

int fnn_team_threads_for(double flops) {
  /* and, where the pool has more workers than such a product can use, at most one thread
   * per FNN_TEAM_FLOPS_PER_EXTRA_THREAD: the others sit the task out (a pool task may
   * take fewer threads than the pool has, unlike an OpenMP region) */
  const int nt = threads_over(flops, FNN_TEAM_FLOPS_PER_EXTRA_THREAD);
  const double most = flops / FNN_TEAM_FLOPS_PER_EXTRA_THREAD; /* >= 2 when nt > 1 */
  return nt > 1 && (double)nt > most ? (int)most : nt;
}

/* ---- teams: fastnn's own workers, which spin a while before they sleep -------------------
 *
 * On a VM a sleeping thread takes tens of microseconds to wake. Measured on the 2-core
 * development VM with GNU OpenMP: a two-thread region right after another cost about 1 us;
 * after a 40 us pause, with the short spin fastnn gives libgomp (GOMP_SPINCOUNT=1000, about
 * 20-40 us here), 38-56 us, because the worker had gone to sleep. A training step has such
 * pauses between its multi-threaded kernels and between steps, so at batch 32 two threads
 * were no faster than one. A longer spin for libgomp is no cure: it is fixed for the whole
 * process, and when other processes keep the cores busy a long spin made fit twice as slow.
 *
 * So the multi-threaded kernels (GEMM, B packing, optimizer updates) run their teams on a
 * small pool of fastnn's own threads: after each task a worker spins for FNN_SPIN_US (a
 * bound in time, not in iterations) and then sleeps on a condition variable. Work between
 * kernels shorter than that never waits for a wake-up; an idle process goes quiet within
 * that time. The caller never waits for a worker to start: a task is split into parts that
 * the caller and the workers claim as they come (below), so a worker that has gone to
 * sleep, or whose core another process holds, only helps less. One caller uses the pool at
 * a time; a kernel called while another thread holds it runs an OpenMP region as before.
 * A forked child never uses it (fnn_get_num_threads() is 1 there). The spin can be set
 * with FASTNN_SPIN_US (microseconds; 0 sleeps at once); OMP_WAIT_POLICY=passive also
 * means 0. */

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FNN_PAUSE() _mm_pause()
#else
#define FNN_PAUSE() ((void)0)
#endif

#ifdef FNN_ATFORK
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FNN_POOL_MAX 256
#define FNN_SPIN_US_DEFAULT 150
#define FNN_PARTS_MAX 0xFFFF

/* A task is nparts parts, claimed one at a time by whichever thread of the team is free:
 * the caller starts on them at once, and a worker that is slow to wake (asleep, or its core
 * taken by another process), or slower on its parts, leaves more of them to the others
 * instead of holding everyone at the end. Each part writes its own outputs with the same
 * arithmetic whoever runs it, so the split between threads never changes a result.
 *
 * claim = gen (32 bits) | next part (16) | nparts (16), in one word: a part is taken by a
 * compare-and-swap that also checks that the task is still the current one, so a worker
 * that wakes after its task is over takes nothing and never reads that task's context. */
typedef struct {
  pthread_mutex_t owner;  /* held by the thread whose kernel uses the pool */
  pthread_mutex_t mu;     /* with cv: sleeping workers */
  pthread_cond_t cv;
  int nworkers;           /* threads created (tid 1 .. nworkers) */
  uint32_t gen;           /* the current task's number (written by the owner only) */
  uint64_t claim;
  int sleepers;
  int nthr;               /* threads that may work on the current task, the caller included */
  int done;               /* parts of the current task finished */
  fnn_team_fn fn;
  void *ctx;
  long spin_ns;
} fnn_pool;

static fnn_pool g_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                          PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, NULL, NULL, -1};

/* The task number each worker was created at: the tasks after it are its to join. */
static uint32_t g_start_gen[FNN_POOL_MAX + 1];

static uint32_t claim_gen(uint64_t c) { return (uint32_t)(c >> 32); }

/* Run parts of task gen until none is left to claim. fn and ctx are read only after a
 * part is claimed: the owner wrote them before publishing the task and keeps them until
 * every part is done, which includes the one this thread holds. */
static void pool_work(fnn_pool *p, uint32_t gen) {
  uint64_t c = __atomic_load_n(&p->claim, __ATOMIC_ACQUIRE);
  for (;;) {
    const unsigned next = (unsigned)(c >> 16) & 0xFFFFu, n = (unsigned)c & 0xFFFFu;
    if (claim_gen(c) != gen || next >= n) return;
    if (!__atomic_compare_exchange_n(&p->claim, &c, c + ((uint64_t)1 << 16), 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      continue; /* c now holds the current word */
    p->fn(p->ctx, (int)next, (int)n);
    __atomic_add_fetch(&p->done, 1, __ATOMIC_RELEASE);
    c = __atomic_load_n(&p->claim, __ATOMIC_ACQUIRE);
  }
}

static _Thread_local int t_slot = 0;

int fnn_team_slot(void) { return t_slot; }

/* One side job at a time (fnn_side_start): nparts parts, claimed one at a time, as a team
 * task's are, through one word (job number | next part | nparts), by idle workers and, in
 * fnn_side_wait, by the caller. A worker takes one part at a time and looks for a team task
 * before each: the team's work, which the caller waits on, always comes first, and the side
 * job fills the time a worker would otherwise spin. busy is 1 from fnn_side_start to the end
 * of fnn_side_wait. */
static struct {
  int busy;
  uint32_t gen;
  uint64_t claim;
  int done;      /* parts finished */
  int rerun;     /* set in a child forked with a job under way (side_after_fork) */
  fnn_team_fn fn;
  void *ctx;
} g_side = {0, 0, 0, 0, 0, NULL, NULL};

static int side_has_work(uint64_t c) {
  return ((unsigned)(c >> 16) & 0xFFFFu) < ((unsigned)c & 0xFFFFu);
}

/* In a child forked while a job was under way: workers do not survive fork, and a part one
 * of them had claimed would never finish, so the child's fnn_side_wait runs every part
 * again (a side job's parts must be safe to run twice: the gather writes the same rows). */
static void side_after_fork(void) {
  if (__atomic_load_n(&g_side.busy, __ATOMIC_RELAXED))
    __atomic_store_n(&g_side.rerun, 1, __ATOMIC_RELAXED);
}

/* Claim and run one part of the side job; 0 when no part was left. fn and ctx are read
 * after the claim: the job's owner keeps them until every part is done. */
static int side_run_one(void) {
  uint64_t c = __atomic_load_n(&g_side.claim, __ATOMIC_ACQUIRE);
  while (side_has_work(c)) {
    if (__atomic_compare_exchange_n(&g_side.claim, &c, c + ((uint64_t)1 << 16), 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      g_side.fn(g_side.ctx, (int)((c >> 16) & 0xFFFFu), (int)(c & 0xFFFFu));
      __atomic_add_fetch(&g_side.done, 1, __ATOMIC_RELEASE);
      return 1;
    }
  }
  return 0;
}

static void *pool_worker(void *arg) {
  fnn_pool *p = &g_pool;
  const int tid = (int)(intptr_t)arg;
  t_slot = tid;
  uint32_t seen = g_start_gen[tid];
  for (;;) {
    /* spin for a while, then sleep until the next task or side job */
    const long t0 = fnn_now_ns();
    uint32_t g;
    int side = 0;
    for (unsigned i = 1;; i++) {
      if ((g = claim_gen(__atomic_load_n(&p->claim, __ATOMIC_ACQUIRE))) != seen) break;
      if (side_has_work(__atomic_load_n(&g_side.claim, __ATOMIC_ACQUIRE))) {
        side = 1;
        break;
      }
      FNN_PAUSE();
      if ((i & 255) == 0 && fnn_now_ns() - t0 > p->spin_ns) break;
    }
    if (g == seen && !side) {
      pthread_mutex_lock(&p->mu);
      __atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      while ((g = claim_gen(__atomic_load_n(&p->claim, __ATOMIC_SEQ_CST))) == seen &&
             !side_has_work(__atomic_load_n(&g_side.claim, __ATOMIC_SEQ_CST)))
        pthread_cond_wait(&p->cv, &p->mu);
      __atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock(&p->mu);
      side = g == seen;
    }
    if (side) { /* no new task: one part of the side job, then look for a task again */
      side_run_one();
      continue;
    }
    seen = g;
    /* Workers beyond the task's thread count sit it out (a stale count read here only
     * changes who helps, never a result). */
    if (tid < __atomic_load_n(&p->nthr, __ATOMIC_RELAXED)) pool_work(p, g);
  }
  return NULL;
}

/* Make sure the pool has nt - 1 workers; with the owner lock held. 0 when it cannot. */
static int pool_grow(int nt) {
  fnn_pool *p = &g_pool;
  if (p->spin_ns < 0) {
    const char *e = getenv("FASTNN_SPIN_US");
    const char *w = getenv("OMP_WAIT_POLICY");
    long us = FNN_SPIN_US_DEFAULT;
    if (e && *e) us = strtol(e, NULL, 10);
    else if (w && (strcmp(w, "passive") == 0 || strcmp(w, "PASSIVE") == 0)) us = 0;
    p->spin_ns = (us < 0 ? 0 : us) * 1000L;
  }
  if (nt - 1 > FNN_POOL_MAX) return 0;
  while (p->nworkers < nt - 1) {
    pthread_t th;
    pthread_attr_t attr;
    g_start_gen[p->nworkers + 1] = p->gen;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int rc = pthread_create(&th, &attr, pool_worker, (void *)(intptr_t)(p->nworkers + 1));
    pthread_attr_destroy(&attr);
    if (rc != 0) return 0;
    __atomic_store_n(&p->nworkers, p->nworkers + 1, __ATOMIC_RELEASE);
  }
  return 1;
}

/* Run the task on the pool; 0 when the pool is busy or cannot grow (the caller falls back). */
static int pool_run(int nt, int nparts, fnn_team_fn fn, void *ctx) {
  fnn_pool *p = &g_pool;
  if (nparts > FNN_PARTS_MAX) return 0;
  if (pthread_mutex_trylock(&p->owner) != 0) return 0;
  if (!pool_grow(nt)) {
    pthread_mutex_unlock(&p->owner);
    return 0;
  }
  p->fn = fn;
  p->ctx = ctx;
  __atomic_store_n(&p->nthr, nt, __ATOMIC_RELAXED);
  __atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
  const uint32_t gen = ++p->gen;
  /* publishes fn, ctx, nthr and done with the task */
  __atomic_store_n(&p->claim, ((uint64_t)gen << 32) | (uint64_t)nparts, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  pool_work(p, gen);
  /* every part is claimed; wait for those still running elsewhere */
  while (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != nparts) FNN_PAUSE();
  pthread_mutex_unlock(&p->owner);
  return 1;
}
#else
int fnn_team_slot(void) {
#ifdef FASTNN_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}
#endif

int fnn_side_start(int nparts, fnn_team_fn fn, void *ctx) {
  if (nparts <= 0) return 0;
#ifdef FNN_ATFORK
  fnn_pool *p = &g_pool;
  int idle = 0;
  if (nparts <= FNN_PARTS_MAX && fnn_get_num_threads() > 1 &&
      __atomic_load_n(&p->nworkers, __ATOMIC_ACQUIRE) > 0 &&
      __atomic_compare_exchange_n(&g_side.busy, &idle, 1, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_RELAXED)) {
    g_side.fn = fn;
    g_side.ctx = ctx;
    __atomic_store_n(&g_side.done, 0, __ATOMIC_RELAXED);
    const uint32_t gen = ++g_side.gen;
    /* publishes fn, ctx and done with the job; read against sleepers as a task is */
    __atomic_store_n(&g_side.claim, ((uint64_t)gen << 32) | (uint64_t)nparts, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
    }
    return 1;
  }
#endif
  for (int q = 0; q < nparts; q++) fn(ctx, q, nparts);
  return 0;
}

void fnn_side_wait(void) {
#ifdef FNN_ATFORK
  const uint64_t c = __atomic_load_n(&g_side.claim, __ATOMIC_ACQUIRE);
  const int nparts = (int)(c & 0xFFFFu);
  if (__atomic_load_n(&g_side.rerun, __ATOMIC_RELAXED)) {
    /* a forked child: the parts the parent's workers had claimed would never finish */
    __atomic_store_n(&g_side.claim, c | ((uint64_t)nparts << 16), __ATOMIC_RELAXED);
    for (int q = 0; q < nparts; q++) g_side.fn(g_side.ctx, q, nparts);
    __atomic_store_n(&g_side.rerun, 0, __ATOMIC_RELAXED);
  } else {
    while (side_run_one()) {
    }
    /* every part is claimed; wait for those still running on a worker */
    while (__atomic_load_n(&g_side.done, __ATOMIC_ACQUIRE) != nparts) FNN_PAUSE();
  }
  __atomic_store_n(&g_side.busy, 0, __ATOMIC_RELEASE);
#endif
}

void fnn_team_run_parts(int nt, int nparts, fnn_team_fn fn, void *ctx) {
  if (nparts <= 0) return;
  if (nt > nparts) nt = nparts;
  if (nt <= 1) {
    for (int q = 0; q < nparts; q++) fn(ctx, q, nparts);
    return;
  }
#ifdef FNN_ATFORK
  if (!fnn_forked_serial() && pool_run(nt, nparts, fn, ctx)) return;
#endif
#ifdef FASTNN_HAVE_OPENMP
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), tn = omp_get_num_threads();
#ifdef FNN_ATFORK
    const int saved = t_slot;
    t_slot = t;
#endif
    for (int q = t; q < nparts; q += tn) fn(ctx, q, nparts);
#ifdef FNN_ATFORK
    t_slot = saved;
#endif
  }
#else
  for (int q = 0; q < nparts; q++) fn(ctx, q, nparts);
#endif
}

void fnn_team_run(int nt, fnn_team_fn fn, void *ctx) { fnn_team_run_parts(nt, nt, fn, ctx); }

