"""Model files against tf.keras 2.21 (Keras 3), both ways: .keras, legacy .h5, .weights.h5
and JSON. Files written by one library load in the other with equal predictions (1e-6),
the same weights bit for bit, and the same optimizer state, so training continues alike."""
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import fastnn  # noqa: E402

tk = tf.keras


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _y(n, classes=4, seed=1):
    return np.eye(classes, dtype=np.float32)[np.random.default_rng(seed).integers(0, classes, n)]


def _layers(L, dropout=0.2):
    """Every layer both libraries have, in one Sequential stack."""
    return [L.Input((12,)), L.Dense(8, activation="relu"), L.Dropout(dropout),
            L.Reshape((4, 2)), L.PReLU(shared_axes=[1]), L.Flatten(), L.Activation("tanh"),
            L.ReLU(max_value=3.0), L.LeakyReLU(0.1), L.ELU(0.5), L.Dense(4), L.Softmax()]


def _tf_trained(dropout=0.2, optimizer="adam"):
    tf.keras.utils.set_random_seed(0)
    model = tk.Sequential(_layers(tk.layers, dropout))
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(_x((40, 12)), _y(40), batch_size=8, epochs=1, verbose=0, shuffle=False)
    return model


def _fnn_trained(dropout=0.2, optimizer="adam"):
    fastnn.utils.set_random_seed(0)
    model = fastnn.Sequential(_layers(fastnn.layers, dropout))
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(_x((40, 12)), _y(40), batch_size=8, epochs=1, verbose=0, shuffle=False)
    return model


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _same_weights(tmodel, fmodel):
    tw, fw = tmodel.get_weights(), fmodel.get_weights()
    assert len(tw) == len(fw)
    for a, b in zip(tw, fw):
        np.testing.assert_array_equal(a, b)


def _same_optimizer(topt, fopt):
    tv = [np.asarray(v) for v in topt.variables]
    fv = [v.value for v in fopt.variables]
    assert len(tv) == len(fv)
    for a, b in zip(tv, fv):
        np.testing.assert_array_equal(a, b)


# ---- tf.keras writes, fastnn reads -------------------------------------------------------

def test_tf_keras_file_loads_in_fastnn(tmp_path):
    tmodel = _tf_trained()
    tmodel.save(tmp_path / "tf.keras")
    fmodel = fastnn.models.load_model(tmp_path / "tf.keras")
    assert [type(lyr).__name__ for lyr in fmodel.layers] == \
        [type(lyr).__name__ for lyr in tmodel.layers]
    assert [lyr.name for lyr in fmodel.layers] == [lyr.name for lyr in tmodel.layers]
    _same_weights(tmodel, fmodel)
    x = _x((25, 12), 5)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))
    assert type(fmodel.optimizer).__name__ == "Adam"
    _same_optimizer(tmodel.optimizer, fmodel.optimizer)
    assert fmodel.optimizer.iterations == 5


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "nadam", "sgd"])
def test_training_continues_alike_after_tf_keras_save(tmp_path, optimizer):
    tmodel = _tf_trained(dropout=0.0, optimizer=optimizer)
    tmodel.save(tmp_path / "tf.keras")
    fmodel = fastnn.models.load_model(tmp_path / "tf.keras")
    x, y = _x((40, 12)), _y(40)
    tmodel.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    fmodel.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(tmodel.get_weights(), fmodel.get_weights()):
        _close(b, a, 1e-5)


def test_tf_keras_layer_names_do_not_matter(tmp_path):
    tf.keras.utils.set_random_seed(1)
    tmodel = tk.Sequential([tk.Input((3,)), tk.layers.Dense(4, name="first"),
                            tk.layers.Dense(2, name="dense_1"),
                            tk.layers.Dense(2, name="last")])
    tmodel.save(tmp_path / "named.keras")
    fmodel = fastnn.models.load_model(tmp_path / "named.keras")
    assert [lyr.name for lyr in fmodel.layers] == ["first", "dense_1", "last"]
    _same_weights(tmodel, fmodel)


def test_tf_keras_legacy_h5_loads_in_fastnn(tmp_path):
    tmodel = _tf_trained()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmodel.save(tmp_path / "tf.h5")
    fmodel = fastnn.models.load_model(tmp_path / "tf.h5")
    _same_weights(tmodel, fmodel)
    x = _x((25, 12), 5)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))
    _same_optimizer(tmodel.optimizer, fmodel.optimizer)


def test_tf_keras_weights_file_loads_in_fastnn(tmp_path):
    tmodel = _tf_trained()
    tmodel.save_weights(tmp_path / "tf.weights.h5")
    fmodel = fastnn.Sequential(_layers(fastnn.layers))
    fmodel.compile(optimizer="adam", loss="categorical_crossentropy")
    fmodel.load_weights(tmp_path / "tf.weights.h5")
    _same_weights(tmodel, fmodel)
    _same_optimizer(tmodel.optimizer, fmodel.optimizer)


