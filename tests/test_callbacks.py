"""Callbacks: the hooks and their logs, History, the progress display, and one end-to-end
fit per callback (files written and read back, a real HTTP server, a killed process).
tf.keras comparisons of the stateful callbacks are in tests/parity/test_callbacks_parity.py."""
import contextlib
import http.server
import io
import json
import re
import os
import signal
import subprocess
import sys
import textwrap
import threading
import urllib.parse
import warnings

import numpy as np
import pytest

import fastnn as keras

C = keras.callbacks


def _data(n=96, d=6, classes=3, seed=0):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, d)).astype(np.float32)
    y = np.argmax(x @ r.standard_normal((d, classes)), axis=1)
    return x, y


def _model(d=6, classes=3, seed=1, optimizer="adam", metrics=("accuracy",)):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(classes, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=list(metrics))
    return model


class _Hooks(C.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin", logs))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", sorted(logs or {})))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch, logs))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("train_batch_begin", batch, logs))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("train_batch_end", batch, sorted(logs)))

    def on_test_begin(self, logs=None):
        self.calls.append(("test_begin", logs))

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("test_batch_end", batch, sorted(logs)))

    def on_test_end(self, logs=None):
        self.calls.append(("test_end", sorted(logs)))

    def on_predict_begin(self, logs=None):
        self.calls.append(("predict_begin", logs))

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("predict_batch_end", batch, sorted(logs),
                           logs["outputs"].shape))

    def on_predict_end(self, logs=None):
        self.calls.append(("predict_end", logs))


# ---- the machinery -------------------------------------------------------------------------

def test_hooks_order_and_logs_as_tf_keras_passes_them():
    x, y = _data(n=40)
    model = _model()
    cb = _Hooks()
    model.fit(x[:32], y[:32], batch_size=16, epochs=2, verbose=0, callbacks=[cb],
              validation_data=(x[32:], y[32:]))
    m = ["accuracy", "loss"]
    epoch = [("epoch_begin", 0, None),
             ("train_batch_begin", 0, None), ("train_batch_end", 0, m),
             ("train_batch_begin", 1, None), ("train_batch_end", 1, m),
             ("test_begin", None), ("test_batch_end", 0, m), ("test_end", m),
             ("epoch_end", 0, m + ["val_accuracy", "val_loss"])]
    second = [(c[0], 1) + c[2:] if c[0].startswith("epoch") else c for c in epoch]
    assert cb.calls == [("train_begin", None)] + epoch + second + \
        [("train_end", m + ["val_accuracy", "val_loss"])]
    cb.calls = []
    model.predict(x[:20], batch_size=8, verbose=0, callbacks=[cb])
    assert cb.calls == [("predict_begin", None), ("predict_batch_end", 0, ["outputs"], (8, 3)),
                        ("predict_batch_end", 1, ["outputs"], (8, 3)),
                        ("predict_batch_end", 2, ["outputs"], (4, 3)), ("predict_end", None)]
    cb.calls = []
    model.evaluate(x[:8], y[:8], verbose=0, callbacks=[cb])
    assert cb.calls == [("test_begin", None), ("test_batch_end", 0, m), ("test_end", m)]


def test_on_batch_aliases_receive_train_batches():
    x, y = _data(n=32)
    seen = []

    class Keras2Style(C.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, round(logs["loss"], 6) == round(logs["loss"], 6)))

    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Keras2Style()])
    assert seen == [("begin", 0), ("end", 0, True), ("begin", 1), ("end", 1, True)]
    cbs = C.CallbackList([Keras2Style()])
    assert cbs.wants("on_train_batch_end") and cbs.wants("on_train_batch_begin")
    cbs.on_batch_end(7, {"loss": 1.0})  # CallbackList's alias reaches the callback
    assert seen[-1] == ("end", 7, True)


