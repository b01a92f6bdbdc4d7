"""Seconds per MNIST epoch of two or more fastnn builds, run in turn so that they share the
machine's slow and fast moments (this VM's speed drifts by 30 % within minutes).

Each build is a folder made by `pip install --no-build-isolation --no-deps --target DIR .`
at some commit. A configuration is DIR:THREADS; each round runs every configuration once,
in a fresh process, fitting the seed's MNIST model (float64 x / 255, as examples/mnist.py)
for 3 epochs at batch 32 and 3 at batch 256, and keeps epochs 2 and 3.

Run: FASTNN_DATA_DIR=... python bench/ab_builds.py ROUNDS /tmp/old_site:2,/tmp/new_site:2
Figures are recorded in bench/RESULTS.md.
"""
import json
import os
import subprocess
import sys

import numpy as np

WORKER = r"""
import sys
sys.meta_path = [f for f in sys.meta_path if "Redirecting" not in type(f).__name__]
sys.path.insert(0, SITE)
import json, time, numpy as np, fastnn as keras
(x_train, y_train), _ = keras.datasets.mnist.load_data()
x_train = x_train / 255.0
out = {}
for bs in (32, 256):
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                              keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam", metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    times = []
    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None): self.t = time.perf_counter()
        def on_epoch_end(self, e, logs=None): times.append(time.perf_counter() - self.t)
    model.fit(x_train, y_train, epochs=3, batch_size=bs, verbose=0, callbacks=[T()])
    out[bs] = times[1:]
print(json.dumps({"file": keras.__file__, "epochs": out}))
"""


def main():
    rounds = int(sys.argv[1])
    configs = [c.rsplit(":", 1) for c in sys.argv[2].split(",")]
    res = {}
    for _ in range(rounds):
        for site, threads in configs:
            env = dict(os.environ, OMP_NUM_THREADS=threads)
            code = WORKER.replace("SITE", repr(site))
            proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                  text=True, check=True)
            d = json.loads(proc.stdout.strip().splitlines()[-1])
            assert d["file"].startswith(site), d["file"]
            for bs, ts in d["epochs"].items():
                res.setdefault((site, threads, bs), []).extend(ts)
    print("| build | threads | batch | epochs | median s | min s |")
    print("|---|---|---|---|---|---|")
    for bs in ("32", "256"):
        for site, threads in configs:
            a = np.array(res[(site, threads, bs)])
            print(f"| {site} | {threads} | {bs} | {len(a)} | {np.median(a):.3f} | {a.min():.3f} |")


if __name__ == "__main__":
    main()
