"""The shared name registry, fastnn.backend's global settings and the global seed stream."""
import json
import random

import numpy as np
import pytest

from fastnn import _registry, _seed, backend, utils
from fastnn._registry import Registry, to_snake_case


# ---- Registry ----------------------------------------------------------------------------

class Widget:
    def __init__(self, size=1, color="red"):
        self.size = size
        self.color = color

    def __call__(self, x):
        return x * self.size

    def get_config(self):
        return {"size": self.size, "color": self.color}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LargeWidget(Widget):
    pass


def double(x):
    return 2 * x


@pytest.fixture
def reg():
    r = Registry("widget", "keras.widgets")
    r.register(Widget, aliases=("gadget",))
    r.register(LargeWidget)
    r.register(double, aliases=("twice",))
    return r


@pytest.mark.parametrize("name, snake", [
    ("GlorotUniform", "glorot_uniform"), ("HeNormal", "he_normal"), ("L1L2", "l1l2"),
    ("MaxNorm", "max_norm"), ("NonNeg", "non_neg"), ("MinMaxNorm", "min_max_norm"),
    ("OrthogonalInitializer", "orthogonal_initializer"), ("L2", "l2"), ("relu", "relu"),
])
def test_to_snake_case_matches_keras(name, snake):
    assert to_snake_case(name) == snake


@pytest.mark.parametrize("name", ["Widget", "widget", "gadget"])
def test_class_names_give_default_instances(reg, name):
    obj = reg.get(name)
    assert type(obj) is Widget and obj.size == 1


@pytest.mark.parametrize("name", ["LargeWidget", "large_widget"])
def test_snake_case_name_of_a_class_is_registered(reg, name):
    assert type(reg.get(name)) is LargeWidget


@pytest.mark.parametrize("name", ["double", "twice"])
def test_function_names_give_the_function(reg, name):
    assert reg.get(name) is double


def test_names_are_case_sensitive_and_suggest_the_closest(reg):
    with pytest.raises(ValueError) as e:
        reg.get("Double")
    msg = str(e.value)
    assert msg.startswith("widget: unknown widget 'Double'")
    assert "did you mean 'double'?" in msg
    for n in ["Widget", "widget", "gadget", "LargeWidget", "large_widget", "double", "twice"]:
        assert repr(n) in msg


def test_unknown_name_without_close_match_has_no_hint(reg):
    with pytest.raises(ValueError) as e:
        reg.get("zzzzzzzzzz")
    assert "did you mean" not in str(e.value)
    assert "expected one of" in str(e.value)


def test_get_class_and_instance_and_callable(reg):
    assert type(reg.get(LargeWidget)) is LargeWidget
    w = Widget(3)
    assert reg.get(w) is w
    f = lambda x: x  # noqa: E731
    assert reg.get(f) is f


@pytest.mark.parametrize("bad", [42, 1.5, [1], ("a",), object()])
def test_get_wrong_type_is_a_type_error_naming_what_was_received(reg, bad):
    with pytest.raises(TypeError) as e:
        reg.get(bad)
    assert str(e.value).startswith("widget: expected a name, a config dict, a callable or None")
    assert type(bad).__name__ in str(e.value)


def test_get_none_follows_the_table_setting(reg):
    assert reg.get(None) is None
    assert Registry("act", "m", none=double).get(None) is double
    with pytest.raises(TypeError, match="received None"):
        Registry("thing", "m", none=Registry.FORBID).get(None)


def test_instantiate_false_keeps_classes(reg):
    r = Registry("activation", "keras.activations", instantiate=False)
    r.register(Widget)
    assert r.get("Widget") is Widget
    assert r.get(Widget) is Widget


def test_conflicting_names_are_refused(reg):
    reg.register(double)  # same object again: fine
    with pytest.raises(ValueError, match="'gadget' is already registered"):
        reg.register(lambda x: x, name="gadget")


def test_register_as_decorator_with_and_without_arguments():
    r = Registry("thing", "m")

    @r.register
    def alpha(x):
        return x

    @r.register(aliases=("b",))
    def beta(x):
        return x

    assert r.get("alpha") is alpha and r.get("b") is beta and "beta" in r
    assert r.names() == ["alpha", "b", "beta"]
    assert r.name_of(beta) == "beta" and r.name_of(double) is None


def test_serialize_function_is_its_name_and_instance_is_a_keras3_dict(reg):
    assert reg.serialize(double) is not None
    assert reg.serialize(double) == "double"
    assert reg.serialize(None) is None
    cfg = reg.serialize(Widget(4, "blue"))
    assert cfg == {"module": "keras.widgets", "class_name": "Widget",
                   "config": {"size": 4, "color": "blue"}, "registered_name": None}
    json.dumps(cfg)


