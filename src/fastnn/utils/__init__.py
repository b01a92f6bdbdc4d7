"""fastnn.utils: Keras's utilities (set_random_seed for now)."""
from fastnn.utils.random import set_random_seed  # noqa: F401

__all__ = ["set_random_seed"]
