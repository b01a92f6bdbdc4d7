"""fastnn.ops._nn."""
__all__ = []
