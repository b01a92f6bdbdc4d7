"""Concurrency: predict from eight Python threads at once, fit and predict side by side.

Two kinds of models: ones that predict through the one-call InferenceChain (Dense,
Activation, Dropout, Flatten, Reshape), which shares no buffers, and ones that predict
layer by layer over Workspace buffers (PReLU, a user's NumPy layer), which keep one set of
buffers per thread. Every threaded result must equal, bit for bit, the same call made
sequentially beforehand (the kernels are deterministic and batch-invariant).
"""
import threading
import zlib
import time

import numpy as np
import pytest

import fastnn
from fastnn import layers as L

pytestmark = pytest.mark.timeout(300)

N_THREADS = 8


class Scale(L.Layer):
    """A user's layer in NumPy: forces the layer-by-layer inference path."""

    def build(self, input_shape):
        self.s = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="s")

    def call(self, x, training=False):
        self.x = x
        return x * self.s.value

    def backward(self, grad):
        return grad * self.s.value, [np.sum(grad * self.x, axis=0)]


def _chain_model():
    fastnn.utils.set_random_seed(1)
    return fastnn.Sequential([fastnn.Input((8, 8)), L.Flatten(), L.Dense(96, activation="relu"),
                              L.Dropout(0.3), L.Reshape((12, 8)), L.Flatten(),
                              L.Dense(10), L.Activation("softmax")])


def _layered_model():
    fastnn.utils.set_random_seed(2)
    return fastnn.Sequential([fastnn.Input((8, 8)), L.Flatten(), L.Dense(96), L.PReLU(),
                              Scale(), L.Dense(10, activation="softmax")])


def _inputs(seed):
    rng = np.random.default_rng(seed)
    # a different size per thread: a shared buffer would show as wrong rows or shapes
    return [rng.standard_normal((int(n), 8, 8)).astype("float32")
            for n in rng.integers(1, 700, size=N_THREADS)]


def _calls(model):
    return {"predict": lambda x: model.predict(x, verbose=0),
            "predict_batch_7": lambda x: model.predict(x, batch_size=7, verbose=0),
            "call": lambda x: model(x),
            "predict_on_batch": lambda x: model.predict_on_batch(x)}


def _hammer(fn, xs, refs, rounds):
    """Run fn on xs[i] from thread i, `rounds` times each, all threads released at once."""
    barrier = threading.Barrier(len(xs))
    errors, mismatches = [], []

    def worker(i):
        try:
            barrier.wait()
            for _ in range(rounds):
                out = fn(xs[i])
                if out.shape != refs[i].shape or not np.array_equal(out, refs[i]):
                    mismatches.append(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not any(t.is_alive() for t in threads), "a predict thread hung"
    return errors, mismatches


@pytest.mark.parametrize("make", [_chain_model, _layered_model], ids=["chain", "layered"])
@pytest.mark.parametrize("how", ["predict", "predict_batch_7", "call", "predict_on_batch"])
def test_eight_threads_predict_as_sequentially(make, how):
    model = make()
    uses_chain = model._inference_plan().chain() is not None
    assert uses_chain == (make is _chain_model)
    fn = _calls(model)[how]
    xs = _inputs(zlib.crc32(how.encode()) % 1000)
    refs = [fn(x).copy() for x in xs]          # sequential, before any thread runs
    errors, mismatches = _hammer(fn, xs, refs, rounds=12)
    assert not errors, errors
    assert not mismatches, f"threads {sorted(set(mismatches))} got other results"


def test_threads_share_one_model_with_both_paths_and_evaluate():
    # one thread set mixing predict, __call__ and evaluate on a layer-by-layer model
    model = _layered_model()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    xs = _inputs(7)
    ys = [np.eye(10, dtype="float32")[np.arange(len(x)) % 10] for x in xs]
    want_p = [model.predict(x, verbose=0) for x in xs]
    want_e = [model.evaluate(x, y, verbose=0) for x, y in zip(xs, ys)]
    errors, bad = [], []
    barrier = threading.Barrier(N_THREADS)

    def worker(i):
        try:
            barrier.wait()
            for r in range(6):
                if r % 2:
                    got = model.evaluate(xs[i], ys[i], verbose=0)
                    if got != want_e[i]:
                        bad.append(("evaluate", i, got, want_e[i]))
                elif not np.array_equal(model(xs[i]), want_p[i]):
                    bad.append(("call", i))
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not errors and not bad, (errors, bad[:3])


def test_fit_in_one_thread_and_predict_in_another_on_different_models():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((512, 8, 8)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 512)]

    def trained():  # the fit, alone, for reference
        m = _layered_model()
        m.compile("adam", "categorical_crossentropy")
        m.fit(x, y, epochs=3, batch_size=32, verbose=0, shuffle=False)
        return m.get_weights()

    want_w = trained()
    other = _chain_model()
    other2 = _layered_model()
    want_p, want_p2 = other.predict(x, verbose=0), other2.predict(x, verbose=0)

    fit_model = _layered_model()
    fit_model.compile("adam", "categorical_crossentropy")
    stop = threading.Event()
    errors, bad, rounds = [], [], [0]

    def predictor():
        try:
            while not stop.is_set():
                if not np.array_equal(other.predict(x, verbose=0), want_p):
                    bad.append("chain")
                if not np.array_equal(other2(x[:100]), want_p2[:100]):
                    bad.append("layered")
                rounds[0] += 1
        except BaseException as e:  # noqa: BLE001
            errors.append(repr(e))

    t = threading.Thread(target=predictor)
    t.start()
    try:
        fit_model.fit(x, y, epochs=3, batch_size=32, verbose=0, shuffle=False)
    finally:
        stop.set()
        t.join(120)
    assert not errors and not bad, (errors, bad[:3])
    assert rounds[0] > 0
    for a, b in zip(fit_model.get_weights(), want_w):
        np.testing.assert_array_equal(a, b)


def test_kernels_release_the_gil():
    # while one thread is inside a long GEMM, another keeps running Python
    a = np.random.default_rng(0).standard_normal((1200, 1200)).astype("float32")
    c = np.empty_like(a)
    t0 = time.perf_counter()
    fastnn._core.gemm(a, a, c)
    one = time.perf_counter() - t0
    reps = max(1, int(0.6 / max(one, 1e-4)))
    done = threading.Event()

    def worker():
        for _ in range(reps):
            fastnn._core.gemm(a, a, c)
        done.set()

    stamps = []
    th = threading.Thread(target=worker)
    th.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
        time.sleep(0.001)
    th.join()
    gaps = np.diff(stamps)
    # Holding the GIL through a call would stall this loop for about `one` seconds a call:
    # nearly all of the time would be in long gaps. Short gaps must cover most of it (a
    # busy machine may still delay a wake-up now and then).
    short = gaps[gaps < min(0.02, one / 4)].sum()
    assert one > 0.01 and short > 0.5 * gaps.sum(), (one, short, gaps.sum(), gaps.max())
