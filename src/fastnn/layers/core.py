"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, InputLayer / Input."""
import numpy as np

from fastnn import _core, _seed, activations, constraints, initializers, regularizers
from fastnn.layers.base import Layer, _shape_tuple

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "InputLayer", "Input"]


class _Activated:
    """How a layer applies its activation: fused in a kernel, row-wise, or in Python."""

    def __init__(self, activation):
        self.fn = activations.get(activation)
        self.kind, self.payload = activations.classify(self.fn)
        if self.kind == "elementwise":
            self.spec = self.payload
            self.needs_z = _core.act_needs_input(self.spec)
        else:
            self.spec = None
            self.needs_z = False

    def fusable(self):
        if self.kind == "softmax" and self.payload in (-1, None):
            return "softmax"
        if self.kind == "elementwise" and self.spec[0] == _SIGMOID_KIND:
            return "sigmoid"
        return None


_SIGMOID_KIND = 8  # fnn_act_kind FNN_ACT_SIGMOID


def _python_activation_grad(fn, z, dy):
    """dy * f'(z) for an element-wise Python activation f, by central differences.

    Any callable works as an activation; one without a kernel is differentiated
    numerically, element by element, in float64 (slower, and about 1e-7 relative error).
    """
    z64 = np.asarray(z, np.float64)
    h = 1e-5 * np.maximum(1.0, np.abs(z64))
    slope = (np.asarray(fn(z64 + h), np.float64) - np.asarray(fn(z64 - h), np.float64)) / (2 * h)
    if slope.shape != z64.shape:
        raise ValueError(f"activation: a Python activation must act element-wise (output shape "
                         f"{z64.shape}), received output shape {slope.shape}")
    return np.ascontiguousarray(dy * slope, dtype=dy.dtype)


def _rowwise_forward(kind, axis, z, ws, name):
    """softmax / log_softmax of z along axis into a workspace buffer."""
    out = ws.array(name, z.shape)
    if axis in (-1, z.ndim - 1):
        flat = z.reshape(-1, z.shape[-1])
        (_core.softmax if kind == "softmax" else _core.log_softmax)(flat, out.reshape(flat.shape))
    else:
        from fastnn import ops
        fn = ops.softmax if kind == "softmax" else ops.log_softmax
        np.copyto(out, fn(z, axis=axis))
    return out


def _rowwise_backward(kind, axis, out, dy):
    """Gradient through softmax / log_softmax given its output."""
    if axis in (-1, out.ndim - 1):
        flat_y = out.reshape(-1, out.shape[-1])
        flat_dy = dy.reshape(flat_y.shape)
        dx = np.empty_like(flat_dy)
        (_core.softmax_backward if kind == "softmax" else _core.log_softmax_backward)(
            flat_y, flat_dy, dx)
        return dx.reshape(out.shape)
    from fastnn import ops
    fn = ops.softmax_backward if kind == "softmax" else ops.log_softmax_backward
    return fn(out, dy, axis=axis)


