"""fastnn.utils against tf.keras 2.21: print_summary's table, model_to_dot's nodes and
edges, and what set_random_seed does to Python's and NumPy's generators."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import random  # noqa: E402
import re  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import fastnn  # noqa: E402

tk = tf.keras


def _layers(L):
    return [L.Flatten(name="flatten"), L.Dense(128, activation="relu", name="dense"),
            L.Dropout(0.2, name="dropout"), L.Dense(10, activation="softmax", name="dense_1")]


def _pair():
    t = tk.Sequential([tk.Input((28, 28))] + _layers(tk.layers), name="mlp")
    f = fastnn.Sequential([fastnn.Input((28, 28))] + _layers(fastnn.layers), name="mlp")
    return t, f


def _cells(lines):
    """The summary's text without its box drawing: the cells of each row, and the rest."""
    out = []
    for line in lines:
        if line[:1] in "│┃":
            out.append([c.strip() for c in re.split("[│┃]", line)[1:-1]])
        elif line[:1] not in "┏┡├└":
            out.append(line.rstrip())
    return out


def test_print_summary_has_tf_keras_rows_and_totals():
    t, f = _pair()
    theirs = []
    t.summary(print_fn=lambda text, line_break=False: theirs.extend(text.splitlines()))
    ours = []
    fastnn.utils.print_summary(f, print_fn=ours.append)
    assert _cells(ours) == _cells(theirs)
    assert len(ours) == len(theirs)


def _texts(dot):
    nodes = [n for n in dot.get_nodes() if n.get("label")]
    return [[t.strip() for t in re.findall(r">([^<>]+)<", n.get("label")) if t.strip()]
            for n in nodes]


@pytest.mark.parametrize("kwargs", [
    {},
    {"show_shapes": True},
    {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
     "show_trainable": True},
    {"show_layer_names": False, "show_shapes": True, "rankdir": "LR", "dpi": 96},
])
def test_model_to_dot_nodes_and_edges_equal_tf_keras(kwargs):
    t, f = _pair()
    td = tk.utils.model_to_dot(t, **kwargs)
    fd = fastnn.utils.model_to_dot(f, **kwargs)
    assert _texts(fd) == _texts(td)
    assert len(fd.get_edges()) == len(td.get_edges()) == 3
    for attr in ("rankdir", "dpi", "splines", "concentrate"):
        assert str(fd.get(attr)).lower() == str(td.get(attr)).lower(), attr


def test_set_random_seed_seeds_python_and_numpy_as_tf_keras_does():
    draws = []
    for set_seed in (tk.utils.set_random_seed, fastnn.utils.set_random_seed):
        set_seed(31337)
        draws.append((random.random(), random.randint(0, 10 ** 9), np.random.rand(3).tolist(),
                      np.random.permutation(10).tolist()))
    assert draws[0] == draws[1]
