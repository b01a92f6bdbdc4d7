"""fastnn.saving: .keras and legacy .h5 files, weights files, JSON configs, custom objects,
safe mode, damaged files and atomic saves.

The authority for the file layout is what tf.keras 2.21 (Keras 3) writes (the parity tests
in tests/parity/test_saving_parity.py read and write files with it); these tests check
fastnn against itself bit for bit and against hand-built Keras 2 files.
"""
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile

import numpy as np
import pytest

import fastnn
from fastnn import layers as L
from fastnn.saving import keras_file

h5py = pytest.importorskip("h5py")


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _all_layers_model(dtype="float32", dropout=0.25):
    return fastnn.Sequential([
        fastnn.Input((12,), dtype=dtype),
        L.Dense(8, activation="relu", kernel_regularizer="l2", bias_constraint="non_neg",
                dtype=dtype),
        L.Dropout(dropout, dtype=dtype),
        L.Reshape((4, 2), dtype=dtype),
        L.PReLU(shared_axes=[1], dtype=dtype),
        L.Flatten(dtype=dtype),
        L.Activation("tanh", dtype=dtype),
        L.ReLU(max_value=3.0, dtype=dtype),
        L.LeakyReLU(0.1, dtype=dtype),
        L.ELU(0.5, dtype=dtype),
        L.ThresholdedReLU(0.1, dtype=dtype),
        L.Dense(5, dtype=dtype),
        L.Softmax(dtype=dtype),
    ])


def _trained(optimizer="adam", seed=0, epochs=1, dropout=0.25):
    fastnn.utils.set_random_seed(seed)
    model = _all_layers_model(dropout=dropout)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    x = _x((40, 12), seed)
    y = fastnn.utils.to_categorical(np.arange(40) % 5, 5)
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0, shuffle=False)
    return model, x, y


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for p, q in zip(wa, wb):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p, q)


# ---- .keras round trip -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_round_trip_is_bit_identical(tmp_path, dtype):
    fastnn.utils.set_random_seed(3)
    model = _all_layers_model(dtype)
    model.compile(optimizer="rmsprop", loss="mse")
    x = _x((17, 12)).astype(dtype)
    model.fit(x, np.zeros((17, 5), dtype), epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = fastnn.models.load_model(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    assert [a.name for a in loaded.layers] == [b.name for b in model.layers]
    _same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()


def test_keras_file_layout(tmp_path):
    model, _, _ = _trained()
    path = tmp_path / "m.keras"
    model.save(str(path))
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        config = json.loads(zf.read("config.json"))
        metadata = json.loads(zf.read("metadata.json"))
        weights = zf.read("model.weights.h5")
    assert set(config) == {"module", "class_name", "config", "registered_name",
                           "build_config", "compile_config"}
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras", "Sequential", None)
    assert config["build_config"] == {"input_shape": [None, 12]}
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert config["compile_config"]["loss"] == "categorical_crossentropy"
    assert config["compile_config"]["metrics"] == ["accuracy"]
    dense = config["config"]["layers"][1]
    assert dense["build_config"] == {"input_shape": [None, 12]}
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert {"keras_version", "date_saved"} <= set(metadata)
    with h5py.File(io.BytesIO(weights), "r") as h5:
        assert h5["vars"].attrs["name"] == model.name
        keys = sorted(h5["layers"].keys())
        assert keys == sorted(["dense", "dropout", "reshape", "p_re_lu", "flatten",
                               "activation", "re_lu", "leaky_re_lu", "elu",
                               "thresholded_re_lu", "dense_1", "softmax"])
        # keys come from class names; the layer's own name ('dense_4'...) is an attribute
        assert h5["layers/dense/vars"].attrs["name"] == model.layers[0].name
        assert h5["layers/dense_1/vars"].attrs["name"] == model.layers[10].name
        np.testing.assert_array_equal(h5["layers/dense/vars/0"][()], model.layers[0].kernel.value)
        np.testing.assert_array_equal(h5["layers/dense/vars/1"][()], model.layers[0].bias.value)
        assert list(h5["layers/dropout/vars"].keys()) == []
        opt = h5["optimizer/vars"]
        assert opt.attrs["name"] == "adam"
        assert len(opt) == 2 + 2 * len(model.trainable_weights)
        assert opt["0"][()] == 5 and opt["0"].dtype == np.int64


def test_layer_keys_follow_class_names_not_layer_names(tmp_path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4, name="first"),
                               L.Dense(2, name="second"), L.Dense(2, name="dense_1")])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf, \
            h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
        assert sorted(h5["layers"]) == ["dense", "dense_1", "dense_2"]
        assert h5["layers/dense_2/vars"].attrs["name"] == "dense_1"
        np.testing.assert_array_equal(h5["layers/dense_1/vars/0"][()],
                                      model.get_layer("second").kernel.value)
    loaded = fastnn.models.load_model(tmp_path / "m.keras")
    _same_weights(model, loaded)


