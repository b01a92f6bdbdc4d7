"""Two or more fastnn builds run in turn, so that they share the machine's slow and fast
moments (this VM's speed drifts by 30 % within minutes).

Each build is a folder made by `pip install --no-build-isolation --no-deps --target DIR .`
at some commit. A configuration is DIR:THREADS; each round runs every configuration once,
in a fresh process, and the figures of all rounds are pooled per configuration.

Run: FASTNN_DATA_DIR=... python bench/ab_builds.py ROUNDS DIR:THREADS,DIR:THREADS [JOB]
JOB is one of
  epochs   (default) the seed's MNIST model (float64 x / 255, as examples/mnist.py) fitted
           for 3 epochs at batch 32 and 3 at batch 256; epochs 2 and 3 are kept; seconds
  epochs32 the same with float32 x (the dtype bench/peers.py feeds every system)
  gemm     _core.gemm and the packed-weight dense forward at the MNIST model's shapes;
           min of 1500 calls per process (200 for 10,000 rows); microseconds
  sparse   the first layer's products on real MNIST rows (mostly zeros), batches of 32
           and 256: X W and the weight gradient X^T dZ; median of 2000 calls per
           process; microseconds
  latency  model(x[:1]), model.predict(x[:1]) and predict_on_batch(x[:1]) on the MNIST
           model, and the call of its InferenceChain alone (the C arithmetic and its
           binding: what the others add is their fixed cost); 5000 calls per process after
           500 untimed; median per process; microseconds
Figures are recorded in bench/RESULTS.md.
"""
import json
import os
import subprocess
import sys

import numpy as np

PRELUDE = r"""
import sys
sys.meta_path = [f for f in sys.meta_path if "Redirecting" not in type(f).__name__]
sys.path.insert(0, SITE)
import json, time, numpy as np, fastnn as keras
from fastnn import _core
out = {}
def timings(f, warm, n):  # seconds of each of n calls of f, after warm untimed ones
    for _ in range(warm):
        f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return ts
def median_us(f, warm, n):
    return [float(np.median(timings(f, warm, n))) * 1e6]
"""

EPOCHS = r"""
(x_train, y_train), _ = keras.datasets.mnist.load_data()
x_train = x_train / 255.0
if FLOAT32:
    x_train = x_train.astype(np.float32)
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
    out[f"batch {bs}"] = times[1:]
"""

GEMM = r"""
def best(f, n):
    return [min(timings(f, 100, n)) * 1e6]
rng = np.random.default_rng(0)
for m, k, n, ta in [(32, 784, 128, False), (784, 32, 128, True), (256, 784, 128, False),
                    (784, 256, 128, True), (256, 128, 10, False), (1, 784, 128, False)]:
    a = rng.random((k, m) if ta else (m, k), dtype=np.float32)
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), np.float32)
    out[f"{m}x{k}x{n}" + (" (A^T)" if ta else "")] = best(lambda: _core.gemm(a, b, c, trans_a=ta), 1500)
b = rng.random((784, 128), dtype=np.float32)
packed = np.empty(_core.packed_size(784, 128, np.float32), np.float32)
_core.pack_weights(b, packed)
for m in (1024, 10000):
    a = rng.random((m, 784), dtype=np.float32)
    c = np.empty((m, 128), np.float32)
    out[f"{m}x784x128 packed"] = best(
        lambda: _core.dense_forward(a, b, None, None, c, None, packed), 200 if m > 5000 else 1000)
"""

SPARSE = r"""
(x_train, _), _ = keras.datasets.mnist.load_data()
x_train = (x_train.reshape(-1, 784) / 255.0).astype(np.float32)
rng = np.random.default_rng(0)
w = (rng.standard_normal((784, 128)) * 0.05).astype(np.float32)
for bs in (32, 256):
    xb = x_train[rng.permutation(len(x_train))[:bs]].copy()
    dz = rng.standard_normal((bs, 128)).astype(np.float32)
    c1, c2 = np.empty((bs, 128), np.float32), np.empty((784, 128), np.float32)
    for name, f in ((f"X W, {bs} MNIST rows", lambda: _core.gemm(xb, w, c1)),
                    (f"X^T dZ, {bs} MNIST rows", lambda: _core.gemm(xb, dz, c2, trans_a=True))):
        out[name] = median_us(f, 200, 2000)
"""

LATENCY = r"""
rng = np.random.default_rng(0)
x1 = rng.random((1, 784), dtype=np.float32)
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model(x1)
chain = model._infer.chain()  # the InferenceChain: the arithmetic and its own binding
out1 = np.empty((1, 10), np.float32)
for name, f in (("model(x[:1])", lambda: model(x1)),
                ("predict(x[:1])", lambda: model.predict(x1, verbose=0)),
                ("predict_on_batch(x[:1])", lambda: model.predict_on_batch(x1)),
                ("InferenceChain(x[:1], out)", lambda: chain(x1, out1))):
    out[name] = median_us(f, 500, 5000)
"""

JOBS = {"epochs": "FLOAT32 = False\n" + EPOCHS, "epochs32": "FLOAT32 = True\n" + EPOCHS,
        "gemm": GEMM, "sparse": SPARSE, "latency": LATENCY}


def main():
    rounds = int(sys.argv[1])
    configs = [c.rsplit(":", 1) for c in sys.argv[2].split(",")]
    job = sys.argv[3] if len(sys.argv) > 3 else "epochs"
    if job not in JOBS:
        raise SystemExit(f"JOB: expected one of {sorted(JOBS)}, received {job!r}")
    code = PRELUDE + JOBS[job] + '\nprint(json.dumps({"file": keras.__file__, "out": out}))\n'
    res = {}
    for _ in range(rounds):
        for site, threads in configs:
            env = dict(os.environ, OMP_NUM_THREADS=threads)
            proc = subprocess.run([sys.executable, "-c", code.replace("SITE", repr(site))],
                                  env=env, capture_output=True, text=True, check=True)
            d = json.loads(proc.stdout.strip().splitlines()[-1])
            assert d["file"].startswith(site), d["file"]
            for key, values in d["out"].items():
                res.setdefault((site, threads, key), []).extend(values)
    keys = list(dict.fromkeys(k for _, _, k in res))
    print("| build | threads | case | samples | median | min |")
    print("|---|---|---|---|---|---|")
    for key in keys:
        for site, threads in configs:
            a = np.array(res[(site, threads, key)])
            print(f"| {site} | {threads} | {key} | {len(a)} | {np.median(a):.4g} | {a.min():.4g} |")


if __name__ == "__main__":
    main()