def test_callbacks_without_batch_hooks_cost_nothing_per_batch():
    epoch_only = [C.History(), C.EarlyStopping(), C.CSVLogger(os.devnull),
                  C.ReduceLROnPlateau(), C.LearningRateScheduler(lambda e: 0.1),
                  C.ModelCheckpoint("m.keras"), C.TensorBoard(), C.BackupAndRestore("b"),
                  C.RemoteMonitor(), C.LambdaCallback(on_epoch_end=print)]
    cbs = C.CallbackList(epoch_only, add_progbar=True, verbose=2, epochs=1, steps=3)
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
                 "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"):
        assert not cbs.wants(hook), hook
    assert C.CallbackList([C.LambdaCallback(on_train_batch_end=print)]).wants(
        "on_train_batch_end")
    assert C.CallbackList([C.TerminateOnNaN()]).wants("on_train_batch_end")
    assert C.CallbackList([C.ModelCheckpoint("m.keras", save_freq=5)]).wants(
        "on_train_batch_end")
    assert C.CallbackList([], add_progbar=True, verbose=1, epochs=1, steps=3).wants(
        "on_train_batch_end")
    # a count of steps not known in advance has to be counted, even with verbose=2
    assert C.CallbackList([], add_progbar=True, verbose=2, epochs=1, steps=None).wants(
        "on_train_batch_end")


def test_stop_training_and_callback_list_passthrough():
    x, y = _data(n=64)

    class StopAt(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    rec = _Hooks()
    cbs = C.CallbackList([StopAt(), rec])
    history = _model().fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=cbs)
    assert history.epoch == [0]
    ends = [c for c in rec.calls if c[0] == "train_batch_end"]
    assert [c[1] for c in ends] == [0, 1]
    assert rec.calls[-2][0] == "epoch_end" and rec.calls[-1][0] == "train_end"


# ---- History and BaseLogger ----------------------------------------------------------------

def test_history_records_epoch_averages_params_and_model():
    x, y = _data(n=50)
    model = _model()
    batch_losses = []
    cb = C.LambdaCallback(on_train_batch_end=lambda b, logs: batch_losses.append(logs["loss"]))
    h = model.fit(x, y, batch_size=20, epochs=2, verbose=0, callbacks=[cb])
    assert h is model.history
    assert h.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert h.epoch == [0, 1]
    assert list(h.history) == ["accuracy", "loss"]
    # the batch logs are running means; the epoch's value is the last one (size-weighted)
    assert h.history["loss"][1] == pytest.approx(batch_losses[-1])
    # the same History passed again keeps growing, its epochs restart (as in tf.keras)
    model.fit(x, y, batch_size=20, epochs=1, verbose=0, callbacks=[h])
    assert h.epoch == [0] and len(h.history["loss"]) == 3


def test_base_logger_averages_batch_logs_by_size_and_keeps_stateful_values():
    bl = C.BaseLogger(stateful_metrics=["auc"])
    bl.on_epoch_begin(0)
    bl.on_batch_end(0, {"size": 10, "mae": 1.0, "auc": 0.5, "batch": 0})
    bl.on_batch_end(1, {"size": 30, "mae": 3.0, "auc": 0.7, "batch": 1})
    logs = {"loss": 9.0}
    bl.on_epoch_end(0, logs)
    assert logs == {"loss": 9.0, "mae": pytest.approx(2.5), "auc": 0.7}
    with pytest.raises(TypeError, match="stateful_metrics"):
        C.BaseLogger(stateful_metrics="auc")


# ---- the progress display ------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_verbose_1_without_a_terminal_writes_plain_lines(capsys):
    x, y = _data(n=64)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=1)
    model.evaluate(x, y, verbose=1)
    model.predict(x, verbose=1)
    out = capsys.readouterr().out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out)  # no \r, \b, ESC...
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2"
    fit_done = [ln for ln in lines if ln.startswith("4/4")]
    assert len(fit_done) == 2
    assert re.fullmatch(r"4/4 \u2501{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - "
                        r"loss: \d\.\d{4}", fit_done[-1])
    assert re.fullmatch(r"2/2 \u2501{20} \d+s \d+(us|ms|s)/step", lines[-1])
    assert len(lines) <= 2 * (1 + 2) + 2 + 2  # first and last line of each bar, no more