@pytest.mark.parametrize("optimizer", [
    "adam", "rmsprop", "nadam", "adamax", "adagrad", "adadelta",
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9,
                                     "nesterov": True}},
    {"class_name": "AdamW", "config": {"learning_rate": 0.01, "amsgrad": True}},
])
def test_fit_continues_exactly_after_save_and_load(tmp_path, optimizer):
    # Dropout's mask counter is not part of Keras's file (Keras does not save it either),
    # so the model trains without dropout here; everything else is restored bit for bit.
    straight, x, y = _trained(optimizer, epochs=2, dropout=0.0)
    first, _, _ = _trained(optimizer, epochs=1, dropout=0.0)
    first.save(tmp_path / "half.keras")
    resumed = fastnn.models.load_model(tmp_path / "half.keras")
    assert resumed.optimizer.iterations == first.optimizer.iterations == 5
    resumed.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    _same_weights(straight, resumed)
    for a, b in zip(straight.optimizer.get_state(), resumed.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)


def test_compiled_but_untrained_and_uncompiled_models(tmp_path):
    fastnn.utils.set_random_seed(0)
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    model.save(tmp_path / "plain.keras")
    loaded = fastnn.models.load_model(tmp_path / "plain.keras")
    assert not loaded._compiled and loaded.optimizer is None
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "compiled.keras")
    loaded = fastnn.models.load_model(tmp_path / "compiled.keras")
    assert loaded._compiled and not loaded.optimizer.built
    x, y = _x((6, 3)), _x((6, 2), 1)
    model.fit(x, y, verbose=0, shuffle=False)
    loaded.fit(x, y, verbose=0, shuffle=False)
    _same_weights(model, loaded)
    not_compiled = fastnn.models.load_model(tmp_path / "compiled.keras", compile=False)
    assert not not_compiled._compiled


def test_unbuilt_model_round_trip(tmp_path):
    model = fastnn.Sequential([L.Dense(3), L.Dense(1)])
    model.save(tmp_path / "u.keras")
    loaded = fastnn.models.load_model(tmp_path / "u.keras")
    assert not loaded.built and [lyr.name for lyr in loaded.layers] == \
        [lyr.name for lyr in model.layers]


def test_file_objects(tmp_path):
    model, x, _ = _trained()
    buf = io.BytesIO()
    model.save(buf)
    buf.seek(0)
    loaded = fastnn.models.load_model(buf)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_trainable_flags_survive(tmp_path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4, trainable=False), L.Dense(2)])
    model.save(tmp_path / "t.keras")
    loaded = fastnn.models.load_model(tmp_path / "t.keras")
    assert [lyr.trainable for lyr in loaded.layers] == [False, True]
    assert len(loaded.trainable_weights) == 2
    model.trainable = False
    model.save(tmp_path / "t2.keras")
    assert fastnn.models.load_model(tmp_path / "t2.keras").trainable_weights == []


# ---- legacy .h5 --------------------------------------------------------------------------

def test_legacy_h5_round_trip(tmp_path):
    model, x, y = _trained()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as h5:
        assert "model_config" in h5.attrs and "model_weights" in h5
        assert "training_config" in h5.attrs and "optimizer_weights" in h5
    loaded = fastnn.models.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(model.optimizer.get_state(), loaded.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)


