"""The README's example: the seed's MNIST model through fastnn, on real MNIST."""
import importlib.util
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_example_reaches_keras_accuracy(capsys, tmp_path):
    if not os.environ.get("FASTNN_DATA_DIR") and not (
            pathlib.Path.home() / ".fastnn" / "datasets" / "mnist.npz").exists():
        pytest.fail("MNIST is not available: run ../shared/data/prepare-datasets and set "
                    "FASTNN_DATA_DIR (CI does both)")
    saved = tmp_path / "number_identify.keras"
    accuracy = _load("mnist").main(epochs=5, batch_size=32, verbose=2, save_path=str(saved))
    out = capsys.readouterr().out
    assert "Epoch 5/5" in out and "Total params: 101,770" in out
    assert accuracy >= 0.975
    # the saved model: loadable on its own, with the accuracy the example printed
    assert f"test accuracy: {accuracy:.4f}" in out and f"saved to {saved}" in out
    import fastnn
    (_, _), (x_test, y_test) = fastnn.datasets.mnist.load_data()
    model = fastnn.models.load_model(str(saved))
    predicted = np.argmax(model.predict(x_test / 255.0, verbose=0), axis=1)
    assert np.mean(predicted == y_test) == pytest.approx(accuracy, abs=1e-6)
