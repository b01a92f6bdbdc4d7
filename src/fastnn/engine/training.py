"""The fit / evaluate / predict loops, with Keras's semantics, on compiled plans."""
import numbers

import numpy as np

from fastnn import _seed
from fastnn.callbacks.base import CallbackList
from fastnn.callbacks.progbar import is_interactive
from fastnn.engine import checks, data_adapter
from fastnn.engine.plan import InferencePlan, TrainPlan, cast_into
from fastnn.engine.workspace import Workspace
from fastnn.engine.tuner import ThreadTuner

__all__ = ["fit", "evaluate", "predict"]


def _positive_int(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive int, received {value!r}")
    if value <= 0:
        raise ValueError(f"{name}: expected a positive int, received {value}")
    return int(value)


def _verbose(verbose):
    if verbose == "auto":  # a bar on a terminal or in Jupyter, a line per epoch elsewhere
        return 1 if is_interactive() else 2
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, received {verbose!r}")
    return int(verbose)


class _Tracker:
    """The epoch's running loss (weighted by batch size) and compiled metrics."""

    def __init__(self, metrics):
        self.metrics = metrics
        self.total = 0.0
        self.count = 0

    def reset(self):
        self.total, self.count = 0.0, 0
        for m in self.metrics:
            m.reset_state()

    def update(self, loss, n, y, y_pred, sw):
        self.total += loss * n
        self.count += n
        for m in self.metrics:
            m.update_state(y, y_pred, sample_weight=sw if getattr(m, "_weighted", False) else None)

    def logs(self):
        logs = {}
        for m in self.metrics:
            logs[m.name] = _scalar(m.result())
        logs["loss"] = self.total / self.count if self.count else float("nan")
        return logs


def _scalar(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _check_compiled(model, what):
    if not getattr(model, "_compiled", False):
        raise RuntimeError(f"You must call compile() on the model before calling {what}()")


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
        use_multiprocessing=False):
    _check_compiled(model, "fit")
    batch_size = _positive_int(batch_size, "batch_size") or 32
    for value, name in ((epochs, "epochs"), (initial_epoch, "initial_epoch")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}: expected an int >= 0, received {value!r}")
        if value < 0:
            raise ValueError(f"{name}: expected an int >= 0, received {value!r}")
    checks.check_fit_options(max_queue_size, workers, use_multiprocessing)
    steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch")
    validation_steps = _positive_int(validation_steps, "validation_steps")
    validation_batch_size = _positive_int(validation_batch_size, "validation_batch_size")
    if shuffle not in (True, False, "batch"):
        raise ValueError(f"shuffle: expected True, False or 'batch', received {shuffle!r}")
    if isinstance(validation_freq, numbers.Integral) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"validation_freq: expected an int >= 1 or a list of epochs, "
                             f"received {validation_freq}")
        due = lambda e: (e + 1) % validation_freq == 0  # noqa: E731
    elif isinstance(validation_freq, (list, tuple, set)):
        if any(isinstance(e, bool) or not isinstance(e, numbers.Integral)
               for e in validation_freq):
            raise TypeError(f"validation_freq: expected an int or a list of epochs (ints), "
                            f"received {validation_freq!r}")
        epochs_set = set(int(e) for e in validation_freq)
        due = lambda e: (e + 1) in epochs_set  # noqa: E731
    else:
        raise TypeError(f"validation_freq: expected an int or a list of epochs, received "
                        f"{validation_freq!r}")
    verbose = _verbose(verbose)
    dtype = model._dtype()
    names = model._input_names()

    val = None
    if data_adapter.is_batched_source(x):
        if validation_split:
            raise ValueError("validation_split: is only supported for array inputs, not for "
                             "a Sequence or a generator; pass validation_data instead")
        data = data_adapter.make_data(x, y, sample_weight, batch_size, dtype, model._loss,
                                      names, shuffle=shuffle, steps=steps_per_epoch,
                                      workers=workers, use_multiprocessing=use_multiprocessing,
                                      max_queue_size=max_queue_size)
    else:
        xa, ya, swa = data_adapter.prepare_arrays(x, y, sample_weight, dtype, model._loss, names,
                                                  lazy=True)
        (xa, ya, swa), val_split = data_adapter.split_validation(xa, ya, swa, validation_split)
        if class_weight is not None:  # training samples only: validation is unweighted
            swa = data_adapter.class_weights_to_sample_weights(ya, class_weight, swa, dtype)
        if val_split is not None and validation_data is None:
            val = data_adapter.ArrayData(*val_split, validation_batch_size or batch_size,
                                         steps=validation_steps, dtype=dtype)
        data = data_adapter.ArrayData(xa, ya, swa, batch_size, shuffle, steps_per_epoch,
                                      dtype=dtype)
    if validation_data is not None:
        val = _validation_source(model, validation_data, validation_batch_size or batch_size,
                                 validation_steps)

    model._build_from_data(data)
    _check_before_training(model, data, val, validation_data is not None)
    plan = TrainPlan(model)
    tuner = ThreadTuner()
    metrics = model._compiled_metrics(data)
    tracker = _Tracker(metrics)
    steps = len(data) or None
    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                       verbose=verbose, epochs=epochs, steps=steps)
    cbs.set_data_size(getattr(data, "n", None), batch_size)
    model.stop_training = False
    model._initial_epoch = None  # BackupAndRestore sets it in on_train_begin
    rng = _seed.make_rng()
    wants_end = cbs.wants("on_train_batch_end")
    wants_begin = cbs.wants("on_train_batch_begin")
    logs = {}
    cbs.on_train_begin()
    initial_epoch = model._initial_epoch or initial_epoch
    model._initial_epoch = None
    for epoch in range(initial_epoch, epochs):
        tracker.reset()
        cbs.on_epoch_begin(epoch)
        step = -1
        for step, (xb, yb, wb) in enumerate(data.epoch(rng if shuffle else None)):
            if wants_begin:
                cbs.on_train_batch_begin(step)
            loss, out = tuner.step(plan, xb, yb, wb)
            if metrics:
                tracker.update(loss, len(xb), yb, plan.predictions(out), wb)
            else:  # the loss alone: no call
                n = len(xb)
                tracker.total += loss * n
                tracker.count += n
            if wants_end:
                cbs.on_train_batch_end(step, tracker.logs())
            if model.stop_training:
                break
        if step < 0:
            if getattr(data, "exhausted", False):
                break
            raise ValueError("x: the training data produced no batches")
        data.on_epoch_end()
        logs = tracker.logs()
        if val is not None and due(epoch):
            val_logs = _run_evaluate(model, val, cbs, metrics_like=metrics)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training or getattr(data, "exhausted", False):
            break
    cbs.on_train_end(logs)
    model.history = cbs.history
    return cbs.history


