"""Sequential and the engine: structure, compile/fit/evaluate/predict semantics, callbacks,
determinism and bad input."""
import io
import threading
import time

import numpy as np
import pytest

import fastnn as keras
from tests.conftest import run_with_threads


def _data(n=256, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, classes))
    y = np.argmax(x @ w, axis=1)
    return x, y


def _model(d=8, classes=3, seed=1, dropout=0.0, activation="softmax"):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((d,)), keras.layers.Dense(16, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(classes, activation=activation))
    return keras.Sequential(layers)


def test_namespaces_mirror_keras():
    from fastnn import keras as k2
    assert k2 is keras
    assert keras.Sequential is keras.models.Sequential
    assert keras.Input is keras.layers.Input
    assert keras.backend.floatx() == "float32" and keras.backend.epsilon() == 1e-7


def test_add_pop_layers_and_build():
    model = keras.Sequential(name="m")
    model.add(keras.layers.Dense(4, input_shape=(3,)))
    model.add(keras.layers.Dense(2))
    assert model.built and model.output_shape == (None, 2)
    assert [v.shape for v in model.weights] == [(3, 4), (4,), (4, 2), (2,)]
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
    popped = model.pop()
    assert popped.units == 2 and len(model.layers) == 1


def test_model_without_input_shape_builds_on_first_call():
    model = keras.Sequential([keras.layers.Dense(3)])
    assert not model.built
    y = model(np.ones((2, 5), np.float32))
    assert y.shape == (2, 3) and model.built


def test_summary_lists_shapes_and_params():
    model = _model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert '(None, 16)' in text and '(None, 3)' in text
    assert "Total params: 195" in text and "Trainable params: 195" in text


def test_set_weights_checks_shapes():
    model = _model()
    with pytest.raises(ValueError, match="expected a list of 4 arrays"):
        model.set_weights([np.zeros((8, 16))])
    ws = model.get_weights()
    ws[0] = np.zeros((8, 17))
    with pytest.raises(ValueError, match="expected shape"):
        model.set_weights(ws)


def test_fit_learns_and_history_has_keras_keys():
    x, y = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0, validation_split=0.25)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hist.epoch == list(range(8))
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.8
    loss, acc = model.evaluate(x, y, verbose=0)
    assert 0 < loss < hist.history["loss"][0] and acc > 0.8
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}


def test_evaluate_equals_numpy_loss():
    x, y = _data(n=100)
    model = _model(activation=None)
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    logits = model.predict(x, verbose=0).astype(np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    ref = -logp[np.arange(len(y)), y].mean()
    assert model.evaluate(x, y, batch_size=7, verbose=0) == pytest.approx(ref, rel=1e-5)


def test_predict_matches_call_and_batches():
    x, _ = _data(n=70)
    model = _model()
    a = model.predict(x, batch_size=16, verbose=0)
    b = model(x)
    c = np.concatenate([model.predict_on_batch(x[i:i + 9]) for i in range(0, 70, 9)])
    assert a.shape == (70, 3)
    assert a.tobytes() == b.tobytes() == c.tobytes()  # batch invariance end to end


def test_validation_split_takes_last_fraction_before_shuffling():
    x, y = _data(n=100)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["val_loss"])

    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, validation_split=0.2, callbacks=[Spy()])
    ref = model.evaluate(x[80:], y[80:], verbose=0)
    assert seen[0] == pytest.approx(ref, rel=1e-6)


def test_class_weight_equals_sample_weight():
    x, y = _data(n=64)
    cw = {0: 1.0, 1: 2.0, 2: 0.5}
    res = []
    for kw in ({"class_weight": cw}, {"sample_weight": np.array([cw[c] for c in y])}):
        model = _model(seed=4)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, **kw)
        res.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    np.testing.assert_array_equal(res[0], res[1])


