"""SGD: gradient descent with optional (Nesterov) momentum."""
from fastnn import _core
from fastnn.optimizers.base import Optimizer, _real

__all__ = ["SGD"]


class SGD(Optimizer):
    """Gradient descent with momentum (keras.optimizers.SGD).

    With momentum 0: ``w = w - learning_rate * g``. Otherwise
    ``velocity = momentum * velocity - learning_rate * g`` and ``w = w + velocity``, or,
    with nesterov, ``w = w + momentum * velocity - learning_rate * g``.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.01.
        momentum: A float in [0, 1]. Defaults to 0.0.
        nesterov: Whether to use Nesterov momentum. Defaults to False.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('sgd').

    Example:
        >>> opt = SGD(learning_rate=0.1, momentum=0.9)
        >>> opt.apply([grad], [variable])
    """

    _slot_groups = (("momentum",),)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
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
        self.momentum = _real(momentum, "momentum", lo=0.0, hi=1.0)
        self.nesterov = bool(nesterov)

    def _has_slot(self, name):
        return self.momentum != 0

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        m = slots["momentum"].value if "momentum" in slots else None
        _core.sgd_update(w, g, m, lr, wd, clip, self.momentum, self.nesterov)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
