"""Stateful callbacks against tf.keras 2.21 (Keras 3), fed the same scripted series of logs:
EarlyStopping's stop epoch and restored weights, ReduceLROnPlateau's and
LearningRateScheduler's rates, ModelCheckpoint's save decisions, TerminateOnNaN's stop,
CSVLogger's file byte for byte, and the fit output and History of the same model."""
import io
import os
import re
import warnings
from contextlib import redirect_stdout

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import fastnn  # noqa: E402

tk = tf.keras
fc = fastnn.callbacks

# Keras converts its variables with np.array(x), which NumPy 2 reports as deprecated
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class _Model:
    """Stands in for a model: weights are the epoch they were taken at, saves are recorded."""

    def __init__(self, optimizer=None):
        self.stop_training = False
        self.optimizer = optimizer
        self.tag = -1
        self.restored = None
        self.saved = []

    def get_weights(self):
        return [np.array(self.tag)]

    def set_weights(self, weights):
        self.restored = int(weights[0])

    def save(self, filepath, overwrite=True, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"model")
        self.saved.append(os.path.basename(filepath))

    save_weights = save


def _series(seed, n=18):
    """A noisy, mostly decreasing loss with plateaus and an occasional jump."""
    r = np.random.default_rng(seed)
    steps = r.choice([-0.05, -0.01, -1e-5, 0.0, 0.0, 0.02, 0.1], size=n)
    return [float(v) for v in 1.0 + np.cumsum(steps)]


def _drive(cb, model, series, key="val_loss", extra=None):
    """Run the epoch hooks over series; returns (epochs run, the logs as the callback left
    them)."""
    cb.set_model(model)
    cb.on_train_begin()
    seen = []
    for epoch, value in enumerate(series):
        model.tag = epoch
        cb.on_epoch_begin(epoch)
        logs = {"loss": value + 0.1, key: value}
        if extra:
            logs.update(extra(epoch))
        cb.on_epoch_end(epoch, logs)
        seen.append(logs)
        if model.stop_training:
            break
    cb.on_train_end(seen[-1] if seen else None)
    return len(seen), seen