def test_same_seed_gives_bit_identical_weights_with_dropout():
    x, y = _data()
    out = []
    for _ in range(2):
        model = _model(seed=7, dropout=0.3)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        out.append(b"".join(w.tobytes() for w in model.get_weights()))
    assert out[0] == out[1]


SEED_SCRIPT = """
import hashlib, numpy as np, fastnn as keras
rng = np.random.default_rng(0)
x = rng.standard_normal((512, 64)).astype(np.float32); y = rng.integers(0, 10, 512)
keras.utils.set_random_seed(3)
model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, epochs=2, batch_size=64, verbose=0)
print(keras.get_num_threads(), hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
"""


def test_fit_bit_identical_for_1_and_2_threads():
    one = run_with_threads(SEED_SCRIPT, 1).split()
    two = run_with_threads(SEED_SCRIPT, 2).split()
    assert one[0] == "1" and two[0] == "2"
    assert one[1] == two[1]


def test_recompile_keeps_weights():
    x, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    before = model.get_weights()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.fit(x, y, epochs=1, verbose=0)


def test_frozen_layer_is_not_updated():
    x, y = _data()
    model = _model()
    model.layers[0].trainable = False
    frozen = model.layers[0].get_weights()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_train_and_test_on_batch():
    x, y = _data(n=32)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.test_on_batch(x, y)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert logs["loss"] == pytest.approx(before[0], rel=1e-6)
    assert model.test_on_batch(x, y)[0] < before[0]


def test_callback_hooks_and_stop_training():
    x, y = _data(n=64)
    calls = []

    class Rec(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_batch_end(self, batch, logs=None):  # Keras 2 alias of on_train_batch_end
            calls.append(("batch_end", batch, sorted(logs)))
            if batch == 2:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            calls.append("train_end")

    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Rec()])
    assert calls[0] == "train_begin" and calls[-1] == "train_end"
    assert ("batch_end", 2, ["accuracy", "loss"]) in calls
    assert not any(c[0] == "batch_end" and c[1] == 3 for c in calls if isinstance(c, tuple))
    assert [c for c in calls if isinstance(c, tuple) and c[0] == "epoch_end"] == \
        [("epoch_end", 0, ["accuracy", "loss"])]


def test_validation_data_and_freq():
    x, y = _data(n=80)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=4, verbose=0, validation_data=(x[:20], y[:20]),
                     validation_freq=2)
    assert len(hist.history["loss"]) == 4 and len(hist.history["val_loss"]) == 2
    hist = model.fit(x, y, epochs=3, verbose=0, validation_data=(x[:20], y[:20], np.ones(20)),
                     validation_freq=[1, 3], initial_epoch=1)
    assert hist.epoch == [1, 2] and len(hist.history["val_loss"]) == 1


class _Seq(keras.utils.Sequence):
    def __init__(self, x, y, bs, delay=0.0, **kw):
        super().__init__(**kw)
        self.x, self.y, self.bs, self.delay = x, y, bs, delay
        self.threads = set()

    def __len__(self):
        return (len(self.x) + self.bs - 1) // self.bs

    def __getitem__(self, i):
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


def test_fit_on_sequence_equals_arrays_without_shuffle():
    x, y = _data(n=64)
    res = []
    for source in ("arrays", "sequence"):
        model = _model(seed=5)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        if source == "arrays":
            model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        else:
            model.fit(_Seq(x, y, 16), epochs=2, shuffle=False, verbose=0)
        res.append(model.get_weights()[0])
    np.testing.assert_array_equal(res[0], res[1])


def test_sequence_workers_prefetch_in_threads():
    x, y = _data(n=64)
    seq = _Seq(x, y, 8, delay=0.05)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(seq, epochs=1, verbose=0, workers=4, max_queue_size=8)
    elapsed = time.perf_counter() - start
    assert len(seq.threads) > 1          # fetched by several worker threads
    assert elapsed < 8 * 0.05 * 0.9      # overlapped: faster than fetching one by one


