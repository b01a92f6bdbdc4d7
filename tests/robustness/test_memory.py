"""Memory: no growth over 10,000 predict calls or 200 fit calls in a loop.

Each loop runs in a fresh interpreter after a warm-up (buffers, plans, packed weights and
lazily imported modules are made then). tracemalloc counts what the Python side keeps;
the process's resident set (VmRSS) covers the C side, with a tolerance for the allocator.
"""
import pytest

from tests.robustness._util import last_json, run_python

pytestmark = pytest.mark.timeout(600)

_HARNESS = """
import gc, json, sys, time, tracemalloc
import numpy as np
import fastnn
from fastnn import layers as L

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

class Scale(L.Layer):
    def build(self, input_shape):
        self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")
    def call(self, x, training=False):
        self.x = x
        return x * self.s.value
    def backward(self, grad):
        return grad * self.s.value, [np.sum(grad * self.x, axis=0)]

def model(kind):
    fastnn.utils.set_random_seed(0)
    extra = [L.PReLU(), Scale()] if kind == "layered" else [L.Dropout(0.2)]
    m = fastnn.Sequential([fastnn.Input((64,)), L.Dense(128, activation="relu"), *extra,
                           L.Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

def measure(fn, warm, n):
    for _ in range(warm):
        fn()
    gc.collect()
    tracemalloc.start()
    py0 = tracemalloc.get_traced_memory()[0]
    rss0 = rss_mb()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    seconds = time.perf_counter() - t0
    gc.collect()
    py1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"python_kb": (py1 - py0) / 1024, "rss_mb": rss_mb() - rss0, "seconds": seconds}
"""


@pytest.mark.parametrize("kind", ["chain", "layered"])
def test_10000_predict_calls_do_not_grow_memory(kind):
    out = run_python(_HARNESS + f"""
m = model({kind!r})
rng = np.random.default_rng(0)
small = rng.standard_normal((8, 64)).astype("float32")
big = rng.standard_normal((700, 64)).astype("float32")
calls = [lambda: m.predict(small, verbose=0), lambda: m(small),
         lambda: m.predict(big, batch_size=64, verbose=0), lambda: m.predict_on_batch(small)]
i = [0]
def one():
    calls[i[0] % 4]()
    i[0] += 1
print(json.dumps(measure(one, 1000, 10000)))
""", timeout=540)
    res = last_json(out.stdout)
    assert res["python_kb"] < 256, res
    assert res["rss_mb"] < 8, res


def test_200_fit_calls_do_not_grow_memory():
    out = run_python(_HARNESS + """
m = model("chain")
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 64)).astype("float32")
y = rng.integers(0, 10, 96)
cb = [fastnn.callbacks.EarlyStopping(monitor="loss", patience=50)]
print(json.dumps(measure(lambda: m.fit(x, y, batch_size=32, epochs=1, verbose=0,
                                       validation_split=0.25, callbacks=cb), 20, 200)))
""", timeout=540)
    res = last_json(out.stdout)
    assert res["python_kb"] < 512, res
    assert res["rss_mb"] < 10, res
