"""load_model on damaged and hostile files: the Hypothesis fuzz (_fuzz_load.py) and fixed
cases (payloads that would run code, deep JSON, a decompression bomb, a config declaring a
huge layer). Each runs in a `python -X faulthandler` process with a timeout: a file must
load or raise ValueError/TypeError/OSError, never crash, hang or run code."""
import os

import pytest

from tests.robustness._util import last_json, run_python

EXAMPLES = os.environ.get("FASTNN_FUZZ_EXAMPLES", "150")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("fmt", ["keras", "h5"])
def test_load_model_fuzz(fmt):
    proc = run_python("import sys; from tests.robustness import _fuzz_load as f; f.main(sys.argv)",
                      args=(fmt,), env={"FASTNN_FUZZ_EXAMPLES": EXAMPLES}, timeout=540,
                      check=False)
    assert proc.returncode == 0, (f"the {fmt} fuzz failed (exit code {proc.returncode})\n"
                                  f"{proc.stderr[-6000:]}")
    counts = last_json(proc.stdout)["counts"]
    tried = sum(v for k, v in counts.items() if k.startswith(fmt + ":"))
    assert tried >= int(EXAMPLES)
    assert counts["refused"] > 0 and counts["loaded"] > 0  # both outcomes are exercised


_FIXED = """
import io, json, os, sys, zipfile
import numpy as np
import fastnn
from tests.robustness import _fuzz_load as F

F.warm_up()
members = dict(F._members(F.BASE["keras"]))
config = json.loads(members["config.json"])
results = {}

def attempt(label, data, suffix=".keras"):
    loaded = F.COUNTS["loaded"]
    try:
        F._one(label, data, suffix)
        results[label] = "loaded" if F.COUNTS["loaded"] > loaded else "refused"
    except AssertionError as e:
        results[label] = "FAILED: " + str(e)[:300]

def with_config(cfg_bytes):
    return F._zip([(n, cfg_bytes if n == "config.json" else d) for n, d in members.items()])

# every hostile payload, inserted as a layer of an otherwise intact file
for i, entry in enumerate(F.HOSTILE):
    cfg = json.loads(json.dumps(config))
    cfg["config"]["layers"].insert(1, entry)
    attempt(f"hostile_{i}", with_config(json.dumps(cfg).encode()))
    attempt(f"hostile_h5_{i}", F._h5_with_config(F.BASE["h5"], json.dumps(cfg).encode()), ".h5")
# JSON nested far deeper than any config
attempt("deep_json", with_config(b"[" * 100000 + b"]" * 100000))
# a config declaring a layer far larger than the file (must fail fast, allocating nothing)
import resource
cfg = json.loads(json.dumps(config))
cfg["config"]["layers"][1]["config"]["units"] = 200_000_000
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
attempt("huge_units", with_config(json.dumps(cfg).encode()))
grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
results["huge_units_grew_mb"] = round(grown_mb, 1)
# a decompression bomb: 300 MB of spaces as config.json, stored deflated (about 300 KB)
bomb = io.BytesIO()
with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
    for n, d in members.items():
        z.writestr(n, d if n != "config.json" else b" " * (300 << 20))
attempt("zip_bomb", bomb.getvalue())
results["sentinel"] = os.path.exists(F.SENTINEL)
print(json.dumps(results))
"""


@pytest.mark.timeout(300)
def test_load_model_fixed_hostile_files():
    res = last_json(run_python(_FIXED, timeout=240).stdout)
    failed = {k: v for k, v in res.items() if isinstance(v, str) and v != "refused"}
    assert not failed, failed  # each file is refused with a ValueError/TypeError/OSError
    assert res["sentinel"] is False
    assert res["huge_units_grew_mb"] < 100, res  # refused before allocating 4 GB
