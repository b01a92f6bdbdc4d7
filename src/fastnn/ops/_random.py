"""fastnn.ops._random."""
__all__ = []
