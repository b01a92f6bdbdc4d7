"""fit with the next shuffled batch gathered ahead on the workers (_core.GatherAhead, the
default) against the plain gather before each step, in one process: epochs alternate
between the two (ABBA order), so that both share the VM's slow and fast moments, and the
figure that matters is the median of the per-pair time ratios.

Run: FASTNN_DATA_DIR=... python bench/gather_ahead.py BATCH {f32,f64} PAIRS
(f32: float32 x / 255, flattened, as bench/peers.py; f64: x / 255.0, as examples/mnist.py)
Prints seconds per epoch, median and min, for each mode, and the median ratio.
Figures are recorded in bench/RESULTS.md.
"""
import sys
import time

import numpy as np

import fastnn as keras
from fastnn.engine import data_adapter


def main():
    bs, kind, pairs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    (x, y), _ = keras.datasets.mnist.load_data()
    x = x.reshape(len(x), 784) / 255.0
    if kind == "f32":
        x = x.astype(np.float32)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    real_init = data_adapter.ArrayData.__init__
    mode = {"ahead": True}

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._ahead = self._ahead and mode["ahead"]

    data_adapter.ArrayData.__init__ = init
    times = {True: [], False: []}
    model.fit(x, y, epochs=1, batch_size=bs, verbose=0)  # warm-up
    for p in range(pairs):
        for ahead in ((True, False) if p % 2 == 0 else (False, True)):
            mode["ahead"] = ahead
            t = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=bs, verbose=0)
            times[ahead].append(time.perf_counter() - t)
    on, off = np.array(times[True]), np.array(times[False])
    print(f"batch {bs}, {kind} x, {keras.get_num_threads()} threads, {pairs} pairs: "
          f"gathered ahead {np.median(on):.4f} (min {on.min():.4f}) s, "
          f"plain {np.median(off):.4f} (min {off.min():.4f}) s, "
          f"median ratio {np.median(on / off):.3f}")


if __name__ == "__main__":
    main()
