"""Hypothesis fuzz of the _core bindings and fastnn.ops (tests/robustness/_fuzz_core.py).

Each property runs in its own `python -X faulthandler` process: a crash in C fails the
test with faulthandler's traceback and Hypothesis's last example, instead of killing
pytest. FASTNN_FUZZ_EXAMPLES sets the examples per property (150 here by default; the
long runs recorded in tests/ROBUSTNESS.md used more).
"""
import os

import pytest

from tests.robustness import _fuzz_core
from tests.robustness._util import last_json, run_python

EXAMPLES = os.environ.get("FASTNN_FUZZ_EXAMPLES", "150")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(_fuzz_core.PROPS))
def test_binding_fuzz(name):
    proc = run_python("import sys; from tests.robustness import _fuzz_core as f; f.main(sys.argv)",
                      args=(name,), env={"FASTNN_FUZZ_EXAMPLES": EXAMPLES}, timeout=540,
                      check=False)
    assert proc.returncode == 0, (f"{name} failed (exit code {proc.returncode})\n"
                                  f"{proc.stderr[-6000:]}")
    ran = last_json(proc.stdout)["examples"][name]
    assert ran >= int(EXAMPLES)
