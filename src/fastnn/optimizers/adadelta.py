"""Adadelta: steps scaled by the ratio of moving RMS of updates and of gradients."""
from fastnn import _core
from fastnn.optimizers.base import Optimizer, _real

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """The Adadelta algorithm (keras.optimizers.Adadelta).

    ``E[g^2] = rho E[g^2] + (1 - rho) g^2``;
    ``d = -sqrt(E[d^2] + eps) * g / sqrt(E[g^2] + eps)``;
    ``E[d^2] = rho E[d^2] + (1 - rho) d^2``; ``w = w + lr * d``.

    The seed's Keras 2 default learning rate was 1.0; current tf.keras (and fastnn) use
    0.001. Use 1.0 for the original paper's form.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        rho: The decay rate, in [0, 1]. Defaults to 0.95.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('adadelta').
    """

    _slot_groups = (("accumulated_grad", "accumulated_delta_var"),)

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        self.rho = _real(rho, "rho", lo=0.0, hi=1.0)
        self.epsilon = _real(epsilon, "epsilon", lo=0.0)

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        _core.adadelta_update(w, g, slots["accumulated_grad"].value,
                              slots["accumulated_delta_var"].value, lr, wd, clip, self.rho,
                              1 - self.rho, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