def test_verbose_1_on_a_terminal_redraws_one_line_in_keras_style(monkeypatch):
    tty = _Tty()
    monkeypatch.setattr(sys, "stdout", tty)
    x, y = _data(n=64)
    _model().fit(x, y, batch_size=16, epochs=1, verbose="auto")  # auto -> 1 on a tty
    out = tty.getvalue()
    assert "\r" in out and "\x1b[32m" in out and out.endswith("\n")
    assert "Epoch 1/1" not in out  # one epoch: no header, as in tf.keras
    final = out.split("\r")[-1]
    plain = re.sub(r"\x1b\[\d+m", "", final)
    assert re.fullmatch(r"4/4 \u2501{20} \d+s \d+(us|ms|s)/step - accuracy: \d\.\d{4} - "
                        r"loss: \d\.\d{4} *\n", plain)


def test_verbose_auto_is_2_off_a_terminal_and_1_in_jupyter(capsys, monkeypatch):
    x, y = _data(n=32)
    model = _model()
    model.fit(x, y, batch_size=16, epochs=1)
    out = capsys.readouterr().out
    assert re.fullmatch(r"2/2 - \d+s - \d+(us|ms|s)/step - accuracy: \S+ - loss: \S+\n", out)

    class OutStream(io.StringIO):  # what ipykernel puts in sys.stdout
        pass

    OutStream.__module__ = "ipykernel.iostream"
    cell = OutStream()
    monkeypatch.setattr(sys, "stdout", cell)
    model.fit(x, y, batch_size=16, epochs=1)
    assert "\r" in cell.getvalue() and "\u2501" in cell.getvalue()


def test_progbar_redraws_at_most_ten_times_a_second(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("fastnn.callbacks.progbar.time.time", lambda: clock[0])
    tty = _Tty()
    bar = keras.utils.Progbar(1000, file=tty)
    for i in range(1, 1001):
        clock[0] += 0.002  # 500 steps a second: 2 s in all
        bar.update(i, [("loss", 1.0 / i)])
    redraws = tty.getvalue().count("\r")
    assert 18 <= redraws <= 21  # 10 per second, plus the final one
    # shown averaged over the steps so far (Keras's Progbar semantics for values that are
    # not stateful); the final update shows the value given
    shown = re.sub(r"\x1b\[\d+m", "", tty.getvalue().split("\r")[-2])
    step, loss = re.match(r"\s*(\d+)/1000 .* loss: (\S+)", shown).groups()
    assert float(loss) == pytest.approx(np.mean(1.0 / np.arange(1, int(step) + 1)), abs=6e-5)
    assert tty.getvalue().rstrip().endswith("loss: 1.0000e-03")


def test_progbar_in_a_file_writes_sparse_plain_lines(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("fastnn.callbacks.progbar.time.time", lambda: clock[0])
    out = io.StringIO()
    bar = keras.utils.Progbar(100, file=out, stateful_metrics=["acc"])
    for i in range(1, 101):
        clock[0] += 0.5  # 50 s in all
        bar.update(i, {"acc": i / 100})
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 7  # one at most every 10 s, and the last
    assert lines[-1].startswith("100/100 " + "\u2501" * 20 + " 50s") and \
        lines[-1].endswith("acc: 1.0000")
    assert "\u2500" in lines[0]  # the part still to do, drawn without colours


def test_count_mode_samples(capsys):
    x, y = _data(n=50)
    _model().fit(x, y, batch_size=16, epochs=1, verbose=2,
                 callbacks=[C.ProgbarLogger(count_mode="samples")])
    out = capsys.readouterr().out
    assert re.match(r"50/50 - \d+s - \d+(us|ms|s)/sample - ", out)
    with pytest.raises(ValueError, match="count_mode"):
        C.ProgbarLogger(count_mode="batches")


# ---- TerminateOnNaN ------------------------------------------------------------------------

def test_terminate_on_nan_stops_and_names_the_batch(capsys):
    x, y = _data(n=64)
    x[40] = np.nan  # batch 2 of 16-row batches
    model = _model(optimizer="sgd")
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                  callbacks=[C.TerminateOnNaN()])
    assert h.epoch == [0] and np.isnan(h.history["loss"][0])
    assert "Epoch 1, batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    ends = []
    with pytest.raises(RuntimeError, match="batch 2 of epoch 1"):
        _model().fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0,
                     callbacks=[C.TerminateOnNaN(raise_error=True),
                                C.LambdaCallback(on_train_end=ends.append)])
    assert ends == []  # raise_error skips the end-of-training hooks


