"""Adam and AdamW: adaptive moment estimation, with decoupled weight decay for AdamW."""
import numpy as np

from fastnn import _core
from fastnn.optimizers.base import Optimizer, _real

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """The Adam algorithm (keras.optimizers.Adam).

    ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``w -= alpha m / (sqrt(v) + epsilon)`` with
    ``alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``; amsgrad divides by the running
    maximum of v instead.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        beta_1: The decay rate of the first moment, in [0, 1]. Defaults to 0.9.
        beta_2: The decay rate of the second moment, in [0, 1]. Defaults to 0.999.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        amsgrad: Whether to use the AMSGrad variant. Defaults to False.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('adam').

    Example:
        >>> opt = Adam(learning_rate=1e-3)
        >>> opt.apply([grad], [variable])
    """

    _slot_groups = (("momentum", "velocity"), ("velocity_hat",))

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
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
        self.beta_1 = _real(beta_1, "beta_1", lo=0.0, hi=1.0)
        self.beta_2 = _real(beta_2, "beta_2", lo=0.0, hi=1.0)
        self.epsilon = _real(epsilon, "epsilon", lo=0.0)
        self.amsgrad = bool(amsgrad)

    def _has_slot(self, name):
        return self.amsgrad or name != "velocity_hat"

    def _step_scalars(self, t, lr_t):
        # one C call: powf/sqrtf in the element type, the arithmetic Keras runs in float32
        return (_core.adam_alpha(t is np.float32, float(lr_t), self.beta_1, self.beta_2,
                                 float(self._iterations + 1)),)

    def _group(self, entries):
        if type(self)._update is not Adam._update or any(
                getattr(v, "value", None) is not w for _, w, _, v in entries):
            return None
        return _GroupCall(self, _core.AdamGroup([
            (v, g, slots["momentum"], slots["velocity"], slots.get("velocity_hat"))
            for slots, w, g, v in entries]))

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        vhat = slots["velocity_hat"].value if "velocity_hat" in slots else None
        _core.adam_update(w, g, slots["momentum"].value, slots["velocity"].value, vhat, lr,
                          wd, clip, 1 - self.beta_1, 1 - self.beta_2, scalars[0],
                          self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class _GroupCall:
    """Adam's update of all the engine's variables: called directly, or handed to the
    training chain (chain_args) to run inside its C call."""

    __slots__ = ("opt", "group")

    def __init__(self, opt, group):
        self.opt, self.group = opt, group

    def __call__(self, lr, scalars):
        opt = self.opt
        self.group.run(lr, 1 - opt.beta_1, 1 - opt.beta_2, scalars[0], opt.epsilon)

    def chain_args(self, lr, scalars):
        opt = self.opt
        return (self.group, lr, 1 - opt.beta_1, 1 - opt.beta_2, scalars[0], opt.epsilon)


class AdamW(Adam):
    """Adam with decoupled weight decay (keras.optimizers.AdamW).

    Before each Adam step, ``w -= w * weight_decay * learning_rate``.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        weight_decay: The decay factor (required, >= 0). Defaults to 0.004.
        beta_1: As in Adam. Defaults to 0.9.
        beta_2: As in Adam. Defaults to 0.999.
        epsilon: As in Adam. Defaults to 1e-7.
        amsgrad: As in Adam. Defaults to False.
        **kwargs: clipnorm, clipvalue, global_clipnorm and name, as in Optimizer. name
            defaults to None ('adam_w').
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("weight_decay: expected a float for AdamW, received None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