def test_fit_on_generator_with_sample_weights():
    x, y = _data(n=64)

    def gen():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16], np.ones(16)

    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    hist = model.fit(gen(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2


def test_dict_and_list_inputs():
    x, y = _data(n=32)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    name = model._input_names()[0]
    model.fit({name: x}, y, epochs=1, verbose=0)
    model.fit(x.tolist(), list(y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no model input is named"):
        model.fit({"other": x}, y, epochs=1, verbose=0)


def test_verbose_output_formats():
    x, y = _data(n=64)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    import contextlib
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        model.fit(x, y, epochs=2, batch_size=16, verbose=2)
    out = buf.getvalue()
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4" in out and "- accuracy:" in out and "- loss:" in out
    assert "\r" not in out and "\x1b" not in out   # no control characters in a pipe


def test_custom_numpy_layer_trains():
    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x, training=False):
            self.x = x
            return x * self.s.value

        def backward(self, grad):
            return grad * self.s.value, [np.sum(grad * self.x, axis=0)]

    x, y = _data(n=128)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), Scale(), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    s0 = model.layers[0].s.numpy()
    hist = model.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert not np.array_equal(model.layers[0].s.numpy(), s0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_custom_layer_without_backward_refuses_to_train():
    class NoGrad(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(1,), name="w")

        def call(self, x, training=False):
            return x * self.w.value

    model = keras.Sequential([keras.Input((8,)), NoGrad(), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = _data(n=8)
    with pytest.raises(NotImplementedError, match="backward"):
        model.fit(x, y, verbose=0)


# ---- bad input: clear errors, raised before training, model unchanged ------------------

def _compiled():
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("kwargs,exc,pattern", [
    (dict(x=np.ones((10, 9), np.float32), y=np.zeros(10)), ValueError,
     r"^x: model 'sequential.*' expected input of shape \(None, 8\), received shape \(10, 9\)"),
    (dict(x=np.ones((10, 8), np.float32), y=np.zeros(9)), ValueError, "^y:"),
    (dict(x=np.array([["a"] * 8] * 4), y=np.zeros(4)), TypeError, "^x:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.array([0, 1, np.nan, 2])), ValueError, "^y:.*NaN"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), validation_split=1.0), ValueError,
     "^validation_split:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), validation_split=-0.1), ValueError,
     "^validation_split:"),
    (dict(x=np.ones((0, 8), np.float32), y=np.zeros(0)), ValueError, "^x:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), batch_size=0), ValueError, "^batch_size:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), batch_size=-2), ValueError, "^batch_size:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), epochs=-1), ValueError, "^epochs:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), verbose=3), ValueError, "^verbose:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), shuffle="yes"), ValueError, "^shuffle:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), sample_weight=np.ones(3)), ValueError,
     "^sample_weight:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), callbacks=[object()]), TypeError,
     "^callbacks:"),
    (dict(x=np.ones((4, 8), np.float32), y=np.zeros(4), validation_data=(1,)), ValueError,
     "^validation_data:"),
    (dict(x=np.ones((4, 8), np.float32), y=None), ValueError, "^y:"),
])
def test_fit_bad_input_is_a_clear_error_and_changes_nothing(kwargs, exc, pattern):
    model = _compiled()
    before = model.get_weights()
    kwargs.setdefault("verbose", 0)
    with pytest.raises(exc, match=pattern):
        model.fit(**kwargs)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unknown_strings_suggest_closest():
    model = _model()
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="mean_squared_error|mse"):
        model.compile(optimizer="adam", loss="mean_squared_eror")


def test_fit_before_compile_is_an_error():
    x, y = _data(n=8)
    with pytest.raises(RuntimeError, match="compile"):
        _model().fit(x, y, verbose=0)


def test_python_callable_activation_trains_like_the_builtin():
    """A lambda activation trains through numerical derivatives, close to the kernel path."""
    x, y = _data(n=96)
    res = []
    for act in ("tanh", lambda z: np.tanh(z)):
        keras.utils.set_random_seed(2)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(12, activation=act),
                                  keras.layers.Activation(act), keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        hist = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        res.append(hist.history["loss"])
    np.testing.assert_allclose(res[1], res[0], rtol=1e-4)


