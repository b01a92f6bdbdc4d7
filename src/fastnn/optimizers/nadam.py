"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule."""
import numpy as np

from fastnn import _core
from fastnn.optimizers.base import Optimizer, _pow, _real

__all__ = ["Nadam"]


class Nadam(Optimizer):
    """The Nadam algorithm (keras.optimizers.Nadam).

    With the momentum schedule ``u_t = beta_1 (1 - 0.5 * 0.96^t)`` and its running product
    ``P_t``: ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``m_hat = u_{t+1} m / (1 - P_{t+1}) + (1 - u_t) g / (1 - P_t)``,
    ``v_hat = v / (1 - beta_2^t)``, ``w -= lr m_hat / (sqrt(v_hat) + epsilon)``.

    The seed's Keras 2 default learning rate was 0.002; current tf.keras (and fastnn) use
    0.001.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        beta_1: The decay rate of the first moment, in [0, 1]. Defaults to 0.9.
        beta_2: The decay rate of the second moment, in [0, 1]. Defaults to 0.999.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('nadam').
    """

    _slot_groups = (("momentum", "velocity"),)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        self.beta_1 = _real(beta_1, "beta_1", lo=0.0, hi=1.0)
        self.beta_2 = _real(beta_2, "beta_2", lo=0.0, hi=1.0)
        self.epsilon = _real(epsilon, "epsilon", lo=0.0)
        self._u_product = None

    def _build_extra(self, variables):
        # The running product of the momentum schedule, in the first variable's type.
        dtype = variables[0].dtype if variables else np.float32
        self._u_product = np.array(1.0, dtype=dtype)

    def _extra_state(self):
        return [self._u_product] if self._u_product is not None else []

    def _set_extra_state(self, arrays):
        if arrays:
            self._u_product[...] = arrays[0]

    def _before_update(self, work):
        t = self._u_product.dtype.type
        power = _pow(t, t(0.96), self._iterations + 1)
        self._u_product[...] = (self._u_product[()] * t(self.beta_1)) * (t(1.0) - t(0.5) * power)

    def _step_scalars(self, t, lr_t):
        one, half, decay = t(1.0), t(0.5), t(0.96)
        b1, b2 = t(self.beta_1), t(self.beta_2)
        u_t = b1 * (one - half * _pow(t, decay, self._iterations + 1))
        u_t1 = b1 * (one - half * _pow(t, decay, self._iterations + 2))
        p_t = t(self._u_product[()])
        p_t1 = p_t * u_t1
        b2p = _pow(t, b2, self._iterations + 1)
        return tuple(float(x) for x in (one - b1, one - b2, u_t1, one - p_t1, one - u_t,
                                        one - p_t, one - b2p))

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        _core.nadam_update(w, g, slots["momentum"].value, slots["velocity"].value, lr, wd,
                           clip, *scalars, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