def test_serialize_unregistered_class_and_function(reg):
    class Custom(Widget):
        pass

    cfg = reg.serialize(Custom(2))
    assert cfg["class_name"] == "Custom" and cfg["registered_name"] == "Custom"
    assert cfg["module"] == __name__

    def my_fn(x):
        return x

    fcfg = reg.serialize(my_fn)
    assert fcfg == {"module": __name__, "class_name": "function", "config": "my_fn",
                    "registered_name": "my_fn"}
    assert reg.deserialize(fcfg, custom_objects={"my_fn": my_fn}) is my_fn
    with pytest.raises(ValueError, match="unknown widget 'my_fn'"):
        reg.deserialize(fcfg)


def test_serialize_rejects_classes_and_plain_objects(reg):
    with pytest.raises(TypeError, match="received the class Widget"):
        reg.serialize(Widget)
    with pytest.raises(TypeError, match="received int"):
        reg.serialize(3)


@pytest.mark.parametrize("cfg", [
    {"class_name": "Widget", "config": {"size": 5, "color": "green"}},  # Keras 2
    {"module": "keras.widgets", "class_name": "Widget", "config": {"size": 5, "color": "green"},
     "registered_name": None},  # Keras 3
    {"class_name": "gadget", "config": {"size": 5, "color": "green"}},
])
def test_deserialize_keras2_and_keras3_dicts(reg, cfg):
    obj = reg.deserialize(cfg)
    assert type(obj) is Widget and (obj.size, obj.color) == (5, "green")
    assert type(reg.get(cfg)) is Widget


def test_round_trip_through_json(reg):
    w = LargeWidget(7, "black")
    back = reg.deserialize(json.loads(json.dumps(reg.serialize(w))))
    assert type(back) is LargeWidget and back.get_config() == w.get_config()


def test_deserialize_names_missing_config_and_functions(reg):
    assert type(reg.deserialize("gadget")) is Widget
    assert reg.deserialize("twice") is double
    assert type(reg.deserialize({"class_name": "Widget"})) is Widget
    assert reg.deserialize({"class_name": "double", "config": {}}) is double
    with pytest.raises(ValueError, match="'double' is a function and takes no config"):
        reg.deserialize({"class_name": "double", "config": {"a": 1}})
    assert reg.deserialize(None) is None
    assert reg.deserialize(double) is double


def test_deserialize_custom_objects_and_global_custom_objects(reg):
    class Mine(Widget):
        pass

    cfg = {"class_name": "Mine", "config": {"size": 2, "color": "x"}, "registered_name": "pkg>Mine"}
    assert type(reg.deserialize(cfg, custom_objects={"Mine": Mine})) is Mine
    assert type(reg.deserialize(cfg, custom_objects={"pkg>Mine": Mine})) is Mine
    _registry.global_custom_objects["pkg>Mine"] = Mine
    try:
        assert type(reg.deserialize(cfg)) is Mine
    finally:
        del _registry.global_custom_objects["pkg>Mine"]
    # custom_objects win over the table
    assert type(reg.deserialize({"class_name": "Widget", "config": {}},
                                custom_objects={"Widget": Mine})) is Mine


def test_deserialize_bad_configs(reg):
    with pytest.raises(ValueError, match="with the key 'class_name', received keys \\['config'\\]"):
        reg.deserialize({"config": {}})
    with pytest.raises(TypeError, match="expected a name or a config dict, received int"):
        reg.deserialize(5)
    with pytest.raises(TypeError, match="'config' of 'Widget' to be a dict, received list"):
        reg.deserialize({"class_name": "Widget", "config": [1]})
    with pytest.raises(ValueError, match="did you mean 'Widget'"):
        reg.deserialize({"class_name": "Widgit", "config": {}})


def test_string_kwargs_apply_to_get_by_that_name_only(reg):
    reg.set_string_kwargs("gadget", size=9)
    assert reg.get("gadget").size == 9
    assert reg.get("Widget").size == 1
    assert reg.deserialize({"class_name": "gadget", "config": {}}).size == 1
    with pytest.raises(ValueError):
        reg.set_string_kwargs("nope", size=1)


# ---- backend -----------------------------------------------------------------------------

@pytest.fixture
def restore_backend():
    fx, eps = backend.floatx(), backend.epsilon()
    yield
    backend.set_floatx(fx)
    backend.set_epsilon(eps)


def test_defaults():
    assert backend.floatx() == "float32"
    assert backend.epsilon() == 1e-7
    assert backend.image_data_format() == "channels_last"


def test_set_floatx(restore_backend):
    backend.set_floatx("float64")
    assert backend.floatx() == "float64"
    backend.set_floatx(np.float32)
    assert backend.floatx() == "float32"
    backend.set_floatx(np.dtype("float64"))
    assert backend.floatx() == "float64"