# ---- ModelCheckpoint -----------------------------------------------------------------------

def test_model_checkpoint_formats_names_and_saves_loadable_models(tmp_path):
    x, y = _data()
    model = _model()
    pattern = str(tmp_path / "ckpt" / "m.{epoch:02d}-{val_loss:.2f}.keras")
    h = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                  callbacks=[C.ModelCheckpoint(pattern)])
    names = sorted(os.listdir(tmp_path / "ckpt"))
    assert names == [f"m.{e + 1:02d}-{v:.2f}.keras" for e, v in
                     enumerate(h.history["val_loss"])]
    last = keras.models.load_model(str(tmp_path / "ckpt" / names[-1]))
    np.testing.assert_array_equal(last.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_checkpoint_best_only_weights_only_and_batches(tmp_path):
    x, y = _data()
    model = _model()
    best = tmp_path / "best.weights.h5"
    snapshots = []
    cb = C.ModelCheckpoint(str(best), monitor="val_accuracy", save_best_only=True,
                           save_weights_only=True)
    record = C.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        (logs["val_accuracy"], model.get_weights())))
    model.fit(x, y, epochs=6, verbose=0, validation_split=0.25, callbacks=[cb, record])
    best_acc = max(a for a, _ in snapshots)
    first_best = next(w for a, w in snapshots if a == best_acc)
    fresh = _model(seed=9)
    fresh.load_weights(str(best))
    for a, b in zip(fresh.get_weights(), first_best):
        np.testing.assert_array_equal(a, b)  # mode 'auto' knew accuracy goes up
    batches = C.ModelCheckpoint(str(tmp_path / "b" / "e{epoch}b{batch}.weights.h5"),
                                save_weights_only=True, save_freq=2)
    _model().fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[batches])
    assert sorted(os.listdir(tmp_path / "b")) == ["e1b2.weights.h5", "e2b1.weights.h5",
                                                 "e2b3.weights.h5"]


def test_model_checkpoint_period_is_a_deprecated_alias(tmp_path):
    x, y = _data(n=32)
    with pytest.warns(DeprecationWarning, match="period"):
        cb = C.ModelCheckpoint(str(tmp_path / "p{epoch}.keras"), period=2)
    _model().fit(x, y, epochs=5, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path)) == ["p2.keras", "p4.keras"]


def test_model_checkpoint_unknown_monitor_warns_once_at_train_begin(tmp_path):
    x, y = _data(n=32)
    cb = C.ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="val_acc_typo",
                           save_best_only=True)
    began = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _model().fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                     callbacks=[cb, C.LambdaCallback(on_epoch_begin=lambda e, l: began.append(
                         len(caught)))])
    mine = [w for w in caught if "val_acc_typo" in str(w.message)]
    assert len(mine) == 1 and began[0] == 1  # once, before the first epoch
    assert len(os.listdir(tmp_path)) == 3  # as in Keras, it then saves every epoch


