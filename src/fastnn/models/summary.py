"""model.summary(): Keras 3's table of layers, output shapes and parameter counts."""

__all__ = ["print_summary", "shape_str"]


def _size(n_params, itemsize):
    b = float(n_params * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.2f} {unit}"
        b /= 1024


def shape_str(shape):
    """A shape as Keras prints it: (None, 128)."""
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _check_args(line_length, positions, print_fn):
    import numbers
    if line_length is not None and (isinstance(line_length, bool) or
                                    not isinstance(line_length, numbers.Integral)):
        raise TypeError(f"line_length: expected an int or None, received {line_length!r}")
    if line_length is not None and line_length < 20:
        raise ValueError(f"line_length: expected an int >= 20 (the table needs room), "
                         f"received {line_length}")
    if positions is not None:
        if not isinstance(positions, (list, tuple)) or len(positions) != 3 or any(
                isinstance(p, bool) or not isinstance(p, numbers.Real) for p in positions):
            raise TypeError(f"positions: expected 3 numbers (the right edge of each column, "
                            f"as fractions of line_length or in characters), received "
                            f"{positions!r}")
        if not all(a < b for a, b in zip([0] + list(positions[:-1]), positions)):
            raise ValueError(f"positions: expected 3 increasing positive numbers, received "
                             f"{list(positions)}")
    if print_fn is not None and not callable(print_fn):
        raise TypeError(f"print_fn: expected a callable or None, received "
                        f"{type(print_fn).__name__}")


def print_summary(model, line_length=None, positions=None, print_fn=None, show_trainable=False):
    """Print (or pass to print_fn, line by line) the summary table of a Sequential model."""
    _check_args(line_length, positions, print_fn)
    print_fn = print_fn or print
    line_length = line_length or 88
    positions = positions or [0.45, 0.84, 1.0]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths = [positions[0]] + [positions[i] - positions[i - 1] for i in range(1, len(positions))]
    widths = [w - 3 for w in widths]  # room for the borders and padding

    def row(cells, left, mid, right, fill=" "):
        parts = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            c = str(c)
            text = c.rjust(w) if i == len(widths) - 1 else c.ljust(w)
            parts.append(f"{fill}{text[:w] if len(text) > w else text}{fill}")
        return left + mid.join(parts) + right

    def rule(left, mid, right, ch):
        return left + mid.join(ch * (w + 2) for w in widths) + right

    header = ["Layer (type)", "Output Shape", "Param #"]
    lines = [f'Model: "{model.name}"',
             rule("\u250f", "\u2533", "\u2513", "\u2501"),
             row(header, "\u2503", "\u2503", "\u2503"),
             rule("\u2521", "\u2547", "\u2529", "\u2501")]
    layers = model.layers
    for i, layer in enumerate(layers):
        shape = layer.output_shape if model.built else None
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        lines.append(row([f"{layer.name} ({type(layer).__name__})", shape_str(shape), params],
                         "\u2502", "\u2502", "\u2502"))
        if i < len(layers) - 1:
            lines.append(rule("\u251c", "\u253c", "\u2524", "\u2500"))
    lines.append(rule("\u2514", "\u2534", "\u2518", "\u2500"))
    item = 4
    if layers:
        item = __import__("numpy").dtype(layers[0].dtype).itemsize
    total = sum(v.size for v in model.weights)
    trainable = sum(v.size for v in model.trainable_weights)
    lines.append(f" Total params: {total:,} ({_size(total, item)})")
    lines.append(f" Trainable params: {trainable:,} ({_size(trainable, item)})")
    lines.append(f" Non-trainable params: {total - trainable:,} ({_size(total - trainable, item)})")
    for line in lines:
        print_fn(line)
