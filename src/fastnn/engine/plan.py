"""Compiled plans: the fixed sequence of kernel calls of one training or inference step.

A plan is made when fit / evaluate / predict starts. It holds one Workspace per layer, so
every activation, gradient and scratch buffer is allocated on the first batch and reused by
every later one (the last, smaller batch uses prefix views), and it decides once what can
be fused: a final softmax or sigmoid folds into the cross-entropy, which then starts the
backward pass from the logits.
"""
import threading

import numpy as np

from fastnn import _core, variables
from fastnn.engine.workspace import Workspace
from fastnn.losses.builtin import _RED as _LOSS_RED, _labels as _loss_labels

__all__ = ["TrainPlan", "InferencePlan"]

_FUSABLE = {"softmax": ("CategoricalCrossentropy", "SparseCategoricalCrossentropy"),
            "sigmoid": ("BinaryCrossentropy",)}


def _fused_loss(last_layer, loss):
    """The logits version of loss when last_layer's activation can fold into it."""
    act = last_layer._output_activation()
    if act is None or type(loss).__name__ not in _FUSABLE[act]:
        return None
    variant = getattr(loss, "logits_variant", lambda: None)()
    return variant


def layer_dtypes(layers):
    """Each layer's dtype when the layers compute in more than one dtype, else None. As in
    Keras, a layer then casts a floating input of another dtype to its own, and the
    backward pass casts each gradient to the dtype of the layer it enters."""
    dtypes = [np.dtype(layer.dtype) for layer in layers]
    return dtypes if len(set(dtypes)) > 1 else None


def cast_into(ws, name, a, dtype):
    """a itself, or, when it is a floating array of another dtype, its values in dtype,
    written into the workspace's named buffer (made once, reused by every batch). Mixed-
    dtype models cast each layer's input and gradient so (see layer_dtypes), and targets
    and sample weights, which are made in the input's dtype, to the output's (Keras's
    losses cast y_true to y_pred's dtype)."""
    if not isinstance(a, np.ndarray) or a.dtype == dtype or a.dtype.kind != "f":
        return a
    buf = ws.array(name, a.shape, dtype)
    np.copyto(buf, a, casting="same_kind")
    return buf


class InferencePlan:
    """Forward passes in inference mode.

    When every layer can describe its inference pass as steps over rows (dense layers,
    element-wise activations, row softmaxes, and layers that leave the values alone), the
    whole pass is one InferenceChain: one C call from the input to a new output array,
    with no per-layer Python and no shared buffers. The chain holds the packed weights; it
    is rebuilt when any variable has changed since (variables.generation()) or the kernel
    family has. Otherwise the layers run one by one over reused buffers, one set per
    thread: layers write their outputs into their workspace, so two threads predicting
    with the same model at once must not share them.
    """

    def __init__(self, model):
        self.model = model
        self.layers = model._plan_layers()
        self.dtypes = layer_dtypes(self.layers)
        self._local = threading.local()
        self._chain = None
        self._key = None
        self._in_shape = None
        self._out_tail = None

    @property
    def ws(self):
        """This thread's workspaces, one per layer, made on the thread's first forward."""
        ws = getattr(self._local, "ws", None)
        if ws is None:
            ws = self._local.ws = [Workspace(layer.dtype) for layer in self.layers]
        return ws

    def _build_chain(self):
        model = self.model
        shape = getattr(model, "_model_input_shape", None)
        if (not self.layers or shape is None or any(d is None for d in shape[1:])
                or self.dtypes is not None):
            return None
        steps = []
        for layer in self.layers:
            part = layer._chain_steps(tuple(shape))
            if part is None:
                return None
            steps.extend(part)
            shape = tuple(layer.output_shape)
        if not steps:
            return None
        self._in_shape = tuple(model._model_input_shape[1:])
        self._out_tail = tuple(shape[1:])
        chain = _core.InferenceChain(steps, model._dtype())
        chain.set_shapes(self._in_shape, self._out_tail)
        return chain

    def chain(self):
        """The current InferenceChain, or None when the model has none."""
        key = (variables._generation, _core.kernel_serial)
        if key != self._key:
            self._chain = self._build_chain()
            self._key = key
        return self._chain

    def call(self, x):
        """A new output array for x, through the chain; None when x is not an input the
        chain takes as it is (a C-contiguous array of the model's dtype and input shape)."""
        chain = self.chain()
        return None if chain is None else chain.try_call(x)

    def forward(self, x):
        out = self.call(x) if type(x) is np.ndarray else None
        if out is not None:
            return out
        h = x
        dtypes = self.dtypes
        for i, (layer, ws) in enumerate(zip(self.layers, self.ws)):
            if dtypes is not None:
                h = cast_into(ws, "cast_x", h, dtypes[i])
            h = layer._forward(h, ws, False)
        return h


