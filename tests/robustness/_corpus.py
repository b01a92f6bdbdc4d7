"""The bad-input corpus: wrong calls across fastnn's public API, each with its expected error.

Every case gets a fresh, compiled and trained model (its optimizer has state), makes one
wrong call and checks three things:
  - the exception type (a case with ``exc=None`` must not raise; its check returns True);
  - that the message names the argument (``name``, a substring of the message);
  - that the model's weights and optimizer state are bit-identical afterwards.

Run it as ``python -X faulthandler -m tests.robustness._corpus``: it prints one JSON
object with a result per case. tests/robustness/test_bad_input.py runs it in a subprocess,
so a crash in C fails the test (with faulthandler's traceback) instead of killing pytest.
"""
import contextlib
import io
import json
import math
import os
import re
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import fastnn
from fastnn import callbacks as C
from fastnn import layers as L
from fastnn import losses, metrics, optimizers, ops, utils


@dataclass
class Case:
    id: str
    fn: Callable
    exc: Optional[tuple]
    name: Optional[str]
    keeps_weights: bool = True


CASES = []


def case(exc, name=None, keeps_weights=True):
    """Register fn(ctx) as a case expecting exc (a type, a tuple or None) whose message
    names `name` (as a whole word). keeps_weights=False only for calls that succeed and
    train."""
    def deco(fn):
        cid = fn.__name__
        assert all(c.id != cid for c in CASES), cid
        CASES.append(Case(cid, fn, exc if exc is None or isinstance(exc, tuple) else (exc,),
                          name, keeps_weights))
        return fn
    return deco


def names(message, name):
    """Whether message mentions name as a word of its own ('x' is not in 'expected')."""
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                     message) is not None


class Ctx:
    """A fresh model (4 -> 8 relu -> 3 softmax, adam, sparse labels) trained one epoch."""

    def __init__(self, tmp):
        fastnn.utils.set_random_seed(7)
        self.tmp = tmp
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((20, 4)).astype("float32")
        self.y = rng.integers(0, 3, 20)
        self.model = make_model()
        self.model.fit(self.x, self.y, epochs=1, batch_size=8, verbose=0)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def recompile(self, *args, **kwargs):
        """Compile the model anew as part of a case's setup (then snapshot again)."""
        self.model.compile(*args, **kwargs)
        self.before = snapshot(self.model)


def make_model(compile=True):
    model = fastnn.Sequential([fastnn.Input((4,)), L.Dense(8, activation="relu", name="d1"),
                               L.Dense(3, activation="softmax", name="d2")])
    if compile:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def snapshot(model):
    """(weights, optimizer state or None): copies to compare bit for bit afterwards."""
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    opt = getattr(model, "optimizer", None)
    state = None
    if opt is not None and getattr(opt, "built", False):
        state = (id(opt), [np.array(getattr(v, "value", v), copy=True) for v in opt.variables])
    return weights, state


