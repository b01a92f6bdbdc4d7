"""Adagrad: per-parameter rates from the sum of squared gradients."""
from fastnn import _core
from fastnn.optimizers.base import Optimizer, _real

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """The Adagrad algorithm (keras.optimizers.Adagrad).

    ``acc = acc + g^2`` and ``w = w - lr * g / sqrt(acc + epsilon)``.

    The seed's Keras 2 default learning rate was 0.01; current tf.keras (and fastnn) use
    0.001.

    Args:
        learning_rate: A float >= 0, a LearningRateSchedule or a callable. Defaults to 0.001.
        initial_accumulator_value: The starting value of the accumulators (>= 0). Defaults
            to 0.1.
        epsilon: A small constant for numerical stability. Defaults to 1e-7.
        **kwargs: weight_decay, clipnorm, clipvalue, global_clipnorm and name, as in
            Optimizer. name defaults to None ('adagrad').
    """

    _slot_groups = (("accumulator",),)
    _slot_initial = {"accumulator": "initial_accumulator_value"}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
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
        self.initial_accumulator_value = _real(initial_accumulator_value,
                                               "initial_accumulator_value", lo=0.0)
        self.epsilon = _real(epsilon, "epsilon", lo=0.0)

    def _update(self, slots, w, g, lr, wd, clip, scalars):
        _core.adagrad_update(w, g, slots["accumulator"].value, lr, wd, clip, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
