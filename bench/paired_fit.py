"""fit with one engine feature on and off, in one process: epochs alternate between the two
(ABBA order), so that both share the VM's slow and fast moments, and the figure that matters
is the median of the per-pair time ratios (on / off).

Run: FASTNN_DATA_DIR=... python bench/paired_fit.py BATCH {f32,f64} PAIRS [FEATURE]
(f32: float32 x / 255, flattened, as bench/peers.py; f64: x / 255.0, as examples/mnist.py)
FEATURE is one of
  gather  (default) the next shuffled batch gathered ahead on the workers
          (_core.GatherAhead), against the plain gather before each step
  pack    the training chain's packed copies of the dense kernels, which Adam rewrites
          (TrainPlan.pack_weights), against reading the kernels in place
  sparse  products whose A is mostly zeros skip its zero terms (_core.set_sparse_a),
          against every product dense
Prints seconds per epoch, median and min, for each mode, and the median ratio.
Figures are recorded in bench/RESULTS.md.
"""
import sys
import time

import numpy as np

import fastnn as keras
from fastnn.engine import data_adapter
from fastnn.engine.plan import TrainPlan


def _gather_switch():
    real_init = data_adapter.ArrayData.__init__
    mode = {"on": True}

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self._ahead = self._ahead and mode["on"]

    data_adapter.ArrayData.__init__ = init
    return lambda on: mode.__setitem__("on", on)


def _pack_switch():
    def switch(on):
        TrainPlan.pack_weights = on  # read when fit makes its plan
    return switch


def _sparse_switch():
    from fastnn import _core
    return _core.set_sparse_a


FEATURES = {"gather": ("gathered ahead", "plain gather", _gather_switch),
            "pack": ("packed kernels", "kernels in place", _pack_switch),
            "sparse": ("zeros skipped", "all dense", _sparse_switch)}


def main():
    bs, kind, pairs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    feature = sys.argv[4] if len(sys.argv) > 4 else "gather"
    if feature not in FEATURES:
        raise SystemExit(f"FEATURE: expected one of {sorted(FEATURES)}, received {feature!r}")
    on_name, off_name, make_switch = FEATURES[feature]
    (x, y), _ = keras.datasets.mnist.load_data()
    x = x.reshape(len(x), 784) / 255.0
    if kind == "f32":
        x = x.astype(np.float32)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    switch = make_switch()
    times = {True: [], False: []}
    model.fit(x, y, epochs=1, batch_size=bs, verbose=0)  # warm-up
    for p in range(pairs):
        for on in ((True, False) if p % 2 == 0 else (False, True)):
            switch(on)
            t = time.perf_counter()
            model.fit(x, y, epochs=1, batch_size=bs, verbose=0)
            times[on].append(time.perf_counter() - t)
    switch(True)
    a, b = np.array(times[True]), np.array(times[False])
    print(f"batch {bs}, {kind} x, {keras.get_num_threads()} threads, {pairs} pairs: "
          f"{on_name} {np.median(a):.4f} (min {a.min():.4f}) s, "
          f"{off_name} {np.median(b):.4f} (min {b.min():.4f}) s, "
          f"median ratio {np.median(a / b):.3f}")


if __name__ == "__main__":
    main()