def _keras2_h5(path, kernel, bias, with_training=True):
    """A whole-model file laid out as tf.keras 2.x wrote it (names with ':0')."""
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense", "config": {
            "name": "dense", "trainable": True, "batch_input_shape": [None, 3],
            "dtype": "float32", "units": 2, "activation": "softmax", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}},
        {"class_name": "Dropout", "config": {"name": "dropout", "trainable": True,
                                             "dtype": "float32", "rate": 0.5,
                                             "noise_shape": None, "seed": None}}]}}
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = b"2.11.0"
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["model_config"] = json.dumps(config).encode()
        if with_training:
            h5.attrs["training_config"] = json.dumps({
                "loss": "categorical_crossentropy", "metrics": [["accuracy"]],
                "weighted_metrics": None, "loss_weights": None,
                "optimizer_config": {"class_name": "Adam", "config": {
                    "name": "Adam", "learning_rate": 0.01, "decay": 0.0, "beta_1": 0.9,
                    "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False,
                    "is_legacy_optimizer": False, "jit_compile": True}}}).encode()
        g = h5.create_group("model_weights")
        g.attrs["layer_names"] = np.array([b"dense", b"dropout"])
        d = g.create_group("dense")
        # bias first: names, not positions, say which is which
        d.attrs["weight_names"] = np.array([b"dense/bias:0", b"dense/kernel:0"])
        d.create_dataset("dense/kernel:0", data=kernel)
        d.create_dataset("dense/bias:0", data=bias)
        g.create_group("dropout").attrs["weight_names"] = np.array([], dtype="S")


@pytest.mark.filterwarnings("ignore:Argument `decay`")
def test_reads_keras2_legacy_h5(tmp_path):
    kernel, bias = _x((3, 2)), _x((2,), 1)
    _keras2_h5(tmp_path / "k2.h5", kernel, bias)
    model = fastnn.models.load_model(tmp_path / "k2.h5")
    x = _x((5, 3), 2)
    z = x @ kernel + bias
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6, atol=1e-7)
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    model.fit(x, fastnn.utils.to_categorical([0, 1, 0, 1, 1], 2), verbose=0)
    _keras2_h5(tmp_path / "k2n.h5", kernel, bias, with_training=False)
    with pytest.warns(UserWarning, match="not compiled"):
        fastnn.models.load_model(tmp_path / "k2n.h5")
    other = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    other.load_weights(tmp_path / "k2.h5")
    np.testing.assert_array_equal(other.layers[0].kernel.value, kernel)


# ---- weights files, JSON and configs -----------------------------------------------------

def test_save_and_load_weights(tmp_path):
    model, x, y = _trained()
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = _all_layers_model()
    fresh.compile(optimizer="adam", loss="categorical_crossentropy")
    fresh.predict(x, verbose=0)  # packed weights cached by the inference plan must refresh
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    _same_weights(model, fresh)
    for a, b in zip(model.optimizer.get_state(), fresh.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)
    other = _all_layers_model()
    other.load_weights(tmp_path / "w.weights.h5")  # uncompiled: weights only
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(tmp_path / "m.keras")
    third = _all_layers_model()
    third.load_weights(tmp_path / "m.keras")
    _same_weights(model, third)


def test_weights_errors(tmp_path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4), L.Dense(2)])
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / "w.h5")
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(FileExistsError):
        model.save_weights(tmp_path / "w.weights.h5", overwrite=False)
    wrong = fastnn.Sequential([fastnn.Input((3,)), L.Dense(5), L.Dense(2)])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense_\d+'.*shape \(3, 5\).*\(3, 4\)"):
        wrong.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, wrong.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)
    with pytest.warns(UserWarning, match="Skipping"):
        wrong.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    fewer = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4)])
    with pytest.warns(UserWarning, match=r"layers the model does not have \(\['dense_1'\]\)"):
        fewer.load_weights(tmp_path / "w.weights.h5")  # Keras loads it silently
    np.testing.assert_array_equal(fewer.layers[0].kernel.value, model.layers[0].kernel.value)
    more = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4), L.Dense(2), L.Dense(1)])
    with pytest.raises(ValueError, match=r"'layers/dense_2'.*expected 2 variables.*has 0"):
        more.load_weights(tmp_path / "w.weights.h5")
    unbuilt = fastnn.Sequential([L.Dense(4)])
    with pytest.raises(ValueError, match="not built"):
        unbuilt.load_weights(tmp_path / "w.weights.h5")


