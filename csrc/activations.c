/* activations.c - element-wise activations and their derivatives.
 * PLACEHOLDER: only linear and plain relu so far; the full set follows. */
#include <math.h>
#include "fastnn.h"

int fnn_act_backward_needs_input(int kind) { (void)kind; return 0; }

#define ACT_IMPL(T, SFX)                                                                       \
  void fnn_act_forward_serial_##SFX(const fnn_act *act, const T *x, T *y, size_t n) {          \
    int kind = act ? act->kind : FNN_ACT_LINEAR;                                               \
    for (size_t i = 0; i < n; i++) y[i] = kind == FNN_ACT_RELU ? (x[i] > 0 ? x[i] : 0) : x[i]; \
  }                                                                                            \
  void fnn_act_forward_##SFX(const fnn_act *act, const T *x, T *y, size_t n) {                 \
    fnn_act_forward_serial_##SFX(act, x, y, n);                                                \
  }                                                                                            \
  void fnn_act_backward_##SFX(const fnn_act *act, const T *x, const T *y, const T *dy, T *dx,  \
                              size_t n) {                                                      \
    int kind = act ? act->kind : FNN_ACT_LINEAR;                                               \
    for (size_t i = 0; i < n; i++) dx[i] = kind == FNN_ACT_RELU ? (y[i] > 0 ? dy[i] : 0) : dy[i]; \
  }
ACT_IMPL(float, f32)
ACT_IMPL(double, f64)
