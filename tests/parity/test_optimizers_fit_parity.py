"""Every optimizer trains like tf.keras's on real data: a 2-epoch fit of a 784-32-10 MLP on
the first 5,000 Fashion-MNIST training images (no shuffle, the same initial weights, a
validation set of 1,000 test images) gives the same loss, accuracy, val_loss and
val_accuracy history, within 1e-3 relative, and the same final weights.

The data are read from $FASTNN_DATA_DIR/fashion-mnist (../shared/data/prepare-datasets
writes the four IDX files there; CI does so before the tests)."""
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import fastnn  # noqa: E402
from fastnn.datasets import fashion_mnist  # noqa: E402

tk = tf.keras
N_TRAIN, N_VAL = 5000, 1000

# Learning rates large enough that every optimizer moves the weights well away from the
# start in 2 epochs (Adagrad's and Adadelta's Keras 3 defaults of 0.001 barely would).
OPTIMIZERS = {
    "SGD": ("SGD", {"learning_rate": 0.05}),
    "SGD-momentum": ("SGD", {"learning_rate": 0.01, "momentum": 0.9}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.001}),
    "Adagrad": ("Adagrad", {"learning_rate": 0.05}),
    "Adadelta": ("Adadelta", {"learning_rate": 1.0}),
    "Adam": ("Adam", {"learning_rate": 0.001}),
    "Adamax": ("Adamax", {"learning_rate": 0.002}),
    "Nadam": ("Nadam", {"learning_rate": 0.002}),
    "AdamW": ("AdamW", {"learning_rate": 0.001, "weight_decay": 0.01}),
}


def _have_data():
    folder = pathlib.Path(os.environ.get("FASTNN_DATA_DIR") or
                          pathlib.Path.home() / ".fastnn" / "datasets") / "fashion-mnist"
    return all((folder / f).exists() for f in fashion_mnist.FILES)


@pytest.fixture(scope="module")
def problem():
    if not _have_data():
        pytest.skip("Fashion-MNIST is not prepared: run ../shared/data/prepare-datasets and "
                    "set FASTNN_DATA_DIR (CI does both)")
    (x, y), (xt, yt) = fashion_mnist.load_data()
    x = (x[:N_TRAIN].reshape(N_TRAIN, -1) / 255.0).astype(np.float32)
    xv = (xt[:N_VAL].reshape(N_VAL, -1) / 255.0).astype(np.float32)
    # Glorot-uniform kernels and zero biases, as both libraries initialize Dense (drawn here
    # so that no unpaired model shifts either library's layer-name counters)
    rng = np.random.default_rng(5)
    weights = []
    for fan_in, fan_out in ((784, 32), (32, 10)):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights += [rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                    np.zeros(fan_out, np.float32)]
    return x, y[:N_TRAIN], xv, yt[:N_VAL], weights


def _model(lib):
    return lib.Sequential([lib.Input((784,)), lib.layers.Dense(32, activation="relu"),
                           lib.layers.Dense(10, activation="softmax")])


def _fit(lib, name, weights, x, y, xv, yv):
    cls, cfg = OPTIMIZERS[name]
    model = _model(lib)
    model.set_weights(weights)
    model.compile(optimizer=getattr(lib.optimizers, cls)(**cfg),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0,
                        validation_data=(xv, yv)).history
    return history, model.get_weights()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_two_epoch_fit_matches_tf_keras(problem, name):
    x, y, xv, yv, weights = problem
    th, tw = _fit(tk, name, weights, x, y, xv, yv)
    fh, fw = _fit(fastnn, name, weights, x, y, xv, yv)
    assert sorted(fh) == sorted(th) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert th["loss"][1] < 0.8 * th["loss"][0]       # the optimizer really trained
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(fh[key], th[key], rtol=1e-3, err_msg=key)
    for key in ("accuracy", "val_accuracy"):         # at most 2 of 1,000 samples flip
        np.testing.assert_allclose(fh[key], th[key], atol=2e-3, err_msg=key)
    for a, b in zip(fw, tw):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