def _same_arrays(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype and
                                    np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


def same(before, after):
    """Weights unchanged and, when the optimizer had state before, the same optimizer with
    the same state (a failed call may build a fresh optimizer's slots, nothing more)."""
    if not _same_arrays(before[0], after[0]):
        return False
    if before[1] is None:
        return True
    return after[1] is not None and before[1][0] == after[1][0] and \
        _same_arrays(before[1][1], after[1][1])


# ============================================================================ Sequential ===
@case(TypeError, "layer")
def seq_layer_not_a_layer(c):
    fastnn.Sequential([L.Dense(2), "dense"])


@case(ValueError, "layer")
def seq_input_after_layers(c):
    c.model.add(fastnn.Input((4,)))


@case(ValueError, "layer")
def seq_same_layer_twice(c):
    c.model.add(c.model.layers[0])


@case(ValueError, "build")
def seq_build_without_layers(c):
    fastnn.Sequential().build((None, 3))


@case(ValueError, "name")
def seq_get_layer_unknown_name(c):
    c.model.get_layer("nope")


@case(IndexError, "pop")
def seq_pop_empty(c):
    fastnn.Sequential().pop()


@case(ValueError, "weights")
def seq_set_weights_wrong_count(c):
    c.model.set_weights(c.model.get_weights()[:-1])


@case(ValueError, "weights")
def seq_set_weights_wrong_shape(c):
    w = c.model.get_weights()
    w[0] = np.zeros((5, 8), "float32")
    c.model.set_weights(w)


@case(TypeError, "weights")
def seq_set_weights_strings(c):
    w = c.model.get_weights()
    w[1] = np.array(["a"] * 8)
    c.model.set_weights(w)


# ================================================================================ layers ===
@case(ValueError, "units")
def dense_zero_units(c):
    L.Dense(0)


@case(ValueError, "units")
def dense_negative_units(c):
    L.Dense(-3)


@case(TypeError, "units")
def dense_units_str(c):
    L.Dense("8")


@case(TypeError, "units")
def dense_units_float(c):
    L.Dense(2.5)


@case(ValueError, "kernel")
def dense_units_beyond_addressable(c):
    fastnn.Sequential([fastnn.Input((4,)), L.Dense(2 ** 62)])


@case(MemoryError, "kernel")
def dense_units_beyond_memory(c):
    fastnn.Sequential([fastnn.Input((4,)), L.Dense(2 ** 40)])  # 16 TiB


@case(ValueError, "activation")
def dense_unknown_activation(c):
    L.Dense(3, activation="relux")


@case(TypeError, "activation")
def dense_activation_wrong_type(c):
    L.Dense(3, activation=3.5)


@case(ValueError, "initializer")
def dense_unknown_initializer(c):
    L.Dense(3, kernel_initializer="glorot_uniformm")


@case((TypeError, ValueError), "regularizer")
def dense_regularizer_wrong_type(c):
    L.Dense(3, kernel_regularizer=5)


@case(ValueError, "dtype")
def dense_int_dtype(c):
    L.Dense(3, dtype="int32")


@case(TypeError, "bogus")
def dense_unknown_kwarg(c):
    L.Dense(3, bogus=1)


@case(TypeError, "name")
def layer_name_not_str(c):
    L.Dense(3, name=5)


@case(ValueError, "d1")
def dense_call_wrong_last_dim(c):
    c.model.layers[0](np.ones((2, 5), "float32"))


@case(ValueError, "rate")
def dropout_rate_above_one(c):
    L.Dropout(1.5)


@case(ValueError, "rate")
def dropout_rate_negative(c):
    L.Dropout(-0.1)


@case(TypeError, "rate")
def dropout_rate_str(c):
    L.Dropout("half")


@case(ValueError, "target_shape")
def reshape_two_unknowns(c):
    L.Reshape((2, -1, -1))


@case(TypeError, "target_shape")
def reshape_str_dims(c):
    L.Reshape(("a", 2))


@case(ValueError, "Reshape")
def reshape_incompatible(c):
    fastnn.Sequential([fastnn.Input((4,)), L.Reshape((3,))])


@case(ValueError, "shape")
def input_negative_shape(c):
    fastnn.Input((-1,))


@case(TypeError, "shape")
def input_shape_str(c):
    fastnn.Input("abc")


@case(TypeError, "negative_slope")
def leaky_relu_slope_str(c):
    L.LeakyReLU(negative_slope="x")


@case(ValueError, "max_value")
def relu_negative_max_value(c):
    L.ReLU(max_value=-1.0)


@case(TypeError, "axis")
def softmax_axis_str(c):
    L.Softmax(axis="last")


@case(ValueError, "shared_axes")
def prelu_shared_axis_out_of_range(c):
    fastnn.Sequential([fastnn.Input((4,)), L.PReLU(shared_axes=[5])])


@case(TypeError, "shared_axes")
def prelu_shared_axes_str(c):
    L.PReLU(shared_axes="ab")


@case(ValueError, "activation")
def activation_layer_unknown(c):
    L.Activation("bogus")


# ================================================================================ compile ===
@case(ValueError, "optimizer")
def compile_unknown_optimizer(c):
    c.model.compile(optimizer="adamm", loss="mse")


@case(ValueError, "optimizer")  # Keras raises ValueError for an identifier of a wrong type
def compile_optimizer_int(c):
    c.model.compile(optimizer=5, loss="mse")


@case(ValueError, "loss")
def compile_unknown_loss(c):
    c.model.compile(optimizer="sgd", loss="msee")


@case(TypeError, "loss")
def compile_loss_int(c):
    c.model.compile(optimizer="sgd", loss=5)


@case(ValueError, "loss")
def compile_loss_none(c):
    c.model.compile(optimizer="sgd", loss=None)


@case(TypeError, "metrics")
def compile_metrics_int(c):
    c.model.compile(optimizer="sgd", loss="mse", metrics=5)


@case(ValueError, "metrics")
def compile_unknown_metric(c):
    c.model.compile(optimizer="sgd", loss="mse", metrics=["accuracyy"])


@case(TypeError, "weighted_metrics")
def compile_weighted_metrics_int(c):
    c.model.compile(optimizer="sgd", loss="mse", weighted_metrics=5)


@case(TypeError, "loss_weights")
def compile_loss_weights_str(c):
    c.model.compile(optimizer="sgd", loss="mse", loss_weights="heavy")


@case(TypeError, "run_eagerly")
def compile_run_eagerly_str(c):
    c.model.compile(optimizer="sgd", loss="mse", run_eagerly="yes")


@case(ValueError, "steps_per_execution")
def compile_steps_per_execution_zero(c):
    c.model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)


@case(TypeError, "jit_compile")
def compile_jit_compile_int(c):
    c.model.compile(optimizer="sgd", loss="mse", jit_compile=3)


@case(TypeError, "auto_scale_loss")
def compile_auto_scale_loss_str(c):
    c.model.compile(optimizer="sgd", loss="mse", auto_scale_loss="no")


@case(TypeError, "bogus")
def compile_unknown_kwarg(c):
    c.model.compile(optimizer="sgd", loss="mse", bogus=1)


# ==================================================================================== fit ===
@case(ValueError, "x")
def fit_x_wrong_features(c):
    c.model.fit(np.ones((20, 5), "float32"), c.y, verbose=0)


@case(ValueError, "x")
def fit_x_rank1(c):
    c.model.fit(np.ones(20, "float32"), c.y, verbose=0)


@case(ValueError, "x")
def fit_x_rank3(c):
    c.model.fit(np.ones((20, 4, 1), "float32"), c.y, verbose=0)


@case(TypeError, "x")
def fit_x_strings(c):
    c.model.fit(np.array([["a"] * 4] * 20), c.y, verbose=0)


@case(TypeError, "x")
def fit_x_object_array(c):
    c.model.fit(np.array([[object()] * 4] * 20), c.y, verbose=0)


@case(TypeError, "x")
def fit_x_complex(c):
    c.model.fit(np.ones((20, 4), np.complex64), c.y, verbose=0)


@case(TypeError, "x")
def fit_x_ragged_list(c):
    c.model.fit([[1.0, 2.0], [1.0]], [0, 1], verbose=0)


@case(ValueError, "x")
def fit_x_none(c):
    c.model.fit(None, c.y, verbose=0)


@case(ValueError, "x")
def fit_x_empty(c):
    c.model.fit(np.ones((0, 4), "float32"), np.ones(0), verbose=0)


@case(None, keeps_weights=False)
def fit_x_nan_trains_as_keras_and_terminate_on_nan_stops(c):
    # Keras semantics: NaN inputs are data (TerminateOnNaN is the guard), not an error
    x = c.x.copy()
    x[13, 2] = np.nan
    h = c.model.fit(x, c.y, batch_size=4, epochs=3, verbose=0, shuffle=False,
                    callbacks=[C.TerminateOnNaN()])
    return h.epoch == [0] and math.isnan(h.history["loss"][0])


