"""fastnn.utils: Keras's utilities."""
from fastnn.utils.data_utils import PyDataset, Sequence  # noqa: F401
from fastnn.utils.file_utils import get_file  # noqa: F401
from fastnn.utils.numerical_utils import normalize, to_categorical  # noqa: F401
from fastnn.utils.random import set_random_seed  # noqa: F401
from fastnn.callbacks.progbar import Progbar  # noqa: F401
from fastnn.utils.plotting import plot_history  # noqa: F401
from fastnn.utils.io_utils import HDF5Matrix  # noqa: F401
from fastnn.utils.layer_utils import print_summary  # noqa: F401
from fastnn.utils.multi_gpu_utils import multi_gpu_model  # noqa: F401
from fastnn.utils.vis_utils import model_to_dot, plot_model  # noqa: F401
from fastnn.saving.object_registration import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = ["set_random_seed", "Sequence", "PyDataset", "Progbar", "to_categorical",
           "normalize", "get_file", "CustomObjectScope", "custom_object_scope",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "plot_history", "HDF5Matrix", "print_summary",
           "multi_gpu_model", "model_to_dot", "plot_model"]
