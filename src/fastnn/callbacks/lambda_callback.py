"""LambdaCallback: a callback made of plain functions."""
import inspect

from fastnn.callbacks.base import Callback

__all__ = ["LambdaCallback"]

_HOOKS = tuple(name for name, _ in inspect.getmembers(Callback, inspect.isfunction)
               if name.startswith("on_"))


class LambdaCallback(Callback):
    """A callback whose hooks are the functions given.

    The functions are called with the hook's arguments: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``. The seed's
    (Keras 2's) ``on_batch_begin`` and ``on_batch_end``, and any other hook
    (``on_test_end``, ``on_predict_batch_end``...), can be given by keyword too. Only the
    batch hooks given are called per batch.

    Args:
        on_epoch_begin: Defaults to None.
        on_epoch_end: Defaults to None.
        on_train_begin: Defaults to None.
        on_train_end: Defaults to None.
        on_train_batch_begin: Defaults to None.
        on_train_batch_end: Defaults to None.
        **kwargs: other hooks by name.

    Example:
        >>> import json
        >>> log = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: log.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in kwargs.items():
            if name not in _HOOKS:
                raise TypeError(f"{name}: LambdaCallback expected a callback hook name "
                                f"({', '.join(sorted(_HOOKS))})")
            hooks[name] = fn
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{name}: expected a function, received {type(fn).__name__}")
            setattr(self, name, fn)
