"""plot_history: training curves from a History, drawn with matplotlib to a PNG."""
import os

__all__ = ["plot_history"]


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - the extra is installed in tests
        raise ImportError("plot_history draws with matplotlib: pip install "
                          "'fastnn[plot]'") from e
    return Figure


def _as_dict(history):
    """(dict of lists, list of epoch numbers or None) from a History or a dict."""
    if isinstance(history, dict):
        return history, None
    data = getattr(history, "history", None)
    if isinstance(data, dict):
        epochs = getattr(history, "epoch", None)
        return data, list(epochs) if epochs else None
    raise TypeError(f"history: expected a History (what fit returns) or its .history dict, "
                    f"received {type(history).__name__}")


def _default_metrics(data):
    names = []
    for k in data:
        base = k[4:] if k.startswith("val_") else k
        if base not in names:
            names.append(base)
    # the loss first, then the metrics in logged order
    return sorted(names, key=lambda n: n != "loss")


def plot_history(history, metrics=None, path=None, title=None):
    """Draw one panel per quantity (loss, accuracy, ...), each with its training and
    validation curves against the epoch.

    matplotlib draws off screen (a plain Figure with the Agg canvas; pyplot and its
    global backend are not touched), so this works without a display, in scripts, CI and
    Jupyter, where the returned Figure shows itself.

    Args:
        history: the History fit returned, or its ``history`` dict. Default required.
        metrics: the names to draw, without 'val_' (``["loss", "accuracy"]``); each
            gets its validation curve too when the history has one. Defaults to None (all
            names, the loss first).
        path: a file to write the figure to as a PNG (str or os.PathLike). Defaults to None
            (nothing written).
        title: the figure's title. Defaults to None.

    Returns:
        The matplotlib Figure.

    Example:
        >>> history = model.fit(x, y, validation_split=0.1, epochs=10)  # doctest: +SKIP
        >>> fastnn.utils.plot_history(history, path="curves.png")  # doctest: +SKIP
    """
    data, epochs = _as_dict(history)
    if metrics is None:
        metrics = _default_metrics(data)
    elif isinstance(metrics, str):
        metrics = [metrics]
    else:
        metrics = list(metrics)
    if not metrics:
        raise ValueError("history: has nothing to plot (no logged values)")
    for name in metrics:
        if not isinstance(name, str):
            raise TypeError(f"metrics: expected names (str), received {name!r}")
        if name not in data and "val_" + name not in data:
            raise ValueError(f"metrics: {name!r} is not in the history; it has "
                             f"{', '.join(sorted(data))}")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file path, received {type(path).__name__}")

    Figure = _figure_class()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.ticker import MaxNLocator

    n = len(metrics)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(5.5 * cols, 3.8 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key, label, style in ((name, "train", "-"), ("val_" + name, "validation", "--")):
            values = data.get(key)
            if not values:
                continue
            xs = epochs if epochs is not None and len(epochs) == len(values) else \
                range(len(values))
            ax.plot([e + 1 for e in xs], [float(v) for v in values], style, marker="o",
                    markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(os.fspath(path), format="png", dpi=100)
    return fig
