/* fpenv.h - flush subnormal floats to zero for the length of a kernel.
 *
 * The optimizer slots decay geometrically (Adam's second moment by beta_2 = 0.999 per
 * step), so the slots of parameters whose gradient is zero (the weights of MNIST's empty
 * border pixels, for one) spend thousands of steps in the subnormal range, where each
 * x86 operation on them takes a slow microcode path. TensorFlow runs its kernels with
 * flush-to-zero and denormals-are-zero set; the update kernels do the same, per thread,
 * and restore the caller's control word afterwards. A subnormal is below 1.2e-38 (float)
 * or 2.2e-308 (double), far under any tolerance the results are held to.
 */
#ifndef FASTNN_FPENV_H
#define FASTNN_FPENV_H

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
typedef unsigned int fnn_fpenv;
/* MXCSR bit 15: flush to zero; bit 6: denormals are zero. */
static inline fnn_fpenv fnn_fpenv_flush(void) {
  const unsigned int csr = _mm_getcsr();
  if ((csr & 0x8040u) != 0x8040u) _mm_setcsr(csr | 0x8040u);
  return csr;
}
static inline void fnn_fpenv_restore(fnn_fpenv csr) {
  if ((csr & 0x8040u) != 0x8040u) _mm_setcsr(csr);
}
#elif defined(__aarch64__)
typedef unsigned long fnn_fpenv;
/* FPCR bit 24: flush to zero. */
static inline fnn_fpenv fnn_fpenv_flush(void) {
  unsigned long fpcr;
  __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
  if (!(fpcr & (1ul << 24))) __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | (1ul << 24)));
  return fpcr;
}
static inline void fnn_fpenv_restore(fnn_fpenv fpcr) {
  if (!(fpcr & (1ul << 24))) __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
}
#else
typedef int fnn_fpenv;
static inline fnn_fpenv fnn_fpenv_flush(void) { return 0; }
static inline void fnn_fpenv_restore(fnn_fpenv e) { (void)e; }
#endif

#endif