def _check_before_training(model, data, val, named):
    """Everything that would otherwise fail after some batches had trained: class labels
    out of the model's range (anywhere in the arrays) and validation data of the wrong
    shape (used only at the end of the first epoch). Labels on disk (an HDF5Matrix) are
    checked batch by batch as they are read, as a stream's are."""
    y = getattr(data, "y", None)
    if hasattr(data, "convert") or data_adapter.is_lazy(y):  # each batch checked on arrival
        data.check_labels = lambda y: checks.check_labels(y, model._loss, model.output_shape)
    else:
        checks.check_labels(y, model._loss, model.output_shape)
    if val is None:
        return
    try:
        vx = getattr(val, "x", None)
        if vx is not None:
            model._check_input_shape(vx.shape)
        vy = getattr(val, "y", None)
        if data_adapter.is_lazy(vy):
            val.check_labels = lambda y: checks.check_labels(
                y, model._loss, model.output_shape, "validation_data: y" if named else "y")
        else:
            checks.check_labels(vy, model._loss, model.output_shape)
    except ValueError as e:
        raise ValueError(f"validation_data: {e}" if named else str(e)) from None
    if hasattr(val, "convert"):
        val.check_labels = lambda y: checks.check_labels(y, model._loss, model.output_shape,
                                                         "validation_data: y")


