"""keras.initializers: fans, distributions (statistics on large draws), seeds, configs,
registry names and argument errors."""
import json
import math

import numpy as np
import pytest

from fastnn import backend, initializers as I, utils

N = 1_000_000  # draws per statistics check: the sample mean is within 5 / sqrt(N) sd
BIG = (1000, 1000)


def assert_stats(x, mean, std):
    """Sample mean and std of x match (mean, std) within about 6 standard errors."""
    x = np.asarray(x, np.float64)
    n = x.size
    assert abs(x.mean() - mean) < 6 * std / math.sqrt(n) + 1e-12
    assert abs(x.std() - std) < 6 * std / math.sqrt(2 * n) * 1.5 + 1e-12


@pytest.fixture(autouse=True)
def restore_floatx():
    fx = backend.floatx()
    yield
    backend.set_floatx(fx)


# ---- fans --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)), ((7,), (7, 7)), ((3, 4), (3, 4)), ((784, 128), (784, 128)),
    ((5, 7, 2), (35, 10)), ((3, 3, 16, 32), (144, 288)), ((2, 3, 3, 4, 8), (72, 144)),
    ((0, 5), (0, 5)),
])
def test_compute_fans(shape, fans):
    assert I.compute_fans(shape) == fans


# ---- constants ---------------------------------------------------------------------------

def test_zeros_ones_constant():
    z = I.Zeros()((2, 3))
    assert z.dtype == np.float32 and z.shape == (2, 3) and not z.any()
    o = I.Ones()((4,), dtype="float64")
    assert o.dtype == np.float64 and np.all(o == 1)
    assert I.Zeros()((2,), dtype="int32").dtype == np.int32
    c = I.Constant(2.5)((2, 2))
    assert c.dtype == np.float32 and np.all(c == 2.5)
    row = I.Constant([1.0, 2.0, 3.0])((2, 3), dtype="float64")
    np.testing.assert_array_equal(row, [[1, 2, 3], [1, 2, 3]])
    assert row.flags.writeable and row.flags.c_contiguous
    assert I.Zeros()(5).shape == (5,)
    assert I.Ones()(()).shape == ()


def test_constant_errors():
    with pytest.raises(ValueError, match=r"^value: a value of shape \(3,\) does not broadcast"):
        I.Constant([1.0, 2.0, 3.0])((2, 2))
    with pytest.raises(TypeError, match="^value: expected a number"):
        I.Constant("a")


def test_floatx_is_the_default_dtype():
    backend.set_floatx("float64")
    for init in (I.Zeros(), I.GlorotUniform(seed=1), I.RandomNormal(seed=1), I.Orthogonal(seed=1),
                 I.Identity(), I.Constant(1)):
        assert init((3, 3)).dtype == np.float64


def test_identity():
    np.testing.assert_array_equal(I.Identity(gain=2.0)((3, 3)), 2.0 * np.eye(3))
    np.testing.assert_array_equal(I.Identity()((2, 4)), np.eye(2, 4))
    np.testing.assert_array_equal(I.IdentityInitializer()((4, 2)), np.eye(4, 2))
    with pytest.raises(ValueError, match=r"^shape: the identity initializer fills 2-D weights "
                                         r"only, received shape \(2, 2, 2\) of rank 3"):
        I.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="rank 1"):
        I.Identity()((3,))


# ---- random distributions ----------------------------------------------------------------

def test_random_normal_statistics():
    x = I.RandomNormal(mean=1.5, stddev=0.3, seed=1)(BIG, dtype="float64")
    assert_stats(x, 1.5, 0.3)
    d = I.RandomNormal(seed=2)(BIG)
    assert d.dtype == np.float32
    assert_stats(d, 0.0, 0.05)
    assert np.all(I.RandomNormal(mean=3.0, stddev=0.0, seed=1)((4,)) == 3.0)


