"""RMSprop: gradients divided by a moving root mean square."""
from fastnn import _core
from fastnn.optimizers.base import Optimizer, _real

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """The RMSprop algorithm (keras.optimizers.RMSprop).

    ``v = rho * v + (1 - rho) * g^2``; the step is ``lr * g / sqrt(v + epsilon)``, or with
    centered ``lr * g / sqrt(v - a^2 + epsilon)`` where ``a = rho * a + (1 - rho) * g``.
    With momentum the step feeds a velocity ``m = momentum * m + step`` and ``w -= m``.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        rho: The discount of the moving average, in [0, 1]. Defaults to 0.9.
        momentum: A float in [0, 1]. Defaults to 0.0.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        centered: Whether to divide by the estimated variance rather than the second
            moment. Defaults to False.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('rm_sprop').
    """

    _slot_groups = (("velocity",), ("momentum",), ("average_gradient",))

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
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
        self.momentum = _real(momentum, "momentum", lo=0.0, hi=1.0)
        self.epsilon = _real(epsilon, "epsilon", lo=0.0)
        self.centered = bool(centered)

    def _has_slot(self, name):
        if name == "momentum":
            return self.momentum > 0
        if name == "average_gradient":
            return self.centered
        return True

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        mom = slots["momentum"].value if "momentum" in slots else None
        avg = slots["average_gradient"].value if "average_gradient" in slots else None
        _core.rmsprop_update(w, g, slots["velocity"].value, mom, avg, lr, wd, clip, self.rho,
                             1 - self.rho, self.momentum, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
