"""Coexistence: torch, scikit-learn and SciPy (their own OpenMP and OpenBLAS runtimes)
imported before or after fastnn in one process: no crash, fastnn's results are the same
bits as alone, theirs are correct. Speeds are measured, not asserted; the figures are in
tests/ROBUSTNESS.md (set FASTNN_COEXIST_REPORT=path to write them as JSON)."""
import json
import os

import pytest

from tests.robustness._util import last_json, require, run_python

pytestmark = pytest.mark.timeout(600)

_WORK = """
import hashlib, json, sys, time
import numpy as np

order = sys.argv[1]
def others():
    import scipy.linalg, sklearn.linear_model, torch
    torch.set_num_threads(2)
    return scipy.linalg, sklearn.linear_model, torch

mods = others() if order == "before" else None
import fastnn
from fastnn import layers as L
if order == "after":
    mods = others()
fastnn.set_num_threads(2)

rng = np.random.default_rng(0)
x = rng.standard_normal((4096, 784)).astype("float32")
y = rng.integers(0, 10, 4096)
fastnn.utils.set_random_seed(0)
model = fastnn.Sequential([fastnn.Input((784,)), L.Dense(128, activation="relu"),
                           L.Dropout(0.2), L.Dense(10)])
model.compile("adam", fastnn.losses.SparseCategoricalCrossentropy(from_logits=True))
epochs = []
for _ in range(3):
    t0 = time.perf_counter()
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    epochs.append(time.perf_counter() - t0)
preds = []
for _ in range(5):
    t0 = time.perf_counter()
    p = model.predict(x, verbose=0)
    preds.append(time.perf_counter() - t0)
one = x[:1]
model(one)
t0 = time.perf_counter()
for _ in range(2000):
    model(one)
latency_us = (time.perf_counter() - t0) / 2000 * 1e6
digest = hashlib.sha256()
for w in model.get_weights():
    digest.update(w.tobytes())
digest.update(p.tobytes())
res = {"digest": digest.hexdigest(), "epoch_s": min(epochs), "predict_4096_ms": min(preds) * 1e3,
       "latency_us": latency_us, "others_ok": None}
if mods is not None:
    linalg, linear_model, torch = mods
    ok = []
    for _ in range(3):  # interleave with fastnn's own threaded kernels
        a = torch.randn(300, 300, generator=torch.Generator().manual_seed(0))
        ok.append(bool(np.allclose((a @ a).numpy(), a.numpy() @ a.numpy(), atol=1e-3)))
        clf = linear_model.LogisticRegression(max_iter=200).fit(x[:1000, :20], (x[:1000, 0] > 0))
        ok.append(clf.score(x[:1000, :20], x[:1000, 0] > 0) > 0.95)
        m = rng.standard_normal((50, 50)) + 50 * np.eye(50)
        ok.append(bool(np.allclose(m @ linalg.solve(m, np.ones(50)), 1)))
        ok.append(bool(np.array_equal(model.predict(x, verbose=0), p)))
    res["others_ok"] = all(ok)
    res["torch"] = torch.__version__
print(json.dumps(res))
"""


def test_torch_sklearn_scipy_before_or_after_fastnn():
    for module in ("torch", "sklearn", "scipy"):
        require(module)
    runs = {order: last_json(run_python(_WORK, args=(order,), timeout=300,
                                        env={"OMP_NUM_THREADS": "2"}).stdout)
            for order in ("alone", "before", "after")}
    assert runs["before"]["digest"] == runs["alone"]["digest"]
    assert runs["after"]["digest"] == runs["alone"]["digest"]
    assert runs["before"]["others_ok"] is True and runs["after"]["others_ok"] is True
    report = os.environ.get("FASTNN_COEXIST_REPORT")
    if report:
        with open(report, "w") as f:
            json.dump(runs, f, indent=1)
    print(json.dumps({k: {m: round(v, 4) for m, v in r.items() if isinstance(v, float)}
                      for k, r in runs.items()}))