class Dense(Layer):
    """A densely connected layer: activation(inputs @ kernel + bias), fused in one kernel.

    Acts on the last axis of inputs of rank 2 or more.

    Args:
        units: the output dimension, a positive int. Default required.
        activation: an activation name, function or None (linear). Defaults to None.
        use_bias: whether to add a bias. Defaults to True.
        kernel_initializer: initializer of the kernel. Defaults to "glorot_uniform".
        bias_initializer: initializer of the bias. Defaults to "zeros".
        kernel_regularizer: regularizer of the kernel. Defaults to None.
        bias_regularizer: regularizer of the bias. Defaults to None.
        activity_regularizer: regularizer of the output. Defaults to None.
        kernel_constraint: constraint on the kernel. Defaults to None.
        bias_constraint: constraint on the bias. Defaults to None.
        **kwargs: name, trainable, dtype, input_shape, input_dim, batch_input_shape.

    Example:
        >>> layer = fastnn.layers.Dense(128, activation="relu", input_shape=(784,))
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
            raise TypeError(f"units: expected a positive int, received {units!r}")
        if units < 1:
            raise ValueError(f"units: expected a positive int, received {units}")
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self._act = _Activated(self.activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer) if kernel_regularizer else None
        self.bias_regularizer = regularizers.get(bias_regularizer) if bias_regularizer else None
        self.activity_regularizer = (regularizers.get(activity_regularizer)
                                     if activity_regularizer else None)
        self.kernel_constraint = constraints.get(kernel_constraint) if kernel_constraint else None
        self.bias_constraint = constraints.get(bias_constraint) if bias_constraint else None
        self.kernel = None
        self.bias = None
        self._packed = None  # (kernel version, kernel family, packed array)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"Dense '{self.name}' expected input of rank >= 2 (batch, ..., "
                             f"features), received shape {tuple(input_shape)}")
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}' needs a known last input dimension, "
                             f"received shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(in_dim, self.units),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        name="bias", regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _packed_kernel(self):
        """The kernel packed for the GEMM micro-kernel, repacked only when it changed."""
        w = self.kernel
        family = _core.kernel_name()
        p = self._packed
        if p is None or p[0] != w.version or p[1] != family:
            k, n = w.shape
            buf = np.empty(_core.packed_size(k, n, w.dtype), w.dtype)
            _core.pack_weights(w.value, buf)
            p = self._packed = (w.version, family, buf)
        return p[2]

    def _check_input(self, x):
        k = self.kernel.shape[0]
        if x.ndim < 2 or x.shape[-1] != k:
            raise ValueError(f"Dense '{self.name}' expected input with last dimension {k}, "
                             f"received shape {x.shape}")

    def _chain_steps(self, input_shape):
        act = self._act
        if len(input_shape) != 2 or act.kind == "python":
            return None
        steps = [("dense", self.kernel.value, self._packed_kernel(),
                  self.bias.value if self.use_bias else None, act.spec)]
        if act.kind in ("softmax", "log_softmax"):
            if act.payload not in (-1, 1, None):
                return None
            steps.append((act.kind, self.units))
        return steps

    def _train_spec(self, fuse):
        """(activation spec for the fused kernels, whether training keeps z): the spec is
        None for a linear layer and for a sigmoid folded into the loss (fuse), which then
        works from the logits."""
        act = self._act
        spec = act.spec
        if fuse and spec is not None and act.fusable() == "sigmoid":
            spec = None
        return spec, spec is not None and act.needs_z

    def _forward(self, x, ws, training, fuse=False):
        kernel = self.kernel.value
        units = self.units
        flat = x.ndim == 2
        x2 = x if flat else x.reshape(-1, kernel.shape[0])
        m = x2.shape[0]
        act = self._act
        spec, keep_z = self._train_spec(fuse)
        y = ws.array("y", (m, units))
        z = ws.array("z", (m, units)) if training and keep_z else None
        _core.dense_forward(x2, kernel, self.bias.value if self.use_bias else None, spec, y, z,
                            None if training else self._packed_kernel())
        out = y
        post = None
        if act.kind in ("softmax", "log_softmax"):
            if not (fuse and act.fusable()):
                post = act.kind
                lead = x.shape[:-1]
                out = _rowwise_forward(act.kind, act.payload, y.reshape(lead + (units,)),
                                       ws, "a").reshape(m, units)
        elif act.kind == "python":
            post = "python"
            out = np.ascontiguousarray(act.fn(y.reshape(x.shape[:-1] + (units,))),
                                       dtype=self.dtype).reshape(m, units)
        if training:
            ws.x, ws.y, ws.z, ws.spec, ws.post, ws.out = x2, y, z, spec, post, out
        return out if flat else out.reshape(x.shape[:-1] + (units,))

    def _backward(self, dy, ws, need_dx):
        x2 = ws.x
        m = x2.shape[0]
        units = self.units
        dy2 = dy if dy.ndim == 2 and dy.flags.c_contiguous else \
            np.ascontiguousarray(dy).reshape(m, units)
        post = ws.post
        if post is not None:
            if post == "python":
                dy2 = _python_activation_grad(self._act.fn, ws.y, dy2)
            else:
                dy2 = _rowwise_backward(post, -1, ws.out, dy2)
        targets = ws.targets
        if targets is None:
            # where dW and db go: the gradient buffers the optimizer reads, or scratch space
            # for a frozen weight (computed anyway by the fused kernel, then ignored)
            gi = iter(ws.grad_arrays(self.trainable_weights))
            dw = next(gi) if self.kernel.trainable else ws.array("dw", self.kernel.shape)
            db = None
            if self.use_bias:
                db = next(gi) if self.bias.trainable else ws.array("db", self.bias.shape)
            targets = ws.targets = (dw, db)
        k = x2.shape[1]
        dx = ws.array("dx", (m, k)) if need_dx else None
        _core.dense_backward(x2, self.kernel.value, ws.z, ws.y, dy2, ws.spec,
                             ws.array("dz", (m, units)), targets[0], targets[1], dx)
        if dx is None:
            return None
        return dx if dy.ndim == 2 else dx.reshape(dy.shape[:-1] + (k,))

    def _output_activation(self):
        return self._act.fusable()

    def call(self, inputs, training=False):
        self._check_input(np.asarray(inputs))
        return self._call_kernels(inputs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
            "bias_regularizer": _ser(regularizers, self.bias_regularizer),
            "activity_regularizer": _ser(regularizers, self.activity_regularizer),
            "kernel_constraint": _ser(constraints, self.kernel_constraint),
            "bias_constraint": _ser(constraints, self.bias_constraint),
        })
        return config


def _ser(module, obj):
    return None if obj is None else module.serialize(obj)


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: an activation name or function. Default required.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._act = _Activated(self.activation)

    def _chain_steps(self, input_shape):
        act = self._act
        if act.kind == "linear":
            return []
        if act.kind == "python" or len(input_shape) != 2 or input_shape[1] is None:
            return None
        width = int(input_shape[1])
        if act.kind == "elementwise":
            return [("act", act.spec, width)]
        if act.payload not in (-1, 1, None):
            return None
        return [(act.kind, width)]

    def _forward(self, x, ws, training, fuse=False):
        act = self._act
        if act.kind == "linear" or (fuse and act.fusable()):
            ws.post = None
            return x
        if act.kind == "elementwise":
            out = ws.array("y", x.shape)
            _core.act_forward(x, act.spec, out)
        elif act.kind in ("softmax", "log_softmax"):
            out = _rowwise_forward(act.kind, act.payload, x, ws, "y")
        else:
            out = np.ascontiguousarray(act.fn(x), dtype=self.dtype)
        if training:
            ws.x, ws.out, ws.post = x, out, act.kind
        return out

    def _backward(self, dy, ws, need_dx):
        if not need_dx:
            return None
        post = ws.post
        if post is None:
            return dy
        dy = np.ascontiguousarray(dy)
        if post == "elementwise":
            dx = ws.array("dx", dy.shape)
            _core.act_backward(self._act.spec, ws.x, ws.out, dy, dx)
            return dx
        if post in ("softmax", "log_softmax"):
            return _rowwise_backward(post, self._act.payload, ws.out, dy)
        return _python_activation_grad(self._act.fn, ws.x, dy)

    def _output_activation(self):
        return self._act.fusable()

    def call(self, inputs, training=False):
        return self._call_kernels(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Inverted dropout: in training, zero a fraction rate of inputs and scale the rest.

    The mask comes from the counter-based generator keyed on (seed, step, element), so it
    does not depend on the thread count, and set_random_seed makes it reproducible.

    Args:
        rate: the fraction to drop, in [0, 1). Default required.
        noise_shape: shape of the mask, broadcast over the input (None: the input's
            shape). Defaults to None.
        seed: an int seed, or None to draw one from fastnn's global seed. Defaults to None.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
            raise TypeError(f"rate: expected a float in [0, 1), received {rate!r}")
        if not 0 <= float(rate) < 1:
            raise ValueError(f"rate: expected a float in [0, 1), received {rate}")
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = _seed.check_seed(seed)
        self._stream_seed = self.seed if self.seed is not None else _seed.next_seed()
        self._step = 0

    def _chain_steps(self, input_shape):
        return []  # inference leaves each sample's values as they are

    def _forward(self, x, ws, training, fuse=False):
        if not training or self.rate == 0:
            ws.active = False
            return x
        ws.active = True
        step = self._step
        self._step += 1
        if self.noise_shape is None:
            out = ws.array("y", x.shape)
            mask = ws.array("mask", x.shape, np.uint8)
            _core.dropout_forward(x, out, mask, self.rate, self._stream_seed, step)
            ws.mask, ws.bmask = mask, None
            return out
        shape = tuple(x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        ones = np.ones(shape, self.dtype)
        scaled = np.empty_like(ones)
        mask = np.empty(shape, np.uint8)
        _core.dropout_forward(ones, scaled, mask, self.rate, self._stream_seed, step)
        ws.bmask, ws.mask = scaled, None
        return np.ascontiguousarray(x * scaled, dtype=self.dtype)

    def _backward(self, dy, ws, need_dx):
        if not need_dx:
            return None
        if not ws.active:
            return dy
        dy = np.ascontiguousarray(dy)
        if ws.mask is not None:
            dx = ws.array("dx", dy.shape)
            _core.dropout_backward(dy, ws.mask, dx, self.rate)
            return dx
        return np.ascontiguousarray(dy * ws.bmask, dtype=self.dtype)

    def call(self, inputs, training=False):
        return self._call_kernels(inputs, training)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


class Flatten(Layer):
    """Flattens each sample to one axis: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...).

    Args:
        data_format: only "channels_last" (or None) is supported. Defaults to None.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"data_format: only 'channels_last' is supported, received "
                             f"{data_format!r}")
        super().__init__(**kwargs)
        self.data_format = data_format

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], size)

    def _chain_steps(self, input_shape):
        return []  # inference leaves each sample's values as they are

    def _forward(self, x, ws, training, fuse=False):
        ws.in_shape = x.shape
        # the width spelled out: reshape(0, -1) is ambiguous for an empty batch
        return x.reshape(x.shape[0], _features(x.shape)) if x.ndim != 2 else x

    def _backward(self, dy, ws, need_dx):
        return dy.reshape(ws.in_shape) if need_dx else None

    def call(self, inputs, training=False):
        x = np.asarray(inputs, dtype=self.dtype)
        return x.reshape(x.shape[0], _features(x.shape)).copy()

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _features(shape):
    """Values per sample: the product of the non-batch dimensions."""
    n = 1
    for d in shape[1:]:
        n *= d
    return n


