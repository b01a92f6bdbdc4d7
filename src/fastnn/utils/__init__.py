"""fastnn.utils: Keras's utilities."""
from fastnn.utils.data_utils import PyDataset, Sequence  # noqa: F401
from fastnn.utils.numerical_utils import normalize, to_categorical  # noqa: F401
from fastnn.utils.random import set_random_seed  # noqa: F401
from fastnn.callbacks.progbar import Progbar  # noqa: F401

__all__ = ["set_random_seed", "Sequence", "PyDataset", "Progbar", "to_categorical",
           "normalize"]