def test_json_and_config_round_trips():
    model = _all_layers_model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    rebuilt = fastnn.models.model_from_json(text)
    assert rebuilt.get_config() == model.get_config()
    assert rebuilt._compiled and type(rebuilt.optimizer).__name__ == "Adam"
    again = fastnn.Sequential.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    via_saving = fastnn.saving.model_from_config(json.loads(text))
    assert via_saving.get_config() == model.get_config()
    assert json.loads(model.to_json(indent=2)) == json.loads(text)


def test_save_argument_errors(tmp_path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="filepath.*keras"):
        model.save(tmp_path / "m.pkl")
    with pytest.raises(TypeError, match="filepath"):
        model.save(123)
    with pytest.raises(ValueError, match="zipped"):
        model.save(tmp_path / "m.keras", zipped=False)
    model.save(tmp_path / "m.keras")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)
    with pytest.raises(TypeError, match="custom_objects"):
        fastnn.models.load_model(tmp_path / "m.keras", custom_objects=["x"])
    with pytest.raises(TypeError, match="model"):
        fastnn.saving.save_model(L.Dense(2), tmp_path / "d.keras")


# ---- custom objects ----------------------------------------------------------------------

class Scale(L.Layer):
    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

    def call(self, x, training=False):
        self.x = x
        return x * self.s.value * self.factor

    def backward(self, grad):
        return grad * self.s.value * self.factor, [np.sum(grad * self.x, 0) * self.factor]

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def cube(x):
    return x * x * x


def _custom_model():
    fastnn.utils.set_random_seed(5)
    return fastnn.Sequential([fastnn.Input((3,)), L.Dense(4, activation=cube),
                              Scale(2.0, name="scale")])


def test_unregistered_custom_objects_need_custom_objects(tmp_path):
    model = _custom_model()
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "c.keras")
    with pytest.raises(ValueError, match=r"unknown activation 'cube'.*"
                                         r"register_keras_serializable.*custom_objects"):
        fastnn.models.load_model(tmp_path / "c.keras")
    with pytest.raises(ValueError, match=r"'Scale'.*register_keras_serializable.*"
                                         r"custom_objects=\{'Scale': Scale\}"):
        fastnn.models.load_model(tmp_path / "c.keras", custom_objects={"cube": cube})
    x = _x((5, 3))
    loaded = fastnn.models.load_model(tmp_path / "c.keras",
                                      custom_objects={"Scale": Scale, "cube": cube})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[1].factor == 2.0
    with fastnn.utils.custom_object_scope({"Scale": Scale, "cube": cube}):
        scoped = fastnn.models.load_model(tmp_path / "c.keras")
    np.testing.assert_array_equal(scoped.predict(x, verbose=0), model.predict(x, verbose=0))
    assert "Scale" not in fastnn.saving.get_custom_objects()  # the scope restored the table
    with fastnn.utils.CustomObjectScope({"cube": cube}):
        json_model = fastnn.models.model_from_json(model.to_json(),
                                                   custom_objects={"Scale": Scale})
    assert type(json_model.layers[1]) is Scale


def test_registered_custom_objects_load_by_name(tmp_path):
    @fastnn.saving.register_keras_serializable(package="tests")
    class Doubler(Scale):
        pass

    @fastnn.utils.register_keras_serializable("tests", name="cubed")
    def my_cube(x):
        return x * x * x

    assert fastnn.saving.get_registered_name(Doubler) == "tests>Doubler"
    assert fastnn.saving.get_registered_object("tests>cubed") is my_cube
    fastnn.utils.set_random_seed(2)
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(4, activation=my_cube),
                               Doubler(3.0)])
    model.save(tmp_path / "r.keras")
    with zipfile.ZipFile(tmp_path / "r.keras") as zf:
        config = json.loads(zf.read("config.json"))
    entries = config["config"]["layers"]
    assert entries[2]["registered_name"] == "tests>Doubler"
    assert entries[1]["config"]["activation"]["registered_name"] == "tests>cubed"
    loaded = fastnn.models.load_model(tmp_path / "r.keras")
    x = _x((4, 3))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.layers[1]) is Doubler and loaded.layers[0].activation is my_cube


