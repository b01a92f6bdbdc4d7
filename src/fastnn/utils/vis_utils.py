"""plot_model and model_to_dot: a model's layers as a Graphviz graph, drawn with pydot.

Both need the ``plot`` extra (``pip install "fastnn[plot]"``, which brings pydot) and
Graphviz's ``dot`` program (``apt-get install graphviz`` on Debian and Ubuntu); without
them they raise an ImportError or OSError that says what to install. Each layer is one
node, labelled like Keras's: the layer's name and class, and on request its input and
output shapes, dtype, activation and whether it trains.
"""
import html
import numbers
import os
import shutil
import sys
import tempfile

__all__ = ["model_to_dot", "plot_model"]

_INSTALL = ('pip install "fastnn[plot]" (pydot) and Graphviz\'s dot program '
            '(apt-get install graphviz on Debian/Ubuntu, brew install graphviz on macOS)')
_RANKDIRS = ("TB", "LR", "BT", "RL")
_SPLINES = ("ortho", "curved", "polyline", "spline", "line", "true", "false", "none")


def _pydot():
    try:
        import pydot
    except ImportError as e:
        raise ImportError(f"plot_model and model_to_dot draw with pydot, which is not "
                          f"installed: {_INSTALL}") from e
    return pydot


def _check_dot_program():
    """Raise an OSError when Graphviz's dot program cannot be run."""
    prog = "dot"
    if shutil.which(prog) is None:
        raise OSError(f"plot_model draws with Graphviz's {prog!r} program, which was not "
                      f"found on the PATH: {_INSTALL}")


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected a bool, received {value!r}")


def _check_model(model):
    if not hasattr(model, "layers") or not hasattr(model, "built"):
        raise TypeError(f"model: expected a fastnn model (Sequential), received "
                        f"{type(model).__name__}")
    if not model.built:
        raise ValueError(f"model: model '{model.name}' is not built yet, so its shapes are "
                         f"unknown; build it first (build(input_shape), an Input, or a first "
                         f"call or fit)")


def _shape(shape):
    if shape is None:
        return "?"
    return str(tuple(shape))


def _activation_name(layer):
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    return getattr(fn, "name", None) or getattr(fn, "__name__", None) or str(fn)


def _is_model(layer):
    from fastnn.models import Sequential
    return isinstance(layer, Sequential)


def _label(layer, opts):
    """A Graphviz HTML-like table: name (class), then shapes, dtype, trainable."""
    name = html.escape(layer.name)
    cls = html.escape(type(layer).__name__)
    cells = []
    if opts["show_shapes"]:
        cells.append(f"Input shape: <b>{html.escape(_shape(getattr(layer, 'input_shape', None)))}"
                     f"</b>")
        cells.append(f"Output shape: <b>{html.escape(_shape(getattr(layer, 'output_shape', None)))}"
                     f"</b>")
    if opts["show_dtype"]:
        cells.append(f"Output dtype: <b>{html.escape(str(getattr(layer, 'dtype', None) or '?'))}"
                     f"</b>")
    trainable_cell = None
    if opts["show_trainable"] and getattr(layer, "weights", None):
        trainable_cell = ("forestgreen", "Trainable") if layer.trainable else \
            ("firebrick", "Non-trainable")
    span = max(1, len(cells) + (trainable_cell is not None))
    title = f"<b>{name}</b> ({cls})" if opts["show_layer_names"] else f"<b>{cls}</b>"
    rows = [f'<tr><td colspan="{span}" bgcolor="black"><font point-size="16" color="white">'
            f'{title}</font></td></tr>']
    activation = _activation_name(layer) if opts["show_layer_activations"] else None
    if activation is not None:
        rows.append(f'<tr><td colspan="{span}" bgcolor="white"><font point-size="14">'
                    f'Activation: <b>{html.escape(activation)}</b></font></td></tr>')
    row = "".join(f'<td bgcolor="white"><font point-size="14">{c}</font></td>' for c in cells)
    if trainable_cell is not None:
        row += (f'<td bgcolor="{trainable_cell[0]}"><font point-size="14" color="white">'
                f'<b>{trainable_cell[1]}</b></font></td>')
    if row:
        rows.append(f"<tr>{row}</tr>")
    return ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
            + "".join(rows) + "</table>>")