class _PickledSeq(keras.utils.Sequence):
    def __init__(self, x, y, folder):
        super().__init__(workers=2, use_multiprocessing=True)
        self.x, self.y, self.folder = x, y, folder

    def __len__(self):
        return 4

    def __getitem__(self, i):
        import os
        with open(os.path.join(self.folder, f"{os.getpid()}-{i}"), "w"):
            pass
        return self.x[i * 8:(i + 1) * 8], self.y[i * 8:(i + 1) * 8]


def test_sequence_in_worker_processes(tmp_path):
    import os
    x, y = _data(n=32)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    hist = model.fit(_PickledSeq(x, y, str(tmp_path)), epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    pids = {int(name.split("-")[0]) for name in os.listdir(tmp_path)}
    assert len(os.listdir(tmp_path)) == 8 and os.getpid() not in pids


def test_compile_with_functions_instances_and_weights():
    x, y = _data(n=64)
    onehot = np.eye(3, dtype=np.float32)[y]

    def my_mse(y_true, y_pred):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def mean_pred(y_true, y_pred):
        return np.mean(y_pred, axis=-1)

    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=my_mse, metrics=[mean_pred],
                  weighted_metrics=[keras.metrics.CategoricalAccuracy()], loss_weights=[2.0])
    sw = np.linspace(0.5, 1.5, 64)
    hist = model.fit(x, onehot, epochs=2, batch_size=16, verbose=0, sample_weight=sw)
    assert set(hist.history) == {"loss", "mean_pred", "categorical_accuracy"}
    pred = model.predict(x, verbose=0).astype(np.float64)
    logs = model.evaluate(x, onehot, verbose=0, return_dict=True, sample_weight=sw)
    per = np.mean((onehot - pred) ** 2, axis=-1)
    assert logs["loss"] == pytest.approx(2.0 * np.mean(per * sw), rel=1e-5)
    assert logs["mean_pred"] == pytest.approx(np.mean(pred), rel=1e-5)
    acc = (pred.argmax(1) == y).astype(float)
    assert logs["categorical_accuracy"] == pytest.approx(np.sum(acc * sw) / np.sum(sw), rel=1e-5)


def test_keras2_argument_names():
    model = keras.Sequential([keras.layers.Dense(4, input_dim=3, activation="relu"),
                              keras.layers.LeakyReLU(alpha=0.1), keras.layers.Dense(1)])
    assert model.input_shape == (None, 3)
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, np.zeros(8), epochs=1, verbose=0, max_queue_size=2, workers=1,
              use_multiprocessing=False)
    assert keras.activations.relu(np.array([-1.0, 2.0]), alpha=0.5).tolist() == [-0.5, 2.0]


def test_sequential_config_round_trip():
    model = _model(dropout=0.25)
    config = model.get_config()
    clone = keras.Sequential.from_config(config)
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    assert clone.get_config()["layers"][1:] == config["layers"][1:]
    clone.set_weights(model.get_weights())
    x, _ = _data(n=10)
    assert clone.predict(x, verbose=0).tobytes() == model.predict(x, verbose=0).tobytes()


