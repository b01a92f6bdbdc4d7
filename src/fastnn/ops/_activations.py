"""fastnn.ops._activations."""
__all__ = []