@pytest.mark.parametrize("bad, err", [("float16", ValueError), ("int32", ValueError),
                                      ("bfloat16", ValueError), (np.int64, ValueError),
                                      (3.5, TypeError), (None, TypeError)])
def test_set_floatx_rejects_others(restore_backend, bad, err):
    with pytest.raises(err, match="^value: "):
        backend.set_floatx(bad)
    assert backend.floatx() == "float32"


def test_set_epsilon(restore_backend):
    backend.set_epsilon(1e-3)
    assert backend.epsilon() == 1e-3
    backend.set_epsilon(0)
    assert backend.epsilon() == 0.0
    for bad, err in [(-1e-7, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                     ("1e-7", TypeError), (True, TypeError)]:
        with pytest.raises(err, match="^value: "):
            backend.set_epsilon(bad)
    assert backend.epsilon() == 0.0


def test_epsilon_reaches_the_loss_kernels(restore_backend):
    from fastnn import ops

    y = np.array([[1.0, 0.0]])
    p = np.array([[0.0, 1.0]])
    backend.set_epsilon(1e-3)
    big = ops.categorical_crossentropy(y, p)
    backend.set_epsilon(1e-7)
    small = ops.categorical_crossentropy(y, p)
    assert big[0] < small[0]


def test_get_uid_and_clear_session():
    backend.clear_session()
    uids = [backend.get_uid("dense"), backend.get_uid("dense"), backend.get_uid("conv")]
    assert uids == [1, 2, 1]
    calls = []

    def hook():
        calls.append(1)

    assert backend.register_clear_session_hook(hook) is hook
    backend.register_clear_session_hook(hook)
    try:
        backend.clear_session()
        assert calls == [1]
        assert backend.get_uid("dense") == 1
    finally:
        backend._clear_hooks.remove(hook)
    with pytest.raises(TypeError, match="fn: expected a callable, received int"):
        backend.register_clear_session_hook(3)


# ---- global seed stream and set_random_seed ----------------------------------------------

def test_next_seed_is_in_range_and_reproducible():
    _seed.set_global_seed(123)
    a = [_seed.next_seed() for _ in range(50)]
    _seed.set_global_seed(123)
    b = [_seed.next_seed() for _ in range(50)]
    assert a == b and len(set(a)) == 50
    assert all(isinstance(s, int) and 0 <= s < 2 ** 63 for s in a)
    _seed.set_global_seed(124)
    assert [_seed.next_seed() for _ in range(3)] != a[:3]
    assert _seed.global_seed() == 124


def test_make_rng():
    assert np.array_equal(_seed.make_rng(7).standard_normal(5),
                          np.random.default_rng(7).standard_normal(5))
    _seed.set_global_seed(5)
    x1 = _seed.make_rng().standard_normal(4)
    x2 = _seed.make_rng().standard_normal(4)
    assert not np.array_equal(x1, x2)
    _seed.set_global_seed(5)
    assert np.array_equal(_seed.make_rng().standard_normal(4), x1)
    g = np.random.default_rng(0)
    assert _seed.make_rng(g) is g


@pytest.mark.parametrize("bad, err", [(-1, ValueError), (1.0, TypeError), ("3", TypeError),
                                      (True, TypeError)])
def test_check_seed_errors_name_the_argument(bad, err):
    with pytest.raises(err, match="^seed: "):
        _seed.make_rng(bad)
    with pytest.raises(err, match="^seed: "):
        _seed.set_global_seed(bad)


def test_unseeded_stream_starts_from_entropy():
    _seed.set_global_seed(None)
    a = _seed.next_seed()
    _seed.set_global_seed(None)
    assert _seed.next_seed() != a


def test_set_random_seed_seeds_python_numpy_and_fastnn():
    def draw():
        return (random.random(), np.random.rand(), _seed.next_seed(),
                _seed.make_rng().standard_normal())

    utils.set_random_seed(2024)
    first = draw()
    utils.set_random_seed(2024)
    assert draw() == first
    utils.set_random_seed(2025)
    assert draw() != first
    assert random.Random(2024).random() == first[0]
    assert np.random.RandomState(2024).rand() == first[1]


@pytest.mark.parametrize("bad, err", [(None, TypeError), (1.5, TypeError), (-3, ValueError),
                                      (2 ** 32, ValueError), (False, TypeError)])
def test_set_random_seed_rejects_bad_seeds(bad, err):
    with pytest.raises(err, match="^seed: "):
        utils.set_random_seed(bad)


def test_set_random_seed_accepts_numpy_ints():
    utils.set_random_seed(np.int64(9))
    assert _seed.global_seed() == 9