def test_random_uniform_statistics_and_bounds():
    x = I.RandomUniform(minval=-1.0, maxval=3.0, seed=3)(BIG, dtype="float64")
    assert x.min() >= -1.0 and x.max() < 3.0
    assert x.min() < -0.999 and x.max() > 2.999
    assert_stats(x, 1.0, 4.0 / math.sqrt(12.0))
    d = I.RandomUniform(seed=4)(BIG)
    assert d.min() >= -0.05 and d.max() <= 0.05


def test_truncated_normal_constant_is_the_truncated_std():
    # Var of N(0, 1) conditioned on |z| <= 2: 1 - 2 * 2 * phi(2) / (2 * Phi(2) - 1).
    phi2 = math.exp(-2.0) / math.sqrt(2.0 * math.pi)
    mass = math.erf(2.0 / math.sqrt(2.0))
    assert math.isclose(math.sqrt(1.0 - 4.0 * phi2 / mass), I._TRUNCATED_STD, rel_tol=1e-15)


def test_truncated_normal_bounds_and_statistics():
    mean, sd = 0.5, 0.2
    x = I.TruncatedNormal(mean=mean, stddev=sd, seed=5)(BIG, dtype="float64")
    assert x.min() >= mean - 2 * sd and x.max() <= mean + 2 * sd
    assert x.min() < mean - 1.99 * sd and x.max() > mean + 1.99 * sd  # the tails are reached
    assert_stats(x, mean, sd * I._TRUNCATED_STD)
    d = I.TruncatedNormal(seed=6)((50, 50))
    assert d.dtype == np.float32 and np.abs(d).max() <= np.float32(0.1)


SHAPES = [(400, 2500), (3, 3, 64, 1000)]  # 2-D and 4-D, 1e6 and 576e3 draws


