"""fastnn.datasets: Keras's small datasets (mnist so far)."""
from fastnn.datasets import mnist  # noqa: F401

__all__ = ["mnist"]
