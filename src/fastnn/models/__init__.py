"""fastnn.models: Sequential models."""
from fastnn.models.sequential import Sequential

__all__ = ["Sequential"]
