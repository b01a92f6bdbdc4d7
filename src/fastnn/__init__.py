"""fastnn: a Keras-compatible neural-network library for the CPU.

Write tf.keras code, then ``import fastnn as keras``. The arithmetic runs in C kernels with
OpenMP; Python only orchestrates. Submodules load on first use, so ``import fastnn`` stays
fast.
"""
import importlib

__version__ = "0.1.0"

from fastnn._core import (  # noqa: F401
    get_num_threads,
    openmp_enabled,
    set_num_threads,
)

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
