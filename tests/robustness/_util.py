"""Helpers for the robustness tests: fresh interpreters with faulthandler on, models."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code, timeout=120, env=None, args=(), check=True):
    """Run code in a fresh `python -X faulthandler`; return the CompletedProcess.

    A crash (segfault, abort) prints the C-level traceback through faulthandler and fails
    the calling test instead of killing pytest; a hang becomes a TimeoutExpired.
    """
    full_env = dict(os.environ)
    full_env.setdefault("OMP_NUM_THREADS", "2")
    full_env["PYTHONPATH"] = ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code),
                           *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess exited with {proc.returncode}\n--- stdout\n"
                             f"{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-8000:]}")
    return proc


def last_json(stdout):
    """The JSON object on the last line that holds one."""
    import json

    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON result in the output:\n{stdout[-4000:]}")


def require(module):
    """Import an optional test dependency: skipped where it is missing, but in CI
    (.ci/run sets FASTNN_CI=1 and installs it) its absence fails the test."""
    import importlib

    import pytest

    if os.environ.get("FASTNN_CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
