"""Adamax: Adam with the infinity norm in place of the second moment."""

from fastnn import _core
from fastnn.optimizers.base import Optimizer, _pow, _real

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """The Adamax algorithm (keras.optimizers.Adamax).

    ``m += (g - m)(1 - beta_1)``, ``u = max(beta_2 u, |g|)``,
    ``w -= lr m / ((1 - beta_1^t)(u + epsilon))``.

    The seed's Keras 2 default learning rate was 0.002; current tf.keras (and fastnn) use
    0.001.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        beta_1: The decay rate of the first moment, in [0, 1]. Defaults to 0.9.
        beta_2: The decay rate of the infinity norm, in [0, 1]. Defaults to 0.999.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('adamax').
    """

    _slot_groups = (("momentum", "norm"),)

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

    def _step_scalars(self, t, lr_t):
        b1p = _pow(t, t(self.beta_1), self._iterations + 1)
        return (float(t(1) - b1p),)

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        _core.adamax_update(w, g, slots["momentum"].value, slots["norm"].value, lr, wd, clip,
                            1 - self.beta_1, self.beta_2, scalars[0], self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