def test_tf_keras_json_builds_in_fastnn():
    tmodel = _tf_trained()
    fmodel = fastnn.models.model_from_json(tmodel.to_json())
    assert [lyr.name for lyr in fmodel.layers] == [lyr.name for lyr in tmodel.layers]
    fmodel.set_weights(tmodel.get_weights())
    x = _x((9, 12), 3)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))


def test_registered_functions_match_by_registered_name(tmp_path):
    @tk.utils.register_keras_serializable(package="parity")
    def cube(x):
        return x * x * x

    tf.keras.utils.set_random_seed(2)
    tmodel = tk.Sequential([tk.Input((3,)), tk.layers.Dense(4, activation=cube)])
    tmodel.save(tmp_path / "cube.keras")
    with pytest.raises(ValueError, match="cube.*register_keras_serializable"):
        fastnn.models.load_model(tmp_path / "cube.keras")

    @fastnn.saving.register_keras_serializable(package="parity", name="cube")
    def fcube(x):
        return x * x * x

    fmodel = fastnn.models.load_model(tmp_path / "cube.keras")
    assert fmodel.layers[0].activation is fcube
    x = _x((5, 3))
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0), 1e-5)


def test_tf_keras_lambda_is_refused(tmp_path):
    tmodel = tk.Sequential([tk.Input((3,)), tk.layers.Lambda(lambda t: t * 2)])
    tmodel.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="Lambda.*safe_mode=True"):
        fastnn.models.load_model(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="never runs"):
        fastnn.models.load_model(tmp_path / "lambda.keras", safe_mode=False)


def test_unsupported_tf_keras_layer_is_named(tmp_path):
    tmodel = tk.Sequential([tk.Input((3,)), tk.layers.BatchNormalization()])
    tmodel.save(tmp_path / "bn.keras")
    with pytest.raises(ValueError, match="'BatchNormalization'"):
        fastnn.models.load_model(tmp_path / "bn.keras")


# ---- fastnn writes, tf.keras reads -------------------------------------------------------

def test_fastnn_file_loads_in_tf_keras(tmp_path):
    fmodel = _fnn_trained()
    fmodel.save(tmp_path / "fnn.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when it skips weights or state
        tmodel = tk.models.load_model(tmp_path / "fnn.keras")
    assert [lyr.name for lyr in tmodel.layers] == [lyr.name for lyr in fmodel.layers]
    _same_weights(tmodel, fmodel)
    x = _x((25, 12), 5)
    _close(tmodel.predict(x, verbose=0), fmodel.predict(x, verbose=0))
    _same_optimizer(tmodel.optimizer, fmodel.optimizer)


def test_training_continues_alike_after_fastnn_save(tmp_path):
    fmodel = _fnn_trained(dropout=0.0)
    fmodel.save(tmp_path / "fnn.keras")
    tmodel = tk.models.load_model(tmp_path / "fnn.keras")
    x, y = _x((40, 12)), _y(40)
    tmodel.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    fmodel.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(tmodel.get_weights(), fmodel.get_weights()):
        _close(b, a, 1e-5)


def test_fastnn_model_without_input_layer_loads_in_tf_keras(tmp_path):
    fastnn.utils.set_random_seed(4)
    fmodel = fastnn.Sequential([fastnn.layers.Dense(5, input_shape=(3,), activation="elu"),
                                fastnn.layers.Dense(2)])
    fmodel.save(tmp_path / "noinput.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's advice to use Input() instead
        tmodel = tk.models.load_model(tmp_path / "noinput.keras")
    x = _x((6, 3))
    _close(tmodel.predict(x, verbose=0), fmodel.predict(x, verbose=0))


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_fastnn_legacy_h5_and_weights_load_in_tf_keras(tmp_path):
    fmodel = _fnn_trained()
    fmodel.save(tmp_path / "fnn.h5")
    tmodel = tk.models.load_model(tmp_path / "fnn.h5")
    x = _x((25, 12), 5)
    _close(tmodel.predict(x, verbose=0), fmodel.predict(x, verbose=0))
    fmodel.save_weights(tmp_path / "fnn.weights.h5")
    tfresh = tk.Sequential(_layers(tk.layers))
    tfresh.compile(optimizer="adam", loss="categorical_crossentropy")
    tfresh.load_weights(tmp_path / "fnn.weights.h5")
    _same_weights(tfresh, fmodel)


def test_fastnn_json_builds_in_tf_keras():
    fmodel = _fnn_trained()
    tmodel = tk.models.model_from_json(fmodel.to_json())
    assert [lyr.name for lyr in tmodel.layers] == [lyr.name for lyr in fmodel.layers]
    tmodel.set_weights(fmodel.get_weights())
    x = _x((9, 12), 3)
    _close(tmodel.predict(x, verbose=0), fmodel.predict(x, verbose=0))
