"""Workspace: the buffers one layer uses in a plan, allocated once and reused.

``ws.array(name, shape)`` returns a C-contiguous view of a persistent buffer; the buffer
grows only when a larger shape is asked for, so every batch of an epoch (the last, smaller
one included, as a prefix view) reuses the same memory.
"""
import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Per-layer scratch space and the state a backward pass needs from its forward."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self._bufs = {}
        self._views = {}
        self.grads = None   # one array per trainable weight, filled by backward
        self.targets = None  # a layer's own cache of where its backward writes
        self.step = 0       # training calls so far (dropout streams)

    def array(self, name, shape, dtype=None):
        """A C-contiguous array of this shape backed by the named persistent buffer."""
        key = (name, shape, dtype)
        view = self._views.get(key)
        if view is not None:
            return view
        size = 1
        for d in shape:
            size *= d
        buf = self._bufs.get(name)
        if buf is None or buf.size < size or (dtype is not None and buf.dtype != dtype):
            buf = np.empty(max(size, 1), dtype or self.dtype)
            self._bufs[name] = buf
            self._views = {k: v for k, v in self._views.items() if k[0] != name}
        view = self._views[key] = buf[:size].reshape(shape)
        return view

    def grad_arrays(self, variables):
        """Gradient buffers, one per variable, created on first use."""
        if self.grads is None or len(self.grads) != len(variables) or any(
                g.shape != v.shape for g, v in zip(self.grads, variables)):
            self.grads = [np.zeros(v.shape, v.dtype) for v in variables]
        return self.grads
