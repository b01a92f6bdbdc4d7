"""The classic Keras MNIST example, run through fastnn.

The same code as the tf.keras tutorial: only the import changes. It trains, evaluates,
saves the model to number_identify.keras, loads it back and predicts a few test digits.
Run:
    python examples/mnist.py
MNIST is read from $FASTNN_DATA_DIR/mnist.npz when present (or Keras's cache), else
downloaded once.
"""
import time

import numpy as np

import fastnn as keras


def main(epochs=5, batch_size=32, verbose="auto", seed=2, save_path="number_identify.keras"):
    """Train the tutorial's model, save it to save_path, reload it and predict with it.

    Returns the test accuracy.
    """
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    model.summary()

    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=2)
    print(f"trained {epochs} epochs in {seconds:.2f} s ({seconds / epochs:.2f} s/epoch); "
          f"test accuracy {accuracy:.4f}")

    model.save(save_path)
    restored = keras.models.load_model(save_path)
    logits = restored.predict(x_test[:8], verbose=0)
    if not np.array_equal(logits, model.predict(x_test[:8], verbose=0)):
        raise RuntimeError(f"{save_path}: the reloaded model predicts differently")
    print(f"saved to {save_path} and loaded back; its predictions for 8 test images: "
          f"{np.argmax(logits, axis=1).tolist()} (labels {y_test[:8].tolist()})")
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
