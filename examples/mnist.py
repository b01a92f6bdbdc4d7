"""The classic Keras MNIST example, run through fastnn.

The same code as the tf.keras tutorial: only the import changes. Run:
    python examples/mnist.py
MNIST is read from $FASTNN_DATA_DIR/mnist.npz when present, else downloaded once.
"""
import time

import fastnn as keras


def main(epochs=5, batch_size=32, verbose="auto", seed=2):
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
    return accuracy


if __name__ == "__main__":
    main()
