"""Layers: forward against NumPy, config round trips, shapes, bad arguments, custom layers."""
import numpy as np
import pytest

import fastnn
from fastnn import layers
from fastnn.engine.workspace import Workspace


def _x(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_dense_forward_matches_numpy():
    layer = layers.Dense(7, activation="tanh")
    x = _x((5, 11))
    y = layer(x)
    ref = np.tanh(x.astype(np.float64) @ layer.kernel.value + layer.bias.value)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    assert layer.kernel.shape == (11, 7) and layer.bias.shape == (7,)


def test_dense_on_rank3_acts_on_last_axis():
    layer = layers.Dense(4, use_bias=False)
    x = _x((2, 3, 5))
    y = layer(x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_allclose(y, x @ layer.kernel.value, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 3, 5)) == (None, 3, 4)


def test_dense_softmax_activation_rows_sum_to_one():
    layer = layers.Dense(6, activation="softmax")
    y = layer(_x((4, 3)))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)


def test_dense_python_activation_runs():
    layer = layers.Dense(3, activation=lambda z: z * 2.0)
    x = _x((2, 4))
    np.testing.assert_allclose(layer(x), 2 * (x @ layer.kernel.value + layer.bias.value),
                               rtol=1e-5, atol=1e-6)


def test_dense_wrong_input_dimension_names_layer():
    layer = layers.Dense(3, name="d1")
    layer(_x((2, 4)))
    with pytest.raises(ValueError, match="Dense 'd1' expected input with last dimension 4"):
        layer(_x((2, 5)))


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError),
                                     ("8", TypeError), (None, TypeError)])
def test_dense_units_validated(bad, exc):
    with pytest.raises(exc, match="^units:"):
        layers.Dense(bad)


def test_unknown_activation_suggests_closest():
    with pytest.raises(ValueError, match="relu"):
        layers.Dense(3, activation="relux")


def test_dropout_training_only_and_scaled():
    layer = layers.Dropout(0.5, seed=3)
    x = np.ones((200, 50), np.float32)
    assert np.array_equal(layer(x), x)
    y = layer(x, training=True)
    kept = y != 0
    assert 0.4 < kept.mean() < 0.6
    np.testing.assert_allclose(y[kept], 2.0)


def test_dropout_rate_validated():
    with pytest.raises(ValueError, match="^rate:"):
        layers.Dropout(1.0)
    with pytest.raises(TypeError, match="^rate:"):
        layers.Dropout("0.2")


def test_dropout_noise_shape_broadcasts():
    layer = layers.Dropout(0.5, noise_shape=(None, 1), seed=1)
    y = layer(np.ones((64, 8), np.float32), training=True)
    rows = (y != 0).all(axis=1) | (y == 0).all(axis=1)
    assert rows.all()


def test_flatten_and_reshape():
    x = _x((3, 4, 5))
    assert layers.Flatten()(x).shape == (3, 20)
    r = layers.Reshape((5, -1))
    assert r(x).shape == (3, 5, 4)
    assert r.compute_output_shape((None, 4, 5)) == (None, 5, 4)
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((3, 3))(x)


def _relu_ref(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x >= threshold, x, negative_slope * (x - threshold))
    return np.minimum(y, max_value) if max_value is not None else y


@pytest.mark.parametrize("layer,ref", [
    (layers.ReLU(), lambda x: np.maximum(x, 0)),
    (layers.ReLU(max_value=1.0), lambda x: np.clip(x, 0, 1)),
    (layers.LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x)),
    (layers.LeakyReLU(alpha=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (layers.ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (layers.ThresholdedReLU(theta=0.5), lambda x: np.where(x > 0.5, x, 0)),
    (layers.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (layers.Activation("sigmoid"), lambda x: 1 / (1 + np.exp(-x))),
])
def test_activation_layers_match_numpy(layer, ref):
    x = _x((6, 9)).astype(np.float64) * 2
    np.testing.assert_allclose(layer(x.astype(np.float32)), ref(x), rtol=1e-5, atol=1e-6)


def test_prelu_shared_axes_and_gradient():
    layer = layers.PReLU(alpha_initializer="constant", shared_axes=[1])
    x = _x((4, 3, 5)).astype(np.float64)
    layer.dtype = "float64"
    layer.build((None, 3, 5))
    assert layer.alpha.shape == (1, 5)
    layer.alpha.assign(np.linspace(0.1, 0.5, 5).reshape(1, 5))
    y = layer(x)
    np.testing.assert_allclose(y, np.where(x > 0, x, layer.alpha.value * x), rtol=1e-12)
    ws = Workspace(np.float64)
    layer._forward(x, ws, True)
    g = _x((4, 3, 5), seed=1).astype(np.float64)
    dx = layer._backward(g, ws, True)
    np.testing.assert_allclose(dx, np.where(x > 0, g, layer.alpha.value * g), rtol=1e-12)
    dalpha = ws.grads[0]
    np.testing.assert_allclose(dalpha, (g * x * (x <= 0)).sum(axis=(0, 1), keepdims=True)[0],
                               rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(5, activation="relu", use_bias=False, kernel_regularizer="l2",
                         name="dd"),
    lambda: layers.Dropout(0.3, seed=2),
    lambda: layers.Flatten(),
    lambda: layers.Reshape((2, 3)),
    lambda: layers.Activation("tanh"),
    lambda: layers.ReLU(max_value=6.0, negative_slope=0.1),
    lambda: layers.LeakyReLU(0.2),
    lambda: layers.ELU(0.7),
    lambda: layers.ThresholdedReLU(0.4),
    lambda: layers.Softmax(axis=-1),
    lambda: layers.PReLU(shared_axes=[1]),
])
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is type(layer) and again.get_config() == config


def test_unknown_layer_class_says_how_to_register():
    with pytest.raises(ValueError, match="custom_objects"):
        layers.deserialize({"class_name": "Densee", "config": {}})


def test_layer_names_are_unique_and_keras_style():
    fastnn.backend.clear_session()
    a, b = layers.Dense(1), layers.Dense(1)
    assert (a.name, b.name) == ("dense", "dense_1")
    assert layers.ReLU().name == "re_lu"


def test_weights_api_and_freezing():
    layer = layers.Dense(3)
    layer.build((None, 2))
    assert [v.name for v in layer.weights] == ["kernel", "bias"]
    assert layer.count_params() == 9
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="expected shape"):
        layer.set_weights([np.zeros((3, 3)), np.zeros(3)])
    with pytest.raises(ValueError, match="list of 2"):
        layer.set_weights([np.zeros((2, 3))])
