"""ProgbarLogger and Progbar: the progress display of fit, evaluate and predict.

The bar looks like tf.keras 2.21's (Keras 3)::

    1875/1875 ━━━━━━━━━━━━━━━━━━━━ 2s 1ms/step - accuracy: 0.9100 - loss: 0.2900

On a terminal (or in Jupyter) one line is redrawn in place, at most 10 times a second, with
Keras's colours. When output goes to a file or a pipe nothing but plain text and newlines
is written: no carriage returns, backspaces or colour codes.
"""
import math
import numbers
import sys
import time

from fastnn.callbacks.base import Callback

__all__ = ["Progbar", "ProgbarLogger", "is_interactive"]

# Without a terminal a redrawn line would become a new line each time: keep a log file
# readable by writing an intermediate line at most this often (the last line always).
_FILE_INTERVAL = 10.0


def _in_notebook(stream):
    return type(stream).__module__.split(".")[0] == "ipykernel"


def is_interactive(stream=None):
    """Whether stream (default: sys.stdout) is a terminal or a Jupyter output cell."""
    stream = sys.stdout if stream is None else stream
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        pass
    return _in_notebook(stream)


def _eta(seconds):
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def _per_unit(seconds, unit):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _value(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{f:.4f}" if abs(f) > 1e-3 else f"{f:.4e}"


class Progbar:
    """A progress bar in Keras's style, also usable on its own.

    Values passed to update are averaged over the steps since the start (weighted by the
    steps each covers), as Keras's Progbar does, except those named in stateful_metrics,
    which are shown as given. Pass ``stateless_metrics=set()`` to show every value as given.

    On a terminal or in Jupyter, verbose=1 redraws one line in place, at most once per
    interval. Written to a file or a pipe it uses no control characters: a new plain line
    at most every 10 seconds, and the last one.

    Args:
        target: the total number of steps, or None when unknown. Default required.
        width: the bar's width in characters. Defaults to 20.
        verbose: 0 silent, 1 a bar redrawn as it goes, 2 one line when done. Defaults to 1.
        interval: the least time in seconds between two redraws. Defaults to 0.1.
        stateful_metrics: names shown as given rather than averaged. Defaults to None.
        stateless_metrics: names averaged; all others shown as given. Only one of the two
            may be given. Defaults to None.
        unit_name: the unit in the time per unit ("step", "sample"). Defaults to "step".
        file: the stream written to. Defaults to None (sys.stdout when writing).

    Example:
        >>> bar = Progbar(10, verbose=2)
        >>> for i in range(10):
        ...     bar.update(i + 1, [("loss", 0.5)])  # doctest: +SKIP
    """

    def __init__(self, target, width=20, verbose=1, interval=0.1, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step", file=None):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("stateful_metrics, stateless_metrics: give at most one of the "
                             "two, received both")
        if target is not None and (isinstance(target, bool) or not (
                isinstance(target, numbers.Integral)
                or isinstance(target, numbers.Real) and float(target).is_integer())):
            raise TypeError(f"target: expected an int or None, received {target!r}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1 or 2, received {verbose!r}")
        if not isinstance(width, int) or isinstance(width, bool) or width < 1:
            raise ValueError(f"width: expected an int >= 1, received {width!r}")
        self.target = None if target is None else int(target)
        self.width = width
        self.verbose = verbose
        self.interval = float(interval)
        self.unit_name = unit_name
        self._file = file
        if stateless_metrics is not None:
            self._stateful, self._stateless = None, set(stateless_metrics)
        else:
            self._stateful, self._stateless = set(stateful_metrics or ()), None
        self.stateful_metrics = self._stateful
        self._values = {}  # name -> [sum, weight] (averaged) or [value, 1]
        self._seen_so_far = 0
        self._start = time.time()
        self._after_first = None
        self._last_update = 0.0
        self._prev_width = 0

    @property
    def _out(self):
        return self._file if self._file is not None else sys.stdout

    def _averaged(self, name):
        if self._stateless is not None:
            return name in self._stateless
        return name not in self._stateful

    def _step_time(self, current, now):
        # The first step (set-up, first touches of memory) is left out of the estimate
        # once there are others, as Keras does.
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            per = (now - self._after_first) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._after_first = now
        return per

    def update(self, current, values=None, finalize=None):
        """Show progress at step current.

        Args:
            current: the number of steps done. Default required.
            values: (name, value) pairs or a dict. Defaults to None.
            finalize: whether this is the last update; None means current >= target.
                Defaults to None.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        items = values.items() if isinstance(values, dict) else (values or ())
        span = max(current - self._seen_so_far, 1)
        for k, v in items:
            numeric = isinstance(v, numbers.Real) or getattr(v, "ndim", None) == 0
            if numeric and self._averaged(k) and not finalize:
                if k in self._values:
                    self._values[k][0] += v * span
                    self._values[k][1] += span
                else:
                    self._values[k] = [v * span, span]
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current
        now = time.time()
        per = self._step_time(current, now)
        if self.verbose == 0:
            return
        if self.verbose == 2:
            if finalize:
                self._write(self._line_v2(current, now, per) + "\n")
            return
        dynamic = is_interactive(self._out)
        wait = self.interval if dynamic else max(self.interval, _FILE_INTERVAL)
        if not finalize and now - self._last_update < wait:
            return
        self._last_update = now
        text, width = self._line_v1(current, now, per, finalize, color=dynamic)
        if dynamic:
            pad = " " * max(self._prev_width - width, 0)
            self._write("\r" + text + pad + ("\n" if finalize else ""))
        else:
            self._write(text + "\n")
        self._prev_width = width

    def add(self, n, values=None):
        """Advance by n steps."""
        self.update(self._seen_so_far + n, values)

    def _write(self, text):
        out = self._out
        out.write(text)
        out.flush()

    def _metrics(self):
        parts = []
        for k, (total, count) in self._values.items():
            try:
                shown = _value(total / max(1, count))
            except TypeError:
                shown = str(total)
            parts.append(f" - {k}: {shown}")
        return "".join(parts)

    def _count(self, current):
        digits = int(math.log10(self.target)) + 1
        return f"%{digits}d/%d" % (current, self.target)

    def _line_v1(self, current, now, per, finalize, color):
        bold = (lambda s: f"\x1b[1m{s}\x1b[0m") if color else (lambda s: s)
        if self.target:
            done = min(int(self.width * current / self.target), self.width)
            if color:
                bar = (f"\x1b[32m{chr(0x2501) * done}\x1b[0m" if done else "") + \
                    f"\x1b[37m{chr(0x2501) * (self.width - done)}\x1b[0m"
            else:
                bar = chr(0x2501) * done + chr(0x2500) * (self.width - done)
            head = f"{bold(self._count(current))} {bar}"
            plain_head = f"{self._count(current)} " + "x" * self.width
        else:
            head = plain_head = "%7d/Unknown" % current
        if self.target and not finalize:
            when = _eta(per * (self.target - current))
        else:
            when = f"{now - self._start:.0f}s"
        tail = f" {_per_unit(per, self.unit_name)}" + self._metrics()
        text = f"{head} {bold(when)}{tail}"
        return text, len(plain_head) + 1 + len(when) + len(tail)

    def _line_v2(self, current, now, per):
        count = self._count(current) if self.target else f"{current}"
        return (f"{count} - {now - self._start:.0f}s - {_per_unit(per, self.unit_name)}"
                + self._metrics())


class ProgbarLogger(Callback):
    """Prints progress: with verbose=1 a bar per epoch, with verbose=2 a line per epoch.

    fit, evaluate and predict add one when verbose is not 0. The values shown are the logs
    as the engine reports them (running averages over the epoch), not averaged again.

    Args:
        count_mode: 'steps' counts batches; 'samples' counts samples (for array inputs;
            for generators, whose size is unknown, it falls back to steps). Defaults to
            "steps".
        stateful_metrics: accepted for Keras 2 code; every value is shown as logged.
            Defaults to None.
    """

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"count_mode: expected 'steps' or 'samples', received "
                             f"{count_mode!r}")
        self.count_mode = count_mode
        self.stateful_metrics = set(stateful_metrics or ())
        self.progbar = None
        self.seen = 0
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._in_fit = False
        self._samples = None
        self._batch_size = None

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        if verbose == "auto":
            verbose = 1 if is_interactive() else 2
        self.verbose = verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _implements(self, hook):
        # With verbose=2 nothing is shown per batch: let the loops skip the calls (unless
        # the number of steps is unknown and has to be counted).
        if hook.endswith("batch_end") and self.verbose != 1 and self.target is not None:
            return False
        return super()._implements(hook)

    def _set_data_size(self, samples, batch_size):
        self._samples, self._batch_size = samples, batch_size

    def _by_samples(self):
        return self.count_mode == "samples" and self._samples is not None \
            and self._batch_size is not None

    def _target(self):
        if self._by_samples():
            steps = self.params.get("steps")
            return min(self._samples, steps * self._batch_size) if steps else self._samples
        return self.target

    def _position(self, batch):
        if self._by_samples():
            return min((batch + 1) * self._batch_size, self._target())
        return batch + 1

    def _new_bar(self):
        self.seen = 0
        self.progbar = Progbar(self._target(), verbose=self.verbose, stateless_metrics=set(),
                               unit_name="sample" if self._by_samples() else "step")

    def _update(self, batch, logs):
        if self.progbar is None:
            self._new_bar()
        self.seen = self._position(batch)
        if self.verbose == 1:
            self.progbar.update(self.seen, logs or {}, finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._new_bar()
        if self.progbar.target is None:
            self.progbar.target = self.seen or None
        self.progbar.update(self.progbar.target or self.seen, logs or {}, finalize=True)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            sys.stdout.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)

