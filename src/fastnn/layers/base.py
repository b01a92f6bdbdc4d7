"""Layer: the base class of every fastnn layer, built-in or written by a user.

A layer owns Variables (``add_weight``), turns inputs into outputs (``call``) and, for
training, turns the gradient of its output into the gradient of its input and of its
weights (``backward``). Built-in layers run both directions in C kernels on buffers that
the training plan allocates once; a user's layer may write ``call`` and ``backward`` in
NumPy and trains through the same engine, only slower.

Writing your own layer::

    class Scale(fastnn.layers.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x, training=False):
            self.x = x                      # keep what backward needs
            return x * self.s.value

        def backward(self, grad):
            # input gradient, then one gradient per trainable weight, in order
            return grad * self.s.value, [np.sum(grad * self.x, axis=0)]
"""
import contextlib
import contextvars

import numpy as np

from fastnn import backend, constraints, initializers, regularizers
from fastnn.variables import Variable

__all__ = ["Layer"]


# While a model file is loaded: [bytes left, the file's name]. Weights are allocated (and
# initialized) when a config builds its layers, before the file's weights are read; a
# damaged or hostile config declaring Dense(10**9) must not make the loader allocate
# gigabytes that no file of that size could fill.
_ALLOCATION_LIMIT = contextvars.ContextVar("fastnn_allocation_limit", default=None)

# Weights may take this many times the bytes of the file that holds them (HDF5 stores them
# uncompressed in Keras's files; float16 weights become float32), plus a fixed margin.
_LIMIT_FACTOR = 4
_LIMIT_MARGIN = 64 << 20


@contextlib.contextmanager
def allocation_limit(file_bytes, source):
    """Limit the weights layers may create inside the block to what a file can hold.

    Args:
        file_bytes: the size of the data the weights will be read from. Default required.
        source: the file's name, for the error. Default required.
    """
    token = _ALLOCATION_LIMIT.set([_LIMIT_FACTOR * int(file_bytes) + _LIMIT_MARGIN, source])
    try:
        yield
    finally:
        _ALLOCATION_LIMIT.reset(token)


def checked_weight_values(variables, values, what):
    """values as numeric arrays of the variables' shapes, all checked before any is assigned,
    so that a bad list leaves every weight as it was."""
    arrays = []
    for v, w in zip(variables, values):
        try:
            arr = np.asarray(w)
        except (TypeError, ValueError) as e:
            raise TypeError(f"weights: {what} '{v.path}' expected a numeric array, received "
                            f"{type(w).__name__} ({e})") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"weights: {what} '{v.path}' expected a numeric array, received "
                            f"dtype {arr.dtype}")
        if arr.shape != v.shape:
            raise ValueError(f"weights: {what} '{v.path}' expected shape {v.shape}, "
                             f"received {arr.shape}")
        arrays.append(arr)
    return arrays


