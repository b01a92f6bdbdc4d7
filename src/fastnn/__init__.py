"""fastnn: a Keras-compatible neural-network library for the CPU.

Write tf.keras code, then ``import fastnn as keras``. The arithmetic runs in C kernels with
OpenMP; Python only orchestrates. Submodules load on first use, so ``import fastnn`` stays
fast.
"""
import importlib
import os

__version__ = "0.1.0"


def _load_core():
    """Import the C core with GNU OpenMP's idle workers told to spin only briefly.

    Between two kernels an idle OpenMP worker spins, by default for a long while, before
    it sleeps. On an idle machine that makes the next kernel start at once; when other
    processes keep the cores busy, the spinning workers and the ones descheduled in their
    place turn every kernel's closing barrier into a wait of a scheduler time slice
    (measured: an MNIST training step at 2 threads went from 0.46 ms to 17 ms with two
    busy processes on the same two cores). A spin count of 1000 kept the idle speed and
    cut that to 1.6 ms (bench/wait_policy.py, bench/RESULTS.md). libgomp reads the setting
    once, when it is loaded, so it is put in the environment for that moment only, and
    never over a value the user chose (GOMP_SPINCOUNT or OMP_WAIT_POLICY).
    """
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        return importlib.import_module("fastnn._core")
    os.environ["GOMP_SPINCOUNT"] = "1000"
    try:
        return importlib.import_module("fastnn._core")
    finally:
        del os.environ["GOMP_SPINCOUNT"]


_core = _load_core()
get_num_threads = _core.get_num_threads
openmp_enabled = _core.openmp_enabled
set_num_threads = _core.set_num_threads

_SUBMODULES = frozenset({
    "activations", "backend", "callbacks", "constraints", "engine", "initializers", "keras",
    "layers", "losses", "metrics", "models", "ops", "optimizers", "regularizers", "utils",
    "variables", "datasets", "saving",
})
# Keras's top-level aliases: name -> (module, attribute)
_ALIASES = {
    "Sequential": ("fastnn.models", "Sequential"),
    "Input": ("fastnn.layers", "Input"),
    "Layer": ("fastnn.layers", "Layer"),
    "Variable": ("fastnn.variables", "Variable"),
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"fastnn.{name}")
    if name in _ALIASES:
        module, attr = _ALIASES[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_ALIASES))


def show_config(file=None):
    """Print the version, the GEMM kernel in use, OpenMP on or off and the thread count."""
    import sys
    from fastnn import _core

    out = file if file is not None else sys.stdout
    print(f"fastnn {__version__}", file=out)
    print(f"  kernel:   {_core.kernel_name()} (this CPU can run: "
          f"{', '.join(_core.available_kernels())})", file=out)
    print(f"  openmp:   {'on' if _core.openmp_enabled() else 'off'}", file=out)
    print(f"  threads:  {_core.get_num_threads()}", file=out)
