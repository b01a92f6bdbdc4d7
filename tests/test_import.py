"""What `import fastnn` does to the process: little, and nothing that outlives it."""
import os
import subprocess
import sys

CHECK = r"""
import os, sys
before = dict(os.environ)
import fastnn
assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())
heavy = {"h5py", "tensorflow", "torch", "matplotlib", "tensorboardX", "pydot", "scipy"}
print(sorted(heavy & set(sys.modules)))
"""


def _run(env_extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_leaves_the_environment_as_it_was_and_loads_no_extras():
    # fastnn sets GOMP_SPINCOUNT only while libgomp loads (see fastnn/__init__.py), so
    # child processes and libraries loaded later do not inherit it
    assert _run({}) == "[]"


def test_user_openmp_settings_are_kept():
    assert _run({"GOMP_SPINCOUNT": "123"}) == "[]"
    assert _run({"OMP_WAIT_POLICY": "active"}) == "[]"
    out = subprocess.run([sys.executable, "-c", "import os, fastnn; "
                          "print(os.environ['GOMP_SPINCOUNT'])"],
                         env=dict(os.environ, GOMP_SPINCOUNT="77"), capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.strip() == "77"