@case(None, keeps_weights=False)
def fit_x_overflowing_float32_trains_as_keras(c):
    x = c.x.astype("float64")
    x[5, 1] = 1e300  # finite in float64, inf in the model's float32
    h = c.model.fit(x, c.y, verbose=0, callbacks=[C.TerminateOnNaN()])
    return math.isnan(h.history["loss"][0])


@case(ValueError, "x")
def fit_x_dict_wrong_key(c):
    c.model.fit({"pixels": c.x}, c.y, verbose=0)


@case(ValueError, "y")
def fit_xy_length_mismatch(c):
    c.model.fit(c.x, c.y[:-3], verbose=0)


@case(ValueError, "y")
def fit_y_none(c):
    c.model.fit(c.x, None, verbose=0)


@case(TypeError, "y")
def fit_y_strings(c):
    c.model.fit(c.x, np.array(["cat"] * 20), verbose=0)


@case(ValueError, "y")
def fit_y_label_out_of_range_late(c):
    y = c.y.copy()
    y[-1] = 3  # 3 classes: only the last batch is bad; no batch may train first
    c.model.fit(c.x, y, batch_size=4, verbose=0)


@case(ValueError, "y")
def fit_y_negative_label(c):
    y = c.y.copy()
    y[10] = -1
    c.model.fit(c.x, y, batch_size=4, verbose=0, shuffle=False)


@case(ValueError, "y")
def fit_y_fractional_labels(c):
    c.model.fit(c.x, c.y + 0.5, verbose=0)


@case(ValueError, "y")
def fit_y_nan(c):
    c.recompile("adam", "mse")
    m = c.model
    y = np.ones((20, 3), "float32")
    y[3, 1] = np.nan
    m.fit(c.x, y, verbose=0)


@case(ValueError, "y")
def fit_y_inf(c):
    c.recompile("adam", "mse")
    m = c.model
    y = np.ones((20, 3), "float32")
    y[17, 0] = np.inf
    m.fit(c.x, y, batch_size=4, verbose=0, shuffle=False)


@case(ValueError, "y")
def fit_y_wrong_width_for_mse(c):
    c.recompile("adam", "mse")
    m = c.model
    m.fit(c.x, np.ones((20, 5), "float32"), verbose=0)


@case(ValueError, "y")
def fit_y_wrong_width_for_categorical(c):
    c.recompile("adam", "categorical_crossentropy")
    m = c.model
    m.fit(c.x, np.eye(4, dtype="float32")[c.y], verbose=0)


@case(ValueError, "batch_size")
def fit_batch_size_zero(c):
    c.model.fit(c.x, c.y, batch_size=0, verbose=0)


@case(ValueError, "batch_size")
def fit_batch_size_negative(c):
    c.model.fit(c.x, c.y, batch_size=-8, verbose=0)


@case(TypeError, "batch_size")
def fit_batch_size_str(c):
    c.model.fit(c.x, c.y, batch_size="32", verbose=0)


@case(TypeError, "batch_size")
def fit_batch_size_float(c):
    c.model.fit(c.x, c.y, batch_size=2.5, verbose=0)


@case(None, keeps_weights=False)
def fit_batch_size_huge_trains_one_batch(c):
    h = c.model.fit(c.x, c.y, batch_size=2 ** 40, verbose=0)
    return math.isfinite(h.history["loss"][0])


@case(ValueError, "epochs")
def fit_epochs_negative(c):
    c.model.fit(c.x, c.y, epochs=-1, verbose=0)


@case(TypeError, "epochs")
def fit_epochs_str(c):
    c.model.fit(c.x, c.y, epochs="2", verbose=0)


@case(ValueError, "verbose")
def fit_verbose_5(c):
    c.model.fit(c.x, c.y, verbose=5)


@case(TypeError, "callbacks")
def fit_callbacks_int(c):
    c.model.fit(c.x, c.y, verbose=0, callbacks=5)


@case(TypeError, "callbacks")
def fit_callbacks_list_of_int(c):
    c.model.fit(c.x, c.y, verbose=0, callbacks=[5])


@case(ValueError, "validation_split")
def fit_validation_split_above_one(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split=1.5)


@case(TypeError, "validation_split")
def fit_validation_split_str(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split="0.1")


@case(ValueError, "validation_data")
def fit_validation_data_one_item(c):
    c.model.fit(c.x, c.y, verbose=0, validation_data=(c.x,))


@case(ValueError, "validation_data")
def fit_validation_data_wrong_features(c):
    c.model.fit(c.x, c.y, verbose=0, validation_data=(np.ones((5, 6), "float32"), c.y[:5]))


@case(ValueError, "validation_data")
def fit_validation_data_length_mismatch(c):
    c.model.fit(c.x, c.y, verbose=0, validation_data=(c.x[:5], c.y[:4]))


@case(ValueError, "validation_data")
def fit_validation_data_bad_label(c):
    c.model.fit(c.x, c.y, verbose=0, validation_data=(c.x[:5], np.array([0, 1, 2, 9, 0])))


@case(ValueError, "shuffle")
def fit_shuffle_str(c):
    c.model.fit(c.x, c.y, verbose=0, shuffle="yes")


@case(TypeError, "class_weight")
def fit_class_weight_list(c):
    c.model.fit(c.x, c.y, verbose=0, class_weight=[1.0, 2.0, 3.0])


@case(ValueError, "class_weight")
def fit_class_weight_negative_key(c):
    c.model.fit(c.x, c.y, verbose=0, class_weight={-1: 2.0})


@case(TypeError, "class_weight")
def fit_class_weight_str_value(c):
    c.model.fit(c.x, c.y, verbose=0, class_weight={0: "heavy"})


@case(ValueError, "class_weight")
def fit_class_weight_with_sample_weight(c):
    c.model.fit(c.x, c.y, verbose=0, class_weight={0: 2.0}, sample_weight=np.ones(20))