ES_CASES = [
    dict(),
    dict(patience=2),
    dict(patience=3, min_delta=0.02),
    dict(patience=2, restore_best_weights=True),
    dict(patience=50, restore_best_weights=True),             # never stops: last epoch
    dict(patience=1, baseline=0.9),
    dict(patience=3, baseline=0.5, restore_best_weights=True),  # baseline never beaten
    dict(patience=2, start_from_epoch=4, restore_best_weights=True),
    dict(patience=2, mode="max"),
    dict(monitor="loss", patience=4, min_delta=-0.01),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kwargs", ES_CASES, ids=[str(c) for c in ES_CASES])
def test_early_stopping_matches_tf_keras(kwargs, seed):
    series = _series(seed)
    out = []
    for lib in (tk.callbacks, fc):
        model = _Model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cb = lib.EarlyStopping(**kwargs)
            ran, _ = _drive(cb, model, series)
        out.append((ran, cb.stopped_epoch, cb.wait, cb.best, cb.best_epoch, model.restored))
    assert out[1] == out[0]


RLR_CASES = [
    dict(),
    dict(patience=1),
    dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=0, factor=0.5, min_lr=0.02),
    dict(patience=1, factor=0.3, min_delta=0.03, cooldown=1, min_lr=1e-3),
    dict(patience=2, mode="max", factor=0.5),
    dict(monitor="loss", patience=1, factor=0.9, cooldown=3),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kwargs", RLR_CASES, ids=[str(c) for c in RLR_CASES])
def test_reduce_lr_on_plateau_matches_tf_keras(kwargs, seed):
    series = _series(seed + 100, n=25)
    out = []
    for lib, opt in ((tk.callbacks, tk.optimizers.SGD(learning_rate=0.1)),
                     (fc, fastnn.optimizers.SGD(learning_rate=0.1))):
        model = _Model(opt)
        cb = lib.ReduceLROnPlateau(**kwargs)
        rates = []
        cb.set_model(model)
        cb.on_train_begin()
        for epoch, value in enumerate(series):
            logs = {"loss": value + 0.1, "val_loss": value}
            cb.on_epoch_end(epoch, logs)
            rates.append((logs["learning_rate"], float(np.asarray(opt.learning_rate))))
        out.append((rates, cb.wait, cb.cooldown_counter, cb.best))
    assert out[1] == out[0]


def _schedule_epoch(epoch):
    return 0.1 / (1 + epoch) if epoch < 5 else 0.01


def _schedule_epoch_lr(epoch, lr):
    return lr if epoch < 3 else lr * float(np.exp(-0.1))


@pytest.mark.parametrize("schedule", [_schedule_epoch, _schedule_epoch_lr])
def test_learning_rate_scheduler_matches_tf_keras(schedule):
    out = []
    for lib, opt in ((tk.callbacks, tk.optimizers.Adam(learning_rate=0.05)),
                     (fc, fastnn.optimizers.Adam(learning_rate=0.05))):
        model = _Model(opt)
        cb = lib.LearningRateScheduler(schedule)
        cb.set_model(model)
        rates = []
        for epoch in range(8):
            cb.on_epoch_begin(epoch)
            logs = {"loss": 1.0}
            cb.on_epoch_end(epoch, logs)
            rates.append(logs["learning_rate"])
        out.append(rates)
    assert out[1] == out[0]


CKPT_CASES = [
    dict(save_best_only=True),
    dict(save_best_only=True, mode="max"),
    dict(save_best_only=True, initial_value_threshold=0.97),
    dict(save_best_only=True, monitor="loss"),
    dict(save_best_only=False),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kwargs", CKPT_CASES, ids=[str(c) for c in CKPT_CASES])
def test_model_checkpoint_saves_the_same_epochs_as_tf_keras(tmp_path, kwargs, seed):
    series = _series(seed + 7, n=12)
    out = []
    for name, lib in (("tf", tk.callbacks), ("fastnn", fc)):
        folder = tmp_path / name
        pattern = str(folder / "m-{epoch:02d}-{val_loss:.3f}.keras")
        model = _Model()
        cb = lib.ModelCheckpoint(pattern, **kwargs)
        _drive(cb, model, series)
        out.append((len(model.saved), sorted(os.listdir(folder)) if folder.exists() else []))
    assert out[1] == out[0]  # the same files (and no temporary file left behind)


def test_model_checkpoint_batch_frequency_matches_tf_keras(tmp_path):
    out = []
    for name, lib in (("tf", tk.callbacks), ("fastnn", fc)):
        model = _Model()
        cb = lib.ModelCheckpoint(str(tmp_path / name / "b-{epoch}-{batch}.weights.h5"),
                                 save_weights_only=True, save_freq=3)
        cb.set_model(model)
        cb.on_train_begin()
        for epoch in range(3):
            cb.on_epoch_begin(epoch)
            for batch in range(5):
                cb.on_train_batch_end(batch, {"loss": 1.0})
            cb.on_epoch_end(epoch, {"loss": 1.0})
        out.append(sorted(os.listdir(tmp_path / name)))
    assert out[1] == out[0]


def test_terminate_on_nan_stops_at_the_same_batch():
    losses = [1.0, 0.9, 0.8, float("inf"), 0.7, float("nan")]
    out = []
    for lib in (tk.callbacks, fc):
        model = _Model()
        cb = lib.TerminateOnNaN()
        cb.set_model(model)
        stop = None
        with redirect_stdout(io.StringIO()):
            for batch, loss in enumerate(losses):
                cb.on_train_batch_end(batch, {"loss": loss})
                if model.stop_training:
                    stop = batch
                    break
        out.append(stop)
    assert out[1] == out[0] == 3


CSV_LOGS = {
    "plain": [{"loss": 0.5, "accuracy": 0.75}, {"loss": 0.25, "accuracy": 0.875}],
    "validation": [{"loss": 0.123456789, "val_loss": 0.2, "accuracy": 1 / 3,
                    "val_accuracy": np.float32(0.1)},
                   {"loss": np.float64(1e-9), "val_loss": 2.0, "accuracy": 0.5,
                    "val_accuracy": np.float32(0.3)}],
    "odd values": [{"loss": 1.0, "vec": np.array([1.5, 2.0]), "note": "a,b \"q\"",
                    "count": 3, "zero_d": np.array(0.25)},
                   {"loss": float("nan"), "vec": [1, 2, 3], "count": 4,
                    "zero_d": np.array(0.5)}],
    "late validation": [{"loss": 1.0}, {"loss": 0.5, "val_loss": 0.7}],
}


@pytest.mark.parametrize("append", [False, True])
@pytest.mark.parametrize("separator", [",", ";"])
@pytest.mark.parametrize("case", list(CSV_LOGS))
def test_csv_logger_file_is_byte_identical(tmp_path, case, separator, append):
    files = []
    for name, lib in (("tf", tk.callbacks), ("fastnn", fc)):
        path = tmp_path / f"{name}.csv"
        if append:
            path.write_text("")  # an existing empty file: the header is written
        for run in range(2 if append else 1):
            cb = lib.CSVLogger(str(path), separator=separator, append=append)
            cb.set_model(_Model())
            cb.on_train_begin()
            for epoch, logs in enumerate(CSV_LOGS[case]):
                cb.on_epoch_end(epoch, dict(logs))
            cb.on_train_end()
        files.append(path.read_bytes())
    assert files[1] == files[0]


def _normalise(text):
    """Fit output with the times and the numbers taken out, for comparing layouts."""
    text = re.sub(r"\d+(ms|us|s)/step", "T/step", text)
    text = re.sub(r" - \d+s - ", " - Ts - ", text)
    return re.sub(r"\d+\.\d+(e[-+]\d+)?", "N", text)


def test_fit_output_history_and_params_match_tf_keras():
    r = np.random.default_rng(0)
    x = r.standard_normal((90, 5)).astype(np.float32)
    y = r.integers(0, 3, 90)

    def build(lib):
        return lib.Sequential([lib.Input((5,)), lib.layers.Dense(8, activation="relu"),
                               lib.layers.Dense(3, activation="softmax")])

    tmodel, fmodel = build(tk), build(fastnn)
    fmodel.set_weights(tmodel.get_weights())
    outputs, histories = [], []
    for model in (tmodel, fmodel):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        buf = io.StringIO()
        with redirect_stdout(buf):
            h = model.fit(x, y, batch_size=16, epochs=3, verbose=2, validation_split=0.2,
                          shuffle=False)
            model.evaluate(x, y, verbose=2)
        outputs.append(_normalise(buf.getvalue()))
        histories.append(h)
    assert outputs[1] == outputs[0]
    th, fh = histories
    assert fh.params == th.params
    assert fh.epoch == th.epoch
    assert list(fh.history) == list(th.history)
    for k in th.history:
        np.testing.assert_allclose(fh.history[k], th.history[k], rtol=1e-5, atol=1e-6)