def test_model_checkpoint_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    x, y = _data(n=32)
    model = _model()
    path = tmp_path / "m.keras"
    cb = C.ModelCheckpoint(str(path))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    before = path.read_bytes()
    real_save = type(model).save

    def dying_save(self, filepath, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # a kill in the middle of writing

    monkeypatch.setattr(type(model), "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    monkeypatch.setattr(type(model), "save", real_save)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]  # no temporary file left
    keras.models.load_model(str(path))


# ---- EarlyStopping -------------------------------------------------------------------------

def _weights_by_epoch(model):
    snaps = {}
    return snaps, C.LambdaCallback(
        on_epoch_end=lambda e, logs: snaps.__setitem__(e, (logs, model.get_weights())))


def test_early_stopping_restores_best_weights_at_the_last_epoch_too():
    x, y = _data()
    model = _model(optimizer=keras.optimizers.SGD(0.5))
    snaps, record = _weights_by_epoch(model)
    es = C.EarlyStopping(monitor="val_loss", patience=100, restore_best_weights=True)
    h = model.fit(x, y, epochs=6, verbose=0, validation_split=0.25, callbacks=[record, es])
    assert len(h.epoch) == 6 and es.stopped_epoch == 0  # ran to the end without stopping
    best = int(np.argmin(h.history["val_loss"]))
    assert es.best_epoch == best
    for a, b in zip(model.get_weights(), snaps[best][1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_stops_after_patience_and_announces(capsys):
    x, y = _data()
    model = _model()
    snaps, record = _weights_by_epoch(model)
    # monitor the training loss upside down: it only gets "worse", so epoch 0 is best
    es = C.EarlyStopping(monitor="loss", mode="max", patience=2, verbose=1,
                         restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0, callbacks=[record, es])
    assert h.epoch == [0, 1, 2] and es.stopped_epoch == 2
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out
    for a, b in zip(model.get_weights(), snaps[0][1]):
        np.testing.assert_array_equal(a, b)


def test_monitor_direction_needs_mode_for_unknown_names():
    model = _model(metrics=["mse"])
    es = C.EarlyStopping(monitor="my_score")
    es.set_model(model)
    es.on_train_begin()
    with pytest.raises(ValueError, match="mode='max'"):
        es.on_epoch_end(0, {"my_score": 1.0})
    for name, sign in (("val_mse", -1), ("val_loss", -1), ("accuracy", 1)):
        cb = C.EarlyStopping(monitor=name)
        cb.set_model(model)
        cb._set_monitor_op()
        assert cb._sign == sign, name


# ---- RemoteMonitor -------------------------------------------------------------------------

@contextlib.contextmanager
def _server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_remote_monitor_posts_epoch_logs_to_a_real_server():
    x, y = _data(n=32)
    with _server() as (root, received):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[
            C.RemoteMonitor(root=root, path="/form/", field="payload"),
            C.RemoteMonitor(root=root, path="/json/", send_as_json=True,
                            headers={"X-Run": "7"})])
    assert [r[0] for r in received] == ["/form/", "/json/", "/form/", "/json/"]
    form = urllib.parse.parse_qs(received[2][2].decode())
    data = json.loads(form["payload"][0])
    assert data["epoch"] == 1 and set(data) == {"epoch", "accuracy", "loss"}
    path, headers, body = received[3]
    assert headers["Content-Type"] == "application/json" and headers["X-Run"] == "7"
    assert json.loads(body)["epoch"] == 1


def test_remote_monitor_warns_when_the_server_is_down():
    with _server() as (root, _):
        pass  # started and stopped: nothing listens on that port now
    x, y = _data(n=32)
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        h = _model().fit(x, y, epochs=2, verbose=0, callbacks=[C.RemoteMonitor(root=root)])
    assert h.epoch == [0, 1]


# ---- learning rates ------------------------------------------------------------------------

def test_learning_rate_scheduler_sets_rates_and_logs_them(capsys):
    x, y = _data(n=32)
    model = _model(optimizer=keras.optimizers.SGD(0.1))
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        C.LearningRateScheduler(lambda epoch, lr: lr * 0.5, verbose=1)])
    assert h.history["learning_rate"] == [pytest.approx(v) for v in (0.05, 0.025, 0.0125)]
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.025" in \
        capsys.readouterr().out
    h = model.fit(x, y, epochs=2, verbose=0, callbacks=[
        C.LearningRateScheduler(lambda epoch: 0.2 + epoch)])  # Keras 2's one-argument form
    assert h.history["learning_rate"] == [pytest.approx(0.2), pytest.approx(1.2)]
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[C.LearningRateScheduler(lambda epoch: "fast")])


def test_reduce_lr_on_plateau_accepts_keras_2_epsilon():
    with pytest.warns(DeprecationWarning, match="epsilon"):
        cb = C.ReduceLROnPlateau(epsilon=0.5)
    assert cb.min_delta == 0.5


def test_reduce_lr_on_plateau_in_fit_never_goes_below_min_lr():
    x, y = _data(n=32)
    model = _model(optimizer=keras.optimizers.SGD(0.1))
    # monitoring the loss as if higher were better: no improvement after epoch 0
    cb = C.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1, cooldown=2,
                             min_lr=0.03)
    h = model.fit(x, y, epochs=7, verbose=0, callbacks=[cb])
    # rates in use at each epoch end: reduced at the end of epoch 1, then (after the
    # cooldown) of epoch 3, to 0.025 floored at min_lr
    np.testing.assert_allclose(h.history["learning_rate"],
                               [0.1, 0.1, 0.05, 0.05, 0.03, 0.03, 0.03], rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.03)