@case(ValueError, "sample_weight")
def fit_sample_weight_wrong_length(c):
    c.model.fit(c.x, c.y, verbose=0, sample_weight=np.ones(19))


@case(ValueError, "sample_weight")
def fit_sample_weight_nan(c):
    sw = np.ones(20)
    sw[4] = np.nan
    c.model.fit(c.x, c.y, verbose=0, sample_weight=sw)


@case(ValueError, "sample_weight")
def fit_sample_weight_inf(c):
    sw = np.ones(20)
    sw[-1] = np.inf
    c.model.fit(c.x, c.y, verbose=0, sample_weight=sw, batch_size=4, shuffle=False)


@case(TypeError, "sample_weight")
def fit_sample_weight_strings(c):
    c.model.fit(c.x, c.y, verbose=0, sample_weight=np.array(["1"] * 20))


@case(ValueError, "initial_epoch")
def fit_initial_epoch_negative(c):
    c.model.fit(c.x, c.y, verbose=0, initial_epoch=-1)


@case(ValueError, "steps_per_epoch")
def fit_steps_per_epoch_zero(c):
    c.model.fit(c.x, c.y, verbose=0, steps_per_epoch=0)


@case(TypeError, "validation_steps")
def fit_validation_steps_str(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split=0.2, validation_steps="a")


@case(ValueError, "validation_batch_size")
def fit_validation_batch_size_zero(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split=0.2, validation_batch_size=0)


@case(ValueError, "validation_freq")
def fit_validation_freq_zero(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split=0.2, validation_freq=0)


@case(TypeError, "validation_freq")
def fit_validation_freq_str(c):
    c.model.fit(c.x, c.y, verbose=0, validation_split=0.2, validation_freq="often")


@case(TypeError, "max_queue_size")
def fit_max_queue_size_str(c):
    c.model.fit(c.x, c.y, verbose=0, max_queue_size="10")


@case(ValueError, "workers")
def fit_workers_negative(c):
    c.model.fit(c.x, c.y, verbose=0, workers=-2)


@case(TypeError, "use_multiprocessing")
def fit_use_multiprocessing_str(c):
    c.model.fit(c.x, c.y, verbose=0, use_multiprocessing="no")


@case(TypeError, "bogus")
def fit_unknown_kwarg(c):
    c.model.fit(c.x, c.y, verbose=0, bogus=1)


@case(RuntimeError, "compile")
def fit_before_compile(c):
    m = make_model(compile=False)
    m.fit(c.x, c.y, verbose=0)


@case(ValueError, "x")
def fit_generator_bad_batch_shape(c):
    def gen():
        while True:
            yield np.ones((4, 7), "float32"), np.zeros(4)
    c.model.fit(gen(), steps_per_epoch=2, verbose=0)


@case(ValueError, "y")
def fit_generator_bad_label_in_first_batch(c):
    # a stream is checked batch by batch: a bad first batch trains nothing
    def gen():
        yield c.x[:4], np.array([0, 1, 5, 0])
        yield c.x[4:8], c.y[4:8]
    c.model.fit(gen(), verbose=0)


@case(ValueError, "y")
def fit_y_given_with_generator(c):
    c.model.fit((b for b in [(c.x, c.y)]), c.y, verbose=0)


@case(RuntimeError, "generator")
def fit_generator_raises(c):
    def gen():
        raise RuntimeError("the user's generator failed")
        yield
    c.model.fit(gen(), verbose=0)


@case(ValueError, "Layer 'bad'")
def fit_custom_layer_wrong_gradient_count(c):
    class Bad(L.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x, training=False):
            return x * self.s.value

        def backward(self, grad):
            return grad, []  # one weight, no gradient for it
    m = fastnn.Sequential([fastnn.Input((4,)), L.Dense(3, name="d0"), Bad(name="bad")])
    m.compile("sgd", "mse")
    c.model = m
    c.before = snapshot(m)
    m.fit(c.x, np.ones((20, 3), "float32"), verbose=0)


@case(NotImplementedError, "backward")
def fit_custom_layer_without_backward(c):
    class NoBackward(L.Layer):
        def build(self, input_shape):
            self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="s")

        def call(self, x, training=False):
            return x * self.s.value
    m = fastnn.Sequential([fastnn.Input((4,)), L.Dense(3, name="d0"), NoBackward()])
    m.compile("sgd", "mse")
    c.model = m
    c.before = snapshot(m)
    m.fit(c.x, np.ones((20, 3), "float32"), verbose=0)


# =============================================================================== evaluate ===
@case(ValueError, "x")
def evaluate_x_wrong_features(c):
    c.model.evaluate(np.ones((20, 3), "float32"), c.y, verbose=0)


@case(ValueError, "y")
def evaluate_xy_length_mismatch(c):
    c.model.evaluate(c.x, c.y[:10], verbose=0)


@case(ValueError, "y")
def evaluate_label_out_of_range(c):
    c.model.evaluate(c.x, c.y + 3, verbose=0)


@case(ValueError, "batch_size")
def evaluate_batch_size_zero(c):
    c.model.evaluate(c.x, c.y, batch_size=0, verbose=0)


@case(ValueError, "steps")
def evaluate_steps_negative(c):
    c.model.evaluate(c.x, c.y, steps=-1, verbose=0)


@case(ValueError, "sample_weight")
def evaluate_sample_weight_wrong_shape(c):
    c.model.evaluate(c.x, c.y, sample_weight=np.ones((20, 2)), verbose=0)


@case(ValueError, "verbose")
def evaluate_verbose_3(c):
    c.model.evaluate(c.x, c.y, verbose=3)


@case(TypeError, "callbacks")
def evaluate_callbacks_str(c):
    c.model.evaluate(c.x, c.y, verbose=0, callbacks="progbar")


@case(TypeError, "return_dict")
def evaluate_return_dict_str(c):
    c.model.evaluate(c.x, c.y, verbose=0, return_dict="yes")


