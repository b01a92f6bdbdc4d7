"""Thread scaling and determinism of fastnn, one subprocess per thread count.

For each thread count the child process (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set,
pinned with taskset to that many CPUs, on distinct physical cores first) times:
sgemm at 1024^3 and 2048^3 against NumPy's BLAS, the fused dense forward and the dense
backward at the MLP shapes, the MNIST model's seconds per epoch at batch 32 and 256,
predict over 10,000 images and one-sample latency; and it hashes the results of GEMM,
dense forward/backward, the fused loss and two epochs of training. The parent prints a
Markdown table of times and says whether every hash is the same at every thread count.

Run:  FASTNN_DATA_DIR=... python bench/scaling.py --threads 1,2,8,16 [--out results.json]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

import numpy as np


def _best(f, reps, warm=1):
    for _ in range(warm):
        f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return float(np.min(ts)), float(np.median(ts))


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def child(epochs):
    import fastnn as keras
    from fastnn import ops

    rng = np.random.default_rng(7)
    from fastnn import _core

    res = {"threads": keras.get_num_threads(), "kernel": _core.kernel_name(), "times": {},
           "hashes": {}}
    T, H = res["times"], res["hashes"]

    for n in (1024, 2048):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        c = np.empty((n, n), np.float32)
        reps = 10 if n == 1024 else 4
        T[f"sgemm {n} fastnn"] = _best(lambda: ops.gemm(a, b, c), reps)
        H[f"sgemm {n}"] = _digest(c)
        T[f"sgemm {n} numpy"] = _best(lambda: np.matmul(a, b, out=c), reps)

    for m, k, n, act in [(32, 784, 128, "relu"), (256, 784, 128, "relu"), (256, 128, 10, None)]:
        x = rng.standard_normal((m, k)).astype(np.float32)
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        y = np.empty((m, n), np.float32)
        tag = f"{m}x{k}->{n}"
        T[f"dense fwd {tag} fastnn"] = _best(lambda: ops.dense(x, w, bias, act, out=y), 200)
        if act:
            T[f"dense fwd {tag} numpy"] = _best(lambda: np.maximum(x @ w + bias, 0), 200)
        else:
            T[f"dense fwd {tag} numpy"] = _best(lambda: x @ w + bias, 200)
        y, z = ops.dense(x, w, bias, act, return_pre_activation=True)
        dy = rng.standard_normal((m, n)).astype(np.float32)
        grads = ops.dense_backward(x, w, dy, act, y=y, z=z)
        T[f"dense bwd {tag} fastnn"] = _best(
            lambda: ops.dense_backward(x, w, dy, act, y=y, z=z), 200)
        H[f"dense {tag}"] = _digest(y, z, *[g for g in grads if g is not None])

    logits = rng.standard_normal((4096, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 4096)
    loss, grad = ops.sparse_categorical_crossentropy_with_grad(labels, logits, from_logits=True)
    H["sparse CE 4096x10"] = _digest(np.asarray(loss), grad)

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train = (x_train / 255.0).astype(np.float32)
    x_test = (x_test / 255.0).astype(np.float32)
    for bs in (32, 256):
        keras.utils.set_random_seed(2)
        model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                  keras.layers.Dense(128, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(10)])
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        times = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t)

        model.fit(x_train, y_train, epochs=epochs, batch_size=bs, verbose=0,
                  callbacks=[Timer()])
        later = times[1:] or times
        T[f"MNIST epoch b{bs}"] = (float(np.min(later)), float(np.median(later)))
        H[f"MNIST weights b{bs}"] = _digest(*model.get_weights())
        if bs == 32:
            T["predict 10k"] = _best(lambda: model.predict(x_test, verbose=0), 10)
            H["predict 10k"] = _digest(model.predict(x_test, verbose=0))
            x1 = x_test[:1]
            T["model(x[:1])"] = _best(lambda: model(x1), 2000, warm=100)
            T["predict(x[:1])"] = _best(lambda: model.predict(x1, verbose=0), 2000, warm=100)
    print("RESULT " + json.dumps(res))


def cpu_order():
    """The usable CPUs, one per physical core first, then their hyperthread siblings, so
    that t threads pinned to the first t get t cores where the machine has them."""
    cpus = sorted(os.sched_getaffinity(0))
    seen, first, rest = set(), [], []
    for c in cpus:
        try:
            base = f"/sys/devices/system/cpu/cpu{c}/topology/"
            core = (open(base + "physical_package_id").read().strip(),
                    open(base + "core_id").read().strip())
        except OSError:
            core = c
        (rest if core in seen else first).append(c)
        seen.add(core)
    return first + rest


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        return child(args.epochs)
    counts = [int(t) for t in args.threads.split(",")]
    ncpu = len(os.sched_getaffinity(0))
    results = []
    for t in counts:
        env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t),
                   MKL_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--child", "--epochs", str(args.epochs)]
        if t < ncpu:  # pin to t CPUs on distinct cores where there are enough
            cpus = ",".join(str(c) for c in cpu_order()[:t])
            cmd = ["taskset", "-c", cpus] + cmd
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            raise SystemExit(f"threads={t}: child failed")
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        results.append(json.loads(line[len("RESULT "):]))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    keys = list(results[0]["times"])
    print(f"kernel: {results[0]['kernel']}; CPUs available: {ncpu}, in pinning order "
          f"{cpu_order()}; "
          f"each cell: min / median, ms")
    print("| job | " + " | ".join(f"{r['threads']} thr" for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for k in keys:
        cells = [f"{r['times'][k][0] * 1e3:.3g} / {r['times'][k][1] * 1e3:.3g}" for r in results]
        print(f"| {k} | " + " | ".join(cells) + " |")
    print()
    same = True
    for k in results[0]["hashes"]:
        hs = {r["hashes"][k] for r in results}
        same &= len(hs) == 1
        print(f"- {k}: {'identical' if len(hs) == 1 else 'DIFFERENT ' + str(hs)} "
              f"at {', '.join(str(r['threads']) for r in results)} threads")
    print("DETERMINISTIC" if same else "NOT DETERMINISTIC")


if __name__ == "__main__":
    main()
