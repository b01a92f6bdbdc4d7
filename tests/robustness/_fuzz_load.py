"""Hypothesis fuzz of fastnn.models.load_model over damaged and hostile model files.

Starting from a real .keras file and a real legacy .h5 file (a trained, compiled model
with optimizer state), each example applies random mutations: bit flips, truncation,
appended bytes, zip members deleted, replaced, emptied or duplicated, and mutations of
config.json (values replaced by other types, huge or negative numbers, keys removed,
class names swapped for other layers or for code-carrying ones: Lambda layers with
marshalled code, 'function' objects naming os.system or builtins.exec, pickled bytes).

Every file must either load (and then predict finite-shaped output) or raise ValueError,
TypeError or OSError; nothing may crash, hang, allocate far more than the file holds,
or run code. Code execution is detected three ways: payloads that would create a
sentinel file if run, an audit hook that records exec/os.system/subprocess/marshal/
pickle events and imports of modules outside fastnn's own dependencies while a load runs.

Run: python -X faulthandler -m tests.robustness._fuzz_load [keras|h5 ...]
Environment: FASTNN_FUZZ_EXAMPLES (default 60), FASTNN_FUZZ_SEED.
"""
import base64
import copy
import io
import json
import marshal
import os
import pickle
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import fastnn
from fastnn import layers as L

EXAMPLES = int(os.environ.get("FASTNN_FUZZ_EXAMPLES", "60"))
SEED = os.environ.get("FASTNN_FUZZ_SEED")
ALLOWED = (ValueError, TypeError, OSError)
TMP = tempfile.mkdtemp(prefix="fastnn-fuzz-load-")
SENTINEL = os.path.join(TMP, "CODE-RAN")
COUNTS = {"loaded": 0, "refused": 0}
EVENTS = []
RECORDING = [False]

# ---- code-execution detection ----------------------------------------------------------
_DANGER = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
           "marshal.loads", "pickle.find_class", "ctypes.dlopen", "socket.connect",
           "builtins.input", "os.fork", "shutil.rmtree", "os.remove", "os.rmdir"}
_ALLOWED_IMPORTS = ("fastnn", "h5py", "numpy", "json", "zipfile", "zlib", "io", "warnings",
                    "encodings", "difflib", "re", "math", "numbers", "struct", "binascii",
                    "importlib", "collections", "contextlib", "datetime", "codecs",
                    "_strptime", "locale", "unicodedata", "bz2", "lzma", "shutil", "stat",
                    "fnmatch", "posixpath", "threading", "weakref", "operator", "functools",
                    "itertools", "typing", "dataclasses", "copy", "inspect", "tempfile")


def _audit(event, args):
    if not RECORDING[0]:
        return
    if event == "marshal.loads":  # imports unmarshal .pyc files: only the payload counts
        if args and isinstance(args[0], (bytes, bytearray)) and b"<payload>" in args[0]:
            EVENTS.append((event, "the file's marshalled code"))
    elif event in _DANGER or event.startswith("os.exec") or event.startswith("os.spawn"):
        EVENTS.append((event, repr(args)[:200]))
    elif event == "exec":
        # imports run module code too: only code that did not come from a file is suspect
        filename = getattr(args[0], "co_filename", "") if args else ""
        if filename in ("<payload>", "<string>") or not filename.endswith(".py"):
            EVENTS.append((event, filename))
    elif event == "import":
        name = args[0] if args else ""
        if isinstance(name, str) and name not in sys.modules and \
                not name.startswith(_ALLOWED_IMPORTS):
            EVENTS.append((event, name))


sys.addaudithook(_audit)


def _payload_code():
    """A code object that would create the sentinel file if the loader ran it."""
    src = f"open({SENTINEL!r}, 'w').write('ran')"
    return compile(src, "<payload>", "exec")


_MARSHALLED = base64.b64encode(marshal.dumps(_payload_code())).decode()


class _Evil:
    def __reduce__(self):
        return (exec, (f"open({SENTINEL!r}, 'w').write('ran')",))


