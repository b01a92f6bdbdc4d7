"""Shuffled batches of float64 MNIST for a float32 model: gather then cast against the
fused gather-and-convert (_core.gather_rows_cast), in one process, interleaved.

Run: FASTNN_DATA_DIR=... python bench/gather_cast.py [reps] [epoch_reps]
  (OMP_NUM_THREADS sets the threads of the fit epochs; the batch copies use one thread)
1. Making one batch of 32 / 256 rows (784 wide) from x_train / 255.0: microseconds, min /
   25th percentile / median over reps calls, each call on fresh random rows as in fit.
   "float32 x" is the plain row gather of an x already in float32, for reference.
2. Seconds of the second epoch of fit(batch_size=256, shuffle=True) on float64 x, with the
   fused path and with it turned off (gather then cast), and on x.astype(float32); each
   variant is a fresh fit of two epochs from the same seed, the variants in turn.
"""
import sys
import time

import numpy as np

import fastnn as keras
from fastnn import _core
from fastnn.engine import data_adapter


def batch_costs(x64, x32, reps):
    rng = np.random.default_rng(0)
    n, d = x64.shape
    for m in (32, 256):
        buf64 = np.empty((m, d), np.float64)
        out = np.empty((m, d), np.float32)

        def before(idx):
            _core.gather_rows(x64, idx, buf64[:len(idx)])
            np.copyto(out[:len(idx)], buf64[:len(idx)], casting="unsafe")

        def fused(idx):
            _core.gather_rows_cast(x64, idx, out[:len(idx)])

        def plain32(idx):
            _core.gather_rows(x32, idx, out[:len(idx)])

        variants = {"gather + cast (before)": before, "fused (after)": fused,
                    "float32 x, gather only": plain32}
        times = {k: [] for k in variants}
        order = rng.permutation(n)
        pos = 0
        for r in range(reps):
            names = list(variants)
            if r % 2:
                names.reverse()
            for k in names:
                if pos + m > n:
                    order, pos = rng.permutation(n), 0
                idx = order[pos:pos + m]
                pos += m
                t = time.perf_counter()
                variants[k](idx)
                times[k].append(time.perf_counter() - t)
        ref = x64[idx].astype(np.float32)
        fused(idx)
        assert out.tobytes() == ref.tobytes()
        for k, ts in times.items():
            ts = np.array(ts[reps // 10:]) * 1e6  # the first tenth warms up
            print(f"batch {m:3d}  {k:24s} min {ts.min():7.1f}  p25 {np.percentile(ts, 25):7.1f}"
                  f"  median {np.median(ts):7.1f} us")


def epochs(x64, y, reps):
    def fit(x, fused=True):
        real = data_adapter._gathers_cast
        if not fused:
            data_adapter._gathers_cast = lambda x, dtype: False
        try:
            keras.utils.set_random_seed(2)
            model = keras.Sequential([keras.Input((784,)),
                                      keras.layers.Dense(128, activation="relu"),
                                      keras.layers.Dropout(0.2), keras.layers.Dense(10)])
            model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
                from_logits=True))
            times = []

            class T(keras.callbacks.Callback):
                def on_epoch_begin(self, e, logs=None):
                    self.t = time.perf_counter()

                def on_epoch_end(self, e, logs=None):
                    times.append(time.perf_counter() - self.t)

            model.fit(x, y, epochs=2, batch_size=256, shuffle=True, verbose=0, callbacks=[T()])
            return times[1], model.get_weights()
        finally:
            data_adapter._gathers_cast = real

    x32 = x64.astype(np.float32)
    variants = {"float64 x, gather + cast (before)": lambda: fit(x64, fused=False),
                "float64 x, fused (after)": lambda: fit(x64),
                "float32 x": lambda: fit(x32)}
    times = {k: [] for k in variants}
    weights = {}
    for r in range(reps):
        names = list(variants)
        if r % 2:
            names.reverse()
        for k in names:
            t, w = variants[k]()
            times[k].append(t)
            weights[k] = w
    w0 = next(iter(weights.values()))
    same = all(a.tobytes() == b.tobytes() for w in weights.values() for a, b in zip(w0, w))
    print(f"epoch 2 of fit, batch 256, {keras.get_num_threads()} thread(s); the three fits give "
          f"bit-identical weights: {same}")
    for k, ts in times.items():
        ts = np.array(ts)
        print(f"  {k:34s} min {ts.min():.3f}  p25 {np.percentile(ts, 25):.3f}"
              f"  median {np.median(ts):.3f} s")


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    epoch_reps = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    (x_train, y_train), _ = keras.datasets.mnist.load_data()
    x64 = x_train.reshape(len(x_train), -1) / 255.0
    batch_costs(x64, x64.astype(np.float32), reps)
    if epoch_reps:
        epochs(x64, y_train, epoch_reps)


if __name__ == "__main__":
    main()
