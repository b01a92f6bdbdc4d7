"""fastnn.ops._linalg."""
__all__ = []
