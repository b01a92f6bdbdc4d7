"""gather_rows: the shuffled-batch row copy, against np.take."""
import numpy as np
import pytest

from fastnn import _core


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
@pytest.mark.parametrize("shape", [(50,), (50, 7), (50, 4, 3)])
@pytest.mark.parametrize("n", [0, 1, 5, 50, 200])
def test_gather_rows_equals_take(rng, dtype, shape, n):
    src = (rng.standard_normal(shape) * 10).astype(dtype)
    idx = rng.integers(0, shape[0], n).astype(np.int64)
    out = np.empty((n,) + shape[1:], dtype)
    assert _core.gather_rows(src, idx, out) is out
    np.testing.assert_array_equal(out, np.take(src, idx, axis=0))


def test_gather_rows_rejects_bad_input(rng):
    src = rng.standard_normal((10, 3)).astype(np.float32)
    out = np.empty((2, 3), np.float32)
    with pytest.raises(ValueError, match="idx"):
        _core.gather_rows(src, np.array([0, 10]), out)
    with pytest.raises(ValueError, match="idx"):
        _core.gather_rows(src, np.array([-1, 0]), out)
    with pytest.raises(TypeError, match="idx"):
        _core.gather_rows(src, np.array([0, 1], np.int32), out)
    with pytest.raises(TypeError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), np.empty((2, 3)))
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), np.empty((3, 3), np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.gather_rows(src.T, np.array([0, 1]), np.empty((2, 10), np.float32))
    with pytest.raises(TypeError, match="src"):
        _core.gather_rows(np.array([object()] * 3), np.array([0]), np.empty(1, object))
    with pytest.raises(TypeError, match="src"):
        _core.gather_rows([1, 2], np.array([0]), out)
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), src[:2])  # overlaps the source
    ro = np.empty((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        _core.gather_rows(src, np.array([0, 1]), ro)
