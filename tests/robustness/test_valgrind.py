"""Valgrind memcheck of a short fit: no invalid reads or writes in fastnn's kernels.

The fit (dense layers with fused activations, dropout, PReLU, softmax cross-entropy, Adam,
validation, predict, evaluate, one-row inference through the chain) runs once per GEMM
kernel family the CPU offers (valgrind's CPU has no AVX-512, so portable and AVX2), on
two OpenMP threads. PYTHONMALLOC=malloc lets memcheck see Python's own allocations;
definedness checking is off (--undef-value-errors=no: it is slow and its reports come from
CPython and OpenBLAS); the only suppressions (valgrind-python.supp) are for the dynamic
loader. A control run reads freed memory on purpose, to show the check can fail.
"""
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

pytestmark = [pytest.mark.valgrind, pytest.mark.timeout(600)]

_FIT = """
import numpy as np, fastnn
from fastnn import layers as L
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 20)).astype("float32")
y = rng.integers(0, 3, 96)
for kernel in fastnn._core.available_kernels():
    fastnn._core.set_kernel(kernel)
    fastnn.utils.set_random_seed(0)
    m = fastnn.Sequential([fastnn.Input((20,)), L.Dense(300, activation="relu"),
                           L.Dropout(0.3), L.PReLU(), L.Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.25)
    p = m.predict(x, verbose=0)
    m(x[:1])
    m.evaluate(x, y, verbose=0)
    print(kernel, "ok", flush=True)
"""

_CONTROL = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
p = libc.malloc(16)
libc.free(ctypes.c_void_p(p))
ctypes.string_at(p, 8)  # a read of freed memory
"""


def _valgrind():
    found = shutil.which("valgrind")
    if found is None:
        if os.environ.get("FASTNN_CI"):
            pytest.fail("valgrind is not installed (.ci/run installs it)")
        pytest.skip("valgrind is not installed")
    return found


def _memcheck(code, tmp_path, name):
    log = tmp_path / f"{name}.log"
    env = dict(os.environ, PYTHONMALLOC="malloc", OMP_NUM_THREADS="2",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [_valgrind(), "--tool=memcheck", "--undef-value-errors=no", "--error-exitcode=99",
         f"--suppressions={os.path.join(HERE, 'valgrind-python.supp')}",
         f"--log-file={log}", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=540, env=env, cwd=ROOT)
    text = log.read_text()
    invalid = [line for line in text.splitlines()
               if "Invalid read" in line or "Invalid write" in line or "Invalid free" in line]
    return proc, text, invalid


def test_short_fit_has_no_invalid_reads_or_writes(tmp_path):
    proc, log, invalid = _memcheck(_FIT, tmp_path, "fit")
    assert proc.stdout.count(" ok") >= 1, proc.stderr[-3000:]
    assert not invalid, "\n".join(log.splitlines()[:200])
    assert proc.returncode == 0, log[-5000:]
    assert "ERROR SUMMARY: 0 errors" in log


def test_the_memcheck_catches_an_invalid_read(tmp_path):
    proc, log, invalid = _memcheck(_CONTROL, tmp_path, "control")
    assert invalid and proc.returncode == 99, log[-3000:]