_PICKLED = base64.b64encode(pickle.dumps(_Evil())).decode()

HOSTILE = [
    {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
     "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
         "code": _MARSHALLED, "defaults": None, "closure": None}}}},
    {"class_name": "Lambda", "config": {"name": "evil2", "function": [_MARSHALLED, None, None],
                                        "function_type": "lambda"}},
    {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
     "config": {"name": "evil3", "units": 2, "activation": {
         "module": "os", "class_name": "function", "config": "system",
         "registered_name": "system"}}},
    {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
     "config": {"name": "evil4", "units": 2, "activation": {
         "module": "builtins", "class_name": "function", "config": "exec",
         "registered_name": "exec"}}},
    {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
     "config": {"name": "evil5", "units": 2, "kernel_initializer": {
         "class_name": "__bytes__", "config": {"value": _PICKLED}, "pickle": True}}},
    {"module": "subprocess", "class_name": "Popen", "registered_name": "Popen",
     "config": {"args": ["touch", SENTINEL]}},
    {"module": "os", "class_name": "system", "registered_name": "os>system",
     "config": {"command": f"touch {SENTINEL}"}},
]

# ---- the base files ----------------------------------------------------------------------


def _base_model():
    fastnn.utils.set_random_seed(3)
    model = fastnn.Sequential([fastnn.Input((6,)), L.Dense(5, activation="relu", name="a"),
                               L.PReLU(name="p"), L.Dropout(0.2, name="dr"),
                               L.Dense(3, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((16, 6)).astype("float32"), rng.integers(0, 3, 16),
              epochs=1, batch_size=8, verbose=0)
    return model


def _file_bytes(model, suffix):
    path = os.path.join(TMP, "base" + suffix)
    model.save(path)
    with open(path, "rb") as f:
        return f.read()


BASE_MODEL = _base_model()
BASE = {"keras": _file_bytes(BASE_MODEL, ".keras"), "h5": _file_bytes(BASE_MODEL, ".h5")}
X = np.random.default_rng(1).standard_normal((4, 6)).astype("float32")


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def _zip(members, compress=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names on purpose
        with zipfile.ZipFile(buf, "w", compression=compress) as z:
            for name, data in members:
                z.writestr(name, data)
    return buf.getvalue()


class Sample(bytes):
    """A mutated file: bytes with a short repr (Hypothesis prints failing examples)."""

    kind = ""

    def __repr__(self):
        import hashlib
        return f"<{self.kind} file, {len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:16]}>"


def sample(kind, data):
    s = Sample(data)
    s.kind = kind
    return s


# ---- mutations ---------------------------------------------------------------------------
_JUNK_VALUES = [None, 0, -1, 1, 2 ** 31, 2 ** 62, 10 ** 100, -(10 ** 12), 1.5, float("inf"),
                float("nan"), "", "x" * 300, "relu", "Dense", [], {}, [None], [[[[[]]]]],
                {"class_name": "Dense"}, {"class_name": 5, "config": []}, True, [3, -1],
                [None, 2 ** 40], {"a": {"b": {"c": None}}}, "\x00\ud800"]


def _paths(obj, prefix=()):
    """Every (path, value) in a JSON tree."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _delete(obj, path):
    for p in path[:-1]:
        obj = obj[p]
    del obj[path[-1]]


@st.composite
def json_mutation(draw, config):
    """A mutated copy of a config dict (as JSON text, sometimes invalid UTF-8/JSON)."""
    cfg = json.loads(json.dumps(config))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p, _ in _paths(cfg) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "replace", "delete", "hostile", "swap_class",
                                     "number", "dup_layer"]))
        try:
            if kind == "replace":
                # (a copy: a later mutation must not change the table itself)
                _set(cfg, path, copy.deepcopy(draw(st.sampled_from(_JUNK_VALUES))))
            elif kind == "delete":
                _delete(cfg, path)
            elif kind == "hostile":
                layers = cfg.get("config", {}).get("layers") if isinstance(cfg.get("config"), dict) else None
                entry = json.loads(json.dumps(draw(st.sampled_from(HOSTILE))))
                if isinstance(layers, list):
                    layers.insert(draw(st.integers(0, len(layers))), entry)
                else:
                    _set(cfg, path, entry)
            elif kind == "swap_class":
                _set(cfg, path, draw(st.sampled_from(
                    ["Dense", "PReLU", "Lambda", "Sequential", "Model", "Functional",
                     "InputLayer", "Conv2D", "function", "__lambda__", "Adam", "os.system"])))
            elif kind == "number":
                _set(cfg, path, draw(st.one_of(st.integers(-5, 40), st.integers(-2 ** 70, 2 ** 70),
                                               st.floats(allow_nan=True, allow_infinity=True))))
            else:
                layers = cfg["config"]["layers"]
                layers.append(json.loads(json.dumps(draw(st.sampled_from(layers)))))
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    text = json.dumps(cfg, allow_nan=True)
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut]
    return text.encode("utf-8", "surrogatepass")


def _flip(data, draw):
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 16))):
        i = draw(st.integers(0, len(b) - 1))
        b[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(b)


@st.composite
def mutated_keras(draw):
    members = _members(BASE["keras"])
    config = json.loads(dict(members)["config.json"])
    kind = draw(st.sampled_from(["flip", "truncate", "append", "member_delete",
                                 "member_replace", "member_flip", "json", "json", "json",
                                 "duplicate", "deflate", "h5_inside"]))
    if kind == "flip":
        return sample(kind, _flip(BASE["keras"], draw))
    if kind == "truncate":
        return sample(kind, BASE["keras"][:draw(st.integers(0, len(BASE["keras"]) - 1))])
    if kind == "append":
        return sample(kind, BASE["keras"] + draw(st.binary(min_size=1, max_size=64)))
    names = [n for n, _ in members]
    target = draw(st.sampled_from(names))
    if kind == "member_delete":
        return sample(kind, _zip([(n, d) for n, d in members if n != target]))
    if kind == "member_replace":
        new = draw(st.sampled_from([b"", b"{}", b"null", b"[]", b"\x89HDF\r\n\x1a\n",
                                    BASE["h5"], dict(members)["metadata.json"]]))
        return sample(kind, _zip([(n, new if n == target else d) for n, d in members]))
    if kind == "member_flip":
        return sample(kind, _zip([(n, _flip(d, draw) if n == target else d)
                                  for n, d in members]))
    if kind == "duplicate":
        extra = draw(st.sampled_from([b"", b"{}", BASE["h5"]]))
        return sample(kind, _zip(members + [(target, extra)]))
    if kind == "deflate":
        return sample(kind, _zip(members, zipfile.ZIP_DEFLATED))
    if kind == "h5_inside":  # the weights of the .keras file with bits flipped
        return sample(kind, _zip([(n, _flip(d, draw) if n == "model.weights.h5" else d)
                                  for n, d in members]))
    text = draw(json_mutation(config))
    return sample(kind, _zip([(n, text if n == "config.json" else d) for n, d in members]))


def _h5_with_config(data, text):
    import h5py

    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as h5:
        h5.attrs["model_config"] = text.decode("utf-8", "surrogateescape")
    return buf.getvalue()


@st.composite
def mutated_h5(draw):
    import h5py

    data = BASE["h5"]
    kind = draw(st.sampled_from(["flip", "flip", "truncate", "append", "json", "json",
                                 "dataset", "attrs"]))
    if kind == "flip":
        return sample(kind, _flip(data, draw))
    if kind == "truncate":
        return sample(kind, data[:draw(st.integers(0, len(data) - 1))])
    if kind == "append":
        return sample(kind, data + draw(st.binary(min_size=1, max_size=64)))
    if kind == "json":
        with h5py.File(io.BytesIO(data), "r") as h5:
            config = json.loads(h5.attrs["model_config"])
        return sample(kind, _h5_with_config(data, draw(json_mutation(config))))
    buf = io.BytesIO(data)
    with h5py.File(buf, "r+") as h5:
        dsets = []
        h5.visititems(lambda n, o: dsets.append(n) if isinstance(o, h5py.Dataset) else None)
        if kind == "dataset" and dsets:
            name = draw(st.sampled_from(dsets))
            action = draw(st.sampled_from(["delete", "reshape", "strings", "external"]))
            shape = h5[name].shape
            del h5[name]
            if action == "reshape":
                h5.create_dataset(name, data=np.zeros(tuple(d + 1 for d in shape) or (2,)))
            elif action == "strings":
                h5.create_dataset(name, data=np.array([b"abc"] * 3))
            elif action == "external":
                h5[name] = h5py.ExternalLink("/etc/passwd", "/x")
        else:
            key = draw(st.sampled_from(["model_config", "training_config", "keras_version",
                                        "backend"]))
            value = draw(st.sampled_from([np.int64(5), b"\xff\xfe", "{}", "[]", "null",
                                          np.zeros(3), "x" * 1000]))
            if key in h5.attrs and draw(st.booleans()):
                del h5.attrs[key]
            else:
                h5.attrs[key] = value
    return sample(kind, buf.getvalue())


# ---- the property ------------------------------------------------------------------------
def _load(data, suffix):
    path = os.path.join(TMP, "case" + suffix)
    with open(path, "wb") as f:
        f.write(data)
    RECORDING[0] = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fastnn.models.load_model(path)
            out = model.predict(X, verbose=0)
    except ALLOWED:
        COUNTS["refused"] += 1
        return None
    finally:
        RECORDING[0] = False
    COUNTS["loaded"] += 1
    assert out.shape[0] == len(X), "a loaded model predicted the wrong number of rows"
    return model


def _check_no_code(kind):
    assert not os.path.exists(SENTINEL), f"code from the file ran ({kind})"
    assert not EVENTS, f"suspicious events during a load ({kind}): {EVENTS[:5]}"


def _one(kind, data, suffix):
    EVENTS.clear()
    COUNTS[kind] = COUNTS.get(kind, 0) + 1
    try:
        _load(data, suffix)
        _check_no_code(kind)
    except BaseException:
        keep = os.environ.get("FASTNN_FUZZ_SAVE_DIR")
        if keep:  # the failing file, to reproduce with load_model
            os.makedirs(keep, exist_ok=True)
            with open(os.path.join(keep, f"{kind.replace(':', '-')}-{len(data)}{suffix}"),
                      "wb") as f:
                f.write(data)
        raise


def _settings(fn):
    wrapped = settings(max_examples=EXAMPLES, deadline=None, database=None,
                       derandomize=SEED is None,
                       suppress_health_check=list(HealthCheck))(fn)
    return seed(int(SEED))(wrapped) if SEED is not None else wrapped


@_settings
@given(mutated_keras())
def fuzz_keras(case):
    _one("keras:" + case.kind, case, ".keras")


@_settings
@given(mutated_h5())
def fuzz_h5(case):
    _one("h5:" + case.kind, case, ".h5")


def warm_up():
    """Load the intact files once: the modules a load imports are imported outside the
    recording, and the base files must load with equal predictions."""
    want = BASE_MODEL.predict(X, verbose=0)
    for kind in ("keras", "h5"):
        model = _load(BASE[kind], "." + kind)
        assert model is not None and np.array_equal(model.predict(X, verbose=0), want), kind
    assert not EVENTS, EVENTS


def main(argv):
    which = argv[1:] or ["keras", "h5"]
    warm_up()
    t0 = time.perf_counter()
    for name in which:
        {"keras": fuzz_keras, "h5": fuzz_h5}[name]()
    print(json.dumps({"counts": COUNTS, "per_format": EXAMPLES,
                      "seconds": round(time.perf_counter() - t0, 2)}))


if __name__ == "__main__":
    main(sys.argv)
