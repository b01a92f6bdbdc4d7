"""Seconds per epoch, accuracy and prediction latency of the seed's MNIST model.

Run: FASTNN_DATA_DIR=... python bench/mnist_epochs.py   (OMP_NUM_THREADS=1 for one thread)
Figures are recorded in bench/RESULTS.md.
"""
import time, sys, numpy as np, fastnn as keras
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
for bs in (32, 256):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    times = []
    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None): self.t = time.perf_counter()
        def on_epoch_end(self, e, logs=None): times.append(time.perf_counter() - self.t)
    model.fit(x_train, y_train, epochs=5, batch_size=bs, verbose=0, callbacks=[T()])
    acc = model.evaluate(x_test, y_test, verbose=0)[1]
    t = time.perf_counter(); model.predict(x_test, verbose=0); tp = time.perf_counter() - t
    x1 = x_test[:1].astype(np.float32)
    ts = []
    for _ in range(2000):
        s = time.perf_counter(); model.predict(x1, verbose=0); ts.append(time.perf_counter() - s)
    tc = []
    for _ in range(2000):
        s = time.perf_counter(); model(x1); tc.append(time.perf_counter() - s)
    print(f"threads={keras.get_num_threads()} batch={bs}: epoch median(2-5) {np.median(times[1:]):.3f} s, test acc {acc:.4f}, predict 10k {tp*1e3:.1f} ms, predict(x[:1]) {np.median(ts)*1e6:.1f} us, model(x[:1]) {np.median(tc)*1e6:.1f} us")
