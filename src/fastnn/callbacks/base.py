"""Callback and CallbackList: the hooks fit, evaluate and predict call, with Keras's logs."""

__all__ = ["Callback", "CallbackList"]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
                "on_batch_begin", "on_batch_end")


class Callback:
    """Base class of callbacks: override the hooks you need.

    Attributes:
        model: the model being trained, set by set_model.
        params: dict with 'epochs', 'steps' and 'verbose', set by set_params.
    """

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """Alias of on_train_batch_begin (Keras 2 name)."""

    def on_batch_end(self, batch, logs=None):
        """Alias of on_train_batch_end (Keras 2 name)."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def _overrides(self, hook):
        # A hook counts as defined when the class overrides it or the instance carries its
        # own function (as LambdaCallback and hand-patched callbacks do).
        if hook in self.__dict__:
            return True
        return getattr(type(self), hook, None) is not getattr(Callback, hook, None)

    def _implements(self, hook):
        """Whether this callback defines hook (or, for train batches, its Keras 2 alias)."""
        if self._overrides(hook):
            return True
        alias = {"on_train_batch_begin": "on_batch_begin",
                 "on_train_batch_end": "on_batch_end"}.get(hook)
        return alias is not None and self._overrides(alias)


class CallbackList:
    """Calls a list of callbacks in order; batch hooks only reach callbacks that define them.

    Args:
        callbacks: a list of Callback instances. Defaults to None.
        add_history: append a History callback if there is none. Defaults to False.
        add_progbar: append a ProgbarLogger when verbose is not 0. Defaults to False.
        model: the model, passed to every callback. Defaults to None.
        **params: epochs, steps, verbose.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        from fastnn.callbacks.history import History
        from fastnn.callbacks.progbar import ProgbarLogger

        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, CallbackList):
            callbacks = list(callbacks.callbacks)
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        elif isinstance(callbacks, (list, tuple)):
            callbacks = list(callbacks)
        else:
            raise TypeError(f"callbacks: expected a list of fastnn.callbacks.Callback "
                            f"instances, received {type(callbacks).__name__}")
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected fastnn.callbacks.Callback instances, "
                                f"received {type(cb).__name__} at index {i}")
        self.callbacks = callbacks
        self.history = next((c for c in callbacks if isinstance(c, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        # As in Keras 3 the progress bar comes last, so that it shows what the other
        # callbacks add to the epoch's logs (ReduceLROnPlateau's learning_rate, say).
        if add_progbar and params.get("verbose") and not any(
                isinstance(c, ProgbarLogger) for c in callbacks):
            self.callbacks.append(ProgbarLogger())
        self.model = model
        self.params = params
        if model is not None and self.history is not None:
            model.history = self.history
        for cb in self.callbacks:
            if model is not None:
                cb.set_model(model)
            cb.set_params(params)
        self._refresh()

    def set_data_size(self, samples, batch_size):
        """Tell callbacks that count samples (ProgbarLogger(count_mode='samples')) how many
        samples an epoch has and how many a batch holds; None when unknown."""
        for cb in self.callbacks:
            hook = getattr(cb, "_set_data_size", None)
            if hook is not None:
                hook(samples, batch_size)
        self._refresh()

    def _refresh(self):
        # Which callbacks want which batch hook: decided once, so a list without batch
        # hooks costs nothing per batch.
        self._wants = {h: [c for c in self.callbacks if c._implements(h)] for h in _BATCH_HOOKS}

    def append(self, callback):
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        self._refresh()

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)
        self._refresh()

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def wants(self, hook):
        return bool(self._wants[hook])

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def _call_batch(self, hook, batch, logs):
        for cb in self._wants[hook]:
            getattr(cb, hook)(batch, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch("on_predict_batch_end", batch, logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)

    def __iter__(self):
        return iter(self.callbacks)
