"""Training-step time and one-sample latency under OpenMP wait policies, with and without
other busy processes on the same cores.

Run: python bench/wait_policy.py [spin counts, e.g. 1000,10000] [busy counts, e.g. 0,1,2]
(Linux; uses taskset and CPUs 0 and 1)
For each setting, a child process pinned to CPUs 0,1 runs 200 training steps of the MNIST
model at batch 32 and 30 steps at batch 256 on random data, then 2000 calls of
model(x[:1]) and 500 back-to-back calls of the fused dense forward at 32x784->128
(medians).
"Load" starts that many busy-looping processes pinned to the same CPUs first.
"""
import os
import subprocess
import sys
import time

CHILD = r"""
import time, numpy as np, fastnn as keras
keras.utils.set_random_seed(2)
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(10)])
model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
rng = np.random.default_rng(0)
x = rng.random((7680, 784)).astype(np.float32)
y = rng.integers(0, 10, 7680)
model.fit(x[:640], y[:640], batch_size=32, epochs=1, verbose=0)
out = []
for bs, n in ((32, 6400), (256, 7680)):
    t = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=bs, epochs=1, verbose=0)
    out.append((time.perf_counter() - t) / (n // bs) * 1e6)
from fastnn import ops
w = model.layers[0].kernel.value
b = model.layers[0].bias.value
xb = x[:32]
for _ in range(100):
    ops.dense(xb, w, b, "relu")
ts = []
for _ in range(500):
    t = time.perf_counter()
    ops.dense(xb, w, b, "relu")
    ts.append(time.perf_counter() - t)
dense_us = float(np.median(ts)) * 1e6
x1 = x[:1]
for _ in range(200):
    model(x1)
ts = []
for _ in range(2000):
    t = time.perf_counter()
    model(x1)
    ts.append(time.perf_counter() - t)
out.append(float(np.median(ts)) * 1e6)
out.append(dense_us)
print("RESULT %.0f %.0f %.1f %.1f" % tuple(out))
"""


def run(env_extra, threads, load):
    busy = [subprocess.Popen(["taskset", "-c", "0,1", sys.executable, "-c", "while True: pass"])
            for _ in range(load)]
    try:
        time.sleep(0.2 if load else 0)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), **env_extra)
        p = subprocess.run(["taskset", "-c", "0,1", sys.executable, "-c", CHILD], env=env,
                           capture_output=True, text=True, timeout=600)
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")]
        return line[0].split()[1:] if line else ["failed: " + p.stderr[-300:]]
    finally:
        for b in busy:
            b.kill()
            b.wait()


def main():
    print("| policy | threads | busy processes | us/step b32 | us/step b256 | model(x[:1]) us "
          "| dense 32x784->128 us |")
    print("|---|---|---|---|---|---|---|")
    spins = sys.argv[1].split(",") if len(sys.argv) > 1 else ["1000"]
    loads = [int(v) for v in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0, 2]
    settings = [("libgomp default (300000)", {"GOMP_SPINCOUNT": "300000"}),
                ("OMP_WAIT_POLICY=passive", {"OMP_WAIT_POLICY": "passive"})]
    settings += [(f"GOMP_SPINCOUNT={n}", {"GOMP_SPINCOUNT": n}) for n in spins]
    for load in loads:
        print(f"| 1 thread | 1 | {load} | " + " | ".join(run({}, 1, load)) + " |", flush=True)
        for name, extra in settings:
            print(f"| {name} | 2 | {load} | " + " | ".join(run(extra, 2, load)) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