# ---- CSVLogger, LambdaCallback --------------------------------------------------------------

def test_csv_logger_writes_and_appends(tmp_path):
    x, y = _data(n=32)
    path = tmp_path / "log.csv"
    model = _model()
    h = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                  callbacks=[C.CSVLogger(str(path))])
    model.fit(x, y, epochs=3, initial_epoch=2, verbose=0, validation_split=0.25,
              callbacks=[C.CSVLogger(path, append=True)])
    lines = path.read_bytes().split(b"\r\n")
    assert lines[0] == b"epoch,accuracy,loss,val_accuracy,val_loss"
    assert [ln.split(b",")[0] for ln in lines[1:-1]] == [b"0", b"1", b"2"]
    assert float(lines[1].split(b",")[2]) == h.history["loss"][0]
    assert lines[-1] == b""


def test_csv_logger_flushes_every_epoch(tmp_path):
    x, y = _data(n=32)
    path = tmp_path / "log.csv"
    rows = []
    _model().fit(x, y, epochs=3, verbose=0, callbacks=[
        C.CSVLogger(str(path)),
        C.LambdaCallback(on_epoch_end=lambda e, l: rows.append(
            path.read_text().count("\n")))])
    assert rows == [2, 3, 4]


def test_lambda_callback_calls_all_six_seed_hooks():
    x, y = _data(n=32)
    calls = []
    cb = C.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, "loss" in logs)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, "loss" in logs)),
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_train_end=lambda logs: calls.append("train_end"))
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])
    assert calls == ["train_begin", ("epoch_begin", 0), ("batch_begin", 0),
                     ("batch_end", 0, True), ("batch_begin", 1), ("batch_end", 1, True),
                     ("epoch_end", 0, True), "train_end"]
    tested = []
    keras3 = C.LambdaCallback(on_train_batch_end=lambda b, logs: tested.append(b),
                              on_test_end=lambda logs: tested.append(sorted(logs)))
    _model().fit(x, y, batch_size=16, epochs=1, verbose=0, validation_split=0.5,
                 callbacks=[keras3])
    assert tested == [0, ["accuracy", "loss"]]


# ---- TensorBoard ---------------------------------------------------------------------------

def _events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                       "tensors": 0, "images": 0})
    acc.Reload()
    return acc


def test_tensorboard_event_files_read_back(tmp_path):
    x, y = _data()
    model = _model()
    tb = C.TensorBoard(log_dir=str(tmp_path), histogram_freq=2, write_images=True,
                       update_freq=2)
    h = model.fit(x, y, batch_size=24, epochs=3, verbose=0, validation_split=0.25,
                  callbacks=[tb])
    train, val = _events(tmp_path / "train"), _events(tmp_path / "validation")
    for name in ("loss", "accuracy"):
        got = [(e.step, e.value) for e in train.Scalars(f"epoch_{name}")]
        assert [s for s, _ in got] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in got], h.history[name], rtol=1e-6)
        got = [e.value for e in val.Scalars(f"epoch_{name}")]
        np.testing.assert_allclose(got, h.history["val_" + name], rtol=1e-6)
    lr = [e.value for e in train.Scalars("epoch_learning_rate")]
    np.testing.assert_allclose(lr, [0.001] * 3, rtol=1e-6)
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]  # 9 batches
    assert [e.step for e in val.Scalars("evaluation_loss_vs_iterations")] == [3, 6, 9]
    tags = train.Tags()
    paths = [v.path for layer in model.layers for v in layer.weights]
    assert paths[0] == model.layers[0].name + "/kernel"
    assert sorted(tags["histograms"]) == sorted(p + "/histogram" for p in paths)
    hist = train.Histograms(paths[0] + "/histogram")
    assert [e.step for e in hist] == [0, 2]
    kernel = model.layers[0].kernel.numpy()
    assert hist[-1].histogram_value.num == kernel.size
    assert hist[-1].histogram_value.min == pytest.approx(kernel.min())
    assert sorted(tags["images"]) == sorted(p + "/image" for p in paths)
    text = train.Tensors("keras/text_summary")[0].tensor_proto.string_val[0].decode()
    assert 'Model: "' in text and "Total params: 83" in text


