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
        if not self.layers or shape is None or any(d is None for d in shape[1:]):
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
        return _core.InferenceChain(steps, model._dtype())

    def chain(self):
        """The current InferenceChain, or None when the model has none."""
        key = (variables.generation(), _core.kernel_name())
        if key != self._key:
            self._chain = self._build_chain()
            self._key = key
        return self._chain

    def call(self, x):
        """A new output array for x, through the chain; None when x is not an input the
        chain takes as it is (a C-contiguous array of the model's dtype and input shape)."""
        chain = self.chain()
        if (chain is None or x.dtype != chain.dtype or x.shape[1:] != self._in_shape
                or not x.flags.c_contiguous or not x.flags.aligned):
            return None
        m = x.shape[0]
        y = chain(x if x.ndim == 2 else x.reshape(m, chain.in_width))
        return y if len(self._out_tail) == 1 else y.reshape((m,) + self._out_tail)

    def forward(self, x):
        out = self.call(x) if type(x) is np.ndarray else None
        if out is not None:
            return out
        h = x
        for layer, ws in zip(self.layers, self.ws):
            h = layer._forward(h, ws, False)
        return h


class TrainPlan:
    """One training step: forward, fused loss and gradient, backward, update."""

    def __init__(self, model):
        self.model = model
        self.layers = model._plan_layers()
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
        for i, (layer, ws) in enumerate(zip(self.layers, self.ws)):
            h = layer._forward(h, ws, True, i == fuse_at)
            if keep and i in keep:
                ws.last_output = h
        return h

    def step(self, x, y, sw):
        """Run one training step on a batch and return (loss, output)."""
        out = self.forward(x)
        grad = self._grad_buffer(out.shape, out.dtype)
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
        layers, ws, need_dx = self.layers, self.ws, self.need_dx
        for i in self.backward_order:
            if activity and i in self.activity_layers:
                g = self._activity_grad(i, g)
            g = layers[i]._backward(g, ws[i], need_dx[i])
        if self.variables:
            grads = self.grads
            if grads is None:
                grads = self.grads = [g for w, tv in zip(ws, self.layer_vars) if tv
                                      for g in w.grad_arrays(tv)]
                opt = self.model.optimizer
                self._apply = getattr(opt, "_engine_apply", None) or opt.apply
            for v, reg in regularized:
                reg.gradient(v.value, out=grads[self._index(v)], accumulate=True)
            self._apply(grads, self.variables)
        return loss, out

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
