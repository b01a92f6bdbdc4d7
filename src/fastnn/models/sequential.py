"""Sequential: a linear stack of layers, compiled, trained and run by fastnn's engine."""
import numbers

import numpy as np

from fastnn import backend
from fastnn.engine import training
from fastnn.layers.base import Layer, checked_weight_values
from fastnn.layers.core import InputLayer
from fastnn.models.summary import shape_str

__all__ = ["Sequential"]


class Sequential(Layer):
    """A linear stack of layers: Keras's Sequential model.

    Args:
        layers: a list of layers (an Input first declares the input shape). Defaults to None.
        name: the model's name. Defaults to None ('sequential', 'sequential_1', ...).
        trainable: whether the model's weights are trained. Defaults to True.

    Example:
        >>> model = fastnn.Sequential([fastnn.Input((784,)), fastnn.layers.Dense(10)])
        >>> model.compile(optimizer="adam", loss="mse")
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._layers = []
        self._input_layer = None
        self._compiled = False
        self.optimizer = None
        self.loss = None
        self._loss = None
        self._loss_weight = 1.0
        self._metric_specs = []
        self._weighted_metric_specs = []
        self._metric_objs = None
        self._infer = None
        self.stop_training = False
        self.history = None
        if layers is not None:
            if isinstance(layers, Layer):
                layers = [layers]
            for layer in layers:
                self.add(layer)

    # ---- structure -------------------------------------------------------------------
    def add(self, layer):
        """Append a layer (an InputLayer / Input only as the first entry)."""
        if not isinstance(layer, Layer):
            raise TypeError(f"layer: expected a fastnn.layers.Layer instance, received "
                            f"{type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("layer: an Input can only be the first layer of a Sequential "
                                 "model")
            self._input_layer = layer
        else:
            if any(existing is layer for existing in self._layers):
                raise ValueError(f"layer: '{layer.name}' is already in this model")
            names = {lyr.name for lyr in self._layers}
            if layer.name in names:
                raise ValueError(f"layer: all layers of a model need unique names; "
                                 f"'{layer.name}' is already used")
            self._layers.append(layer)
        self._invalidate()
        shape = self._declared_input_shape()
        if self._layers and (shape is not None or self.built):
            self.build(getattr(self, "_model_input_shape", None) or (None,) + tuple(shape))

    def pop(self):
        """Remove and return the last layer."""
        if not self._layers:
            raise IndexError("pop: the model has no layers to remove")
        layer = self._layers.pop()
        self._invalidate()
        if self.built:
            self.built = False
            if self._layers:
                self._rebuild_shapes()
        return layer

    def _invalidate(self):
        self._infer = None
        self._metric_objs = None

    @property
    def layers(self):
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A layer by name or by index."""
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"name: no layer named {name!r}; layers are "
                         f"{[lyr.name for lyr in self._layers]}")

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.input_spec_shape
        if self._layers and self._layers[0].input_spec_shape is not None:
            return self._layers[0].input_spec_shape
        return None

    def _input_names(self):
        if self._input_layer is not None:
            return (self._input_layer.name,)
        return ("input_layer",)

    def build(self, input_shape=None):
        """Build every layer for inputs of this shape (batch axis first)."""
        if input_shape is None:
            shape = self._declared_input_shape()
            if shape is None:
                raise ValueError("input_shape: the model has no known input shape; pass "
                                 "build(input_shape), or give the first layer input_shape=, or "
                                 "start with an Input")
            input_shape = (None,) + tuple(shape)
        if not self._layers:
            raise ValueError("build: the model has no layers")
        shape = tuple(input_shape)
        self._model_input_shape = shape
        for layer in self._layers:
            layer._maybe_build(shape)
            shape = tuple(layer.compute_output_shape(shape))
            layer.output_shape = shape
        self.built = True
        self.input_shape = tuple(input_shape)
        self.output_shape = shape

    def _rebuild_shapes(self):
        self.build(self._model_input_shape)

    def _check_input_shape(self, shape):
        expected = getattr(self, "input_shape", None)
        if expected is None:
            return
        got = tuple(shape)
        if len(got) != len(expected) or any(
                e is not None and e != g for e, g in zip(expected[1:], got[1:])):
            raise ValueError(f"x: model '{self.name}' expected input of shape "
                             f"{shape_str(expected)}, received shape {shape_str(got)}")

    def _build_from_data(self, data):
        x = getattr(data, "x", None)
        if self.built:
            if x is not None:
                self._check_input_shape(x.shape)
            return
        x = getattr(data, "x", None)
        if x is None:
            shape = self._declared_input_shape()
            if shape is None:
                raise ValueError("x: cannot infer the model's input shape from a Sequence or a "
                                 "generator; call build(input_shape) first or start with Input")
            self.build((None,) + tuple(shape))
        else:
            self.build((None,) + x.shape[1:])

    def _plan_layers(self):
        return self._layers

    def _dtype(self):
        return np.dtype(self._layers[0].dtype if self._layers else backend.floatx())

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    # ---- weights ---------------------------------------------------------------------
    @property
    def weights(self):
        return [v for layer in self._layers for v in layer.weights]

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [v for layer in self._layers for v in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [v for layer in self._layers for v in layer.non_trainable_weights]

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in getattr(self, "_layers", []):
            layer.trainable = value

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        """Set all weights from a list of arrays, in the order get_weights returns them."""
        weights = list(weights)
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"weights: model '{self.name}' expected a list of {len(own)} "
                             f"arrays, received {len(weights)}")
        arrays = checked_weight_values(own, weights, f"model '{self.name}' weight")
        for v, arr in zip(own, arrays):
            v.assign(arr)

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the "
                             f"layer isn't built. You can build it manually via: "
                             f"`{self.name}.build(batch_input_shape)`.")
        return int(sum(v.size for v in self.weights))

    # ---- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: optimizer, loss and metrics.

        Args:
            optimizer: an optimizer name or instance. Defaults to "rmsprop".
            loss: a loss name, instance or function. Defaults to None.
            metrics: a list of metric names, instances or functions. Defaults to None.
            loss_weights: a scalar (or one-element list/dict) scaling the loss. Defaults to
                None.
            weighted_metrics: metrics that take sample weights into account. Defaults to
                None.
        """
        from fastnn import losses, metrics as metrics_mod, optimizers

        # Everything is resolved and checked before anything is assigned: a compile() that
        # fails leaves the model as it was (its optimizer and that optimizer's state too).
        opt = optimizers.get(optimizer)
        if loss is None:
            raise ValueError("loss: compile() needs a loss to train with, received None")
        loss_obj = losses.get(loss)
        loss_weight = _loss_weight(loss_weights)
        metric_specs = _metric_list(metrics, "metrics")
        weighted_specs = _metric_list(weighted_metrics, "weighted_metrics")
        for specs, name in ((metric_specs, "metrics"), (weighted_specs, "weighted_metrics")):
            for spec in specs:
                try:
                    metrics_mod.resolve(spec, loss_obj)  # unknown names fail here, not in fit
                except (TypeError, ValueError) as e:
                    raise (TypeError if isinstance(e, TypeError) else ValueError)(
                        f"{name}: {e}") from None
        _check_compile_flags(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss)
        self.optimizer = opt
        self.loss = loss
        self._loss = loss_obj
        self._loss_weight = loss_weight
        self._metric_specs = metric_specs
        self._weighted_metric_specs = weighted_specs
        self._metric_objs = None
        self._compiled = True

    def _compiled_metrics(self, data, fresh=False):
        from fastnn import metrics as metrics_mod

        if self._metric_objs is not None and not fresh:
            return self._metric_objs
        y = getattr(data, "y", None)
        y_shape = None if y is None else (None,) + y.shape[1:]
        out = []
        for specs, weighted in ((self._metric_specs, False), (self._weighted_metric_specs, True)):
            for spec in specs:
                m = metrics_mod.resolve(spec, self._loss, y_shape, self.output_shape)
                m._weighted = weighted
                out.append(m)
        plain = {m.name for m in out if not m._weighted}
        for m in out:
            if m._weighted and m.name in plain:
                m.name = "weighted_" + m.name  # Keras's name when both lists have it
        if not fresh:
            self._metric_objs = out
        return out

    @property
    def metrics_names(self):
        names = ["loss"]
        for m in self._metric_objs or []:
            names.append(m.name)
        return names

    # ---- run -------------------------------------------------------------------------
    def _inference_plan(self):
        from fastnn.engine.plan import InferencePlan

        if self._infer is None or self._infer.layers is not self._layers:
            self._infer = InferencePlan(self)
        return self._infer

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        """Train the model; returns a History. Keras's arguments and semantics."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, class_weight,
                            sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                            validation_batch_size, validation_freq, max_queue_size, workers,
                            use_multiprocessing)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss (and metrics) on the given data, as Keras returns them."""
        _keras2_kwargs(kwargs, "evaluate")
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, steps,
                                 callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                **kwargs):
        """The model's outputs for the inputs x, as one NumPy array."""
        if kwargs:
            _keras2_kwargs(kwargs, "predict")
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    def __call__(self, inputs, training=False):
        if training is False and type(inputs) is np.ndarray:  # the one-call inference path
            plan = self._infer
            if plan is not None and plan.layers is self._layers:
                out = plan.call(inputs)
                if out is not None:
                    return out
        from fastnn.engine.data_adapter import as_array
        x = as_array(inputs, self._dtype(), "x")
        if not self.built:
            self.build((None,) + x.shape[1:])
        else:
            self._check_input_shape(x.shape)
        if training:
            from fastnn.engine.plan import cast_into, layer_dtypes
            from fastnn.engine.workspace import Workspace
            h = x
            dtypes = layer_dtypes(self._layers)
            for i, layer in enumerate(self._layers):
                ws = Workspace(layer.dtype)
                if dtypes is not None:
                    h = cast_into(ws, "cast_x", h, dtypes[i])
                h = layer._forward(h, ws, True)
            return np.array(h)
        plan = self._inference_plan()
        out = plan.call(x)
        return out if out is not None else np.array(plan.forward(x))

    def call(self, inputs, training=False):
        return self(inputs, training=training)

    def predict_on_batch(self, x):
        """Outputs for one batch."""
        return self(x)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient step on one batch; returns the loss (and metrics) on it."""
        from fastnn.engine import data_adapter
        from fastnn.engine.plan import TrainPlan

        training._check_compiled(self, "train_on_batch")
        # one batch: arrays on disk (HDF5Matrix) are read whole
        x, y, sample_weight = (np.asarray(a) if data_adapter.is_lazy(a) else a
                               for a in (x, y, sample_weight))
        dtype = self._dtype()
        data = data_adapter.make_data(x, y, sample_weight, len(np.asarray(x)) or 1, dtype,
                                      self._loss, self._input_names(), class_weight=class_weight)
        self._build_from_data(data)
        training._check_before_training(self, data, None, False)
        plan = getattr(self, "_batch_plan", None)
        if plan is None or plan.layers is not self._layers or plan.model.optimizer is not self.optimizer:
            plan = self._batch_plan = TrainPlan(self)
        metrics = self._compiled_metrics(data)
        tracker = training._Tracker(metrics)
        tracker.reset()
        xb, yb, wb = data.x, data.y, data.sw
        loss, out = plan.step(xb, yb, wb)
        tracker.update(loss, len(xb), yb, plan.predictions(out), wb)
        return _result(tracker.logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on one batch, without training."""
        logs = training.evaluate(self, x, y, batch_size=len(np.asarray(x)) or 1, verbose=0,
                                 sample_weight=sample_weight, return_dict=True)
        return _result(logs, return_dict)

    # ---- summary and config ----------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print Keras's table of layers, output shapes and parameter counts."""
        from fastnn.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)

    def get_config(self):
        from fastnn import layers as layers_mod
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                  "layers": []}
        if self._input_layer is not None:
            config["layers"].append(layers_mod.serialize(self._input_layer))
        elif self._declared_input_shape() is not None or self.built:
            shape = self._declared_input_shape() or self.input_shape[1:]
            config["layers"].append(layers_mod.serialize(InputLayer(
                batch_shape=(None,) + tuple(shape), dtype=self.dtype,
                name=self._input_names()[0])))
        for layer in self._layers:
            config["layers"].append(layers_mod.serialize(layer))
        config["build_input_shape"] = getattr(self, "input_shape", None)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Build an (uncompiled) model from get_config()'s dict, fastnn's or tf.keras's."""
        from fastnn.saving.serialization import model_from_config

        return model_from_config({"class_name": "Sequential", "config": config},
                                 custom_objects=custom_objects, compile=False)

    # ---- saving (fastnn.saving does the work) ----------------------------------------
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model to a .keras file (Keras 3's format) or a legacy .h5 file.

        Args:
            filepath: a path ending in .keras, .h5 or .hdf5, or a binary file object.
                Default required.
            overwrite: whether an existing file may be replaced. Defaults to True.
            zipped: Keras's argument; only zipped .keras files are written. Defaults to
                None.
            **kwargs: include_optimizer (default True).
        """
        from fastnn.saving import api
        api.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and optimizer state) to a file ending in .weights.h5."""
        from fastnn.saving import api
        api.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a .weights.h5, .keras or legacy .h5 file."""
        from fastnn.saving import api
        api.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        """The model's config as JSON text; kwargs go to json.dumps."""
        from fastnn.saving import serialization
        return serialization.model_to_json(self, **kwargs)


def _result(logs, return_dict):
    if return_dict:
        return logs
    values = [logs["loss"]] + [v for k, v in logs.items() if k != "loss"]
    return values[0] if len(values) == 1 else values


def _keras2_kwargs(kwargs, what):
    """Keras 2's Sequence options, accepted (and checked) by evaluate and predict; any
    other keyword is an error, as in Keras 3."""
    from fastnn.engine import checks

    unknown = sorted(set(kwargs) - {"max_queue_size", "workers", "use_multiprocessing"})
    if unknown:
        raise TypeError(f"{unknown[0]}: unexpected keyword argument for {what}()")
    checks.check_fit_options(kwargs.get("max_queue_size", 10), kwargs.get("workers", 1),
                             kwargs.get("use_multiprocessing", False))


def _check_compile_flags(run_eagerly, steps_per_execution, jit_compile, auto_scale_loss):
    """Keras's compile() options that fastnn accepts and does not need: checked, not used."""
    if run_eagerly is not None and not isinstance(run_eagerly, (bool, np.bool_)):
        raise TypeError(f"run_eagerly: expected a bool, received {run_eagerly!r}")
    if steps_per_execution is None:
        steps_per_execution = 1  # Keras 2's default
    if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution,
                                                               numbers.Integral):
        raise TypeError(f"steps_per_execution: expected a positive int, received "
                        f"{steps_per_execution!r}")
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution: expected a positive int, received "
                         f"{steps_per_execution}")
    if not (jit_compile is None or isinstance(jit_compile, (bool, np.bool_)) or
            (isinstance(jit_compile, str) and jit_compile == "auto")):
        raise TypeError(f"jit_compile: expected True, False or 'auto', received {jit_compile!r}")
    if not isinstance(auto_scale_loss, (bool, np.bool_)):
        raise TypeError(f"auto_scale_loss: expected a bool, received {auto_scale_loss!r}")


def _loss_weight(loss_weights):
    if loss_weights is None:
        return 1.0
    if isinstance(loss_weights, dict):
        loss_weights = list(loss_weights.values())
    if isinstance(loss_weights, (list, tuple)):
        if len(loss_weights) != 1:
            raise ValueError(f"loss_weights: a Sequential model has one output; expected one "
                             f"weight, received {len(loss_weights)}")
        loss_weights = loss_weights[0]
    if isinstance(loss_weights, bool) or not isinstance(loss_weights, numbers.Real):
        raise TypeError(f"loss_weights: expected a number, received {loss_weights!r}")
    return float(loss_weights)


def _metric_list(metrics, name):
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        metrics = [m for v in metrics.values() for m in (v if isinstance(v, (list, tuple)) else [v])]
    if isinstance(metrics, (str, )) or callable(metrics) and not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(f"{name}: expected a list of metrics, received {type(metrics).__name__}")
    return list(metrics)


