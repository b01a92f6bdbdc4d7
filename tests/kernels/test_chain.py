"""InferenceChain: a stack of dense layers, activations and softmaxes in one C call.

It must give exactly the bits of the same kernels called one by one, be batch-invariant,
agree with a NumPy reference, and reject bad input with a clear error."""
import numpy as np
import pytest

from fastnn import _core, ops
from fastnn.ops._linalg import _spec

DTYPES = [np.float32, np.float64]


def _layers(rng, widths, dtype):
    out = []
    for k, n in zip(widths[:-1], widths[1:]):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        out.append((w, b))
    return out


def _one_by_one(x, layers, acts, tail):
    h = x
    for (w, b), a in zip(layers, acts):
        h = ops.dense(h, w, b, a)
    if tail == "softmax":
        h = ops.softmax(h)
    elif tail == "log_softmax":
        h = ops.log_softmax(h)
    elif tail == "tanh":
        h = ops.activation(h, "tanh")
    return h


def _chain(layers, acts, tail, dtype, packed):
    steps = [("dense", w, ops.pack_weights(w) if packed else None, b, _spec(a, {}))
             for (w, b), a in zip(layers, acts)]
    width = layers[-1][0].shape[1]
    if tail in ("softmax", "log_softmax"):
        steps.append((tail, width))
    elif tail == "tanh":
        steps.append(("act", _spec("tanh", {}), width))
    return _core.InferenceChain(steps, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("tail", [None, "softmax", "log_softmax", "tanh"])
@pytest.mark.parametrize("m", [0, 1, 7, 300])
def test_chain_is_the_kernels_one_by_one(rng, dtype, packed, tail, m):
    layers = _layers(rng, [53, 31, 17, 5], dtype)
    acts = ["relu", "sigmoid", None]
    chain = _chain(layers, acts, tail, dtype, packed)
    x = rng.standard_normal((m, 53)).astype(dtype)
    y = chain(x)
    assert y.shape == (m, 5) and y.dtype == dtype
    assert y.tobytes() == _one_by_one(x, layers, acts, tail).tobytes()
    # against NumPy in float64
    h = x.astype(np.float64)
    for (w, b), a in zip(layers, acts):
        h = h @ w.astype(np.float64) + b
        h = np.maximum(h, 0) if a == "relu" else 1 / (1 + np.exp(-h)) if a == "sigmoid" else h
    if tail == "softmax":
        e = np.exp(h - h.max(axis=1, keepdims=True))
        h = e / e.sum(axis=1, keepdims=True)
    elif tail == "log_softmax":
        h = h - h.max(axis=1, keepdims=True)
        h = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
    elif tail == "tanh":
        h = np.tanh(h)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y, h, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_chain_is_batch_invariant_and_writes_out(rng, dtype):
    layers = _layers(rng, [784, 128, 10], dtype)
    chain = _chain(layers, ["relu", None], "softmax", dtype, True)
    x = rng.random((300, 784)).astype(dtype)
    full = chain(x)
    for i in (0, 1, 150, 299):
        assert chain(x[i:i + 1]).tobytes() == full[i:i + 1].tobytes()
    out = np.full((300, 10), np.nan, dtype)
    assert chain(x, out) is out and out.tobytes() == full.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_try_call_takes_only_what_fits_as_it_is(rng, dtype):
    """try_call, the single-sample fast path: the chain's bits for an array of the chain's
    dtype, C-contiguous and of the set shapes; None for anything else (the caller then
    takes the general path), never an error."""
    layers = _layers(rng, [12, 6, 4], dtype)
    chain = _chain(layers, ["relu", None], None, dtype, False)
    x = rng.random((5, 12)).astype(dtype)
    assert chain.try_call(x) is None  # no shapes set yet
    chain.set_shapes((3, 4), (2, 2))
    got = chain.try_call(x.reshape(5, 3, 4))
    assert got.shape == (5, 2, 2) and got.dtype == dtype
    assert got.tobytes() == chain(x).tobytes()
    assert chain.try_call(x[:0].reshape(0, 3, 4)).shape == (0, 2, 2)
    other = np.float32 if dtype == np.float64 else np.float64
    big = x.reshape(5, 3, 4).astype(np.dtype(dtype).newbyteorder(">"))
    unaligned = np.frombuffer(b"\0" + x.tobytes(), dtype, offset=1).reshape(5, 3, 4)
    assert not unaligned.flags.aligned
    for bad in (x,                                   # (5, 12): not the set shape
                x.reshape(5, 4, 3), x.reshape(60), x.reshape(1, 5, 3, 4),
                x.reshape(5, 3, 4).astype(other), big, unaligned,
                x.reshape(5, 3, 4)[::2],                    # a view, not contiguous
                x.reshape(5, 3, 4).tolist(), None, 3.0):
        assert chain.try_call(bad) is None
    with pytest.raises(ValueError, match="in_shape"):
        chain.set_shapes((5, 4), (4,))
    with pytest.raises(ValueError, match="out_shape"):
        chain.set_shapes((12,), (5,))
    with pytest.raises(ValueError, match="in_shape"):
        chain.set_shapes([12], (4,))
    with pytest.raises(ValueError, match="in_shape"):
        chain.set_shapes((1,) * 8 + (12,), (4,))
    with pytest.raises(ValueError, match="out_shape"):
        chain.set_shapes((12,), (-2, -2))
    with pytest.raises(ValueError, match="in_shape"):
        chain.set_shapes((12.0,), (4,))


def test_chain_rejects_bad_input(rng):
    w = rng.standard_normal((4, 3)).astype(np.float32)
    chain = _core.InferenceChain([("dense", w, None, None, None)], np.float32)
    with pytest.raises(TypeError, match="x"):
        chain(np.ones((2, 4)))  # float64 into a float32 chain
    with pytest.raises(ValueError, match="x"):
        chain(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="x"):
        chain(np.ones((4, 2), np.float32).T)  # not C-contiguous
    with pytest.raises(TypeError, match="x"):
        chain(None)
    with pytest.raises(ValueError, match="out"):
        chain(np.ones((2, 4), np.float32), np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="steps"):
        _core.InferenceChain([], np.float32)
    with pytest.raises(ValueError, match="steps"):
        _core.InferenceChain([("conv", 3)], np.float32)
    with pytest.raises(ValueError, match="steps"):  # widths do not line up
        _core.InferenceChain([("dense", w, None, None, None), ("softmax", 4)], np.float32)
    with pytest.raises(ValueError, match="w_packed"):
        _core.InferenceChain([("dense", w, np.ones(3, np.float32), None, None)], np.float32)
    with pytest.raises(ValueError, match="b"):
        _core.InferenceChain([("dense", w, None, np.ones(4, np.float32), None)], np.float32)
    with pytest.raises(TypeError, match="dtype"):
        _core.InferenceChain([("softmax", 3)], np.int32)
