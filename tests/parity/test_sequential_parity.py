"""Sequential models against tf.keras 2.21 (Keras 3): forward outputs, training history and
summary shapes, from the same weights and data."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import fastnn  # noqa: E402

tk = tf.keras

ACTIVATIONS = ["relu", "sigmoid", "softmax", "softplus", "softsign", "tanh", "selu", "elu",
               "exponential", "hard_sigmoid", "linear", "leaky_relu", "swish", "silu", "gelu"]


def _pair(make_layers, input_shape):
    """The same architecture in both libraries, fastnn's weights copied from tf.keras's."""
    tmodel = tk.Sequential([tk.Input(input_shape)] + make_layers(tk.layers))
    fmodel = fastnn.Sequential([fastnn.Input(input_shape)] + make_layers(fastnn.layers))
    fmodel.set_weights(tmodel.get_weights())
    return tmodel, fmodel


def _x(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activation_forward(activation):
    tmodel, fmodel = _pair(lambda L: [L.Dense(13, activation=activation),
                                      L.Dense(5, activation=activation)], (7,))
    x = _x((33, 7))
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))
    _close(fmodel(x), tmodel(x).numpy())


@pytest.mark.parametrize("name,make", [
    ("ReLU", lambda L: [L.ReLU()]),
    ("ReLU-params", lambda L: [L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)]),
    ("LeakyReLU", lambda L: [L.LeakyReLU(negative_slope=0.2)]),
    ("LeakyReLU-default", lambda L: [L.LeakyReLU()]),
    ("ELU", lambda L: [L.ELU(alpha=0.7)]),
    ("ThresholdedReLU", lambda L: [L.ThresholdedReLU(theta=0.3)]),
    ("Softmax", lambda L: [L.Softmax()]),
    ("Activation", lambda L: [L.Activation("tanh")]),
    ("Dropout-inference", lambda L: [L.Dropout(0.5)]),
    ("Dense-no-bias", lambda L: [L.Dense(6, use_bias=False)]),
])
def test_layer_forward(name, make):
    tmodel, fmodel = _pair(lambda L: [L.Dense(9)] + make(L), (4,))
    x = _x((21, 4), scale=2.0)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))


def test_prelu_with_shared_axes_and_reshape_flatten():
    def make(L):
        return [L.Reshape((3, 4)), L.PReLU(alpha_initializer="random_uniform", shared_axes=[1]),
                L.Flatten(), L.Dense(5, activation="softmax")]
    tmodel, fmodel = _pair(make, (12,))
    x = _x((10, 12))
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))


def test_rank3_dense_forward():
    tmodel, fmodel = _pair(lambda L: [L.Dense(6, activation="relu"), L.Dense(2)], (5, 4))
    x = _x((8, 5, 4))
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))


def _mlp(L, classes=4):
    return [L.Dense(32, activation="relu"), L.Dense(16, activation="tanh"),
            L.Dense(classes)]


@pytest.mark.parametrize("loss,activation", [
    ("sparse_categorical_crossentropy", "softmax"),
    ("sparse_logits", None),
])
def test_sgd_fit_loss_history(loss, activation):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 10)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((10, 4)), axis=1)

    def make(L):
        layers = _mlp(L)
        layers[-1] = L.Dense(4, activation=activation)
        return layers

    tmodel, fmodel = _pair(make, (10,))
    if loss == "sparse_logits":
        tloss = tk.losses.SparseCategoricalCrossentropy(from_logits=True)
        floss = fastnn.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        tloss = floss = loss
    tmodel.compile(optimizer=tk.optimizers.SGD(0.05), loss=tloss, metrics=["accuracy"])
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.05), loss=floss, metrics=["accuracy"])
    th = tmodel.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0).history
    fh = fmodel.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=1e-4)
    np.testing.assert_allclose(fh["accuracy"], th["accuracy"], atol=1e-6)
    for a, b in zip(fmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    te = tmodel.evaluate(x, y, verbose=0)
    fe = fmodel.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(fe, te, rtol=1e-4)


def test_mse_fit_with_validation_and_sample_weight():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 6)).astype(np.float32)
    y = (x @ rng.standard_normal((6, 2))).astype(np.float32)
    sw = rng.uniform(0.5, 2.0, 200).astype(np.float32)
    tmodel, fmodel = _pair(lambda L: [L.Dense(8, activation="sigmoid"), L.Dense(2)], (6,))
    tmodel.compile(optimizer=tk.optimizers.SGD(0.02), loss="mse")
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.02), loss="mse")
    kw = dict(epochs=3, batch_size=16, shuffle=False, verbose=0, validation_split=0.2,
              sample_weight=sw)
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-4)


def test_summary_shapes_and_params():
    def make(L):
        return [L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.2), L.Dense(10)]
    tmodel, fmodel = _pair(make, (28, 28))
    for tl, fl in zip(tmodel.layers, fmodel.layers):
        assert tuple(tl.output.shape) == fl.output_shape
        assert tl.count_params() == fl.count_params()
    assert tmodel.count_params() == fmodel.count_params()
    lines = []
    fmodel.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert f"Total params: {tmodel.count_params():,}" in text


def test_regularized_fit_loss_history():
    """Kernel / bias / activity regularizers: the penalty in the loss and in the gradient."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((160, 6)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((6, 3)), axis=1)

    def make(L, regs):
        return [L.Dense(8, activation="tanh", kernel_regularizer=regs.L2(0.01),
                        bias_regularizer=regs.L1(0.005)),
                L.Dense(3, activation="softmax", kernel_regularizer=regs.L1L2(0.002, 0.003),
                        activity_regularizer=regs.L2(0.001))]

    tmodel = tk.Sequential([tk.Input((6,))] + make(tk.layers, tk.regularizers))
    fmodel = fastnn.Sequential([fastnn.Input((6,))] + make(fastnn.layers, fastnn.regularizers))
    fmodel.set_weights(tmodel.get_weights())
    tmodel.compile(optimizer=tk.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    th = tmodel.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    fh = fmodel.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=1e-4)
    for a, b in zip(fmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


def test_adam_fit_with_prelu_elu_constraints_and_class_weight():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((192, 12)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((12, 4)), axis=1)
    onehot = np.eye(4, dtype=np.float32)[y]

    def make(L, C):
        return [L.Reshape((3, 4)), L.PReLU(alpha_initializer="random_uniform", shared_axes=[1]),
                L.Flatten(), L.Dense(10, kernel_constraint=C.MaxNorm(0.8)), L.ELU(alpha=0.7),
                L.LeakyReLU(negative_slope=0.1), L.Dense(4, activation="softmax")]

    tmodel = tk.Sequential([tk.Input((12,))] + make(tk.layers, tk.constraints))
    fmodel = fastnn.Sequential([fastnn.Input((12,))] + make(fastnn.layers, fastnn.constraints))
    fmodel.set_weights(tmodel.get_weights())
    tmodel.compile(optimizer=tk.optimizers.Adam(0.01), loss="categorical_crossentropy",
                   metrics=["accuracy"])
    fmodel.compile(optimizer=fastnn.optimizers.Adam(0.01), loss="categorical_crossentropy",
                   metrics=["accuracy"])
    kw = dict(epochs=3, batch_size=32, shuffle=False, verbose=0,
              class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.5})
    th = tmodel.fit(x, onehot, **kw).history
    fh = fmodel.fit(x, onehot, **kw).history
    np.testing.assert_allclose(fh["loss"], th["loss"], rtol=1e-4)
    np.testing.assert_allclose(fh["accuracy"], th["accuracy"], atol=1e-6)
    for a, b in zip(fmodel.get_weights(), tmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("loss,activation", [("binary_crossentropy", "sigmoid"),
                                             ("bce_logits", None), ("mse", None)])
def test_single_output_fit_with_1d_targets(loss, activation):
    """One output unit, targets of shape (n,): the sigmoid folds into the cross-entropy,
    and Keras's rank matching applies."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((128, 5)).astype(np.float32)
    y = (x @ rng.standard_normal(5) > 0).astype(np.float32)
    tmodel, fmodel = _pair(lambda L: [L.Dense(7, activation="relu"),
                                      L.Dense(1, activation=activation)], (5,))
    if loss == "bce_logits":
        tl, fl = (tk.losses.BinaryCrossentropy(from_logits=True),
                  fastnn.losses.BinaryCrossentropy(from_logits=True))
    else:
        tl = fl = loss
    tmodel.compile(optimizer=tk.optimizers.SGD(0.1), loss=tl, metrics=["accuracy"])
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.1), loss=fl, metrics=["accuracy"])
    kw = dict(epochs=3, batch_size=16, shuffle=False, verbose=0, validation_data=(x[:32], y[:32]))
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    assert set(fh) == set(th)
    for key in th:
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_evaluate_with_sample_weight_and_ragged_last_batch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 6)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    sw = rng.uniform(0.1, 3.0, 50).astype(np.float32)
    tmodel, fmodel = _pair(lambda L: [L.Dense(9, activation="selu"),
                                      L.Dense(3, activation="softmax")], (6,))
    for m, opt in ((tmodel, tk.optimizers.SGD()), (fmodel, fastnn.optimizers.SGD())):
        m.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    t = tmodel.evaluate(x, y, sample_weight=sw, batch_size=7, verbose=0, return_dict=True)
    f = fmodel.evaluate(x, y, sample_weight=sw, batch_size=7, verbose=0, return_dict=True)
    assert set(f) == set(t)
    for key in t:
        np.testing.assert_allclose(f[key], t[key], rtol=1e-5, err_msg=key)


def test_weighted_metrics_in_validation():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    sw = rng.uniform(0.1, 2.0, 64).astype(np.float32)
    tmodel, fmodel = _pair(lambda L: [L.Dense(2, activation="softmax")], (4,))
    for m, opt in ((tmodel, tk.optimizers.SGD(0.1)), (fmodel, fastnn.optimizers.SGD(0.1))):
        m.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, sample_weight=sw,
              validation_data=(x[:40], y[:40], sw[:40]))
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    assert set(fh) == set(th)
    for key in th:
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_class_weight_applies_to_training_samples_only():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((100, 6)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    tmodel, fmodel = _pair(lambda L: [L.Dense(5, activation="relu"),
                                      L.Dense(3, activation="softmax")], (6,))
    for m, opt in ((tmodel, tk.optimizers.RMSprop(0.01)), (fmodel, fastnn.optimizers.RMSprop(0.01))):
        m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kw = dict(epochs=3, batch_size=10, shuffle=False, verbose=0, validation_split=0.3,
              class_weight={0: 2.0, 1: 1.0, 2: 0.5})
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    for key in th:
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-4, atol=1e-6, err_msg=key)
    with pytest.raises(ValueError, match="class_weight"):
        fmodel.fit(x, y, epochs=1, verbose=0, class_weight={0: 1.0}, sample_weight=np.ones(100))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_compiled_metrics_through_fit(task):
    """Keras's metric names and values in fit's history, validation included."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((120, 5)).astype(np.float32)
    if task == "binary":
        y = (x[:, 0] + 0.3 * rng.standard_normal(120) > 0).astype(np.float32)
        units, act, loss = 1, "sigmoid", "binary_crossentropy"

        def metrics(lib):
            return ["accuracy", lib.metrics.AUC(), lib.metrics.Precision(),
                    lib.metrics.Recall(), "mse", "mae"]
    else:
        y = (x @ rng.standard_normal((5, 2))).astype(np.float32)
        units, act, loss = 2, None, "huber"

        def metrics(lib):
            return ["mae", "mape", lib.metrics.RootMeanSquaredError(), "cosine_similarity"]
    tmodel, fmodel = _pair(lambda L: [L.Dense(4, activation="relu"),
                                      L.Dense(units, activation=act)], (5,))
    tmodel.compile(optimizer=tk.optimizers.SGD(0.1), loss=loss, metrics=metrics(tk))
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.1), loss=loss, metrics=metrics(fastnn))
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, validation_split=0.25)
    th = tmodel.fit(x, y, **kw).history
    fh = fmodel.fit(x, y, **kw).history
    assert sorted(fh) == sorted(th)
    for key in th:
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_sequential_from_tf_keras_config():
    # Keras 3's get_config carries keys fastnn's layers do not take as arguments (dtype
    # policies, optional, quantization_config); Sequential.from_config accepts it as is
    tk = tf.keras.Sequential([tf.keras.Input((6,)), tf.keras.layers.Dense(4, activation="tanh"),
                              tf.keras.layers.Dropout(0.1), tf.keras.layers.ELU(alpha=0.5),
                              tf.keras.layers.Dense(3, activation="softmax")])
    model = fastnn.Sequential.from_config(tk.get_config())
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "ELU",
                                                               "Dense"]
    model.set_weights(tk.get_weights())
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(model(x), tk(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("first,last", [("float64", "float32"), ("float32", "float64")])
def test_layers_of_different_dtypes_like_tf_keras(first, last):
    """A layer casts a floating input of another dtype to its own, and the loss casts the
    targets to the output's dtype: a float64 Dense, a float32 Dropout and a Dense of `last`
    train, predict and evaluate as in tf.keras. The inputs and targets are float32 values,
    so the input layer's float32 conversion in tf.keras rounds nothing."""
    def make(L):
        return [L.Dense(6, activation="tanh", dtype=first), L.Dropout(0.0),
                L.Dense(3, dtype=last)]
    tmodel, fmodel = _pair(make, (5,))
    tmodel.compile(optimizer=tk.optimizers.SGD(0.1), loss="mse")
    fmodel.compile(optimizer=fastnn.optimizers.SGD(0.1), loss="mse")
    x = _x((16, 5)).astype(first)
    y = _x((16, 3), seed=1)
    for _ in range(3):
        _close(fmodel.train_on_batch(x, y), tmodel.train_on_batch(x, y))
    for fw, tw in zip(fmodel.get_weights(), tmodel.get_weights()):
        assert fw.dtype == tw.dtype
        _close(fw, tw)
    tout = tmodel.predict(x, verbose=0)
    for fout in (fmodel.predict(x, verbose=0), fmodel(x), fmodel(x, training=True)):
        assert np.asarray(fout).dtype == tout.dtype == np.dtype(last)
        _close(fout, tout)
    _close(fmodel.evaluate(x, y, verbose=0), tmodel.evaluate(x, y, verbose=0))
    sw = np.linspace(0.5, 1.5, 16).astype(np.float32).astype(first)  # weights in x's dtype
    _close(fmodel.evaluate(x, y, sample_weight=sw, verbose=0),
           tmodel.evaluate(x, y, sample_weight=sw, verbose=0))
    fmodel.fit(x, y, sample_weight=sw, epochs=2, batch_size=8, verbose=0, shuffle=False)
    tmodel.fit(x, y, sample_weight=sw, epochs=2, batch_size=8, verbose=0, shuffle=False)
    _close(fmodel.predict(x, verbose=0), tmodel.predict(x, verbose=0))