def test_unknown_and_foreign_classes_are_named(tmp_path):
    config = json.loads(fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)]).to_json())
    conv = dict(config["config"]["layers"][1], class_name="Conv2D")
    config["config"]["layers"][1] = conv
    with pytest.raises(ValueError, match=r"Unknown layer class 'Conv2D'.*supports"):
        fastnn.saving.model_from_config(config)
    foreign = dict(conv, class_name="TransformerBlock", module="keras_hub.layers",
                   registered_name="keras_hub>TransformerBlock")
    config["config"]["layers"][1] = foreign
    with pytest.raises(ValueError, match=r"keras_hub>TransformerBlock.*keras_hub\.layers.*"
                                         r"register_keras_serializable"):
        fastnn.saving.model_from_config(config)
    with pytest.raises(ValueError, match="Sequential models only"):
        fastnn.saving.model_from_config({"class_name": "Functional", "config": {}})


def test_register_argument_errors():
    with pytest.raises(ValueError, match="package"):
        fastnn.saving.register_keras_serializable(package="")
    with pytest.raises(TypeError, match="get_config"):
        fastnn.saving.register_keras_serializable("p")(type("NoConfig", (), {}))
    with pytest.raises(TypeError, match="custom_objects"):
        fastnn.utils.CustomObjectScope(["x"])


# ---- safe mode ---------------------------------------------------------------------------

def _with_lambda(path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"].append({
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
            "code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkA"}}}})
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def test_safe_mode_refuses_code(tmp_path):
    _with_lambda(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="Lambda.*safe_mode=True"):
        fastnn.models.load_model(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="never runs"):
        fastnn.models.load_model(tmp_path / "lam.keras", safe_mode=False)
    config = json.loads(fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)]).to_json())
    config["config"]["layers"][1]["config"]["activation"] = {
        "class_name": "__lambda__", "config": {"code": "AAAA"}}
    with pytest.raises(ValueError, match="lambda function"):
        fastnn.models.model_from_json(json.dumps(config))


# ---- damaged files -----------------------------------------------------------------------

