"""keras.utils.set_random_seed: one call seeds Python, NumPy and fastnn."""
from fastnn import _seed

__all__ = ["set_random_seed"]


def set_random_seed(seed):
    """Seed Python's random, NumPy's global generator and fastnn's own global stream.

    After this call, unseeded initializers, dropout masks and shuffling repeat exactly
    from run to run, as keras.utils.set_random_seed promises.

    Args:
        seed: An int in [0, 2**32) (NumPy's legacy global generator takes no more).
            Default required.

    Example:
        >>> set_random_seed(1337)
    """
    import random

    import numpy as np

    seed = _seed.check_seed(seed, allow_none=False)
    if seed >= 2 ** 32:
        raise ValueError(f"seed: expected an int in [0, 2**32), received {seed}")
    random.seed(seed)
    np.random.seed(seed)
    _seed.set_global_seed(seed)