@case(TypeError, "bogus")
def evaluate_unknown_kwarg(c):
    c.model.evaluate(c.x, c.y, verbose=0, bogus=1)


@case(RuntimeError, "compile")
def evaluate_before_compile(c):
    make_model(compile=False).evaluate(c.x, c.y, verbose=0)


@case(ValueError, "x")
def evaluate_x_empty(c):
    c.model.evaluate(np.ones((0, 4), "float32"), np.ones(0), verbose=0)


# ================================================================================ predict ===
@case(ValueError, "x")
def predict_x_wrong_features(c):
    c.model.predict(np.ones((3, 5), "float32"), verbose=0)


@case(ValueError, "x")
def predict_x_rank1(c):
    c.model.predict(np.ones(4, "float32"), verbose=0)


@case(ValueError, "x")
def predict_x_scalar(c):
    c.model.predict(np.float32(1.0), verbose=0)


@case(ValueError, "x")
def predict_x_none(c):
    c.model.predict(None, verbose=0)


@case(ValueError, "x")
def predict_x_empty(c):
    c.model.predict(np.ones((0, 4), "float32"), verbose=0)


@case(TypeError, "x")
def predict_x_strings(c):
    c.model.predict(np.array([["1"] * 4]), verbose=0)


@case(TypeError, "x")
def predict_x_bytes(c):
    c.model.predict(b"\x00\x01\x02\x03", verbose=0)


@case(ValueError, "batch_size")
def predict_batch_size_zero(c):
    c.model.predict(c.x, batch_size=0, verbose=0)


@case(TypeError, "batch_size")
def predict_batch_size_str(c):
    c.model.predict(c.x, batch_size="8", verbose=0)


@case(ValueError, "steps")
def predict_steps_zero(c):
    c.model.predict(c.x, steps=0, verbose=0)


@case(ValueError, "verbose")
def predict_verbose_7(c):
    c.model.predict(c.x, verbose=7)


@case(TypeError, "callbacks")
def predict_callbacks_int(c):
    c.model.predict(c.x, verbose=0, callbacks=3)


@case(TypeError, "bogus")
def predict_unknown_kwarg(c):
    c.model.predict(c.x, verbose=0, bogus=True)


@case(None)
def predict_nan_rows_stay_in_their_rows(c):
    x = c.x.copy()
    x[3] = np.nan
    p = c.model.predict(x, verbose=0)
    ok = c.model.predict(np.delete(x, 3, axis=0), verbose=0)
    return bool(np.isnan(p[3]).all() and np.array_equal(np.delete(p, 3, axis=0), ok))


@case(None)
def predict_huge_values_give_finite_probabilities(c):
    p = c.model.predict(np.full((2, 4), 1e30, "float32"), verbose=0)
    return bool(np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1, atol=1e-5))


@case(None)
def predict_any_layout_and_dtype_gives_the_same_bits(c):
    base = c.model.predict(c.x, verbose=0)
    xf = np.asfortranarray(c.x.astype("float64"))
    strided = np.repeat(c.x, 2, axis=0)[::2]
    return bool(np.array_equal(c.model.predict(xf, verbose=0), base)
                and np.array_equal(c.model.predict(strided, verbose=0), base)
                and np.array_equal(c.model(c.x.tolist()), base))


@case(ValueError, "x")
def call_model_wrong_shape(c):
    c.model(np.ones((2, 3), "float32"))


@case(ValueError, "x")
def predict_on_batch_wrong_shape(c):
    c.model.predict_on_batch(np.ones((2, 4, 1), "float32"))


@case(ValueError, "y")
def train_on_batch_length_mismatch(c):
    c.model.train_on_batch(c.x, c.y[:5])


@case(ValueError, "y")
def train_on_batch_label_out_of_range(c):
    c.model.train_on_batch(c.x, c.y + 10)


@case(ValueError, "x")
def batch_test_on_batch_wrong_features(c):
    c.model.test_on_batch(np.ones((2, 2), "float32"), c.y[:2])


# ==================================================================================== ops ===
@case(ValueError, "x2")
def ops_matmul_mismatch(c):
    ops.matmul(np.ones((2, 3)), np.ones((4, 2)))


@case(ValueError, "w")
def ops_dense_mismatch(c):
    ops.dense(np.ones((2, 3), "float32"), np.ones((4, 2), "float32"))


@case(TypeError, "x")
def ops_softmax_strings(c):
    ops.softmax(np.array(["a", "b"]))


@case(TypeError, "x")
def ops_relu_none(c):
    ops.relu(None)


@case(ValueError, "rate")
def ops_dropout_rate_one(c):
    ops.dropout(np.ones((2, 2), "float32"), rate=1.0, seed=1)


@case(ValueError, "a")
def ops_gemm_rank3(c):
    ops.gemm(np.ones((2, 2, 2)), np.ones((2, 2)))


@case(TypeError, "out")
def ops_matmul_out_wrong_dtype(c):
    ops.matmul(np.ones((2, 2), "float32"), np.ones((2, 2), "float32"),
               out=np.empty((2, 2), "int32"))


@case(ValueError, "target")
def ops_sparse_xent_label_out_of_range(c):
    ops.sparse_categorical_crossentropy(np.array([0, 7]), np.ones((2, 3), "float32") / 3)


@case(ValueError, "n")
def set_num_threads_zero(c):
    fastnn.set_num_threads(0)


@case(TypeError, "n")
def set_num_threads_str(c):
    fastnn.set_num_threads("2")


# ============================================================================= optimizers ===
@case(ValueError, "adamm")
def optimizers_get_unknown(c):
    optimizers.get("adamm")


@case(TypeError, "learning_rate")
def adam_learning_rate_str(c):
    optimizers.Adam(learning_rate="fast")


@case(ValueError, "momentum")
def sgd_negative_momentum(c):
    optimizers.SGD(momentum=-0.5)


@case(ValueError, "clipnorm")
def adam_negative_clipnorm(c):
    optimizers.Adam(clipnorm=-1.0)


