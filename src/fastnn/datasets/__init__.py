"""fastnn.datasets: Keras's small datasets (mnist and fashion_mnist so far)."""
from fastnn.datasets import fashion_mnist, mnist  # noqa: F401

__all__ = ["fashion_mnist", "mnist"]
