"""TrainChain: the forward pass, loss and backward pass of a training step in one C call.

fit takes it for models of Dense, Dropout, Flatten and Reshape layers with a kernel loss.
It must give exactly the bits of the layer-by-layer path (the same kernels in the same
order), be used where it applies and not where it does not, follow a weight array that is
replaced, and reject bad arguments with clear errors."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import _core
from fastnn.engine import plan as plan_mod
from fastnn.engine.plan import TrainPlan


@pytest.fixture
def count_chain(monkeypatch):
    """Counts the training steps the TrainChain ran (the others took the layer path)."""
    calls = {"chain": 0, "layers": 0}
    orig = TrainPlan._chain_step

    def counted(self, x, y, sw):
        res = orig(self, x, y, sw)
        calls["chain" if res is not None else "layers"] += 1
        return res

    monkeypatch.setattr(TrainPlan, "_chain_step", counted)
    return calls


def _no_chain(monkeypatch):
    monkeypatch.setattr(TrainPlan, "_chain_layout", lambda self: None)


def _data(n=300, shape=(6, 5), classes=10, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + shape).astype(dtype)
    y = rng.integers(0, classes, n).astype(np.uint8)
    return x, y


def _model(last_act=None, dtype="float32", first=None, widths=(16, 12), acts=("relu", "elu"),
           classes=10, in_shape=(6, 5)):
    layers = [keras.Input(in_shape), keras.layers.Flatten(dtype=dtype)]
    if first is not None:
        layers.append(first())
    layers += [keras.layers.Dense(widths[0], activation=acts[0], dtype=dtype),
               keras.layers.Dropout(0.3, dtype=dtype),
               keras.layers.Dense(widths[1], activation=acts[1], dtype=dtype),
               keras.layers.Dense(classes, activation=last_act, dtype=dtype)]
    return keras.Sequential(layers)


def _fit(monkeypatch, use_chain, build, compile_kw, fit_kw, x, y):
    with monkeypatch.context() as mp:
        if not use_chain:
            _no_chain(mp)
        keras.utils.set_random_seed(7)
        model = build()
        model.compile(**compile_kw)
        hist = model.fit(x, y, verbose=0, **fit_kw)
    return model.get_weights(), hist.history, model.optimizer.variables


CASES = {
    "sparse logits, adam": (dict(), dict(optimizer="adam", metrics=["accuracy"],
                            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
                            "sparse"),
    "softmax folded into sparse CE": (dict(last_act="softmax"),
                                      dict(optimizer="rmsprop",
                                           loss="sparse_categorical_crossentropy"), "sparse"),
    "softmax folded into categorical CE": (dict(last_act="softmax"),
                                           dict(optimizer="sgd",
                                                loss="categorical_crossentropy"), "onehot"),
    "sigmoid folded into binary CE": (dict(last_act="sigmoid"),
                                      dict(optimizer="adam", loss="binary_crossentropy"),
                                      "onehot"),
    "mse, linear output": (dict(), dict(optimizer="adamw", loss="mse"), "onehot"),
    "leading dropout, tanh and selu": (dict(first=lambda: keras.layers.Dropout(0.2),
                                            acts=("tanh", "selu")),
                                       dict(optimizer="nadam", loss=keras.losses.
                                            SparseCategoricalCrossentropy(from_logits=True)),
                                       "sparse"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_chain_gives_the_layer_path_bits(monkeypatch, count_chain, case):
    model_kw, compile_kw, targets = CASES[case]
    x, y = _data()
    yy = keras.utils.to_categorical(y, 10) if targets == "onehot" else y
    # batch 64 over 300 samples: a smaller last batch; validation runs between epochs
    fit_kw = dict(batch_size=64, epochs=2, validation_split=0.1)
    got = _fit(monkeypatch, True, lambda: _model(**model_kw), compile_kw, fit_kw, x, yy)
    used = count_chain["chain"]
    ref = _fit(monkeypatch, False, lambda: _model(**model_kw), compile_kw, fit_kw, x, yy)
    assert used == 2 * 5, count_chain  # every step of both epochs went through the chain
    for a, b in zip(got[0], ref[0]):
        np.testing.assert_array_equal(a, b)
    assert got[1] == ref[1]
    for a, b in zip(got[2], ref[2]):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_chain_with_sample_weights_float64_and_label_shapes(monkeypatch, count_chain):
    x, y = _data(n=200, dtype=np.float64)
    sw = np.random.default_rng(1).random(200)
    compile_kw = dict(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for labels in (y, y.astype(np.int64).reshape(-1, 1), y.astype(np.float32)):
        fit_kw = dict(batch_size=50, epochs=1, sample_weight=sw, shuffle=True)
        before = count_chain["chain"]
        got = _fit(monkeypatch, True, lambda: _model(dtype="float64"), compile_kw, fit_kw, x,
                   labels)
        assert count_chain["chain"] - before == 4
        ref = _fit(monkeypatch, False, lambda: _model(dtype="float64"), compile_kw, fit_kw, x,
                   labels)
        for a, b in zip(got[0], ref[0]):
            assert a.dtype == np.float64
            np.testing.assert_array_equal(a, b)


def test_class_weight_goes_through_the_chain(monkeypatch, count_chain):
    x, y = _data(n=128)
    compile_kw = dict(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit_kw = dict(batch_size=32, epochs=1, class_weight={i: 1.0 + i / 10 for i in range(10)})
    got = _fit(monkeypatch, True, _model, compile_kw, fit_kw, x, y)
    assert count_chain["chain"] == 4
    ref = _fit(monkeypatch, False, _model, compile_kw, fit_kw, x, y)
    for a, b in zip(got[0], ref[0]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("why", ["regularizer", "frozen", "prelu", "python activation",
                                 "noise shape", "softmax not folded"])
def test_layer_path_where_the_chain_does_not_apply(count_chain, why):
    x, y = _data(n=64)
    keras.utils.set_random_seed(3)
    hidden = keras.layers.Dense(8, activation="relu")
    extra = []
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if why == "regularizer":
        hidden = keras.layers.Dense(8, kernel_regularizer="l2")
    elif why == "frozen":
        hidden.trainable = False
    elif why == "prelu":
        extra = [keras.layers.PReLU()]
    elif why == "python activation":
        hidden = keras.layers.Dense(8, activation=lambda z: z * 0.5)
    elif why == "noise shape":
        extra = [keras.layers.Dropout(0.5, noise_shape=(None, 1))]
    else:
        loss = "mse"  # a softmax output is folded only into a cross-entropy
    last = keras.layers.Dense(10, activation="softmax" if why == "softmax not folded" else None)
    model = keras.Sequential([keras.Input((6, 5)), keras.layers.Flatten(), hidden] + extra +
                             [last])
    model.compile(optimizer="adam", loss=loss)
    yy = keras.utils.to_categorical(y, 10) if loss == "mse" else y
    model.fit(x, yy, batch_size=32, epochs=1, verbose=0)
    assert count_chain == {"chain": 0, "layers": 2}


def test_chain_follows_a_replaced_weight_array(monkeypatch, count_chain):
    x, y = _data(n=96)
    results = []
    for use_chain in (True, False):
        with monkeypatch.context() as mp:
            if not use_chain:
                _no_chain(mp)
            keras.utils.set_random_seed(5)
            model = _model()
            model.compile(optimizer="sgd",
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model.fit(x, y, batch_size=32, epochs=1, verbose=0)
            layer = model.layers[1]
            layer.kernel.value = np.ascontiguousarray(layer.kernel.value[::-1]) * 0.5
            model.fit(x, y, batch_size=32, epochs=1, verbose=0)
            results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert count_chain["chain"] == 6


def _small_chain(rows=4, dtype=np.float32):
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((3, 5)).astype(dtype)
    b1 = np.zeros(5, dtype)
    w2 = rng.standard_normal((5, 4)).astype(dtype)
    dw1, db1, dw2 = np.zeros_like(w1), np.zeros_like(b1), np.zeros_like(w2)
    relu = keras.activations.kernel_spec("relu")
    steps = [("dense", w1, b1, relu, False, dw1, db1, False),
             ("dropout", 5, 0.5, 11, True),
             ("dense", w2, None, None, False, dw2, None, True)]
    return _core.TrainChain(steps, dtype, rows), (w1, b1, w2, dw1, db1, dw2)


def test_chain_against_numpy_gradients():
    """One step checked against a NumPy forward and backward pass of the same network."""
    chain, (w1, b1, w2, dw1, db1, dw2) = _small_chain(rows=6)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 1, 0], np.int64)
    spec = keras.losses.SparseCategoricalCrossentropy(from_logits=True).logits_variant() or \
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss = chain.step(x, 6, [0, 9, 0], spec._spec(), None, labels, None, 2)
    # the dropout mask of stream 9, from the dropout kernel itself
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0)
    kept = np.empty((6, 5), np.float32)
    mask = np.empty((6, 5), np.uint8)
    _core.dropout_forward(np.ones((6, 5), np.float32), kept, mask, 0.5, 11, 9)
    hd = h * kept
    z = hd @ w2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    ref_loss = -np.mean(np.log(p[np.arange(6), labels]))
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(chain.out[:6], z, rtol=1e-5, atol=1e-5)
    g = p.copy()
    g[np.arange(6), labels] -= 1
    g /= 6
    np.testing.assert_allclose(dw2, hd.T @ g, rtol=1e-4, atol=1e-6)
    gh = (g @ w2.T) * kept * (h > 0)
    np.testing.assert_allclose(dw1, x.T.astype(np.float64) @ gh, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(db1, gh.sum(0), rtol=1e-4, atol=1e-6)


def test_chain_bad_arguments():
    chain, arrays = _small_chain()
    spec = keras.losses.SparseCategoricalCrossentropy(from_logits=True)._spec()
    x = np.zeros((4, 3), np.float32)
    labels = np.zeros(4, np.int64)
    with pytest.raises(ValueError, match="m: expected a row count"):
        chain.step(np.zeros((5, 3), np.float32), 5, [0, 0, 0], spec, None, labels, None, 2)
    with pytest.raises(ValueError, match="x: expected 4 rows of 3"):
        chain.step(np.zeros((4, 2), np.float32), 4, [0, 0, 0], spec, None, labels, None, 2)
    with pytest.raises(TypeError, match="x: expected dtype float32"):
        chain.step(x.astype(np.float64), 4, [0, 0, 0], spec, None, labels, None, 2)
    with pytest.raises(ValueError, match="streams: expected 3"):
        chain.step(x, 4, [0], spec, None, labels, None, 2)
    with pytest.raises(ValueError, match="y_true: expected shape"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels[:3], None, 2)
    with pytest.raises(ValueError, match="sample_weight: expected shape"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, np.ones(3, np.float32), 2)
    with pytest.raises(ValueError, match="red: expected"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, None, 0)
    from types import SimpleNamespace as Var
    w1, b1, w2, dw1, db1, dw2 = arrays
    bad_slot = _core.AdamGroup([(Var(value=w1), dw1, Var(value=None), Var(value=np.zeros_like(w1)),
                                 None)])
    with pytest.raises(TypeError, match="m, v: expected numpy.ndarrays"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, None, 2,
                   (bad_slot, 1e-3, 0.1, 0.001, 1e-3, 1e-7))
    wrong_shape = _core.AdamGroup([(Var(value=w1), dw2, Var(value=np.zeros_like(w1)),
                                    Var(value=np.zeros_like(w1)), None)])
    with pytest.raises(ValueError, match="g: expected shape"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, None, 2,
                   (wrong_shape, 1e-3, 0.1, 0.001, 1e-3, 1e-7))
    with pytest.raises(TypeError, match="adam: expected None or"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, None, 2, (1, 2))
    # inputs that alias what the step writes: a gradient, the logits buffer, the loss
    # gradient (the weights themselves may be read)
    w1, b1, w2, dw1, db1, dw2 = arrays
    for alias in (dw1.reshape(-1)[:12].reshape(4, 3), chain.out.reshape(-1)[:12].reshape(4, 3)):
        with pytest.raises(ValueError, match="x: must not share memory with the chain"):
            chain.step(alias, 4, [0, 0, 0], spec, None, labels, None, 2)
    mse = keras.losses.MeanSquaredError()._spec()
    with pytest.raises(ValueError, match="y_true: must not share memory with the chain"):
        chain.step(x, 4, [0, 0, 0], mse, chain.grad, None, None, 2)
    with pytest.raises(ValueError, match="sample_weight: must not share memory"):
        chain.step(x, 4, [0, 0, 0], spec, None, labels, db1[:4], 2)
    # a view of the weights is only read (no optimizer update in this call)
    chain.step(w1.reshape(-1)[:12].reshape(4, 3), 4, [0, 0, 0], spec, None, labels, None, 2)
    before = [a.copy() for a in arrays]
    with pytest.raises(ValueError, match=r"y_true: expected class indices in \[0, 4\)"):
        chain.step(x, 4, [0, 0, 0], spec, None, np.array([0, 1, 4, 0], np.int64), None, 2)
    for a, b in zip(arrays, before):
        np.testing.assert_array_equal(a, b)  # no gradient was written
    w = np.zeros((3, 5), np.float32)
    dw = np.zeros((3, 5), np.float32)
    with pytest.raises(ValueError, match="unknown step"):
        _core.TrainChain([("conv", w)], np.float32, 4)
    with pytest.raises(ValueError, match="tuple of 8 items"):
        _core.TrainChain([("dense", w, None)], np.float32, 4)
    with pytest.raises(ValueError, match="dw: expected shape"):
        _core.TrainChain([("dense", w, None, None, False, dw[:2], None, False)], np.float32, 4)
    with pytest.raises(ValueError, match="rows_max"):
        _core.TrainChain([("dense", w, None, None, False, dw, None, False)], np.float32, 0)
    with pytest.raises(ValueError, match="input width"):
        _core.TrainChain([("dense", w, None, None, False, dw, None, False),
                          ("dropout", 4, 0.5, 1, True)], np.float32, 4)
    with pytest.raises(ValueError, match="rate"):
        _core.TrainChain([("dropout", 4, 1.5, 1, True)], np.float32, 4)
    with pytest.raises(ValueError, match="needs db"):
        _core.TrainChain([("dense", w, np.zeros(5, np.float32), None, False, dw, None, False)],
                         np.float32, 4)
    with pytest.raises(TypeError, match="dtype"):
        _core.TrainChain([("dense", w, None, None, False, dw, None, False)], np.int32, 4)


def test_plan_module_keeps_the_layer_path_for_other_inputs(count_chain):
    """A generator yielding lists (not arrays) still trains, on the layer path."""
    x, y = _data(n=64)

    def gen():
        while True:
            for i in range(0, 64, 32):
                yield x[i:i + 32].tolist(), y[i:i + 32]

    keras.utils.set_random_seed(2)
    model = _model()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(gen(), steps_per_epoch=2, epochs=1, verbose=0)
    assert count_chain["chain"] + count_chain["layers"] == 2
    assert plan_mod.TrainPlan is TrainPlan


@pytest.mark.parametrize("opt, fused", [("adam", True), (lambda: keras.optimizers.Adam(amsgrad=True), True),
                                        ("adamw", False), (lambda: keras.optimizers.Adam(clipnorm=1.0), False),
                                        ("rmsprop", False)])
def test_optimizer_update_inside_the_chain(monkeypatch, opt, fused):
    """Adam without clipping or weight decay runs its update inside the chain's C call;
    the weights and optimizer state are those of the layer path."""
    from fastnn.optimizers.base import Optimizer
    finished = []
    orig = Optimizer._engine_finish

    def counted(self):
        finished.append(1)
        return orig(self)

    monkeypatch.setattr(Optimizer, "_engine_finish", counted)
    x, y = _data(n=160)
    make = opt if callable(opt) else (lambda: opt)
    compile_kw = dict(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    fit_kw = dict(batch_size=32, epochs=2)
    got = _fit(monkeypatch, True, _model, dict(compile_kw, optimizer=make()), fit_kw, x, y)
    assert len(finished) == (10 if fused else 0)
    ref = _fit(monkeypatch, False, _model, dict(compile_kw, optimizer=make()), fit_kw, x, y)
    for a, b in zip(got[0] + [np.asarray(v) for v in got[2]],
                    ref[0] + [np.asarray(v) for v in ref[2]]):
        np.testing.assert_array_equal(a, b)


def test_chain_step_bits_do_not_depend_on_threads():
    """The chained step with its team session (2 threads) gives the 1-thread bits."""
    from tests.conftest import run_with_threads
    code = """
        import hashlib, numpy as np, fastnn as keras
        rng = np.random.default_rng(0)
        x = rng.random((512, 784)).astype(np.float32); y = rng.integers(0, 10, 512)
        keras.utils.set_random_seed(1)
        m = keras.Sequential([keras.Input((784,)), keras.layers.Dense(128, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10)])
        m.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        m.fit(x, y, batch_size=128, epochs=2, verbose=0)
        h = hashlib.sha256()
        for w in m.get_weights() + [np.asarray(v) for v in m.optimizer.variables]:
            h.update(np.ascontiguousarray(w).tobytes())
        print(h.hexdigest())
    """
    assert run_with_threads(code, 1) == run_with_threads(code, 2)


# ---- packed kernels: Adam in the chain keeps a packed copy that the next forward reads ----

def _train_steps(pack, build, steps, dtype="float32", batch=48, seed=3, between=None):
    """Weights and optimizer slots after `steps` train_on_batch calls with the chain's packed
    kernels on or off; between(i, model) runs before step i."""
    old = TrainPlan.pack_weights
    TrainPlan.pack_weights = pack
    try:
        keras.utils.set_random_seed(seed)
        model = build()
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        rng = np.random.default_rng(seed)
        width = model.layers[0].kernel.shape[0] if model.layers[0].built else None
        for i in range(steps):
            if between is not None:
                between(i, model)
            x = rng.standard_normal((batch, width)).astype(dtype)
            y = rng.integers(0, model.output_shape[-1], batch)
            model.train_on_batch(x, y)
        return model, model.get_weights() + [np.asarray(v) for v in model.optimizer.variables]
    finally:
        TrainPlan.pack_weights = old


def _mlp(k, widths, dtype="float32", constraint=None):
    layers = [keras.Input((k,), dtype=dtype)]
    for i, w in enumerate(widths):
        last = i == len(widths) - 1
        layers.append(keras.layers.Dense(w, activation=None if last else "relu", dtype=dtype,
                                         kernel_constraint=constraint if i == 0 else None))
        if i == 0:
            layers.append(keras.layers.Dropout(0.25, dtype=dtype))
    return keras.Sequential(layers)


@pytest.mark.parametrize("kernel", _core.available_kernels())
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k, widths", [(200, (130, 7)), (70, (64, 33, 5)), (9, (3, 16))])
def test_packed_kernels_are_the_kernels_adam_wrote(kernel, dtype, k, widths):
    """After each step every dense step's packed copy equals pack_weights of its kernel: for
    kernels of several Adam chunks whose sub-blocks end mid-row (200 x 130), widths that are
    and are not multiples of the panel width, and narrower than a panel; and training with
    the copies gives the bits of training without them."""
    _core.set_kernel(kernel)
    try:
        build = lambda: _mlp(k, widths, dtype)
        model, got = _train_steps(True, build, 3, dtype)
        plan = model._batch_plan
        chain, kernels = plan._tc[0], plan._tc[6]
        checked = 0
        for j, kv in enumerate(kernels):
            if kv is None:
                assert chain.packed_weights(j) is None
                continue
            ref = np.empty(_core.packed_size(*kv.shape, kv.dtype), kv.dtype)
            _core.pack_weights(kv.value, ref)
            np.testing.assert_array_equal(chain.packed_weights(j), ref)
            assert plan._packed_versions[j] == kv.version
            checked += 1
        assert checked == len(widths)
        _, ref_state = _train_steps(False, build, 3, dtype)
        for a, b in zip(got, ref_state):
            np.testing.assert_array_equal(a, b)
    finally:
        _core.set_kernel("auto")


def _assign(i, model):
    if i == 2:  # a new kernel value between steps: the packed copy is stale
        kv = model.layers[0].kernel
        kv.assign(kv.numpy()[::-1] * 0.5)


def _switch_kernel(i, model):
    if i == 2:  # another kernel family between steps: the copy's layout may not suit it
        _core.set_kernel("portable")


@pytest.mark.parametrize("between", [_assign, _switch_kernel], ids=["assign", "set_kernel"])
def test_packed_kernels_follow_changes_between_steps(between):
    """A kernel changed between steps, or a kernel family switched, is read as it is now, not
    from a stale copy: the run gives the bits of a run without packed copies."""
    build = lambda: _mlp(50, (40, 6))
    try:
        _, got = _train_steps(True, build, 5, between=between)
        _core.set_kernel("auto")
        _, ref = _train_steps(False, build, 5, between=between)
    finally:
        _core.set_kernel("auto")
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


def test_packed_kernel_with_a_constraint_is_not_reused():
    """A constraint changes the kernel after Adam wrote the copy: the copy is not used."""
    build = lambda: _mlp(30, (20, 4), constraint=keras.constraints.MaxNorm(0.3))
    model, got = _train_steps(True, build, 4)
    assert model._batch_plan._packed_versions[0] == -1
    _, ref = _train_steps(False, build, 4)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


def test_packed_kernel_shared_by_two_steps_is_packed_once():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 4)).astype(np.float32)
    steps = [("dense", w, None, None, False, np.zeros_like(w), None, False),
             ("dense", w, None, None, False, np.zeros_like(w), None, True)]
    chain = _core.TrainChain(steps, np.float32, 3, True)
    assert chain.packed_weights(0) is not None and chain.packed_weights(1) is None
    assert _core.TrainChain(steps, np.float32, 3).packed_weights(0) is None
    with pytest.raises(IndexError, match="i: expected a step index in \\[0, 2\\)"):
        chain.packed_weights(2)
    spec = keras.losses.SparseCategoricalCrossentropy(from_logits=True)._spec()
    with pytest.raises(ValueError, match="packed_valid: expected None or 2 values"):
        chain.step(np.zeros((3, 4), np.float32), 3, [0, 0], spec, None,
                   np.zeros(3, np.int64), None, 2, None, [True])