@case(ValueError, "decay_steps")
def schedule_zero_decay_steps(c):
    optimizers.schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9)


@case(ValueError, "grads")
def optimizer_apply_wrong_count(c):
    opt = c.model.optimizer
    opt.apply([np.zeros_like(v.value) for v in c.model.trainable_weights[:-1]],
              c.model.trainable_weights)


@case(ValueError, "grads[3]")
def optimizer_apply_one_bad_shape_updates_nothing(c):
    opt = c.model.optimizer
    grads = [np.ones_like(v.value) for v in c.model.trainable_weights]
    grads[-1] = np.ones(7, "float32")  # the last is wrong: the others must not move either
    opt.apply(grads, c.model.trainable_weights)


@case(TypeError, "grads[2]")
def optimizer_apply_string_gradient(c):
    opt = c.model.optimizer
    grads = [np.ones_like(v.value) for v in c.model.trainable_weights]
    grads[2] = "steep"
    opt.apply(grads, c.model.trainable_weights)


# ================================================================================= losses ===
@case(ValueError, "msee")
def losses_get_unknown(c):
    losses.get("msee")


@case(ValueError, "shape")
def loss_mse_mismatched_shapes(c):
    losses.MeanSquaredError()(np.ones((4, 3)), np.ones((4, 2)))


@case(ValueError, "label_smoothing")
def loss_label_smoothing_two(c):
    losses.CategoricalCrossentropy(label_smoothing=2.0)


@case(ValueError, "reduction")
def loss_unknown_reduction(c):
    losses.MeanSquaredError(reduction="average")


@case(ValueError, "accuracyy")
def metrics_get_unknown(c):
    metrics.get("accuracyy")


@case(ValueError, "shape")
def metric_update_mismatched_shapes(c):
    metrics.MeanSquaredError().update_state(np.ones((4, 3)), np.ones((5, 3)))


# ============================================================================== callbacks ===
@case(ValueError, "patience")
def early_stopping_negative_patience(c):
    C.EarlyStopping(patience=-1)


@case(TypeError, "filepath")
def model_checkpoint_path_int(c):
    C.ModelCheckpoint(5)


@case(ValueError, "save_freq")
def model_checkpoint_save_freq_str(c):
    C.ModelCheckpoint(c.path("m.keras"), save_freq="sometimes")


@case(ValueError, "filepath")
def model_checkpoint_bad_extension(c):
    C.ModelCheckpoint(c.path("m.txt"))


@case(ValueError, "factor")
def reduce_lr_factor_above_one(c):
    C.ReduceLROnPlateau(factor=1.5)


@case(TypeError, "schedule")
def lr_scheduler_not_callable(c):
    C.LearningRateScheduler(5)


@case((TypeError, ValueError), "schedule")
def lr_scheduler_returns_str(c):
    c.model.fit(c.x, c.y, verbose=0, callbacks=[C.LearningRateScheduler(lambda e: "fast")])


@case(TypeError, "filename")
def csv_logger_filename_none(c):
    C.CSVLogger(None)


@case(ValueError, "backup_dir")
def backup_and_restore_no_dir(c):
    C.BackupAndRestore(backup_dir=None)


@case(ValueError, "update_freq")
def tensorboard_update_freq_str(c):
    C.TensorBoard(log_dir=c.path("tb"), update_freq="never")


@case(TypeError, "on_epoch_end")
def lambda_callback_not_callable(c):
    C.LambdaCallback(on_epoch_end=5)


@case(TypeError, "baseline")
def early_stopping_baseline_str(c):
    C.EarlyStopping(baseline="low")


# ================================================================================= saving ===
@case(ValueError, "filepath")
def save_unknown_extension(c):
    c.model.save(c.path("m.txt"))


@case(TypeError, "filepath")
def save_path_int(c):
    c.model.save(5)


@case(TypeError, "overwrite")
def save_overwrite_str(c):
    c.model.save(c.path("m.keras"), overwrite="yes")


@case(ValueError, "File not found")
def load_model_missing_file(c):
    fastnn.models.load_model(c.path("missing.keras"))


@case(TypeError, "filepath")
def load_model_path_int(c):
    fastnn.models.load_model(5)


@case(TypeError, "custom_objects")
def load_model_custom_objects_list(c):
    c.model.save(c.path("m.keras"))
    fastnn.models.load_model(c.path("m.keras"), custom_objects=[L.Dense])


@case(TypeError, "compile")
def load_model_compile_str(c):
    c.model.save(c.path("m.keras"))
    fastnn.models.load_model(c.path("m.keras"), compile="yes")


@case(ValueError, "not a Keras model file")
def load_model_garbage_file(c):
    with open(c.path("g.keras"), "wb") as f:
        f.write(os.urandom(256).replace(b"PK", b"pk"))
    fastnn.models.load_model(c.path("g.keras"))


@case(ValueError, "d2")
def load_weights_other_architecture(c):
    other = fastnn.Sequential([fastnn.Input((4,)), L.Dense(8, name="d1"), L.Dense(5, name="d2")])
    other.save_weights(c.path("o.weights.h5"))
    c.model.load_weights(c.path("o.weights.h5"))


@case(ValueError, "d2")
def load_weights_one_layer_mismatch_loads_nothing(c):
    other = fastnn.Sequential([fastnn.Input((4,)), L.Dense(8, activation="relu", name="d1"),
                               L.Dense(2, name="d2")])
    other.save(c.path("o.keras"))
    c.model.load_weights(c.path("o.keras"))  # d1 matches, d2 does not: d1 must not change


@case(ValueError, "filepath")
def save_weights_wrong_suffix(c):
    c.model.save_weights(c.path("w.h5"))


@case(ValueError, "max_shard_size")  # sharding is not supported: any value but None
def save_weights_shard_size_str(c):
    c.model.save_weights(c.path("w.weights.h5"), max_shard_size="1GB")