def _add_layers(pydot, graph, model, opts, prefix):
    """Add model's layers to graph (nested models as clusters when expanded); return the
    ids of the first and last node, for the edges around a nested model."""
    first = last = None
    for i, layer in enumerate(model.layers):
        node_id = f"{prefix}{i}"
        if opts["expand_nested"] and _is_model(layer) and layer.layers:
            cluster = pydot.Cluster(graph_name=node_id, label=html.escape(layer.name),
                                    labeljust="l", style="dashed")
            head, tail = _add_layers(pydot, cluster, layer, opts, node_id + "_")
            graph.add_subgraph(cluster)
        else:
            node = pydot.Node(node_id, label=_label(layer, opts), fontname="Helvetica",
                              border="0", margin="0")
            graph.add_node(node)
            head = tail = node_id
        if last is not None:
            graph.add_edge(pydot.Edge(last, head, penwidth="2"))
        first = head if first is None else first
        last = tail
    return first, last


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True,
                 rankdir="TB", expand_nested=False, dpi=200, subgraph=False,
                 show_layer_activations=False, show_trainable=False, splines="ortho"):
    """Build the pydot graph of a model's layers, one node per layer, in order.

    Args:
        model: A built fastnn model. Default required.
        show_shapes: Show each layer's input and output shape. Defaults to False.
        show_dtype: Show each layer's dtype. Defaults to False.
        show_layer_names: Show layer names (else the class only). Defaults to True.
        rankdir: 'TB' (top to bottom), 'LR', 'BT' or 'RL'. Defaults to 'TB'.
        expand_nested: Draw a nested model's layers in a dashed cluster. Defaults to
            False.
        dpi: Resolution of raster images, in dots per inch. Defaults to 200.
        subgraph: Return a pydot.Cluster (for nesting in another graph) instead of a
            pydot.Dot. Defaults to False.
        show_layer_activations: Show the activation of layers that have one. Defaults to
            False.
        show_trainable: Mark layers with weights as trainable or not. Defaults to False.
        splines: How Graphviz draws edges ('ortho', 'curved', 'polyline', 'spline',
            'line'). Defaults to 'ortho'.

    Returns:
        A pydot.Dot (or pydot.Cluster with subgraph=True).

    Example:
        >>> dot = model_to_dot(model, show_shapes=True)
        >>> svg = dot.create(format="svg")
    """
    for value, name in ((show_shapes, "show_shapes"), (show_dtype, "show_dtype"),
                        (show_layer_names, "show_layer_names"),
                        (expand_nested, "expand_nested"), (subgraph, "subgraph"),
                        (show_layer_activations, "show_layer_activations"),
                        (show_trainable, "show_trainable")):
        _check_bool(value, name)
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir: expected one of {list(_RANKDIRS)}, received {rankdir!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"dpi: expected a positive number, received {dpi!r}")
    if not dpi > 0:
        raise ValueError(f"dpi: expected a positive number, received {dpi!r}")
    if splines not in _SPLINES:
        raise ValueError(f"splines: expected one of {list(_SPLINES)}, received {splines!r}")
    _check_model(model)
    pydot = _pydot()
    opts = {"show_shapes": show_shapes, "show_dtype": show_dtype,
            "show_layer_names": show_layer_names, "expand_nested": expand_nested,
            "show_layer_activations": show_layer_activations,
            "show_trainable": show_trainable}
    if subgraph:
        graph = pydot.Cluster(graph_name=model.name, label=html.escape(model.name),
                              labeljust="l", style="dashed")
    else:
        graph = pydot.Dot(graph_type="digraph", rankdir=rankdir, concentrate="true",
                          dpi=str(dpi), splines=splines)
        graph.set_node_defaults(shape="record")
    _add_layers(pydot, graph, model, opts, "layer_")
    return graph


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, splines="ortho"):
    """Draw a model's layers to an image file with Graphviz; the format is the file's
    extension (png, svg, pdf, jpg, ...; png when there is none).

    The file is written whole or not at all (a temporary file renamed into place).

    Args:
        model: A built fastnn model. Default required.
        to_file: The image file to write. Defaults to 'model.png'.
        show_shapes: Show each layer's input and output shape. Defaults to False.
        show_dtype: Show each layer's dtype. Defaults to False.
        show_layer_names: Show layer names (else the class only). Defaults to True.
        rankdir: 'TB' (top to bottom), 'LR', 'BT' or 'RL'. Defaults to 'TB'.
        expand_nested: Draw a nested model's layers in a dashed cluster. Defaults to
            False.
        dpi: Resolution of raster images, in dots per inch. Defaults to 200.
        show_layer_activations: Show the activation of layers that have one. Defaults to
            False.
        show_trainable: Mark layers with weights as trainable or not. Defaults to False.
        splines: How Graphviz draws edges. Defaults to 'ortho'.

    Returns:
        Under IPython (Jupyter), an IPython.display.Image (or SVG) of the file for the
        notebook to show; None elsewhere and for formats a notebook cannot show.

    Raises:
        ImportError: pydot is not installed (``pip install "fastnn[plot]"``).
        OSError: Graphviz's dot program is not installed (``apt-get install graphviz``).

    Example:
        >>> plot_model(model, to_file="model.svg", show_shapes=True)
    """
    if not isinstance(to_file, (str, os.PathLike)):
        raise TypeError(f"to_file: expected a file path, received {type(to_file).__name__}")
    to_file = os.fspath(to_file)
    ext = os.path.splitext(to_file)[1][1:].lower() or "png"
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, splines=splines)
    if ext not in dot.formats:
        raise ValueError(f"to_file: Graphviz cannot write {ext!r} files; use one of "
                         f"png, svg, pdf, jpg, gif, ps, dot (received {to_file!r})")
    _check_dot_program()
    try:
        image = dot.create(prog="dot", format=ext)
    except FileNotFoundError as e:
        raise OSError(f"plot_model could not run Graphviz's dot program: {_INSTALL}") from e
    folder = os.path.dirname(os.path.abspath(to_file))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(to_file) + ".",
                               suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(image)
        os.replace(tmp, to_file)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return _notebook_image(to_file, ext)


def _notebook_image(path, ext):
    """The image for a notebook to show inline, when running under IPython; else None."""
    ipython = sys.modules.get("IPython")
    if ipython is None or getattr(ipython, "get_ipython", lambda: None)() is None:
        return None
    from IPython import display
    if ext in ("png", "jpg", "jpeg", "gif"):
        return display.Image(filename=path)
    if ext == "svg":
        return display.SVG(filename=path)
    return None
