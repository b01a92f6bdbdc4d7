"""The bad-input corpus (tests/robustness/_corpus.py), run in a fresh interpreter.

The corpus runs once per session in `python -X faulthandler`: a segfault or abort in C
fails every case with faulthandler's traceback instead of killing pytest. Each case then
reports as its own test: the exception type, the argument named in the message, and the
weights and optimizer state left bit-identical.
"""
import pytest

from tests.robustness import _corpus
from tests.robustness._util import last_json, run_python

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def corpus_results():
    proc = run_python("import sys; from tests.robustness import _corpus; "
                      "_corpus.main(sys.argv)", timeout=540, check=False)
    if proc.returncode != 0:
        pytest.fail(f"the corpus process died with exit code {proc.returncode} (a crash?)\n"
                    f"--- stderr\n{proc.stderr[-8000:]}")
    return {r["id"]: r for r in last_json(proc.stdout)["results"]}


def test_the_corpus_is_large_enough():
    assert len(_corpus.CASES) >= 60
    raising = [c for c in _corpus.CASES if c.exc is not None]
    assert len(raising) >= 60 and all(c.name for c in raising)


@pytest.mark.parametrize("case_id", [c.id for c in _corpus.CASES])
def test_bad_input(corpus_results, case_id):
    res = corpus_results.get(case_id)
    assert res is not None, f"{case_id} did not report"
    assert res["ok"], "\n".join(res["problems"]) + f"\nraised: {res['raised']}"
