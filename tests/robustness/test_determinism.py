"""End-to-end determinism: fit with the same seed gives bit-identical weights with
OMP_NUM_THREADS=1 and 2, and across two runs (each in a fresh interpreter)."""
import pytest

from tests.robustness._util import last_json, run_python

pytestmark = pytest.mark.timeout(600)

_FIT = """
import hashlib, json
import numpy as np
import fastnn
from fastnn import layers as L

fastnn.utils.set_random_seed(1234)
rng = np.random.default_rng(5)
x = rng.standard_normal((1536, 784)).astype("float32")
y = rng.integers(0, 10, 1536)
model = fastnn.Sequential([fastnn.Input((784,)), L.Dense(256, activation="relu"),
                           L.Dropout(0.2), L.Dense(128), L.PReLU(), L.Dense(10)])
model.compile(optimizer=fastnn.optimizers.Adam(1e-3), metrics=["accuracy"],
              loss=fastnn.losses.SparseCategoricalCrossentropy(from_logits=True))
h = model.fit(x, y, batch_size=64, epochs=3, validation_split=0.2, verbose=0)
digest = hashlib.sha256()
for w in model.get_weights() + [np.asarray(v.value) for v in model.optimizer.variables]:
    digest.update(np.ascontiguousarray(w).tobytes())
p = model.predict(x[:300], verbose=0)
print(json.dumps({"weights": digest.hexdigest(),
                  "predict": hashlib.sha256(p.tobytes()).hexdigest(),
                  "history": h.history, "threads": fastnn.get_num_threads()}))
"""


def test_fit_is_bit_identical_for_1_and_2_threads_and_across_runs():
    runs = [last_json(run_python(_FIT, env={"OMP_NUM_THREADS": str(t)}, timeout=500).stdout)
            for t in (1, 2, 2)]
    assert [r["threads"] for r in runs] == [1, 2, 2]
    for r in runs[1:]:
        assert r["weights"] == runs[0]["weights"]
        assert r["predict"] == runs[0]["predict"]
        assert r["history"] == runs[0]["history"]