def _validation_source(model, validation_data, batch_size, steps):
    try:
        return _validation_data(model, validation_data, batch_size, steps)
    except (TypeError, ValueError) as e:
        if str(e).startswith("validation_data"):
            raise
        raise (TypeError if isinstance(e, TypeError) else ValueError)(
            f"validation_data: {e}") from None


def _validation_data(model, validation_data, batch_size, steps):
    dtype = model._dtype()
    names = model._input_names()
    if data_adapter.is_batched_source(validation_data):
        return data_adapter.make_data(validation_data, None, None, batch_size, dtype,
                                      model._loss, names, steps=steps)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data: expected (x_val, y_val) or (x_val, y_val, "
                         "val_sample_weight), a Sequence or a generator, received "
                         f"{type(validation_data).__name__}")
    vx, vy = validation_data[0], validation_data[1]
    vsw = validation_data[2] if len(validation_data) == 3 else None
    return data_adapter.make_data(vx, vy, vsw, batch_size, dtype, model._loss, names,
                                  steps=steps)


def _run_evaluate(model, data, cbs, metrics_like=None):
    plan = model._inference_plan()
    if metrics_like is None:
        metrics = model._compiled_metrics(data, fresh=True)
    else:  # fresh copies of fit's metrics, so validation does not disturb the epoch's
        metrics = []
        for m in metrics_like:
            copy = m.__class__.from_config(m.get_config()) if hasattr(m, "get_config") else m
            copy.name = m.name
            copy._weighted = getattr(m, "_weighted", False)
            metrics.append(copy)
    tracker = _Tracker(metrics)
    tracker.reset()
    loss_fn = model._loss
    wants = cbs.wants("on_test_batch_end") if cbs is not None else False
    if cbs is not None:
        cbs.on_test_begin()
    scratch = cast_ws = None
    for step, (xb, yb, wb) in enumerate(data.epoch(None)):
        if cbs is not None and cbs.wants("on_test_batch_begin"):
            cbs.on_test_batch_begin(step)
        out = plan.forward(xb)
        if getattr(plan, "dtypes", None) is not None:
            if cast_ws is None:
                cast_ws = Workspace(out.dtype)
            yb = cast_into(cast_ws, "y", yb, out.dtype)
            wb = cast_into(cast_ws, "sw", wb, out.dtype)
        if scratch is None or scratch.size < out.size or scratch.dtype != out.dtype:
            scratch = np.empty(out.size, out.dtype)
        loss = loss_fn.forward_backward(yb, out, wb, scratch[:out.size].reshape(out.shape))
        loss *= model._loss_weight
        tracker.update(loss, len(xb), yb, out, wb)
        if wants:
            cbs.on_test_batch_end(step, tracker.logs())
    logs = tracker.logs()
    if cbs is not None:
        cbs.on_test_end(logs)
    return logs


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False):
    _check_compiled(model, "evaluate")
    batch_size = _positive_int(batch_size, "batch_size") or 32
    steps = _positive_int(steps, "steps")
    verbose = _verbose(verbose)
    if not isinstance(return_dict, (bool, np.bool_)):
        raise TypeError(f"return_dict: expected a bool, received {return_dict!r}")
    data = data_adapter.make_data(x, y, sample_weight, batch_size, model._dtype(), model._loss,
                                  model._input_names(), steps=steps)
    model._build_from_data(data)
    _check_before_training(model, data, None, False)
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=len(data) or None)
    cbs.set_data_size(getattr(data, "n", None), batch_size)
    logs = _run_evaluate(model, data, cbs)
    if return_dict:
        return logs
    values = [logs["loss"]] + [v for k, v in logs.items() if k != "loss"]
    return values[0] if len(values) == 1 else values


