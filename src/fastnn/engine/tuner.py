"""fit's choice, made while it runs, between one thread and all of them.

On an idle machine a training step is faster on all threads; when other processes keep
the cores busy, every multi-threaded kernel waits at its closing barrier for a thread the
scheduler has put aside, and one thread is faster (bench/RESULTS.md: up to 2x on a busy
2-core VM). The thread count never changes a result (the kernels are bit-identical for any
count), so fit can simply measure: every PERIOD steps it times PROBE steps on all threads
and PROBE on one, then runs the rest of the period on the faster. Only the fit's own
thread is capped (fastnn's thread cap is per calling thread), and only inside a step.
"""
import time

import numpy as np

from fastnn import _core

__all__ = ["ThreadTuner"]


class ThreadTuner:
    PROBE = 12      # steps timed on each option (the first after a switch is not counted)
    PERIOD = 400    # steps from one probe to the next
    MARGIN = 0.97   # one thread must be this much faster (time ratio) to be chosen

    def __init__(self):
        self.active = _core.get_num_threads() > 1
        self.count = 0
        self.cap = 0          # the cap for steps after the probes: 0 (all threads) or 1
        self._all = []
        self._one = []

    def step(self, plan, x, y, sw):
        """plan.step(x, y, sw) on the thread count chosen for this step."""
        if not self.active:
            return plan.step(x, y, sw)
        s = self.count % self.PERIOD
        self.count += 1
        probe = 2 * self.PROBE
        cap = 0 if s < self.PROBE else 1 if s < probe else self.cap
        if cap:
            _core.set_thread_cap(cap)
        t = time.perf_counter()
        try:
            out = plan.step(x, y, sw)
        finally:
            if cap:
                _core.set_thread_cap(0)
        if s < probe:
            dt = time.perf_counter() - t
            if s == 0:
                self._all, self._one = [], []
            elif s < self.PROBE:
                self._all.append(dt)
            elif s > self.PROBE:
                self._one.append(dt)
            if s == probe - 1:
                one, every = np.median(self._one), np.median(self._all)
                self.cap = 1 if one < self.MARGIN * every else 0
        return out
