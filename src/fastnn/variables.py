"""Variable: a named, mutable NumPy array owned by a layer or an optimizer.

Keras code reads weights through variables (``layer.kernel.numpy()``, ``model.weights``,
``var.assign(...)``). A fastnn Variable wraps one C-contiguous NumPy array, ``value``,
which the kernels read and the optimizer updates in place: the array object never changes
for the life of the variable, so buffers and plans that hold it stay valid.
"""
import numpy as np

__all__ = ["Variable"]


# Bumped whenever any variable is created or changes value, so that caches built from
# several variables (a model's inference chain) can see in one comparison that they are
# still current.
_generation = 0


def generation():
    """A number that changes whenever any Variable is created or changes value."""
    return _generation


class Variable:
    """A named array that layers own and optimizers update in place.

    Args:
        value: the initial value (array-like); copied into a new C-contiguous array.
        dtype: the dtype, e.g. 'float32'. Defaults to value's dtype, or float32 for
            non-float input.
        trainable: whether optimizers update it. Defaults to True.
        name: the variable's short name, e.g. 'kernel'. Defaults to 'variable'.
        path: its full path, e.g. 'dense/kernel'. Defaults to name.
        constraint: a callable applied to the value after each optimizer update, or None.
            Defaults to None.
    """

    __slots__ = ("value", "trainable", "name", "path", "constraint", "regularizer", "version",
                 "_user_trainable", "__weakref__")

    def __init__(self, value, dtype=None, trainable=True, name="variable", path=None,
                 constraint=None):
        arr = np.asarray(value)
        if dtype is None:
            dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float32
        self.value = np.array(arr, dtype=dtype, order="C", copy=True)
        self.trainable = bool(trainable)
        self.name = name
        self.path = path or name
        self.constraint = constraint
        self.regularizer = None
        self._user_trainable = self.trainable
        # Bumped on every change of value, so that caches (packed weights) know to refresh.
        self.version = 0
        global _generation
        _generation += 1

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self):
        return self.value.ndim

    @property
    def size(self):
        return self.value.size

    def numpy(self):
        """Return a copy of the value."""
        return self.value.copy()

    def assign(self, value):
        """Copy value into the variable (same shape; cast to its dtype)."""
        arr = np.asarray(value)
        if arr.shape != self.value.shape:
            raise ValueError(f"value: expected shape {self.value.shape} for variable "
                             f"'{self.path}', received {arr.shape}")
        np.copyto(self.value, arr, casting="unsafe")
        self.version += 1
        global _generation
        _generation += 1
        return self

    def assign_add(self, delta):
        """Add delta to the variable in place."""
        return self.assign(self.value + np.asarray(delta))

    def assign_sub(self, delta):
        """Subtract delta from the variable in place."""
        return self.assign(self.value - np.asarray(delta))

    def touch(self):
        """Record that value was changed in place (by an optimizer or a constraint)."""
        self.version += 1
        global _generation
        _generation += 1

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self.value if copy is not True else self.value.copy()
        return self.value.astype(dtype)

    def __len__(self):
        return len(self.value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.value.shape}, "
                f"dtype={self.value.dtype}, trainable={self.trainable}>")
