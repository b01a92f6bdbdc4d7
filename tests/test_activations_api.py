"""keras.activations: values against NumPy versions of Keras's formulas, the registry, and
the spec the engine takes for fused kernels."""
import functools
import json
import math

import numpy as np
import pytest

from fastnn import activations, ops
from fastnn.activations import NO_KERNEL, classify, kernel_spec
from fastnn.ops._spec import KINDS, activation_spec

X = np.array([-30.0, -6.5, -3.0, -1.0, -0.25, 0.0, 0.3, 1.0, 2.5, 3.0, 5.9, 6.0, 7.5, 25.0])
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_erfc = np.vectorize(math.erfc)  # 1 + erf(z) = erfc(-z), without cancellation for z << 0

# name -> (function, NumPy reference of Keras's formula)
REFERENCES = {
    "linear": (activations.linear, lambda x: x),
    "relu": (activations.relu, lambda x: np.maximum(x, 0.0)),
    "leaky_relu": (activations.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "relu6": (activations.relu6, lambda x: np.clip(x, 0.0, 6.0)),
    "elu": (activations.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    "selu": (activations.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    "softplus": (activations.softplus, lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)),
    "softsign": (activations.softsign, lambda x: x / (1.0 + np.abs(x))),
    "tanh": (activations.tanh, np.tanh),
    "sigmoid": (activations.sigmoid, _sigmoid),
    "hard_sigmoid": (activations.hard_sigmoid, lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0),
    "exponential": (activations.exponential, np.exp),
    "silu": (activations.silu, lambda x: x * _sigmoid(x)),
    "gelu": (activations.gelu, lambda x: 0.5 * x * _erfc(-x / math.sqrt(2.0))),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_match_keras_formulas_float64(name):
    fn, ref = REFERENCES[name]
    y = fn(X)
    assert y.dtype == np.float64 and y.shape == X.shape
    np.testing.assert_allclose(y, ref(X), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_float32_and_lists(name):
    fn, ref = REFERENCES[name]
    x = X[np.abs(X) < 20]
    y = fn(x.astype(np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, ref(x), rtol=2e-6, atol=1e-7)
    np.testing.assert_array_equal(fn(x.astype(np.float32).tolist()), y)


def test_relu_parameters_and_keras2_alpha():
    x = np.array([-10.0, -5.0, 0.0, 1.0, 5.0, 10.0])
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.5), [-5, -2.5, 0, 1, 5, 10])
    np.testing.assert_allclose(activations.relu(x, max_value=5.0), [0, 0, 0, 1, 5, 5])
    np.testing.assert_allclose(activations.relu(x, threshold=5.0), [0, 0, 0, 0, 0, 10])
    # Keras: below the threshold, negative_slope * (x - threshold)
    np.testing.assert_allclose(activations.relu(x, 0.5, 8.0, 2.0),
                               [-6, -3.5, -1, -0.5, 5, 8])
    np.testing.assert_array_equal(activations.relu(x, alpha=0.5),
                                  activations.relu(x, negative_slope=0.5))
    np.testing.assert_array_equal(activations.relu(x, 0.0, None, 0.0, alpha=0.1),
                                  activations.relu(x, 0.1))
    with pytest.raises(TypeError, match="^alpha: relu takes negative_slope or"):
        activations.relu(x, negative_slope=0.2, alpha=0.1)


def test_leaky_relu_and_elu_parameters():
    x = np.array([-2.0, 3.0])
    np.testing.assert_allclose(activations.leaky_relu(x, negative_slope=0.1), [-0.2, 3.0])
    np.testing.assert_allclose(activations.elu(x, alpha=2.0), [2.0 * np.expm1(-2.0), 3.0])


def test_gelu_is_exact_by_default_and_approximate_on_request():
    x = np.linspace(-4, 4, 41)
    exact = 0.5 * x * _erfc(-x / math.sqrt(2.0))
    approx = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(activations.gelu(x), exact, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(activations.gelu(x, approximate=True), approx, rtol=1e-12,
                               atol=1e-15)
    assert not np.allclose(exact, approx, rtol=1e-6, atol=0)


def test_swish_is_silu():
    assert activations.swish is activations.silu


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax(axis):
    x = np.random.default_rng(0).standard_normal((3, 4, 5)) * 4
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(activations.softmax(x, axis=axis), ref, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(activations.log_softmax(x, axis=axis), np.log(ref), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(activations.softmax(x).sum(-1), 1.0, rtol=1e-14)


def test_hand_worked_values():
    assert activations.sigmoid(np.array([0.0]))[0] == 0.5
    np.testing.assert_allclose(activations.softplus(np.array([0.0])), [math.log(2.0)], rtol=1e-15)
    np.testing.assert_allclose(activations.hard_sigmoid(np.array([-3.0, 0.0, 3.0])), [0, 0.5, 1])
    np.testing.assert_allclose(activations.softsign(np.array([1.0, -3.0])), [0.5, -0.75])
    np.testing.assert_allclose(activations.softmax(np.array([[0.0, math.log(3.0)]])),
                               [[0.25, 0.75]], rtol=1e-15)


# ---- registry ----------------------------------------------------------------------------

ALL_NAMES = ["linear", "relu", "leaky_relu", "relu6", "elu", "selu", "softplus", "softsign",
             "tanh", "sigmoid", "hard_sigmoid", "exponential", "silu", "gelu", "softmax",
             "log_softmax"]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_get_serialize_deserialize_by_name(name):
    fn = getattr(activations, name)
    assert activations.get(name) is fn
    assert activations.serialize(fn) == name
    assert activations.deserialize(name) is fn
    assert activations.get({"class_name": name, "config": {}}) is fn
    # Keras 3's dict for a function
    assert activations.get({"module": "keras.activations", "class_name": "function",
                            "config": name, "registered_name": "function"}) is fn


def test_swish_name_and_serialization():
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.swish) == "silu"


def test_get_none_is_linear_and_callables_pass_through():
    assert activations.get(None) is activations.linear

    def mine(x):
        return x * 3

    assert activations.get(mine) is mine
    assert activations.get(np.tanh) is np.tanh

    class Act:
        def __call__(self, x):
            return x

    assert activations.get(Act) is Act  # classes are callables, returned unchanged
    a = Act()
    assert activations.get(a) is a


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ValueError) as e:
        activations.get("rleu")
    assert "activation: unknown activation 'rleu'" in str(e.value)
    assert "did you mean 'relu'?" in str(e.value)
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        activations.get("Relu")  # names are case-sensitive, as in Keras
    with pytest.raises(ValueError, match="did you mean 'softmax'"):
        activations.deserialize("softmx")


@pytest.mark.parametrize("bad", [3, 2.0, [1, 2]])
def test_get_wrong_types(bad):
    with pytest.raises(TypeError, match="^activation: expected a name, a config dict"):
        activations.get(bad)


def test_custom_function_serializes_to_a_dict_and_back():
    def my_act(x):
        return x

    cfg = activations.serialize(my_act)
    assert cfg["class_name"] == "function" and cfg["config"] == "my_act"
    json.dumps(cfg)
    assert activations.deserialize(cfg, custom_objects={"my_act": my_act}) is my_act


# ---- kernel specs for the engine ---------------------------------------------------------

ELEMENTWISE = [n for n in ALL_NAMES if n not in ("linear", "softmax", "log_softmax")]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_kernel_spec_of_each_builtin_reproduces_it(name):
    fn = getattr(activations, name)
    spec = kernel_spec(fn)
    assert spec == kernel_spec(name)
    assert isinstance(spec, tuple) and len(spec) == 4
    x = X[np.abs(X) < 20]
    np.testing.assert_array_equal(ops.activation(x, spec), fn(x))
    assert classify(fn) == ("elementwise", spec)


def test_kernel_spec_values():
    inf = math.inf
    assert kernel_spec(activations.relu) == (KINDS["relu"], 0.0, inf, 0.0)
    assert kernel_spec(activations.relu6) == (KINDS["relu"], 0.0, 6.0, 0.0)
    assert kernel_spec(activations.leaky_relu) == (KINDS["leaky_relu"], 0.2, inf, 0.0)
    assert kernel_spec(activations.elu) == (KINDS["elu"], 1.0, inf, 0.0)
    assert kernel_spec(activations.gelu) == (KINDS["gelu"], 0.0, inf, 0.0)  # exact
    assert kernel_spec(activations.swish) == (KINDS["swish"], 0.0, inf, 0.0)
    assert kernel_spec(activations.gelu) == activation_spec("gelu", approximate=False)


def test_kernel_spec_of_partials_carries_the_keywords():
    p = functools.partial(activations.relu, max_value=6.0, negative_slope=0.1)
    assert kernel_spec(p) == (KINDS["relu"], 0.1, 6.0, 0.0)
    assert kernel_spec(functools.partial(activations.relu, alpha=0.3)) == (KINDS["relu"], 0.3,
                                                                          math.inf, 0.0)
    assert kernel_spec(functools.partial(activations.gelu, approximate=True)) == \
        (KINDS["gelu_tanh"], 0.0, math.inf, 0.0)
    nested = functools.partial(functools.partial(activations.leaky_relu, negative_slope=0.5))
    assert kernel_spec(nested) == (KINDS["leaky_relu"], 0.5, math.inf, 0.0)
    positional = functools.partial(activations.relu, np.zeros(2))
    assert kernel_spec(positional) is NO_KERNEL
    with pytest.raises(TypeError, match="max_value"):
        kernel_spec(functools.partial(activations.tanh, max_value=1.0))


def test_linear_and_none_have_no_spec():
    assert kernel_spec(activations.linear) is None
    assert kernel_spec(None) is None
    assert kernel_spec("linear") is None
    assert classify(None) == ("linear", None)


def test_rowwise_and_python_callables_have_no_kernel():
    assert kernel_spec(activations.softmax) is NO_KERNEL
    assert kernel_spec("log_softmax") is NO_KERNEL
    assert not NO_KERNEL and repr(NO_KERNEL) == "NO_KERNEL"
    assert classify(activations.softmax) == ("softmax", -1)
    assert classify(functools.partial(activations.softmax, axis=1)) == ("softmax", 1)
    assert classify(activations.log_softmax) == ("log_softmax", -1)
    with pytest.raises(TypeError, match="softmax takes only axis"):
        classify(functools.partial(activations.softmax, temperature=2))

    def mine(x):
        return x

    assert kernel_spec(mine) is NO_KERNEL
    assert classify(mine) == ("python", mine)
    assert kernel_spec(np.tanh) is NO_KERNEL  # a NumPy ufunc is a Python callable here
    with pytest.raises(ValueError, match="did you mean 'relu'"):
        kernel_spec("relus")
