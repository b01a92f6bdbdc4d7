"""fastnn.ops: the kernels as NumPy-in, NumPy-out functions, with keras.ops names.

Tests, benchmarks and users call the same functions the engine calls.
"""
from fastnn.ops._linalg import *  # noqa: F401,F403
from fastnn.ops._activations import *  # noqa: F401,F403
from fastnn.ops._nn import *  # noqa: F401,F403
from fastnn.ops._random import *  # noqa: F401,F403