class TrainPlan:
    """One training step: forward, fused loss and gradient, backward, update."""

    # The TrainChain keeps a packed copy of each dense kernel, which Adam's update in the
    # chain rewrites and the next step's forward reads while the kernel's version says it
    # has not changed since: a packed B is read faster than the kernel in place, and
    # copying each block Adam has just written costs less than packing it again. No result
    # changes (tests compare the two).
    pack_weights = True

    def __init__(self, model):
        self.model = model
        self.layers = model._plan_layers()
        self.dtypes = layer_dtypes(self.layers)
        for layer in self.layers:
            layer._check_trainable()
        self.ws = [Workspace(layer.dtype) for layer in self.layers]
        self.loss = model._loss
        self.loss_weight = model._loss_weight
        last = self.layers[-1] if self.layers else None
        # a final activation folds into the loss, unless a regularizer needs its output
        self.fused = None if last is None or getattr(last, "activity_regularizer", None) \
            is not None else _fused_loss(last, self.loss)
        self.step_loss = self.fused if self.fused is not None else self.loss
        self.output_act = self.layers[-1]._output_activation() if self.fused is not None else None
        self.variables = []
        self.layer_vars = []
        for layer in self.layers:
            tv = layer.trainable_weights
            self.layer_vars.append(tv)
            self.variables.extend(tv)
        first = next((i for i, tv in enumerate(self.layer_vars) if tv), len(self.layers))
        # dx is needed only below the first layer that has something to train
        self.need_dx = [i > first for i in range(len(self.layers))]
        self.first_trainable = first
        self.backward_order = list(range(len(self.layers) - 1, first - 1, -1))
        self.regularized = [(v, v.regularizer) for layer in self.layers for v in layer.weights
                            if getattr(v, "regularizer", None) is not None and v.trainable]
        self.activity = [(i, layer.activity_regularizer) for i, layer in enumerate(self.layers)
                         if getattr(layer, "activity_regularizer", None) is not None]
        self.activity_layers = {i for i, _ in self.activity}
        self.grads = None
        self._gbuf = None
        self._gviews = {}
        self._pbuf = None
        opt = model.optimizer
        if self.variables and not opt.built:
            opt.build(self.variables)
        self._train_layout = False  # decided on the first step
        self._tc = None
        # per chain step, the kernel version its packed copy holds (-1: none)
        self._packed_versions = None

    def _grad_buffer(self, shape, dtype):
        view = self._gviews.get(shape)
        if view is None or view.dtype != dtype:
            size = 1
            for d in shape:
                size *= d
            if self._gbuf is None or self._gbuf.size < size or self._gbuf.dtype != dtype:
                self._gbuf = np.empty(max(size, 1), dtype)
                self._gviews = {}
            view = self._gviews[shape] = self._gbuf[:size].reshape(shape)
        return view

    def predictions(self, out):
        """The model's real output (probabilities) when the step worked on logits."""
        if self.output_act is None:
            return out
        size = out.size
        if self._pbuf is None or self._pbuf.size < size or self._pbuf.dtype != out.dtype:
            self._pbuf = np.empty(max(size, 1), out.dtype)
        p = self._pbuf[:size].reshape(out.shape)
        if self.output_act == "softmax":
            _core.softmax(out.reshape(-1, out.shape[-1]), p.reshape(-1, out.shape[-1]))
        else:
            _core.act_forward(out, _SIGMOID_SPEC, p)
        return p

    def forward(self, x):
        h = x
        keep = self.activity_layers
        fuse_at = len(self.layers) - 1 if self.fused is not None else -1
        dtypes = self.dtypes
        for i, (layer, ws) in enumerate(zip(self.layers, self.ws)):
            if dtypes is not None:
                h = cast_into(ws, "cast_x", h, dtypes[i])
            h = layer._forward(h, ws, True, i == fuse_at)
            if keep and i in keep:
                ws.last_output = h
        return h

    # ---- the whole step below the update in one C call (TrainChain) -------------------------

    def _chain_layout(self):
        """The TrainChain steps of this model, as (kind, layer) pairs, or None when some part
        of the step needs the layer-by-layer path: a layer other than Dense, Dropout,
        Flatten and Reshape, an activation without a kernel, a frozen or regularized weight,
        a loss that is not a plain kernel loss, a loss weight."""
        from fastnn.layers.core import Dense, Dropout, Flatten, Reshape
        from fastnn.losses.builtin import KernelLoss
        model, loss = self.model, self.step_loss
        if (not self.layers or self.regularized or self.activity or self.loss_weight != 1.0
                or self.dtypes is not None
                or not isinstance(loss, KernelLoss)
                or type(loss).forward_backward is not KernelLoss.forward_backward
                or getattr(loss, "axis", -1) != -1 or model._dtype() not in (np.float32, np.float64)):
            return None
        shape = getattr(model, "_model_input_shape", None)
        if shape is None or any(d is None for d in shape[1:]):
            return None
        layout = []
        last = len(self.layers) - 1
        dtype = model._dtype()
        for i, layer in enumerate(self.layers):
            kind = type(layer)
            if np.dtype(layer.dtype) != dtype:
                return None
            if kind is Dense:
                act = layer._act
                fused_softmax = (i == last and self.fused is not None and act.kind == "softmax"
                                 and act.fusable() == "softmax")
                if (len(shape) != 2 or act.kind not in ("linear", "elementwise")
                        and not fused_softmax):
                    return None
                if not layer.trainable or not all(v.trainable for v in layer.weights):
                    return None
                layout.append(("dense", layer))
            elif kind is Dropout:
                if layer.noise_shape is not None:
                    return None
                if layer.rate != 0:
                    layout.append(("dropout", layer))
            elif kind not in (Flatten, Reshape):
                return None
            shape = tuple(layer.output_shape)
        if not any(kind == "dense" for kind, _ in layout):
            return None
        return layout

    def _build_train_chain(self, rows):
        """(chain, weight variables, their arrays, dropout layers, every layer of the chain,
        the kernel family serial it was made under, each step's kernel variable or None)."""
        layout = self._train_layout
        first = next(j for j, (k, _) in enumerate(layout) if k == "dense")
        last = self.layers[-1]
        steps, variables = [], []
        for j, (kind, layer) in enumerate(layout):
            if kind == "dense":
                spec, keep_z = layer._train_spec(layer is last and self.fused is not None)
                ws = self.ws[self.layers.index(layer)]
                grads = ws.grad_arrays(layer.trainable_weights)
                bias = layer.bias if layer.use_bias else None
                steps.append(("dense", layer.kernel.value, None if bias is None else bias.value,
                              spec, keep_z, grads[0], None if bias is None else grads[1],
                              j > first))
                variables += [layer.kernel] if bias is None else [layer.kernel, bias]
            else:
                width = 1
                for d in layer.output_shape[1:]:
                    width *= d
                steps.append(("dropout", width, layer.rate, layer._stream_seed, j > first))
        chain = _core.TrainChain(steps, self.model._dtype(), rows, self.pack_weights)
        kernels = [layer.kernel if kind == "dense" and chain.packed_weights(j) is not None
                   else None for j, (kind, layer) in enumerate(layout)]
        self._packed_versions = [-1] * len(layout)
        return (chain, variables, [v.value for v in variables],
                [layer for kind, layer in layout if kind == "dropout"],
                [layer for _, layer in layout], _core.kernel_serial, kernels)

    def _chain_step(self, x, y, sw):
        """(loss, logits) of the step through the TrainChain, or None for the layer path
        (which also raises the errors of a bad batch, with its own messages)."""
        layout = self._train_layout
        if layout is False:
            layout = self._train_layout = self._chain_layout()
        if layout is None or type(x) is not np.ndarray or x.ndim == 0:
            return None
        m = x.shape[0]
        tc = self._tc
        if tc is None or m > tc[0].rows_max or tc[5] != _core.kernel_serial or any(
                v.value is not a for v, a in zip(tc[1], tc[2])):
            if m == 0:
                return None
            tc = self._tc = self._build_train_chain(m)
        chain = tc[0]
        if (x.dtype != chain.dtype or not x.flags.c_contiguous or not x.flags.aligned
                or x.size != m * chain.in_width):
            return None
        loss = self.step_loss
        labels = t = None
        adam = None
        try:
            if loss._sparse:
                if type(y) is not np.ndarray:
                    return None
                if y.dtype == np.int64 and y.flags.c_contiguous and y.size == m:
                    labels = y.reshape(m)
                else:
                    labels = _loss_labels(y, (m,))
            else:
                if type(y) is not np.ndarray or y.dtype != chain.dtype or y.size != y.shape[0] * \
                        chain.out_width or y.shape[0] != m or not y.flags.c_contiguous:
                    return None
                t = y
            if self.variables and not self.regularized:
                chain_update = getattr(self.model.optimizer, "_engine_chain_update", None)
                if chain_update is not None:
                    adam = chain_update(self._grads(), self.variables)
            valid = [kv is not None and kv.version == pv
                     for kv, pv in zip(tc[6], self._packed_versions)]
            value = chain.step(x, m, [getattr(layer, "_step", 0) for layer in tc[4]],
                               loss._spec(), t, labels, sw, _LOSS_RED[loss.reduction] or 1,
                               adam, valid)
        except (ValueError, TypeError):
            return None
        for layer in tc[3]:
            layer._step += 1
        return value, chain.out[:m], adam is not None

    def step(self, x, y, sw):
        """Run one training step on a batch and return (loss, output)."""
        res = self._chain_step(x, y, sw)
        if res is not None:
            if res[2]:
                self.model.optimizer._engine_finish()
                # Adam rewrote the packed kernels: they hold the kernels as they are now,
                # unless a constraint has changed a kernel since
                self._packed_versions = [
                    -1 if kv is None or kv.constraint is not None else kv.version
                    for kv in self._tc[6]]
            else:
                self._packed_versions = [-1] * len(self._tc[6])
                if self.variables:
                    self._update()
            return res[0], res[1]
        out = self.forward(x)
        grad = self._grad_buffer(out.shape, out.dtype)
        if self.dtypes is not None:
            cast_ws = self.ws[-1]
            y = cast_into(cast_ws, "cast_y", y, out.dtype)
            sw = cast_into(cast_ws, "cast_sw", sw, out.dtype)
        loss = self.step_loss.forward_backward(y, out, sw, grad)
        if self.loss_weight != 1.0:
            loss *= self.loss_weight
            grad *= self.loss_weight
        regularized = self.regularized
        if regularized:
            for v, reg in regularized:
                loss += float(reg(v.value))
        activity = self.activity
        if activity:
            loss += self.activity_penalty()
        g = grad
        layers, ws, need_dx, dtypes = self.layers, self.ws, self.need_dx, self.dtypes
        for i in self.backward_order:
            if dtypes is not None:
                g = cast_into(ws[i], "cast_g", g, dtypes[i])
            if activity and i in self.activity_layers:
                g = self._activity_grad(i, g)
            g = layers[i]._backward(g, ws[i], need_dx[i])
        if self.variables:
            self._update()
        return loss, out

    def _grads(self):
        """The gradient buffers the backward pass fills, one per variable."""
        grads = self.grads
        if grads is None:
            grads = self.grads = [g for w, tv in zip(self.ws, self.layer_vars) if tv
                                  for g in w.grad_arrays(tv)]
            opt = self.model.optimizer
            self._apply = getattr(opt, "_engine_apply", None) or opt.apply
        return grads

    def _update(self):
        """The optimizer step on the gradient buffers the backward pass filled."""
        grads = self._grads()
        for v, reg in self.regularized:
            reg.gradient(v.value, out=grads[self._index(v)], accumulate=True)
        self._apply(grads, self.variables)

    def _index(self, var):
        for i, v in enumerate(self.variables):
            if v is var:
                return i
        raise KeyError(var.path)

    def _activity_grad(self, i, g):
        reg = dict(self.activity)[i]
        out = self.ws[i].last_output
        n = out.shape[0]
        return np.ascontiguousarray(g + reg.gradient(out) / n, dtype=g.dtype)

    def activity_penalty(self):
        total = 0.0
        for i, reg in self.activity:
            out = self.ws[i].last_output
            total += float(reg(out)) / out.shape[0]
        return total


_SIGMOID_SPEC = (8, 0.0, float("inf"), 0.0)
