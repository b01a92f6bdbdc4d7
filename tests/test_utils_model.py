"""fastnn.utils for models: print_summary, plot_model / model_to_dot (pydot + Graphviz, both
required here: CI installs them, these tests never skip), multi_gpu_model and
set_random_seed. The tf.keras comparisons are in tests/parity/test_utils_parity.py."""
import os
import random
import re
import struct
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _seed, utils


def _model(name="mnist_mlp"):
    L = fastnn.layers
    return fastnn.Sequential([fastnn.Input((28, 28)), L.Flatten(name="flatten"),
                              L.Dense(128, activation="relu", name="dense"),
                              L.Dropout(0.2, name="dropout"), L.Dense(10, name="dense_1")],
                             name=name)


# ---- print_summary -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"line_length": 70}, {"positions": [0.3, 0.6, 1.0]},
                                    {"line_length": 100, "positions": [40, 70, 100]}])
def test_print_summary_equals_model_summary(kwargs):
    model = _model()
    ours, theirs = [], []
    utils.print_summary(model, print_fn=ours.append, **kwargs)
    model.summary(print_fn=theirs.append, **kwargs)
    assert ours == theirs
    text = "\n".join(ours)
    assert 'Model: "mnist_mlp"' in text and "Total params: 101,770 (397.54 KB)" in text
    assert "dense (Dense)" in text and "(None, 128)" in text and "100,480" in text