@pytest.mark.parametrize("shape", SHAPES, ids=["2d", "4d"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(shape, mode, distribution):
    fan_in, fan_out = I.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    scale = 2.0
    std = math.sqrt(scale / n)
    x = I.VarianceScaling(scale, mode, distribution, seed=7)(shape, dtype="float64")
    assert x.shape == shape
    assert_stats(x, 0.0, std)
    if distribution == "uniform":
        limit = math.sqrt(3 * scale / n)
        assert np.abs(x).max() <= limit and np.abs(x).max() > 0.999 * limit
    elif distribution == "truncated_normal":
        bound = 2 * std / I._TRUNCATED_STD
        assert np.abs(x).max() <= bound and np.abs(x).max() > 0.99 * bound


def test_variance_scaling_normal_means_truncated():
    a = I.VarianceScaling(distribution="normal", seed=1)
    assert a.distribution == "truncated_normal"
    b = I.VarianceScaling(distribution="Truncated_Normal", seed=1)
    np.testing.assert_array_equal(a((20, 30)), b((20, 30)))


def test_variance_scaling_small_fans_use_at_least_one():
    x = I.VarianceScaling(scale=1.0, mode="fan_in", distribution="uniform", seed=1)((0, 4))
    assert x.shape == (0, 4)
    y = I.VarianceScaling(scale=1.0, distribution="uniform", seed=1)(())
    assert abs(float(y)) <= math.sqrt(3.0)


PRESETS = [  # class, scale, mode, distribution
    (I.GlorotUniform, 1.0, "fan_avg", "uniform"),
    (I.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (I.HeUniform, 2.0, "fan_in", "uniform"),
    (I.HeNormal, 2.0, "fan_in", "truncated_normal"),
    (I.LecunUniform, 1.0, "fan_in", "uniform"),
    (I.LecunNormal, 1.0, "fan_in", "truncated_normal"),
]


@pytest.mark.parametrize("cls, scale, mode, dist", PRESETS, ids=[p[0].__name__ for p in PRESETS])
def test_presets_are_variance_scaling(cls, scale, mode, dist):
    init = cls(seed=11)
    assert isinstance(init, I.VarianceScaling)
    assert (init.scale, init.mode, init.distribution) == (scale, mode, dist)
    assert init.get_config() == {"seed": 11}
    shape = (3, 3, 100, 200)
    np.testing.assert_array_equal(init(shape), I.VarianceScaling(scale, mode, dist, seed=11)(shape))


def test_glorot_uniform_limit_hand_worked():
    x = I.GlorotUniform(seed=0)((784, 128), dtype="float64")
    limit = math.sqrt(6.0 / (784 + 128))  # 0.0811...
    assert np.abs(x).max() <= limit and np.abs(x).max() > 0.999 * limit
    assert_stats(I.HeNormal(seed=0)((2000, 500), dtype="float64"), 0.0, math.sqrt(2.0 / 2000))


# ---- orthogonal --------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(8, 8), (20, 5), (5, 20), (3, 3, 4, 12), (2, 2, 3, 5)])
def test_orthogonal(shape):
    gain = 1.5
    w = I.Orthogonal(gain=gain, seed=3)(shape, dtype="float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_float32_and_empty_and_errors():
    w = I.OrthogonalInitializer(seed=1)((64, 64))
    assert w.dtype == np.float32
    np.testing.assert_allclose(w.T @ w, np.eye(64), atol=2e-6)
    assert I.Orthogonal(seed=1)((0, 4)).shape == (0, 4)
    with pytest.raises(ValueError, match=r"^shape: the orthogonal initializer needs a shape of "
                                         r"rank >= 2, received shape \(5,\) of rank 1"):
        I.Orthogonal()((5,))


def test_orthogonal_is_haar_distributed_on_average():
    # Over random orthogonal matrices each entry has mean 0 and variance 1/n.
    n = 4
    samples = np.stack([I.Orthogonal(seed=s)((n, n), dtype="float64") for s in range(3000)])
    assert abs(samples.mean()) < 6 * math.sqrt(1.0 / n / samples.size)
    np.testing.assert_allclose(samples[:, 0, 0].var(), 1.0 / n, rtol=0.1)
    # diagonal signs are not biased (sign fix of the QR factor)
    assert abs(np.mean(samples[:, 0, 0] > 0) - 0.5) < 0.05


# ---- seeds -------------------------------------------------------------------------------

RANDOM = [I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.VarianceScaling,
          I.GlorotUniform, I.GlorotNormal, I.HeUniform, I.HeNormal, I.LecunUniform,
          I.LecunNormal, I.OrthogonalInitializer]


@pytest.mark.parametrize("cls", RANDOM, ids=[c.__name__ for c in RANDOM])
def test_seeded_returns_the_same_values_every_call(cls):
    init = cls(seed=42)
    a, b = init((30, 40)), init((30, 40))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, cls(seed=42)((30, 40)))
    assert not np.array_equal(a, cls(seed=43)((30, 40)))
    # float32 is the float64 draw rounded once
    np.testing.assert_array_equal(a, init((30, 40), dtype="float64").astype(np.float32))


@pytest.mark.parametrize("cls", RANDOM, ids=[c.__name__ for c in RANDOM])
def test_unseeded_draws_fresh_values_reproducible_by_set_random_seed(cls):
    init = cls()
    utils.set_random_seed(7)
    a, b = init((20, 10)), init((20, 10))
    assert not np.array_equal(a, b)
    utils.set_random_seed(7)
    np.testing.assert_array_equal(init((20, 10)), a)
    np.testing.assert_array_equal(cls()((20, 10)), b)


@pytest.mark.parametrize("bad, err", [(1.5, TypeError), ("1", TypeError), (True, TypeError),
                                      (-1, ValueError)])
def test_bad_seed(bad, err):
    with pytest.raises(err, match="^seed: "):
        I.RandomNormal(seed=bad)
    with pytest.raises(err, match="^seed: "):
        I.GlorotUniform(seed=bad)


# ---- configs and the registry ------------------------------------------------------------

INSTANCES = [
    I.Zeros(), I.Ones(), I.Constant(3.0), I.Constant([1.0, 2.0]), I.Identity(gain=0.5),
    I.RandomNormal(0.1, 0.2, seed=1), I.RandomUniform(-0.3, 0.4, seed=None),
    I.TruncatedNormal(0.0, 0.7, seed=2), I.VarianceScaling(0.5, "fan_out", "uniform", seed=3),
    I.GlorotUniform(seed=4), I.GlorotNormal(), I.HeUniform(seed=5), I.HeNormal(),
    I.LecunUniform(seed=6), I.LecunNormal(), I.Orthogonal(gain=2.0, seed=7),
]


@pytest.mark.parametrize("init", INSTANCES, ids=lambda i: type(i).__name__)
def test_config_round_trips(init):
    cfg = init.get_config()
    json.dumps(cfg)
    clone = type(init).from_config(cfg)
    assert type(clone) is type(init) and clone.get_config() == cfg
    ser = I.serialize(init)
    assert ser["class_name"] == type(init).__name__ and ser["module"] == "keras.initializers"
    back = I.deserialize(json.loads(json.dumps(ser)))
    assert type(back) is type(init) and back.get_config() == cfg
    assert I.get(ser).get_config() == cfg
    assert init.clone().get_config() == cfg
    if "seed" not in cfg or cfg["seed"] is not None:  # deterministic: the same values
        np.testing.assert_array_equal(back((3, 2)), init((3, 2)))


@pytest.mark.parametrize("init", INSTANCES, ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 3, 3, 2)])
def test_outputs_are_fresh_c_contiguous_arrays(init, shape):
    if isinstance(init, I.IdentityInitializer) and len(shape) != 2:
        return
    if isinstance(init, I.Constant) and np.ndim(init.value):
        shape = shape[:-1] + (2,)
    a = init(shape)
    assert isinstance(a, np.ndarray) and a.shape == shape and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable
    b = init(shape)
    assert not np.shares_memory(a, b)


def test_keras_configs():
    assert I.VarianceScaling().get_config() == {"scale": 1.0, "mode": "fan_in",
                                                "distribution": "truncated_normal", "seed": None}
    assert I.RandomNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert I.RandomUniform().get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    assert I.TruncatedNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert I.Orthogonal().get_config() == {"gain": 1.0, "seed": None}
    assert I.Identity().get_config() == {"gain": 1.0}
    assert I.Constant().get_config() == {"value": 0.0}
    assert I.Zeros().get_config() == {}
    assert I.serialize(I.Orthogonal())["class_name"] == "OrthogonalInitializer"


NAMES = {
    I.Zeros: ["Zeros", "zeros", "zero"], I.Ones: ["Ones", "ones", "one"],
    I.Constant: ["Constant", "constant"],
    I.IdentityInitializer: ["Identity", "identity", "IdentityInitializer"],
    I.RandomNormal: ["RandomNormal", "random_normal", "normal"],
    I.RandomUniform: ["RandomUniform", "random_uniform", "uniform"],
    I.TruncatedNormal: ["TruncatedNormal", "truncated_normal"],
    I.VarianceScaling: ["VarianceScaling", "variance_scaling"],
    I.GlorotUniform: ["GlorotUniform", "glorot_uniform"],
    I.GlorotNormal: ["GlorotNormal", "glorot_normal"],
    I.HeUniform: ["HeUniform", "he_uniform"], I.HeNormal: ["HeNormal", "he_normal"],
    I.LecunUniform: ["LecunUniform", "lecun_uniform"],
    I.LecunNormal: ["LecunNormal", "lecun_normal"],
    I.OrthogonalInitializer: ["Orthogonal", "orthogonal", "OrthogonalInitializer"],
}


@pytest.mark.parametrize("cls, name", [(c, n) for c, ns in NAMES.items() for n in ns],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_registry_names(cls, name):
    assert type(I.get(name)) is cls
    assert type(I.get({"class_name": name, "config": {}})) is cls
    assert type(I.deserialize(name)) is cls
    assert getattr(I, name) is cls if hasattr(I, name) else True


def test_module_level_aliases_are_the_classes():
    assert I.glorot_uniform is I.GlorotUniform and I.he_normal is I.HeNormal
    assert I.orthogonal is I.Orthogonal is I.OrthogonalInitializer
    assert I.identity is I.Identity is I.IdentityInitializer
    assert I.zeros is I.Zeros and I.random_normal is I.RandomNormal


def test_get_passthrough_and_errors():
    assert I.get(None) is None
    g = I.GlorotUniform()
    assert I.get(g) is g
    assert type(I.get(I.HeNormal)) is I.HeNormal

    def custom(shape, dtype=None):
        return np.full(shape, 7.0, dtype)

    assert I.get(custom) is custom
    with pytest.raises(ValueError, match="did you mean 'glorot_uniform'"):
        I.get("glorot_unifrom")
    with pytest.raises(ValueError, match="did you mean 'he_normal'"):
        I.get("He_Normal")
    with pytest.raises(TypeError, match="^initializer: expected a name, a config dict"):
        I.get(0.5)


# ---- argument errors ---------------------------------------------------------------------

@pytest.mark.parametrize("make, err, match", [
    (lambda: I.RandomNormal(stddev=-1.0), ValueError, "^stddev: expected a non-negative"),
    (lambda: I.TruncatedNormal(stddev=-0.1), ValueError, "^stddev: "),
    (lambda: I.RandomNormal(mean="0"), TypeError, "^mean: expected a real number"),
    (lambda: I.RandomNormal(mean=float("nan")), ValueError, "^mean: expected a finite"),
    (lambda: I.RandomUniform(minval=1.0, maxval=0.0), ValueError, "^maxval: expected maxval >="),
    (lambda: I.VarianceScaling(scale=0.0), ValueError, "^scale: expected a positive"),
    (lambda: I.VarianceScaling(scale=-2), ValueError, "^scale: "),
    (lambda: I.VarianceScaling(mode="fan_middle"), ValueError,
     r"^mode: expected one of \['fan_in', 'fan_out', 'fan_avg'\], received 'fan_middle'"),
    (lambda: I.VarianceScaling(distribution="cauchy"), ValueError,
     "^distribution: expected one of .*received 'cauchy'"),
    (lambda: I.VarianceScaling(distribution=3), TypeError, "^distribution: expected a str"),
    (lambda: I.Orthogonal(gain=None), TypeError, "^gain: "),
    (lambda: I.Identity(gain="1"), TypeError, "^gain: "),
])
def test_constructor_errors_name_the_argument(make, err, match):
    with pytest.raises(err, match=match):
        make()


@pytest.mark.parametrize("shape, err", [((3, -1), ValueError), ((2.0, 3), TypeError),
                                        ("ab", TypeError), (None, TypeError), (-4, ValueError),
                                        ((True, 2), TypeError)])
def test_bad_shapes(shape, err):
    for init in (I.Zeros(), I.GlorotUniform(seed=1), I.RandomNormal(seed=1)):
        with pytest.raises(err, match="^shape: "):
            init(shape)


def test_bad_dtypes():
    with pytest.raises(ValueError, match="^dtype: expected a floating dtype, received int32"):
        I.RandomNormal(seed=1)((2,), dtype="int32")
    with pytest.raises(TypeError, match="^dtype: "):
        I.Zeros()((2,), dtype="nonsense")
    with pytest.raises(ValueError, match="^dtype: expected a numeric dtype"):
        I.Ones()((2,), dtype="U3")
    assert I.RandomNormal(seed=1)((2,), dtype=np.float64).dtype == np.float64
