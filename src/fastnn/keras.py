"""``from fastnn import keras``: the same namespace as ``import fastnn as keras``."""
import sys

import fastnn

sys.modules[__name__] = fastnn
