/* cpu.c - CPU feature detection and the choice of GEMM micro-kernel family. */
#include <stdlib.h>
#include <string.h>
#include "fastnn.h"
#include "gemm/gemm.h"

int fnn_cpu_has(const char *feature) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (!strcmp(feature, "avx2")) return __builtin_cpu_supports("avx2");
  if (!strcmp(feature, "fma")) return __builtin_cpu_supports("fma");
  if (!strcmp(feature, "avx512f")) return __builtin_cpu_supports("avx512f");
  if (!strcmp(feature, "avx512dq")) return __builtin_cpu_supports("avx512dq");
  if (!strcmp(feature, "avx512vl")) return __builtin_cpu_supports("avx512vl");
  if (!strcmp(feature, "avx512bw")) return __builtin_cpu_supports("avx512bw");
#else
  (void)feature;
#endif
  return 0;
}

static int can_run(int family) {
  switch (family) {
    case FNN_FAMILY_PORTABLE: return 1;
#if FNN_X86
    case FNN_FAMILY_AVX2: return fnn_cpu_has("avx2") && fnn_cpu_has("fma");
    case FNN_FAMILY_AVX512: return fnn_cpu_has("avx512f");
#endif
    default: return 0;
  }
}

static int auto_family(void) {
  const char *env = getenv("FASTNN_KERNEL");
  if (env && *env && strcmp(env, "auto")) {
    int f = fnn_family_from_name(env);
    if (f >= 0 && can_run(f)) return f;
  }
  if (can_run(FNN_FAMILY_AVX512)) return FNN_FAMILY_AVX512;
  if (can_run(FNN_FAMILY_AVX2)) return FNN_FAMILY_AVX2;
  return FNN_FAMILY_PORTABLE;
}

/* -1 until first use; then the family index. Races only ever store the same value. */
static int g_family = -1;

int fnn_family(void) {
  int f = __atomic_load_n(&g_family, __ATOMIC_ACQUIRE);
  if (f < 0) {
    f = auto_family();
    __atomic_store_n(&g_family, f, __ATOMIC_RELEASE);
  }
  return f;
}

int fnn_family_from_name(const char *name) {
  if (!strcmp(name, "portable")) return FNN_FAMILY_PORTABLE;
  if (!strcmp(name, "avx2")) return FNN_FAMILY_AVX2;
  if (!strcmp(name, "avx512")) return FNN_FAMILY_AVX512;
  return -1;
}

static const char *const family_names[] = {"portable", "avx2", "avx512"};

const char *fnn_kernel_name(void) { return family_names[fnn_family()]; }

int fnn_set_kernel(const char *name) {
  int f;
  if (name == NULL || !strcmp(name, "auto")) {
    f = auto_family();
  } else {
    f = fnn_family_from_name(name);
    if (f < 0 || !can_run(f)) return FNN_EINVAL;
  }
  __atomic_store_n(&g_family, f, __ATOMIC_RELEASE);
  return FNN_OK;
}