def test_print_summary_prints_to_stdout(capsys):
    model = _model()
    utils.print_summary(model)
    ours = capsys.readouterr().out
    model.summary()
    assert ours == capsys.readouterr().out and ours.count("\n") == 15


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((5,), {}, TypeError, "^model: expected a fastnn model"),
    ((None,), {}, TypeError, "^model: expected a fastnn model"),
    ((), {"line_length": "80"}, TypeError, "^line_length: expected an int"),
    ((), {"line_length": 5}, ValueError, "^line_length: expected an int >= 20"),
    ((), {"positions": [0.5, 1.0]}, TypeError, "^positions: expected 3 numbers"),
    ((), {"positions": [0.5, 0.2, 1.0]}, ValueError, "^positions: expected 3 increasing"),
    ((), {"print_fn": 3}, TypeError, "^print_fn: expected a callable"),
])
def test_print_summary_bad_arguments(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        utils.print_summary(*(args or (_model(),)), **kwargs)


# ---- model_to_dot / plot_model -----------------------------------------------------------

def _texts(label):
    """The words of an HTML-like node label, without its markup."""
    return [t.strip() for t in re.findall(r">([^<>]+)<", label or "") if t.strip()]


def test_model_to_dot_graph():
    import pydot  # the test extra installs it: never skipped

    dot = utils.model_to_dot(_model(), show_shapes=True)
    assert isinstance(dot, pydot.Dot)
    assert dot.get_rankdir() == "TB" and dot.get("dpi") == "200"
    nodes = [n for n in dot.get_nodes() if n.get("label")]
    assert [_texts(n.get("label"))[:3] for n in nodes] == [
        ["flatten", "(Flatten)", "Input shape:"], ["dense", "(Dense)", "Input shape:"],
        ["dropout", "(Dropout)", "Input shape:"], ["dense_1", "(Dense)", "Input shape:"]]
    assert _texts(nodes[1].get("label")) == ["dense", "(Dense)", "Input shape:", "(None, 784)",
                                             "Output shape:", "(None, 128)"]
    edges = [(e.get_source(), e.get_destination()) for e in dot.get_edges()]
    names = [n.get_name() for n in nodes]
    assert edges == list(zip(names, names[1:]))


def test_model_to_dot_options():
    model = _model()
    plain = utils.model_to_dot(model, show_layer_names=False)
    assert [_texts(n.get("label")) for n in plain.get_nodes() if n.get("label")] == [
        ["Flatten"], ["Dense"], ["Dropout"], ["Dense"]]
    full = utils.model_to_dot(model, show_dtype=True, show_layer_activations=True,
                              show_trainable=True, rankdir="LR", dpi=72)
    texts = [_texts(n.get("label")) for n in full.get_nodes() if n.get("label")]
    assert texts[1] == ["dense", "(Dense)", "Activation:", "relu", "Output dtype:", "float32",
                        "Trainable"]
    assert texts[3] == ["dense_1", "(Dense)", "Activation:", "linear", "Output dtype:",
                        "float32", "Trainable"]
    assert full.get_rankdir() == "LR" and full.get("dpi") == "72"
    model.layers[1].trainable = False
    texts = [_texts(n.get("label")) for n in
             utils.model_to_dot(model, show_trainable=True).get_nodes() if n.get("label")]
    assert texts[1][-1] == "Non-trainable" and texts[0] == ["flatten", "(Flatten)"]
    cluster = utils.model_to_dot(model, subgraph=True)
    assert cluster.get_name() == "cluster_mnist_mlp"


def test_model_to_dot_expand_nested():
    inner = fastnn.Sequential([fastnn.layers.Dense(4, activation="relu"),
                               fastnn.layers.Dense(3)], name="inner")
    model = fastnn.Sequential([fastnn.Input((5,)), inner, fastnn.layers.Dense(2)])
    flat = utils.model_to_dot(model)
    assert [_texts(n.get("label"))[1] for n in flat.get_nodes() if n.get("label")] == [
        "(Sequential)", "(Dense)"]
    nested = utils.model_to_dot(model, expand_nested=True, show_shapes=True)
    (sub,) = nested.get_subgraphs()
    assert sub.get("label") == "inner"
    assert [_texts(n.get("label"))[0] for n in sub.get_nodes()] == [
        inner.layers[0].name, inner.layers[1].name]
    edges = [(e.get_source(), e.get_destination()) for e in
             sub.get_edges() + nested.get_edges()]
    assert edges == [("layer_0_0", "layer_0_1"), ("layer_0_1", "layer_1")]


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("name, magic", [("m.png", b"\x89PNG"), ("m.svg", b"<?xml"),
                                         ("m.pdf", b"%PDF"), ("m.SVG", b"<?xml"),
                                         ("m.jpg", b"\xff\xd8"), ("m", b"\x89PNG"),
                                         ("m.dot", b"digraph")])
def test_plot_model_writes_the_format_of_the_extension(tmp_path, name, magic):
    out = tmp_path / name
    assert utils.plot_model(_model(), to_file=out, show_shapes=True) is None
    data = out.read_bytes()
    assert data.startswith(magic)
    assert sorted(os.listdir(tmp_path)) == [name]  # no temporary file left behind
    if name.lower().endswith(".svg"):
        text = data.decode()
        assert "dense_1" in text and "(None, 128)" in text


def test_plot_model_dpi_rankdir_and_names(tmp_path):
    model = _model()
    sizes = {}
    for dpi in (50, 100):
        utils.plot_model(model, to_file=tmp_path / f"d{dpi}.png", dpi=dpi)
        sizes[dpi] = _png_size((tmp_path / f"d{dpi}.png").read_bytes())
    assert abs(sizes[100][0] - 2 * sizes[50][0]) <= 2 and abs(sizes[100][1] - 2 * sizes[50][1]) <= 2
    w, h = sizes[50]
    assert h > w  # top to bottom
    utils.plot_model(model, to_file=tmp_path / "lr.png", dpi=50, rankdir="LR")
    w, h = _png_size((tmp_path / "lr.png").read_bytes())
    assert w > h
    utils.plot_model(model, to_file=tmp_path / "anon.svg", show_layer_names=False)
    text = (tmp_path / "anon.svg").read_text()
    assert "dense_1" not in text and "Dropout" in text


def test_plot_model_default_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    utils.plot_model(_model())
    assert (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"show_shapes": 1}, TypeError, "^show_shapes: expected a bool"),
    ({"show_dtype": "yes"}, TypeError, "^show_dtype: expected a bool"),
    ({"show_layer_names": None}, TypeError, "^show_layer_names: expected a bool"),
    ({"expand_nested": 0}, TypeError, "^expand_nested: expected a bool"),
    ({"rankdir": "XY"}, ValueError, "^rankdir: expected one of"),
    ({"dpi": 0}, ValueError, "^dpi: expected a positive number"),
    ({"dpi": "high"}, TypeError, "^dpi: expected a positive number"),
    ({"splines": "wavy"}, ValueError, "^splines: expected one of"),
    ({"to_file": 3}, TypeError, "^to_file: expected a file path"),
    ({"to_file": "model.xyz"}, ValueError, "^to_file: Graphviz cannot write 'xyz' files"),
])
def test_plot_model_bad_arguments(tmp_path, kwargs, exc, match):
    kwargs.setdefault("to_file", tmp_path / "m.png")
    with pytest.raises(exc, match=match):
        utils.plot_model(_model(), **kwargs)
    assert not (tmp_path / "m.png").exists()


