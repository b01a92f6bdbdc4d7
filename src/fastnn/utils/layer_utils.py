"""print_summary: keras.utils.print_summary, the table that model.summary() prints."""

__all__ = ["print_summary"]


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    """Print a model's table of layers, output shapes and parameter counts.

    The same as ``model.summary(...)``: the same lines, through the same print_fn.

    Args:
        model: A fastnn model. Default required.
        line_length: The table's width in characters. Defaults to None (88).
        positions: The right edge of each of the 3 columns, as fractions of line_length
            or in characters. Defaults to None ([0.45, 0.84, 1.0]).
        print_fn: Called with each line instead of print. Defaults to None (print).
        expand_nested: Accepted for Keras's signature. Defaults to False.
        show_trainable: Accepted for Keras's signature. Defaults to False.
        layer_range: Accepted for Keras's signature. Defaults to None.

    Example:
        >>> lines = []
        >>> print_summary(model, print_fn=lines.append)
    """
    if not callable(getattr(model, "summary", None)) or not hasattr(model, "layers"):
        raise TypeError(f"model: expected a fastnn model (Sequential), received "
                        f"{type(model).__name__}")
    model.summary(line_length=line_length, positions=positions, print_fn=print_fn,
                  expand_nested=expand_nested, show_trainable=show_trainable,
                  layer_range=layer_range)
