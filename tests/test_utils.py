"""fastnn.utils: to_categorical, normalize, get_file and the custom-object helpers.

Values are checked by hand and, where tf.keras defines the behaviour, against tf.keras
(those tests skip when TensorFlow is not installed).
"""
import numpy as np
import pytest

from fastnn import utils


@pytest.fixture(scope="module")
def tku():
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    return tf.keras.utils


# ---- to_categorical ----------------------------------------------------------------------

def test_to_categorical_hand_worked():
    out = utils.to_categorical([0, 2, 1], num_classes=4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]])


def test_to_categorical_infers_classes_and_drops_trailing_one():
    y = np.array([[3], [0], [1]])
    out = utils.to_categorical(y)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out.argmax(-1), [3, 0, 1])


def test_to_categorical_dtype_and_float_labels():
    out = utils.to_categorical(np.array([1.0, 0.0]), 2, dtype="int32")
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[0, 1], [1, 0]])


@pytest.mark.parametrize("y, kwargs, exc, word", [
    ([0, 3], {"num_classes": 3}, ValueError, "y"),
    ([-1, 0], {}, ValueError, "y"),
    ([0.5], {}, ValueError, "y"),
    (["a"], {}, TypeError, "y"),
    ([0, 1], {"num_classes": 0}, ValueError, "num_classes"),
    ([0, 1], {"num_classes": 2.5}, TypeError, "num_classes"),
    ([], {}, ValueError, "num_classes"),
    ([0], {"dtype": "nope"}, TypeError, "dtype"),
])
def test_to_categorical_bad_input(y, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        utils.to_categorical(y, **kwargs)


@pytest.mark.parametrize("y, num_classes", [
    ([0, 1, 2, 3], None), ([0, 1, 2, 3], 6), (np.array([[1], [0], [2]]), None),
    (np.array([[1], [0], [2]]), 5), (np.array([[0, 1], [2, 1]]), None),
    (np.array([[[1]], [[0]]]), 3), (np.array([2]), None), (np.array([[2]]), 4), (3, 5),
    (np.arange(10).reshape(2, 5, 1), None), (np.zeros((0,), np.int64), 3),
    (np.array([1.0, 2.0]), None), (np.array([1, 0], np.uint8), 2),
])
def test_to_categorical_matches_tf_keras(tku, y, num_classes):
    want = tku.to_categorical(y, num_classes)
    got = utils.to_categorical(y, num_classes)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # Keras 3 returns float64, fastnn float32


# ---- normalize ---------------------------------------------------------------------------

def test_normalize_hand_worked():
    out = utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(np.array([[1.0, -3.0]]), order=1),
                               [[0.25, -0.75]])


@pytest.mark.parametrize("x, axis, order", [
    (np.array([3.0, 4.0]), -1, 2),
    (np.array([3.0, 4.0]), 0, 2),
    (np.array([[3.0, 4.0], [0.0, 0.0]], np.float32), -1, 2),
    (np.array([[3.0, 4.0], [0.0, 0.0]], np.float32), 1, 2),
    (np.arange(24.0).reshape(2, 3, 4) - 10, -1, 1),
    (np.arange(24.0).reshape(2, 3, 4) - 10, 1, np.inf),
    (np.arange(24.0).reshape(2, 3, 4) - 10, 2, 3),
    (np.zeros((3, 5), np.float32), -1, 2),
    (np.array([[1, 2, 0], [0, 0, 0]]), -1, 2),
    (np.random.default_rng(0).standard_normal((7, 9)).astype(np.float32), -1, 2),
])
def test_normalize_matches_tf_keras(tku, x, axis, order):
    want = tku.normalize(x, axis=axis, order=order)
    got = utils.normalize(x, axis=axis, order=order)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_normalize_axis0_matches_tf_keras_tensor_path(tku):
    # Keras's NumPy branch rewrites axis=0 to -1 (`axis or -1`) and then broadcasts the
    # wrong way; its tensor branch normalises along axis 0 as documented. fastnn does that.
    import tensorflow as tf
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    x[:, 1] = 0
    want = np.asarray(tku.normalize(tf.constant(x), axis=0))
    np.testing.assert_allclose(utils.normalize(x, axis=0), want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("x, kwargs, exc, word", [
    (np.ones(3), {"axis": 1}, ValueError, "axis"),
    (np.ones(3), {"axis": None}, TypeError, "axis"),
    (np.ones(3), {"order": "fro"}, TypeError, "order"),
    (np.array(["a"]), {}, TypeError, "x"),
    (np.float32(2.0), {}, ValueError, "x"),
])
def test_normalize_bad_input(x, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        utils.normalize(x, **kwargs)