def _shape_tuple(shape, name):
    """A shape as a tuple of ints/None, or a TypeError naming the argument."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (int(shape),)
    if isinstance(shape, (str, bytes)):
        raise TypeError(f"{name}: expected a tuple of ints, received {shape!r}")
    try:
        dims = list(shape)
    except TypeError:
        raise TypeError(f"{name}: expected a tuple of ints, received {shape!r}") from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer))):
            raise TypeError(f"{name}: expected a tuple of ints (or None), received {shape!r}")
    out = tuple(None if d is None else int(d) for d in dims)
    for d in out:
        if d is not None and d < 0:
            raise ValueError(f"{name}: expected non-negative dimensions, received {shape!r}")
    return out


class Layer:
    """Base class of layers: weights, build, forward (call) and backward.

    Args:
        trainable: whether the layer's weights are trained. Defaults to True.
        name: the layer's name; unique names (dense, dense_1, ...) are made when None.
            Defaults to None.
        dtype: the dtype of weights and outputs. Defaults to backend.floatx().
        input_shape: the shape of one sample (without the batch axis), for the first layer
            of a Sequential model. Defaults to None.
        input_dim: Keras 2 shorthand for input_shape=(input_dim,). Defaults to None.
        batch_input_shape: the input shape with the batch axis first. Defaults to None.
    """

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 input_dim=None, batch_input_shape=None, **kwargs):
        if kwargs:
            bad = sorted(kwargs)[0]
            raise TypeError(f"{bad}: unexpected keyword argument for {type(self).__name__}")
        if name is None:
            prefix = _snake(type(self).__name__)
            uid = backend.get_uid(prefix)
            name = prefix if uid == 1 else f"{prefix}_{uid - 1}"
        elif not isinstance(name, str) or not name:
            raise TypeError(f"name: expected a non-empty str, received {name!r}")
        self.name = name
        self.dtype = np.dtype(dtype or backend.floatx()).name
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype: expected 'float32' or 'float64', received {dtype!r}")
        self._trainable = bool(trainable)
        self._weights = []
        self.built = False
        self.input_spec_shape = None  # shape of one sample, when known before build
        if batch_input_shape is not None:
            self.input_spec_shape = _shape_tuple(batch_input_shape, "batch_input_shape")[1:]
        if input_shape is not None:
            self.input_spec_shape = _shape_tuple(input_shape, "input_shape")
        if input_dim is not None:
            if isinstance(input_dim, bool) or not isinstance(input_dim, (int, np.integer)) \
                    or input_dim < 1:
                raise ValueError(f"input_dim: expected a positive int, received {input_dim!r}")
            self.input_spec_shape = (int(input_dim),)
        self.input_shape = None   # with batch axis, once built
        self.output_shape = None

    # ---- weights ---------------------------------------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", dtype=None,
                   trainable=True, regularizer=None, constraint=None, name=None):
        """Create a weight of this layer and return its Variable.

        Args:
            shape: the weight's shape. Defaults to () (a scalar).
            initializer: an initializer or its name. Defaults to "glorot_uniform".
            dtype: the dtype. Defaults to the layer's dtype.
            trainable: whether optimizers update it. Defaults to True.
            regularizer: a regularizer or its name, or None. Defaults to None.
            constraint: a constraint or its name, or None. Defaults to None.
            name: the weight's name. Defaults to "variable".
        """
        shape = _shape_tuple(() if shape is None else shape, "shape")
        if any(d is None for d in shape):
            raise ValueError(f"shape: expected a fully known shape, received {shape}")
        init = initializers.get(initializer)
        dtype = np.dtype(dtype or self.dtype).name
        name = name or "variable"
        size = 1
        for d in shape:
            size *= d
        nbytes = size * np.dtype(dtype).itemsize
        if nbytes >= 2 ** 63:  # NumPy cannot even describe such an array
            raise ValueError(f"shape: layer '{self.name}' weight '{name}' of shape {shape} "
                             f"would take {nbytes} bytes; it cannot be allocated")
        limit = _ALLOCATION_LIMIT.get()
        if limit is not None:
            if nbytes > limit[0]:
                raise ValueError(f"{limit[1]}: layer '{self.name}' declares a weight '{name}' "
                                 f"of shape {shape} ({nbytes} bytes), more than the file can "
                                 f"hold; its config does not match its weights (damaged "
                                 f"file?)")
            limit[0] -= nbytes
        try:
            value = init(shape, dtype=dtype) if callable(init) else np.zeros(shape, dtype)
        except MemoryError:
            raise MemoryError(f"shape: layer '{self.name}' weight '{name}' of shape {shape} "
                              f"({nbytes / 2 ** 30:.1f} GiB) does not fit in memory") from None
        var = Variable(value, dtype=dtype, trainable=trainable and self._trainable, name=name,
                       path=f"{self.name}/{name}",
                       constraint=constraints.get(constraint) if constraint else None)
        var._user_trainable = bool(trainable)
        var.regularizer = regularizers.get(regularizer) if regularizer else None
        self._weights.append(var)
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for v in self._weights:
            v.trainable = self._trainable and getattr(v, "_user_trainable", True)

    @property
    def weights(self):
        return list(self._weights)

    @property
    def variables(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [v for v in self._weights if v.trainable]

    @property
    def non_trainable_weights(self):
        return [v for v in self._weights if not v.trainable]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        """Return copies of the weights' values, in creation order."""
        return [v.numpy() for v in self._weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays, in the order get_weights returns them.

        Args:
            weights: a list of arrays, one per weight, with matching shapes. Default required.
        """
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(f"weights: layer '{self.name}' expected a list of "
                             f"{len(self._weights)} arrays, received {len(weights)}")
        arrays = checked_weight_values(self._weights, weights, f"layer '{self.name}' weight")
        for v, arr in zip(self._weights, arrays):
            v.assign(arr)
        self._weights_changed()

    def count_params(self):
        """The number of scalars in the layer's weights."""
        return int(sum(v.size for v in self._weights))

    def _weights_changed(self):
        """Hook for layers that cache something derived from their weights."""

    # ---- shapes and building ---------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of this shape (batch axis first)."""
        self.built = True

    def _maybe_build(self, input_shape):
        input_shape = tuple(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
        if self.input_shape is None:
            self.input_shape = input_shape
            self.output_shape = tuple(self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape (batch axis first)."""
        return tuple(input_shape)

    # ---- forward and backward --------------------------------------------------------
    def call(self, inputs, training=False):
        """The forward computation on a NumPy array. Subclasses override it."""
        return inputs

    def _call_kernels(self, inputs, training=False):
        """call() for a built-in layer: its engine forward on a fresh Workspace, returned
        as an array of its own."""
        from fastnn.engine.workspace import Workspace
        x = np.ascontiguousarray(inputs, dtype=self.dtype)
        return np.array(self._forward(x, Workspace(self.dtype), training))

    def backward(self, grad):
        """Gradients of the last training call: (input gradient, [weight gradients]).

        Return the gradient with respect to the input of the last ``call(x,
        training=True)``, and a list with one gradient per trainable weight, in the order
        of ``trainable_weights`` (a layer without trainable weights may return only the
        input gradient). Custom layers that train implement it.
        """
        if self.trainable_weights:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) has trainable weights but no "
                f"backward(grad); implement it to train this layer")
        return grad

    # ---- the engine's protocol --------------------------------------------------------
    # The training and prediction plans call _forward/_backward with a Workspace of buffers
    # kept across batches. Built-in layers override both to run C kernels on those buffers;
    # these defaults run a user's NumPy call/backward.
    def _chain_steps(self, input_shape):
        """This layer's inference pass as fastnn._core.InferenceChain steps over rows of
        the flattened sample, given its input shape; None when it cannot be one (then the
        model predicts layer by layer). Built-in layers that can, override it."""
        return None

    def _forward(self, x, ws, training, fuse=False):
        y = np.ascontiguousarray(self.call(x, training=training), dtype=self.dtype)
        want = self.output_shape
        if want is not None and (y.ndim != len(want) or any(
                d is not None and d != g for d, g in zip(want[1:], y.shape[1:]))):
            # the layers after this one were built for the shape compute_output_shape gave
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) returned shape "
                             f"{y.shape} from call(), but its compute_output_shape gives "
                             f"{tuple(want)}, for which the next layers were built; "
                             f"implement compute_output_shape to match call")
        return y

    def _backward(self, dy, ws, need_dx):
        out = self.backward(dy)
        trainable = self.trainable_weights
        if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], (list, tuple)):
            dx, grads = out
        else:
            dx, grads = out, []
        if len(grads) != len(trainable):
            raise ValueError(f"Layer '{self.name}': backward returned {len(grads)} weight "
                             f"gradients, expected {len(trainable)} (one per trainable weight)")
        for buf, g, v in zip(ws.grad_arrays(trainable), grads, trainable):
            g = np.asarray(g)
            if g.shape != v.shape:
                raise ValueError(f"Layer '{self.name}': gradient for '{v.name}' has shape "
                                 f"{g.shape}, expected {v.shape}")
            np.copyto(buf, g, casting="unsafe")
        if not need_dx:
            return None
        return np.ascontiguousarray(dx, dtype=self.dtype)

    def _output_activation(self):
        """'softmax' or 'sigmoid' when the layer ends in one a loss can fuse, else None."""
        return None

    def _check_trainable(self):
        """Raise before training starts if this layer cannot compute its gradients: it
        has trainable weights, and neither a user's backward() nor a built-in layer's own
        _backward."""
        cls = type(self)
        if self.trainable_weights and cls.backward is Layer.backward \
                and cls._backward is Layer._backward:
            raise NotImplementedError(
                f"Layer '{self.name}' ({type(self).__name__}) has trainable weights but no "
                f"backward(grad); implement it to train this layer")

    def __call__(self, inputs, training=False):
        x = np.asarray(inputs)
        self._maybe_build(x.shape)
        return self.call(x, training=training)

    # ---- config ----------------------------------------------------------------------
    def get_config(self):
        """The layer's constructor arguments as a JSON-friendly dict (Keras's keys)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.input_spec_shape is not None:
            config["batch_input_shape"] = (None,) + tuple(self.input_spec_shape)
        return config

    @classmethod
    def from_config(cls, config):
        """Create a layer from the dict get_config returned."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
