"""Where one training step of the MNIST model goes: each kernel call of the step timed
alone on the step's own buffers, then the whole step (plan.step) and the fit loop's step.

Run: python bench/step_profile.py [batch]   (OMP_NUM_THREADS sets the threads)
Each line: median / min microseconds over 2000 calls.
"""
import sys
import time

import numpy as np

import fastnn as keras
from fastnn.engine.plan import TrainPlan


def timed(f, n=2000):
    for _ in range(100):
        f()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return f"{np.median(ts) * 1e6:8.1f} / {np.min(ts) * 1e6:8.1f}"


def main():
    bs = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = (rng.random((bs, 784)) * (rng.random((bs, 784)) > 0.8)).astype(np.float32)
    y = rng.integers(0, 10, bs)
    model.train_on_batch(x, y)
    plan = TrainPlan(model)
    plan.step(x, y, None)
    d1, dr, d2 = plan.layers
    w1, wr, w2 = plan.ws
    print(f"threads {keras.get_num_threads()}, batch {bs}: median / min us")
    print("plan.step (whole step)   ", timed(lambda: plan.step(x, y, None)))
    h1 = d1._forward(x, w1, True, False)
    print("dense 784->128 forward   ", timed(lambda: d1._forward(x, w1, True, False)))
    h2 = dr._forward(h1, wr, True, False)
    print("dropout forward          ", timed(lambda: dr._forward(h1, wr, True, False)))
    out = d2._forward(h2, w2, True, True)
    print("dense 128->10 forward    ", timed(lambda: d2._forward(h2, w2, True, True)))
    g = plan._grad_buffer(out.shape, out.dtype)
    print("loss and gradient        ",
          timed(lambda: plan.step_loss.forward_backward(y, out, None, g)))
    print("dense 128->10 backward   ", timed(lambda: d2._backward(g, w2, True)))
    g2 = d2._backward(g, w2, True)
    print("dropout backward         ", timed(lambda: dr._backward(g2, wr, True)))
    g1 = dr._backward(g2, wr, True)
    print("dense 784->128 backward  ", timed(lambda: d1._backward(g1, w1, False)))
    print("Adam update (4 arrays)   ", timed(lambda: plan._apply(plan.grads, plan.variables)))
    xs = np.tile(x, (50, 1))
    ys = np.tile(y, 50)
    t = time.perf_counter()
    for _ in range(5):
        model.fit(xs, ys, batch_size=bs, epochs=1, verbose=0, shuffle=False)
    per = (time.perf_counter() - t) / (5 * 50) * 1e6
    print(f"fit, per step            {per:8.1f}")


if __name__ == "__main__":
    main()
