"""fit's thread tuner: it picks one thread or all by timing probes, caps only its own
thread and only inside a step, and cannot change a result."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import _core
from fastnn.engine import tuner as tuner_mod
from tests.conftest import run_with_threads


class _FakeClock:
    """perf_counter for the tuner: each step 'takes' what cost(threads) says."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _FakePlan:
    def __init__(self, clock, cost):
        self.clock, self.cost, self.seen = clock, cost, []

    def step(self, x, y, sw):
        n = _core.get_num_threads()
        self.seen.append(n)
        self.clock.now += self.cost(n)
        return 0.0, None


@pytest.mark.parametrize("one_faster", [True, False])
def test_tuner_picks_the_faster_option_and_reprobes(monkeypatch, one_faster):
    clock = _FakeClock()
    monkeypatch.setattr(tuner_mod.time, "perf_counter", clock)
    _core.set_num_threads(2)
    try:
        cost = (lambda n: 1.0 if n == 1 else 2.0) if one_faster else \
            (lambda n: 2.0 if n == 1 else 1.0)
        plan = _FakePlan(clock, cost)
        t = tuner_mod.ThreadTuner()
        period, probe = t.PERIOD, t.PROBE
        for _ in range(period + 2 * probe + 5):
            t.step(plan, None, None, None)
            assert _core.get_num_threads() == 2  # the cap never outlives a step
        seen = plan.seen
        assert seen[:probe] == [2] * probe and seen[probe:2 * probe] == [1] * probe
        chosen = 1 if one_faster else 2
        assert set(seen[2 * probe:period]) == {chosen}
        # the next period probes both again
        assert seen[period:period + probe] == [2] * probe
        assert seen[period + probe:period + 2 * probe] == [1] * probe
    finally:
        _core.reset_num_threads()


def test_tuner_releases_the_cap_when_a_step_fails(monkeypatch):
    _core.set_num_threads(2)
    try:
        t = tuner_mod.ThreadTuner()
        t.count = t.PROBE  # the one-thread probe

        class Boom:
            def step(self, *a):
                assert _core.get_num_threads() == 1
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            t.step(Boom(), None, None, None)
        assert _core.get_num_threads() == 2
    finally:
        _core.reset_num_threads()


def test_thread_cap_is_per_calling_thread():
    import threading
    _core.set_num_threads(2)
    try:
        _core.set_thread_cap(1)
        other = []
        th = threading.Thread(target=lambda: other.append(_core.get_num_threads()))
        th.start()
        th.join()
        assert _core.get_num_threads() == 1 and other == [2]
    finally:
        _core.set_thread_cap(0)
        _core.reset_num_threads()


def test_fit_gives_the_same_bits_with_the_tuner_at_1_and_2_threads():
    code = """
    import numpy as np, fastnn as keras
    rng = np.random.default_rng(0)
    x = rng.random((3000, 64)).astype(np.float32); y = rng.integers(0, 5, 3000)
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dropout(0.2), keras.layers.Dense(5)])
    m.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, batch_size=16, epochs=3, verbose=0)   # 564 steps: probes twice
    import hashlib
    print(hashlib.sha256(b"".join(w.tobytes() for w in m.get_weights())).hexdigest())
    """
    assert run_with_threads(code, 1) == run_with_threads(code, 2)