class Reshape(Layer):
    """Reshapes each sample to target_shape (one dimension may be -1).

    Args:
        target_shape: the new shape of one sample. Default required.
        **kwargs: name, trainable, dtype, input_shape.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (list, tuple)) and -1 in target_shape:
            if any(isinstance(d, bool) or not isinstance(d, (int, np.integer))
                   for d in target_shape):
                raise TypeError(f"target_shape: expected a tuple of ints, received "
                                f"{target_shape!r}")
            _shape_tuple([d for d in target_shape if d != -1], "target_shape")
            shape = tuple(int(d) for d in target_shape)
        else:
            shape = _shape_tuple(target_shape, "target_shape")
        if sum(1 for d in shape if d == -1) > 1:
            raise ValueError(f"target_shape: at most one dimension may be -1, received {target_shape}")
        self.target_shape = shape

    def _resolved(self, input_shape):
        size = int(np.prod(input_shape[1:], dtype=np.int64))
        known = int(np.prod([d for d in self.target_shape if d != -1], dtype=np.int64))
        shape = list(self.target_shape)
        if -1 in shape:
            if known == 0 or size % known:
                raise ValueError(f"Reshape '{self.name}' cannot reshape input of shape "
                                 f"{tuple(input_shape)} to {self.target_shape}")
            shape[shape.index(-1)] = size // known
        elif known != size:
            raise ValueError(f"Reshape '{self.name}' cannot reshape input of shape "
                             f"{tuple(input_shape)} ({size} values per sample) to "
                             f"{self.target_shape} ({known} values)")
        return tuple(shape)

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        return (input_shape[0],) + self._resolved(input_shape)

    def _chain_steps(self, input_shape):
        return []  # inference leaves each sample's values as they are

    def _forward(self, x, ws, training, fuse=False):
        ws.in_shape = x.shape
        return x.reshape((x.shape[0],) + self._resolved(x.shape))

    def _backward(self, dy, ws, need_dx):
        return dy.reshape(ws.in_shape) if need_dx else None

    def call(self, inputs, training=False):
        x = np.asarray(inputs, dtype=self.dtype)
        return x.reshape((x.shape[0],) + self._resolved(x.shape)).copy()

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class InputLayer(Layer):
    """Declares the shape of a model's input; Sequential reads it and drops the layer.

    Args:
        shape: the shape of one sample. Defaults to None.
        batch_size: a fixed batch size (informational). Defaults to None.
        dtype: the input dtype. Defaults to backend.floatx().
        batch_shape: the shape with the batch axis first, instead of shape. Defaults to None.
        name: the layer's name. Defaults to None.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 sparse=None, input_shape=None, batch_input_shape=None, **kwargs):
        if sparse:
            raise ValueError("sparse: sparse inputs are not supported")
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if shape is None and batch_shape is None:
            raise ValueError("shape: InputLayer needs shape= or batch_shape=, received neither")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is not None:
            batch_shape = _shape_tuple(batch_shape, "batch_shape")
            self.input_spec_shape = batch_shape[1:]
            batch_size = batch_shape[0]
        else:
            self.input_spec_shape = _shape_tuple(shape, "shape")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
                batch_size, (int, np.integer)) or batch_size < 1):
            raise ValueError(f"batch_size: Input expected None or a positive int, received "
                             f"{batch_size!r}")
        self.batch_size = batch_size

    def get_config(self):
        return {"batch_shape": (self.batch_size,) + tuple(self.input_spec_shape),
                "dtype": self.dtype, "sparse": False, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("ragged", None)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """Declare a model's input shape; use it as the first entry of a Sequential model.

    Args:
        shape: the shape of one sample, e.g. (784,). Defaults to None.
        batch_size: a fixed batch size. Defaults to None.
        dtype: the input dtype. Defaults to backend.floatx().
        sparse: not supported; must be None or False. Defaults to None.
        batch_shape: the shape with the batch axis first. Defaults to None.
        name: the input's name. Defaults to None.

    Returns:
        An InputLayer (fastnn's Sequential models take it in place of Keras's symbolic
        tensor; the functional API is not supported).
    """
    if tensor is not None:
        raise ValueError("tensor: Input(tensor=...) is not supported")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      batch_shape=batch_shape, name=name)