# Rows per forward pass when predicting over arrays. Every kernel is batch-invariant (row i
# of a forward pass does not depend on the other rows), so the outputs are the same bits
# whatever the split. Over the 10,000 MNIST test images at 2 threads (16-core Xeon lease,
# bench/RESULTS.md) chunks of 128 / 256 / 512 / 1024 / 10000 rows took 16.6 / 17.0 / 15.0 /
# 14.8 / 15.1 ms: 1024 rows give the GEMM enough rows while the activations of a few
# hundred units still fit in the cores' caches.
_PREDICT_ROWS = 1024


def _predict_arrays(plan, data, cbs):
    """predict over in-memory arrays in chunks of at least _PREDICT_ROWS rows; a callback
    that wants batch ends hears of each batch_size batch a chunk completes."""
    bs = data.batch_size
    total = min(data.n, data.steps * bs)
    per = max(1, _PREDICT_ROWS // bs)  # whole batches per chunk
    rows = per * bs
    x = data.x
    result = None
    done = 0
    dtype = data.dtype
    for i in range(0, total, rows):
        j = min(i + rows, total)
        chunk = x[i:j]
        out = plan.forward(np.ascontiguousarray(chunk, dtype=dtype))
        if result is None:
            result = np.empty((total,) + out.shape[1:], out.dtype)
        result[i:j] = out
        if cbs is not None:
            last = (j - 1) // bs
            for step in range(done, last + 1):
                lo = step * bs
                cbs.on_predict_batch_end(step, {"outputs": result[lo:min(lo + bs, j)]})
            done = last + 1
    if result is None:
        raise ValueError("x: the input produced no batches")
    return result


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    if (verbose == 0 and callbacks is None and steps is None and type(x) is np.ndarray
            and 0 < len(x) <= _PREDICT_ROWS and model._infer is not None
            and (batch_size is None or (type(batch_size) is int and batch_size > 0))):
        # nothing to report and one chunk's worth of rows: the model's one-call path
        plan = model._infer
        if plan.layers is model._layers:
            out = plan.call(x)
            if out is not None:
                return out
    batch_size = _positive_int(batch_size, "batch_size") or 32
    steps = _positive_int(steps, "steps")
    verbose = _verbose(verbose)
    dtype = model._dtype()
    if data_adapter.is_batched_source(x):
        data = data_adapter.make_data(x, None, None, batch_size, dtype, None,
                                      model._input_names(), steps=steps, need_y=False)
    else:
        xa = data_adapter.as_input(x, dtype, "x", model._input_names(), lazy=True)
        data = data_adapter.ArrayData(xa, None, None, batch_size, steps=steps, dtype=dtype)
    model._build_from_data(data)
    plan = model._inference_plan()
    cbs = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=1, steps=len(data) or None)
    cbs.set_data_size(getattr(data, "n", None), batch_size)
    cbs.on_predict_begin()
    wants = cbs.wants("on_predict_batch_end")
    if isinstance(data, data_adapter.ArrayData) and not cbs.wants("on_predict_batch_begin"):
        result = _predict_arrays(plan, data, cbs if wants else None)
        cbs.on_predict_end()
        return result
    chunks = []
    result = None
    offset = 0
    for step, (xb, _, _) in enumerate(data.epoch(None)):
        out = plan.forward(xb)
        if isinstance(data, data_adapter.ArrayData):
            if result is None:
                total = min(data.n, data.steps * data.batch_size)
                result = np.empty((total,) + out.shape[1:], out.dtype)
            result[offset:offset + len(out)] = out
            offset += len(out)
        else:
            chunks.append(out.copy())
        if wants:
            cbs.on_predict_batch_end(step, {"outputs": out})
    cbs.on_predict_end()
    if result is not None:
        return result[:offset]
    if not chunks:
        raise ValueError("x: the input produced no batches")
    return np.concatenate(chunks)