@case(ValueError, "JSON")
def model_from_json_not_json(c):
    fastnn.models.model_from_json("{not json")


@case(ValueError, "NoSuchLayer")
def model_from_json_unknown_class(c):
    fastnn.models.model_from_json(json.dumps(
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "NoSuchLayer", "config": {}}]}}))


@case(ValueError, "config")  # the loaders' malformed-config error
def model_from_config_not_dict(c):
    fastnn.models.model_from_config(["Sequential"])


# ================================================================================== utils ===
@case(ValueError, "y")
def to_categorical_label_above_num_classes(c):
    utils.to_categorical([0, 5], num_classes=3)


@case(TypeError, "y")
def to_categorical_strings(c):
    utils.to_categorical(["cat", "dog"])


@case(ValueError, "y")
def to_categorical_negative_label(c):
    utils.to_categorical([0, -2, 1])


@case(TypeError, "seed")
def set_random_seed_str(c):
    utils.set_random_seed("7")


@case(ValueError, "seed")
def set_random_seed_negative(c):
    utils.set_random_seed(-1)


@case(ValueError, "axis")
def normalize_axis_out_of_range(c):
    utils.normalize(np.ones((2, 2)), axis=5)


@case(ValueError, "floatx")
def set_floatx_float16(c):
    fastnn.backend.set_floatx("float16")


@case(ValueError, "Sequence")
def pydataset_len_zero(c):
    class Empty(utils.PyDataset):
        def __len__(self):
            return 0

        def __getitem__(self, i):
            raise IndexError(i)
    c.model.fit(Empty(), verbose=0)


# ============================================================ more of the public surface ===
@case(TypeError, "x")
def call_model_strings(c):
    c.model(np.array([["a"] * 4]))


@case(ValueError, "x")
def call_model_none(c):
    c.model(None)


@case(None)
def call_model_empty_gives_empty(c):
    return c.model(np.ones((0, 4), "float32")).shape == (0, 3)  # as Keras: no rows, no error


@case(None)
def call_flatten_model_empty_gives_empty(c):
    m = fastnn.Sequential([fastnn.Input((2, 2)), L.Flatten(), L.PReLU(), L.Dense(2)])
    return m(np.ones((0, 2, 2), "float32")).shape == (0, 2)


@case(ValueError, "x")
def call_model_scalar(c):
    c.model(np.float32(3.0))


@case(ValueError, "x")
def call_model_training_wrong_shape(c):
    c.model(np.ones((2, 9), "float32"), training=True)


@case(ValueError, "Layer 'shrink'")
def custom_layer_returns_wrong_shape(c):
    class Shrink(L.Layer):
        def call(self, x, training=False):
            return x[:, :2]
    m = fastnn.Sequential([fastnn.Input((4,)), Shrink(name="shrink"), L.Dense(2)])
    m.predict(c.x, verbose=0)


@case(ValueError, "Input")
def input_with_negative_batch_size(c):
    fastnn.Input((4,), batch_size=-2)


@case(ValueError, "d1")
def sequential_duplicate_layer_names(c):
    c.model.add(L.Dense(2, name="d1"))


@case(ValueError, "initializer")
def initializers_get_unknown(c):
    fastnn.initializers.get("he_normall")


@case(ValueError, "stddev")
def random_normal_negative_stddev(c):
    fastnn.initializers.RandomNormal(stddev=-1.0)


@case(ValueError, "scale")
def variance_scaling_zero_scale(c):
    fastnn.initializers.VarianceScaling(scale=0.0)


@case(ValueError, "l2")
def l2_negative(c):
    fastnn.regularizers.L2(-0.1)


@case(ValueError, "regularizer")
def regularizers_get_unknown(c):
    fastnn.regularizers.get("l3")


@case(ValueError, "constraint")
def constraints_get_unknown(c):
    fastnn.constraints.get("max_normm")


@case(ValueError, "activation")
def activations_get_unknown(c):
    fastnn.activations.get("reluu")


@case(IsADirectoryError, "filepath")
def save_to_a_directory(c):
    os.mkdir(c.path("dir.keras"))
    c.model.save(c.path("dir.keras"))


@case(ValueError, "File not found")
def load_weights_missing_file(c):
    c.model.load_weights(c.path("none.weights.h5"))


@case(ValueError, "not a weights file")
def load_weights_text_file(c):
    with open(c.path("w.weights.h5"), "w") as f:
        f.write("hello")
    c.model.load_weights(c.path("w.weights.h5"))


@case(FileExistsError, "overwrite")
def save_overwrite_false_existing(c):
    c.model.save(c.path("m.keras"))
    c.model.save(c.path("m.keras"), overwrite=False)


@case(ValueError, "zipped")
def save_zipped_false(c):
    c.model.save(c.path("m.keras"), zipped=False)


@case(ValueError, "Lambda")
def load_model_refuses_lambda_layer(c):
    import zipfile
    c.model.save(c.path("m.keras"))
    with zipfile.ZipFile(c.path("m.keras")) as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    cfg["config"]["layers"].insert(1, {"class_name": "Lambda", "config": {
        "name": "evil", "function": {"class_name": "__lambda__", "config": {
            "code": "YWJj", "defaults": None, "closure": None}}}})
    members["config.json"] = json.dumps(cfg).encode()
    with zipfile.ZipFile(c.path("evil.keras"), "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    fastnn.models.load_model(c.path("evil.keras"))


@case(ValueError, "x2")
def ops_matmul_rank0(c):
    ops.matmul(np.ones((2, 2)), np.float64(2.0))


@case(None)
def ops_softmax_inf_rows(c):
    out = ops.softmax(np.array([[np.inf, 0.0], [-np.inf, 0.0], [1e38, 1e38]], "float32"))
    return bool(np.isnan(out[0]).any() or np.allclose(out[0], [1, 0])) and \
        np.allclose(out[1], [0, 1]) and np.allclose(out[2], [0.5, 0.5])


@case(None)
def ops_match_numpy_on_int_and_fortran_input(c):
    a = np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4))
    b = np.arange(8, dtype=np.int16).reshape(4, 2)
    return bool(np.allclose(ops.matmul(a, b), a @ b) and
                np.array_equal(ops.relu(a - 5), np.maximum(a - 5, 0)))