def test_tensorboard_rejects_profiling_and_bad_frequencies():
    with pytest.raises(ValueError, match="profile_batch"):
        C.TensorBoard(profile_batch=2)
    with pytest.raises(ValueError, match="update_freq"):
        C.TensorBoard(update_freq="sometimes")
    with pytest.raises(ValueError, match="histogram_freq"):
        C.TensorBoard(histogram_freq=-1)


# ---- BackupAndRestore ----------------------------------------------------------------------

_TRAIN_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import fastnn as keras

    backup, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    r = np.random.default_rng(0)
    x = r.standard_normal((256, 6)).astype(np.float32)
    y = np.argmax(x @ r.standard_normal((6, 3)), axis=1)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")

    class Announce(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"EPOCH {epoch}", flush=True)
            if mode == "hang" and epoch == 2:
                time.sleep(120)  # the parent kills us here, mid-fit

    cbs = [keras.callbacks.BackupAndRestore(backup), Announce()]
    if mode == "plain":
        cbs = []
    h = model.fit(x, y, batch_size=32, epochs=6, shuffle=False, verbose=0, callbacks=cbs)
    np.savez(out, *model.get_weights(), epochs=np.array(h.epoch),
             iterations=np.array(model.optimizer.iterations))
""")


def test_backup_and_restore_resumes_a_killed_fit(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_TRAIN_SCRIPT)
    backup = tmp_path / "backup"
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def run(mode, out):
        return subprocess.run([sys.executable, str(script), str(backup), str(out), mode],
                              env=env, capture_output=True, text=True, timeout=120)

    child = subprocess.Popen([sys.executable, str(script), str(backup),
                              str(tmp_path / "never.npz"), "hang"], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        for expected in ("EPOCH 0", "EPOCH 1", "EPOCH 2"):
            assert child.stdout.readline().strip() == expected
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    meta = json.loads((backup / "training_metadata.json").read_text())
    assert meta["epoch"] in (2, 3)  # the kill came after epoch 2's end began
    resumed = run("resume", tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == [w for e in range(meta["epoch"], 6)
                                      for w in ("EPOCH", str(e))]
    assert not backup.exists()  # deleted after the fit finished
    plain = run("plain", tmp_path / "plain.npz")
    assert plain.returncode == 0, plain.stderr
    a, b = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "plain.npz")
    assert list(a["epochs"]) == list(range(meta["epoch"], 6))
    assert int(a["iterations"]) == int(b["iterations"]) == 6 * 8  # optimizer state restored
    for k in ("arr_0", "arr_1", "arr_2", "arr_3"):
        np.testing.assert_array_equal(a[k], b[k])  # bit-identical to an uninterrupted fit


def test_backup_and_restore_falls_back_to_the_previous_backup(tmp_path):
    x, y = _data(n=32)
    backup = tmp_path / "b"
    cb = C.BackupAndRestore(str(backup), double_checkpoint=True, delete_checkpoint=False)
    _model().fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    meta = json.loads((backup / "training_metadata.json").read_text())
    assert meta["epoch"] == 3 and meta["previous"]["epoch"] == 2
    (backup / meta["weights"]).write_bytes(b"garbage")  # the newest backup is damaged
    h = _model().fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    assert h.epoch == [2, 3]


def test_backup_interrupted_before_its_commit_keeps_the_last_backup(tmp_path, monkeypatch):
    from fastnn.callbacks import backup_and_restore as bar

    x, y = _data(n=32)
    backup = tmp_path / "b"
    cb = C.BackupAndRestore(str(backup))
    real = bar._write_json_atomically
    calls = []

    def die_on_third(path, data):
        calls.append(data["epoch"])
        if len(calls) == 3:  # epoch 2's weights are written, its metadata never is
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(bar, "_write_json_atomically", die_on_third)
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x, y, epochs=5, verbose=0, callbacks=[cb])
    monkeypatch.setattr(bar, "_write_json_atomically", real)
    meta = json.loads((backup / "training_metadata.json").read_text())
    assert meta["epoch"] == 2
    h = _model().fit(x, y, epochs=5, verbose=0, callbacks=[cb])
    assert h.epoch == [2, 3, 4]


# ---- plotting ------------------------------------------------------------------------------

def test_plot_history_writes_a_png(tmp_path):
    x, y = _data(n=32)
    h = _model().fit(x, y, epochs=3, verbose=0, validation_split=0.25)
    path = tmp_path / "curves.png"
    fig = keras.utils.plot_history(h, path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["train", "validation"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), h.history["val_loss"])
    fig = h.plot(metrics=["accuracy"], path=tmp_path / "acc.png", title="run")
    assert len(fig.axes) == 1 and (tmp_path / "acc.png").exists()
    keras.utils.plot_history(h.history, metrics="loss")  # a plain dict works too
    with pytest.raises(ValueError, match="'auc' is not in the history"):
        h.plot(metrics=["auc"])
    with pytest.raises(TypeError, match="history"):
        keras.utils.plot_history([1, 2, 3])


# ---- bad arguments -------------------------------------------------------------------------

@pytest.mark.parametrize("make, error, match", [
    (lambda: C.EarlyStopping(patience=-1), ValueError, "^patience"),
    (lambda: C.EarlyStopping(patience=1.5), TypeError, "^patience"),
    (lambda: C.EarlyStopping(mode="up"), ValueError, "^mode"),
    (lambda: C.EarlyStopping(min_delta="0.1"), TypeError, "^min_delta"),
    (lambda: C.EarlyStopping(restore_best_weights=1), TypeError, "^restore_best_weights"),
    (lambda: C.EarlyStopping(start_from_epoch=-2), ValueError, "^start_from_epoch"),
    (lambda: C.EarlyStopping(monitor=3), TypeError, "^monitor"),
    (lambda: C.ReduceLROnPlateau(factor=1.0), ValueError, "^factor"),
    (lambda: C.ReduceLROnPlateau(cooldown=-1), ValueError, "^cooldown"),
    (lambda: C.ReduceLROnPlateau(min_lr=-0.1), ValueError, "^min_lr"),
    (lambda: C.ReduceLROnPlateau(bogus=1), TypeError, "bogus"),
    (lambda: C.ModelCheckpoint("m.txt"), ValueError, "^filepath"),
    (lambda: C.ModelCheckpoint("m.keras", save_weights_only=True), ValueError, "^filepath"),
    (lambda: C.ModelCheckpoint(3), TypeError, "^filepath"),
    (lambda: C.ModelCheckpoint("m.keras", save_freq="batch"), ValueError, "^save_freq"),
    (lambda: C.ModelCheckpoint("m.keras", save_freq=0), ValueError, "^save_freq"),
    (lambda: C.ModelCheckpoint("m.keras", save_best_only="yes"), TypeError, "^save_best_only"),
    (lambda: C.ModelCheckpoint("m.keras", period=0), ValueError, "^period"),
    (lambda: C.ModelCheckpoint("m.keras", foo=1), TypeError, "^foo"),
    (lambda: C.LearningRateScheduler(0.1), TypeError, "^schedule"),
    (lambda: C.CSVLogger("a.csv", separator=";;"), ValueError, "^separator"),
    (lambda: C.CSVLogger(None), TypeError, "^filename"),
    (lambda: C.LambdaCallback(on_epoch_end=3), TypeError, "^on_epoch_end"),
    (lambda: C.LambdaCallback(on_everything=print), TypeError, "^on_everything"),
    (lambda: C.RemoteMonitor(headers=[("a", "b")]), TypeError, "^headers"),
    (lambda: C.RemoteMonitor(timeout=0), ValueError, "^timeout"),
    (lambda: C.BackupAndRestore(""), ValueError, "^backup_dir"),
    (lambda: C.BackupAndRestore("b", save_freq="often"), ValueError, "^save_freq"),
    (lambda: C.TerminateOnNaN(raise_error="yes"), TypeError, "^raise_error"),
    (lambda: keras.utils.Progbar(10, verbose=3), ValueError, "^verbose"),
])
@pytest.mark.filterwarnings("ignore:`period` argument is deprecated:DeprecationWarning")
def test_bad_arguments_name_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()