def _damaged(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_damaged_files_raise_value_error(tmp_path):
    model, _, _ = _trained()
    good = tmp_path / "good.keras"
    model.save(good)
    raw = good.read_bytes()
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
        offset = zf.getinfo("config.json").header_offset
    cases = {
        "empty.keras": b"",
        "text.keras": b"hello, this is not a model",
        "half.keras": raw[:len(raw) // 2],
        "tail-cut.keras": raw[:-10],
    }
    flipped = bytearray(raw)
    flipped[offset + 60] ^= 0xFF  # inside config.json's data: a CRC error
    cases["crc.keras"] = bytes(flipped)
    for name, data in cases.items():
        with pytest.raises(ValueError) as info:
            fastnn.models.load_model(_damaged(tmp_path, name, data))
        assert name in str(info.value) or "config" in str(info.value)

    def rezip(name, **replace):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for n, d in {**members, **replace}.items():
                if d is not None:
                    zf.writestr(n, d)
        return _damaged(tmp_path, name, buf.getvalue())

    with pytest.raises(ValueError, match="no 'config.json'"):
        fastnn.models.load_model(rezip("noconf.keras", **{"config.json": None}))
    with pytest.raises(ValueError, match="malformed JSON"):
        fastnn.models.load_model(rezip("badjson.keras", **{"config.json": b"{oops"}))
    with pytest.raises(ValueError, match="HDF5"):
        fastnn.models.load_model(rezip("badh5.keras", **{
            "model.weights.h5": members["model.weights.h5"][:500]}))
    with pytest.raises(ValueError, match="not a Keras 3 weights file"):
        fastnn.models.load_model(rezip("noweights.keras", **{
            "model.weights.h5": _empty_h5()}))
    with pytest.raises(ValueError, match="File not found"):
        fastnn.models.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="directory"):
        fastnn.models.load_model(tmp_path)
    model.save(tmp_path / "m.h5")
    h5raw = (tmp_path / "m.h5").read_bytes()
    with pytest.raises(ValueError):
        fastnn.models.load_model(_damaged(tmp_path, "cut.h5", h5raw[:len(h5raw) // 3]))
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="no model config"):
        fastnn.models.load_model(tmp_path / "w.weights.h5")


def _empty_h5():
    buf = io.BytesIO()
    with h5py.File(buf, "w"):
        pass
    return buf.getvalue()


def test_external_links_are_refused(tmp_path):
    model = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "secret.h5", "w") as h5:
        h5["data"] = np.ones((3, 2), np.float32)
    with h5py.File(tmp_path / "w.weights.h5", "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink(str(tmp_path / "secret.h5"), "data")
    with pytest.raises(ValueError, match="another file"):
        model.load_weights(tmp_path / "w.weights.h5")


# ---- atomic saves ------------------------------------------------------------------------

def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    old, x, _ = _trained(seed=1)
    path = tmp_path / "m.keras"
    old.save(path)
    new, _, _ = _trained(seed=2)
    calls = []

    def failing(zf, name, data):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(zf, name, data)

    real = keras_file._write_member
    monkeypatch.setattr(keras_file, "_write_member", failing)
    with pytest.raises(OSError, match="disk full"):
        new.save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary file left behind
    loaded = fastnn.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), old.predict(x, verbose=0))


_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import fastnn
    from fastnn.saving import keras_file

    path, mode = sys.argv[1], sys.argv[2]
    fastnn.utils.set_random_seed(99)
    if mode == "hook":
        real = keras_file._write_member
        def slow(zf, name, data):
            real(zf, name, data)
            zf.fp.flush()
            print("MID-SAVE", flush=True)
            time.sleep(120)
        keras_file._write_member = slow
        model = fastnn.Sequential([fastnn.Input((3,)), fastnn.layers.Dense(2)])
        model.save(path)
    else:
        model = fastnn.Sequential([fastnn.Input((1500,)), fastnn.layers.Dense(1500),
                                   fastnn.layers.Dense(2)])
        print("READY", flush=True)
        while True:
            model.save(path)
""")


def _spawn(path, mode):
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(path), mode],
                            stdout=subprocess.PIPE, text=True)


def test_kill_during_save_keeps_previous_file(tmp_path):
    fastnn.utils.set_random_seed(1)
    old = fastnn.Sequential([fastnn.Input((3,)), L.Dense(2)])
    path = tmp_path / "m.keras"
    old.save(path)
    before = path.read_bytes()
    child = _spawn(path, "hook")
    try:
        assert child.stdout.readline().strip() == "MID-SAVE"
        temps = [n for n in os.listdir(tmp_path) if n != "m.keras"]
        assert len(temps) == 1 and os.path.getsize(tmp_path / temps[0]) > 0
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    loaded = fastnn.models.load_model(path)
    x = _x((4, 3))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), old.predict(x, verbose=0))


def test_kill_at_random_points_of_big_saves_always_leaves_a_loadable_file(tmp_path):
    fastnn.utils.set_random_seed(1)
    path = tmp_path / "big.keras"
    fastnn.Sequential([fastnn.Input((1500,)), L.Dense(1500), L.Dense(2)]).save(path)
    rng = np.random.default_rng(0)
    for _ in range(3):
        child = _spawn(path, "loop")
        try:
            assert child.stdout.readline().strip() == "READY"
            time.sleep(float(rng.uniform(0.05, 0.6)))
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loaded = fastnn.models.load_model(path)
        assert loaded.layers[0].kernel.shape == (1500, 1500)


# ---- imports -----------------------------------------------------------------------------

def test_h5py_is_imported_only_when_needed():
    code = ("import sys, fastnn, fastnn.models, fastnn.saving, fastnn.utils\n"
            "m = fastnn.Sequential([fastnn.Input((2,)), fastnn.layers.Dense(1)])\n"
            "m.to_json()\n"
            "print('h5py' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_loading_never_unpickles(tmp_path, monkeypatch):
    import pickle

    model, x, _ = _trained()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(np, "load", refuse)
    for path in ("m.keras", "m.h5"):
        loaded = fastnn.models.load_model(tmp_path / path)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.load_weights(tmp_path / "m.weights.h5")
