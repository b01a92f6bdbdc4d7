"""ProgbarLogger and Progbar: the progress display of fit, evaluate and predict."""
import sys
import time

from fastnn.callbacks.base import Callback

__all__ = ["Progbar", "ProgbarLogger"]


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def _per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _fmt_value(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class Progbar:
    """A progress bar in Keras's style: ``5/10 ━━━━━━━━━━──────────  1s 10ms/step - loss: 0.5``.

    Args:
        target: the total number of steps, or None when unknown. Default required.
        width: the bar's width in characters. Defaults to 20.
        verbose: 1 redraws one line (on a terminal), 2 prints only the final line.
            Defaults to 1.
        interval: the least time in seconds between redraws. Defaults to 0.1.
        stateful_metrics: accepted for Keras compatibility. Defaults to None.
        unit_name: the unit shown per time ('step'). Defaults to "step".
    """

    def __init__(self, target, width=20, verbose=1, interval=0.1, stateful_metrics=None,
                 unit_name="step", file=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.file = file or sys.stdout
        self._start = time.time()
        self._last = 0.0
        self._seen = 0
        self._dynamic = hasattr(self.file, "isatty") and self.file.isatty()
        self._values = {}

    def update(self, current, values=None, finalize=None):
        """Show progress at step current with the given (name, value) pairs or dict."""
        if values:
            items = values.items() if isinstance(values, dict) else values
            for k, v in items:
                self._values[k] = v
        self._seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.time()
        if not finalize and (self.verbose != 1 or now - self._last < self.interval):
            return
        self._last = now
        elapsed = now - self._start
        if self.target:
            frac = min(current / self.target, 1.0)
            done = int(self.width * frac)
            bar = "\u2501" * done + "\u2500" * (self.width - done) if self._dynamic else \
                "\u2501" * done + " " * (self.width - done)
            head = f"{current}/{self.target} {bar} "
        else:
            head = f"{current} "
        per = elapsed / max(current, 1)
        if finalize or not self.target:
            timing = f"{_format_time(elapsed)} {_per_step(per)}"
        else:
            timing = f"{_format_time(per * (self.target - current))} {_per_step(per)}"
        metrics = "".join(f" - {k}: {_fmt_value(v)}" for k, v in self._values.items())
        line = head + timing + metrics
        if self.verbose == 1 and self._dynamic:
            self.file.write("\r" + line + ("\n" if finalize else ""))
        elif finalize:
            self.file.write(line + "\n")
        self.file.flush()

    def add(self, n, values=None):
        self.update(self._seen + n, values)


class ProgbarLogger(Callback):
    """Prints progress: a bar per epoch (verbose=1) or one line per epoch (verbose=2).

    Args:
        count_mode: 'steps' or 'samples'. Defaults to "steps".
        stateful_metrics: accepted for Keras compatibility. Defaults to None.
    """

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"count_mode: expected 'steps' or 'samples', received {count_mode!r}")
        self.count_mode = count_mode
        self._bar = None
        self._mode = None

    def _verbose(self):
        return self.params.get("verbose", 1)

    def _start(self, mode):
        self._mode = mode
        self._bar = Progbar(self.params.get("steps"), verbose=self._verbose())

    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs", 1)

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose():
            print(f"Epoch {epoch + 1}/{self._epochs}", file=sys.stdout, flush=True)
        self._start("train")

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None and self._verbose() == 1:
            self._bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None and self._verbose():
            steps = self.params.get("steps") or self._bar._seen
            self._bar.target = self._bar.target or steps
            self._bar.update(steps, logs, finalize=True)
        self._bar = None

    def on_test_begin(self, logs=None):
        if self._mode != "train":
            self._start("test")

    def on_test_batch_end(self, batch, logs=None):
        if self._mode == "test" and self._verbose() == 1:
            self._bar.update(batch + 1, logs, finalize=False)

    def on_test_end(self, logs=None):
        if self._mode == "test" and self._verbose():
            self._bar.update(self._bar.target or self._bar._seen, logs, finalize=True)
            self._mode = None

    def on_predict_begin(self, logs=None):
        self._start("predict")

    def on_predict_batch_end(self, batch, logs=None):
        if self._verbose() == 1:
            self._bar.update(batch + 1, finalize=False)

    def on_predict_end(self, logs=None):
        if self._verbose():
            self._bar.update(self._bar.target or self._bar._seen, finalize=True)
        self._mode = None