def test_plot_model_refuses_an_unbuilt_model_or_a_non_model(tmp_path):
    unbuilt = fastnn.Sequential([fastnn.layers.Dense(3)], name="later")
    with pytest.raises(ValueError, match="^model: model 'later' is not built yet"):
        utils.plot_model(unbuilt, to_file=tmp_path / "m.png")
    with pytest.raises(TypeError, match="^model: expected a fastnn model"):
        utils.model_to_dot("model")


def test_missing_pydot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)  # import pydot now raises ImportError
    for call in (lambda: utils.plot_model(_model(), to_file=tmp_path / "m.png"),
                 lambda: utils.model_to_dot(_model())):
        with pytest.raises(ImportError, match=re.escape('pip install "fastnn[plot]"')):
            call()
    assert not (tmp_path / "m.png").exists()


def test_missing_graphviz_says_what_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(OSError, match="apt-get install graphviz") as info:
        utils.plot_model(_model(), to_file=tmp_path / "m.png")
    assert 'pip install "fastnn[plot]"' in str(info.value)
    assert not (tmp_path / "m.png").exists()


# ---- multi_gpu_model ---------------------------------------------------------------------

@pytest.mark.parametrize("gpus", [None, 2, [0, 1], 8])
def test_multi_gpu_model_explains_fastnn_is_a_cpu_library(gpus):
    with pytest.raises(ValueError) as info:
        utils.multi_gpu_model(_model(), gpus=gpus)
    message = str(info.value)
    assert message.startswith("gpus: multi_gpu_model(gpus=")
    assert "fastnn is a CPU library" in message and "fastnn.set_num_threads" in message
    assert f"now {fastnn.get_num_threads()}" in message


def test_multi_gpu_model_keras2_fallback_idiom_still_works():
    model = _model()
    try:
        parallel = utils.multi_gpu_model(model, gpus=2, cpu_merge=False)
    except ValueError:
        parallel = model
    assert parallel is model
    from fastnn.utils import multi_gpu_model  # noqa: F401  importable as in Keras 2


# ---- set_random_seed ---------------------------------------------------------------------

def _everything_random():
    """Draws from every generator set_random_seed promises to seed."""
    model = fastnn.Sequential([fastnn.Input((6,)), fastnn.layers.Dense(5, activation="relu"),
                               fastnn.layers.Dropout(0.5), fastnn.layers.Dense(2)])
    x = np.linspace(-1, 1, 48, dtype=np.float32).reshape(8, 6)
    dropped = model(x, training=True)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((8, 2), np.float32), batch_size=2, epochs=2, verbose=0,
              validation_split=0.25)
    return (random.random(), np.random.rand(), _seed.next_seed(),
            [w.tolist() for w in model.get_weights()], dropped.tolist())


def test_set_random_seed_makes_everything_repeat():
    utils.set_random_seed(1234)
    first = _everything_random()
    utils.set_random_seed(1234)
    assert _everything_random() == first
    utils.set_random_seed(1235)
    other = _everything_random()
    for a, b in zip(first, other):
        assert a != b
    # Python and NumPy are seeded exactly as random.seed / numpy.random.seed do
    utils.set_random_seed(99)
    assert random.random() == random.Random(99).random()
    assert np.random.rand() == np.random.RandomState(99).rand()
    assert _seed.global_seed() == 99


def test_plot_model_returns_an_image_under_ipython(tmp_path, monkeypatch):
    import types

    class Image:
        def __init__(self, filename):
            self.filename = filename

    class SVG(Image):
        pass

    fake = types.ModuleType("IPython")
    fake.display = types.SimpleNamespace(Image=Image, SVG=SVG)
    fake.get_ipython = lambda: None
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert utils.plot_model(_model(), to_file=tmp_path / "a.png") is None  # not in a shell
    fake.get_ipython = lambda: object()
    png = utils.plot_model(_model(), to_file=tmp_path / "b.png")
    svg = utils.plot_model(_model(), to_file=tmp_path / "c.svg")
    assert type(png) is Image and png.filename == str(tmp_path / "b.png")
    assert type(svg) is SVG and svg.filename == str(tmp_path / "c.svg")
    assert utils.plot_model(_model(), to_file=tmp_path / "d.pdf") is None