@pytest.mark.parametrize("batch_size", [1, 7, 32, 300, 1000])
def test_predict_same_bits_for_any_batch_size_and_hears_every_batch(batch_size):
    # predict runs arrays through the model in chunks larger than batch_size; the kernels
    # are batch-invariant, so the result equals the row-by-row forward pass exactly, and
    # a batch callback still hears of every batch_size batch with its own outputs.
    model = _model(d=8, classes=3)
    x = np.random.default_rng(3).normal(size=(601, 8)).astype(np.float32)
    rows = np.concatenate([model(x[i:i + 1]) for i in range(len(x))])
    seen = []

    class Batches(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].copy()))

    out = model.predict(x, batch_size=batch_size, verbose=0)
    assert np.array_equal(out, rows)
    out2 = model.predict(x, batch_size=batch_size, verbose=0, callbacks=[Batches()])
    assert np.array_equal(out2, rows)
    steps = -(-len(x) // batch_size)
    assert [b for b, _ in seen] == list(range(steps))
    for b, o in seen:
        assert np.array_equal(o, rows[b * batch_size:(b + 1) * batch_size])
    # steps limits the batches, as in Keras
    part = model.predict(x, batch_size=batch_size, verbose=0, steps=1)
    assert np.array_equal(part, rows[:batch_size])


def _layer_by_layer(model, x):
    from fastnn.engine.workspace import Workspace
    h = np.ascontiguousarray(x, dtype=model._dtype())
    for layer in model.layers:
        h = layer._forward(h, Workspace(layer.dtype), False)
    return np.array(h)


def test_one_call_inference_equals_layers_and_follows_weight_changes():
    from fastnn import _core
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Activation("tanh"),
                              keras.layers.Dense(5, activation="softmax"),
                              keras.layers.Reshape((5, 1))])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(9, 6, 4)).astype(np.float32)
    first = model(x)
    assert model._infer.chain() is not None  # this model runs as one chain
    assert first.shape == (9, 5, 1)
    assert first.tobytes() == _layer_by_layer(model, x).tobytes()
    assert model.predict(x, verbose=0).tobytes() == first.tobytes()
    assert model.predict_on_batch(x[:1]).tobytes() == first[:1].tobytes()
    # a training step, set_weights and a kernel-family switch are all seen at once
    model.train_on_batch(x, np.zeros((9, 5, 1), np.float32))
    after = model(x)
    assert not np.array_equal(after, first)
    assert after.tobytes() == _layer_by_layer(model, x).tobytes()
    model.set_weights([w * 0.5 for w in model.get_weights()])
    assert model(x[:2]).tobytes() == _layer_by_layer(model, x[:2]).tobytes()
    try:
        _core.set_kernel("portable")
        assert np.allclose(model(x), _layer_by_layer(model, x), rtol=1e-5, atol=1e-6)
        assert model(x).tobytes() == _layer_by_layer(model, x).tobytes()
    finally:
        _core.set_kernel("auto")
    # inputs the chain does not take as they are still work: lists, float64, views
    assert np.allclose(model(x.tolist()), model(x))
    assert np.allclose(model(x.astype(np.float64)), model(x))
    assert np.allclose(model(x[::2]), model(x)[::2])


def test_models_without_a_chain_predict_layer_by_layer():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.PReLU(), keras.layers.Dense(2)])
    x = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    out = model(x)
    assert model._infer.chain() is None
    assert out.tobytes() == _layer_by_layer(model, x).tobytes()
    assert model.predict(x, verbose=0).tobytes() == out.tobytes()


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_converts_each_batch_not_the_whole_training_set(shuffle):
    # float64 (or uint8) training data is converted batch by batch into the model's
    # dtype: the same weights as converting it first, and no float32 copy of the whole set
    x, y = _data(n=300)
    x64 = x.astype(np.float64) + 1e-9  # not exactly representable in float32
    results = []
    for data in (x64, x64.astype(np.float32)):
        model = _model(dropout=0.2)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(data, y, batch_size=32, epochs=2, shuffle=shuffle, verbose=0,
                  validation_split=0.2)
        results.append(model.get_weights())
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
    from fastnn.engine import data_adapter
    xa, _, _ = data_adapter.prepare_arrays(x64, y, None, np.float32, None, (), lazy=True)
    assert xa is x64
    pred64 = model.predict(x64, verbose=0, batch_size=7)
    assert pred64.dtype == np.float32
    assert pred64.tobytes() == model.predict(x64.astype(np.float32), verbose=0).tobytes()