@case(ValueError, "axis")
def ops_softmax_axis_out_of_range(c):
    ops.softmax(np.ones((2, 3), "float32"), axis=4)


@case(ValueError, "mode")
def reduce_lr_unknown_mode(c):
    C.ReduceLROnPlateau(monitor="val_loss", mode="sideways")


@case(ValueError, "save_freq")
def model_checkpoint_save_freq_zero(c):
    C.ModelCheckpoint(c.path("m.keras"), save_freq=0)


@case(ValueError, "filepath")
def model_checkpoint_weights_only_keras_suffix(c):
    C.ModelCheckpoint(c.path("m.keras"), save_weights_only=True)


@case(ValueError, "dtype")
def uniform_int_dtype(c):
    ops.uniform((2, 2), seed=1, dtype="int32")


@case(TypeError, "x")
def fit_x_python_objects(c):
    c.model.fit([object()] * 20, c.y, verbose=0)


@case(ValueError, "y")
def fit_y_rank_too_high_for_sparse(c):
    c.model.fit(c.x, np.zeros((20, 3, 2)), verbose=0)


@case(TypeError, "y")
def fit_y_bool_strings_mix(c):
    c.model.fit(c.x, [True, "a"] * 10, verbose=0)


@case(ValueError, "validation_split")
def fit_validation_split_leaves_nothing(c):
    c.model.fit(c.x[:2], c.y[:2], verbose=0, validation_split=0.9)


@case(ValueError, "validation_split")
def fit_validation_split_with_generator(c):
    c.model.fit((b for b in [(c.x, c.y)]), verbose=0, validation_split=0.2)


@case(TypeError, "x")
def evaluate_x_dict_of_strings(c):
    c.model.evaluate({c.model._input_names()[0]: np.array([["a"] * 4] * 3)}, c.y[:3],
                     verbose=0)


@case(None, keeps_weights=False)
def predict_evaluate_fit_unaligned_input(c):
    # np.frombuffer at an odd offset: C-contiguous but not aligned for float32
    buf = bytearray(c.x.nbytes + 1)
    x = np.frombuffer(buf, "float32", count=c.x.size, offset=1).reshape(c.x.shape)
    x[...] = c.x
    want = c.model.predict(c.x, verbose=0)
    same_p = all(np.array_equal(f(), want) for f in (
        lambda: c.model.predict(x, verbose=0), lambda: c.model(x),
        lambda: c.model.predict_on_batch(x)))
    ev = c.model.evaluate(x, c.y, verbose=0) == c.model.evaluate(c.x, c.y, verbose=0)
    c.model.fit(x, c.y, verbose=0, shuffle=False)
    return bool(same_p and ev and np.array_equal(ops.relu(x), np.maximum(c.x, 0)))


@case(ValueError, "out")
def ops_dense_unaligned_out(c):
    buf = bytearray(2 * 3 * 4 + 1)
    out = np.frombuffer(buf, "float32", count=6, offset=1).reshape(2, 3)
    ops.dense(np.ones((2, 4), "float32"), np.ones((4, 3), "float32"), out=out)


@case(ValueError, "optimizer")
def load_weights_bad_optimizer_state_restores_the_weights(c):
    # the layers' weights in the file are fine and are read first; the optimizer state is
    # damaged: the call fails and the model keeps the weights it had
    import h5py
    import zipfile
    other = make_model()
    other.fit(c.x, c.y, epochs=2, verbose=0)
    other.save(c.path("o.keras"))
    with zipfile.ZipFile(c.path("o.keras")) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "r+") as h5:
        del h5["optimizer/vars/3"]
        h5["optimizer/vars"].create_dataset("3", data=np.zeros(7, "float32"))
    members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(c.path("bad.keras"), "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    c.model.load_weights(c.path("bad.keras"))


# ================================================================================= runner ===
def run_case(cs, tmp):
    ctx = Ctx(tmp)
    ctx.before = snapshot(ctx.model)
    floatx = fastnn.backend.floatx()
    threads = fastnn.get_num_threads()
    got, value = None, None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            value = cs.fn(ctx)
    except Exception as e:  # noqa: BLE001 - each case checks what it received
        got = e
    finally:
        fastnn.backend.set_floatx(floatx)
        fastnn.set_num_threads(threads)
    problems = []
    if cs.exc is None:
        if got is not None:
            problems.append(f"raised {type(got).__name__}: {got}")
        elif value is not True:
            problems.append(f"check returned {value!r}")
    else:
        if got is None:
            problems.append(f"no exception; expected {'/'.join(e.__name__ for e in cs.exc)}")
        elif not isinstance(got, cs.exc):
            problems.append(f"raised {type(got).__name__} (expected "
                            f"{'/'.join(e.__name__ for e in cs.exc)}): {got}")
        elif cs.name and not names(str(got), cs.name):
            problems.append(f"message does not name {cs.name!r}: {got}")
    if cs.keeps_weights and not same(ctx.before, snapshot(ctx.model)):
        problems.append("the model's weights or optimizer state changed")
    detail = None if got is None else f"{type(got).__name__}: {str(got)[:300]}"
    if problems and got is not None:
        detail += "\n" + "".join(traceback.format_exception(type(got), got,
                                                               got.__traceback__)[-3:])
    return {"id": cs.id, "ok": not problems, "problems": problems, "raised": detail}


def main(argv):
    only = set(argv[1:])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for cs in CASES:
            if only and cs.id not in only:
                continue
            sub = os.path.join(tmp, cs.id)
            os.mkdir(sub)
            results.append(run_case(cs, sub))
    sys.stdout.flush()
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main(sys.argv)
