"""fastnn beside tf.keras, PyTorch, scikit-learn and a plain NumPy MLP: the same jobs, data and threads.

Each system runs in its own subprocess, with its thread count set through the environment
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) and through the library's own call
(fastnn.set_num_threads, torch.set_num_threads, tf.config.threading). The jobs (issue 4):

  mnist     784 -> Dense 128 relu -> Dropout 0.2 -> Dense 10, Adam, sparse cross-entropy from
            logits, at batch 32 and 256: seconds per epoch (median of epochs 2..E), test accuracy
  latency   one sample: predict(x[:1]) and model(x[:1]), median over many calls
  predict   the 10,000 test images, in batches of 32 and in one batch (median of several runs)
  startup   import time in a fresh interpreter (median of 3), `python -X importtime`, and for
            fastnn the peak RSS of examples/mnist.py, the wheel (--wheel) and the installed size

Threads: every system runs at --threads; fastnn also runs at each of --fastnn-threads.
Data: MNIST from fastnn.datasets.mnist.load_data() ($FASTNN_DATA_DIR), float32 / 255, 784 wide.

Run:  FASTNN_DATA_DIR=/tmp/fnn_data python bench/peers.py --threads 2 --out /tmp/peers.md
      python bench/peers.py --quick --systems fastnn,numpy          (a smoke check, seconds)
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SYSTEMS = ["fastnn", "tf.keras", "torch", "sklearn", "numpy"]
TITLES = {"fastnn": "fastnn", "tf.keras": "tf.keras", "torch": "PyTorch",
          "sklearn": "sklearn MLP", "numpy": "NumPy MLP"}
IMPORTS = {"fastnn": "import fastnn",
           "tf.keras": "import tensorflow as tf; tf.keras.layers.Dense",   # loads keras too
           "torch": "import torch",
           "sklearn": "from sklearn.neural_network import MLPClassifier",
           "numpy": "import numpy"}
JOBS = ["mnist", "latency", "predict", "startup"]
SEED = 2


# ----------------------------------------------------------------------------------------
# The systems. Each adapter builds the same model and exposes train / predict / call.
# ----------------------------------------------------------------------------------------

class KerasLike:
    """fastnn and tf.keras share this code: fastnn's API is tf.keras's."""

    def __init__(self, keras, threads):
        self.keras = keras

    def build(self):
        k = self.keras
        model = k.Sequential([k.Input((784,)), k.layers.Dense(128, activation="relu"),
                              k.layers.Dropout(0.2), k.layers.Dense(10)])
        model.compile(optimizer="adam",
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model

    def train(self, x, y, xt, yt, batch_size, epochs):
        self.keras.utils.set_random_seed(SEED)
        model = self.build()
        times = []

        class EpochTimer(self.keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.t0)

        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                  callbacks=[EpochTimer()])
        acc = model.evaluate(xt, yt, verbose=0)[1]
        return times, float(acc), model

    def untrained(self, x, y):
        return self.build()

    def predict(self, model, x):          # Keras's default batch_size, 32
        return model.predict(x, verbose=0)

    def predict_one_batch(self, model, x):
        return model.predict(x, batch_size=len(x), verbose=0)

    def call(self, model, x):
        return model(x)


class Fastnn(KerasLike):
    def __init__(self, threads):
        import fastnn
        fastnn.set_num_threads(threads)
        super().__init__(fastnn, threads)
        self.version = fastnn.__version__


class TfKeras(KerasLike):
    def __init__(self, threads):
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        super().__init__(tf.keras, threads)
        self.version = tf.__version__


class Torch:
    """nn.Sequential with Keras's initial weights (Glorot uniform, zero bias) and Adam eps."""

    def __init__(self, threads):
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        self.torch = torch
        self.version = torch.__version__

    def build(self):
        nn = self.torch.nn
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
        for layer in (model[0], model[3]):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        return model

    def train(self, x, y, xt, yt, batch_size, epochs):
        torch = self.torch
        torch.manual_seed(SEED)
        model = self.build()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()
        X, Y = torch.from_numpy(x), torch.from_numpy(y.astype("int64"))
        n, times = len(X), []
        for _ in range(epochs):
            t0 = time.perf_counter()
            model.train()
            total_loss = torch.zeros(())
            correct = torch.zeros((), dtype=torch.int64)   # a running metric, as Keras's fit keeps
            for idx in torch.randperm(n).split(batch_size):
                xb, yb = X[idx], Y[idx]
                out = model(xb)
                loss = loss_fn(out, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    total_loss += loss.detach() * len(idx)
                    correct += (out.argmax(1) == yb).sum()
            logs = {"loss": float(total_loss) / n, "accuracy": int(correct) / n}  # noqa: F841
            times.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            acc = (model(torch.from_numpy(xt)).argmax(1).numpy() == yt).mean()
        return times, float(acc), model

    def untrained(self, x, y):
        return self.build().eval()

    def predict(self, model, x):          # numpy in, numpy out, 32 rows at a time
        with self.torch.no_grad():
            return self.torch.cat([model(self.torch.from_numpy(x[i:i + 32]))
                                   for i in range(0, len(x), 32)]).numpy()

    def predict_one_batch(self, model, x):
        with self.torch.no_grad():
            return model(self.torch.from_numpy(x)).numpy()

    def call(self, model, x):
        # x is converted to a tensor once, outside the timed loop (see prepare_call)
        with self.torch.no_grad():
            return model(x)

    def prepare_call(self, x):
        return self.torch.from_numpy(x)


class Sklearn:
    """MLPClassifier; one partial_fit call per epoch, so epochs are timed one by one."""

    def __init__(self, threads):
        import sklearn
        from sklearn.neural_network import MLPClassifier
        self.cls = MLPClassifier
        self.version = sklearn.__version__

    def build(self, batch_size):
        # alpha=0: the Keras model has no L2 penalty. epsilon as Keras's Adam. No dropout exists.
        return self.cls(hidden_layer_sizes=(128,), activation="relu", solver="adam",
                        batch_size=batch_size, learning_rate_init=1e-3, alpha=0.0,
                        epsilon=1e-7, max_iter=1, shuffle=True, random_state=SEED)

    def train(self, x, y, xt, yt, batch_size, epochs):
        import numpy as np
        model, classes, times = self.build(batch_size), np.arange(10), []
        for _ in range(epochs):
            t0 = time.perf_counter()
            model.partial_fit(x, y, classes=classes)
            times.append(time.perf_counter() - t0)
        return times, float(model.score(xt, yt)), model

    def untrained(self, x, y):
        import numpy as np
        model = self.build(32)
        model.partial_fit(x[:32], y[:32], classes=np.arange(10))
        return model

    def predict(self, model, x):
        import numpy as np
        return np.concatenate([model.predict_proba(x[i:i + 32]) for i in range(0, len(x), 32)])

    def predict_one_batch(self, model, x):
        return model.predict_proba(x)

    call = None


class NumpyMLP:
    """The same model, written with NumPy: Glorot init, ReLU, inverted dropout, Keras's Adam."""

    def __init__(self, seed, dropout=0.2, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
        import numpy as np
        self.np, self.rng = np, np.random.default_rng(seed)
        self.p, self.lr, self.b1, self.b2, self.eps, self.t = dropout, lr, beta1, beta2, eps, 0
        self.params = []
        for fan_in, fan_out in ((784, 128), (128, 10)):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            self.params += [self.rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32),
                            np.zeros(fan_out, np.float32)]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    def __call__(self, x):
        w1, b1, w2, b2 = self.params
        h = x @ w1
        h += b1
        self.np.maximum(h, 0, out=h)
        out = h @ w2
        out += b2
        return out

    def train_step(self, x, y):
        """One step of forward, softmax cross-entropy, backward and Adam; returns (loss, correct)."""
        np = self.np
        w1, b1, w2, b2 = self.params
        n = len(x)
        z = x @ w1
        z += b1
        keep = (self.rng.random(z.shape, dtype=np.float32) >= self.p) * np.float32(1 / (1 - self.p))
        scale = keep * (z > 0)                  # d(dropout(relu(z)))/dz
        h = z * scale
        logits = h @ w2
        logits += b2
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = float(np.mean(np.log(s[:, 0]) - logits[rows, y]))
        correct = int((logits.argmax(axis=1) == y).sum())
        g = e / s                               # softmax
        g[rows, y] -= 1
        g /= n
        dh = g @ w2.T
        dh *= scale
        grads = [x.T @ dh, dh.sum(axis=0), h.T @ g, g.sum(axis=0)]
        self.t += 1
        lr_t = self.lr * (1 - self.b2 ** self.t) ** 0.5 / (1 - self.b1 ** self.t)   # a Python float
        for p, gr, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * gr
            v *= self.b2
            v += (1 - self.b2) * gr * gr
            p -= lr_t * m / (np.sqrt(v) + self.eps)
        return loss, correct


class Numpy:
    def __init__(self, threads):
        import numpy
        self.np, self.version = numpy, numpy.__version__

    def train(self, x, y, xt, yt, batch_size, epochs):
        np = self.np
        model, rng, times = NumpyMLP(SEED), np.random.default_rng(SEED + 1), []
        for _ in range(epochs):
            t0 = time.perf_counter()
            order = rng.permutation(len(x))
            for i in range(0, len(x), batch_size):
                idx = order[i:i + batch_size]
                model.train_step(x[idx], y[idx])
            times.append(time.perf_counter() - t0)
        acc = float((model(xt).argmax(axis=1) == yt).mean())
        return times, acc, model

    def untrained(self, x, y):
        return NumpyMLP(SEED)

    def predict(self, model, x):
        return self.np.concatenate([model(x[i:i + 32]) for i in range(0, len(x), 32)])

    def predict_one_batch(self, model, x):
        return model(x)

    def call(self, model, x):
        return model(x)


ADAPTERS = {"fastnn": Fastnn, "tf.keras": TfKeras, "torch": Torch, "sklearn": Sklearn,
            "numpy": Numpy}


# ----------------------------------------------------------------------------------------
# The worker: one system at one thread count, in its own process.
# ----------------------------------------------------------------------------------------

def timed_calls(fn, n, warmup=20):
    """Median wall time of fn() over n calls, in seconds, after a few untimed calls."""
    for _ in range(min(warmup, n)):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [f"{p.get('internal_api')} {p.get('version')} x{p.get('num_threads')}"
            for p in threadpool_info()]


def worker(args):
    res = {"system": args.worker, "threads": args.threads, "figures": {}, "errors": {}}

    def save():
        with open(args.result, "w") as f:
            json.dump(res, f)

    try:
        sysobj = ADAPTERS[args.worker](args.threads)
    except ImportError as e:
        res["not_installed"] = str(e)
        return save()
    res["version"] = sysobj.version
    import numpy as np
    x = np.load(os.path.join(args.data, "x_train.npy"))
    y = np.load(os.path.join(args.data, "y_train.npy"))
    xt = np.load(os.path.join(args.data, "x_test.npy"))
    yt = np.load(os.path.join(args.data, "y_test.npy"))
    fig, jobs, model = res["figures"], args.jobs.split(","), None

    if "mnist" in jobs:
        for bs in (32, 256):
            try:
                times, acc, m = sysobj.train(x, y, xt, yt, bs, args.epochs)
                fig[f"epoch{bs}"] = statistics.median(times[1:] or times)
                fig[f"epochs{bs}"] = times
                fig[f"acc{bs}"] = acc
                if bs == 32:
                    model = m
            except Exception as e:  # a failing job is reported, the others still run
                res["errors"][f"mnist b{bs}"] = f"{type(e).__name__}: {e}"
        fig["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if ("latency" in jobs or "predict" in jobs) and model is None:
        model = sysobj.untrained(x, y)
    if "latency" in jobs:
        x1 = xt[:1]
        n_predict = args.calls if args.worker != "tf.keras" else args.tf_predict_calls
        try:
            fig["predict1"] = timed_calls(lambda: sysobj.predict(model, x1), n_predict)
            fig["predict1_calls"] = n_predict
            if sysobj.call is not None:
                xc = sysobj.prepare_call(x1) if hasattr(sysobj, "prepare_call") else x1
                fig["call1"] = timed_calls(lambda: sysobj.call(model, xc), args.calls)
                fig["call1_calls"] = args.calls
        except Exception as e:
            res["errors"]["latency"] = f"{type(e).__name__}: {e}"
    if "predict" in jobs:
        try:
            fig["predict10k"] = timed_calls(lambda: sysobj.predict(model, xt), args.reps, 1)
            fig["predict10k_one"] = timed_calls(lambda: sysobj.predict_one_batch(model, xt),
                                                args.reps, 1)
        except Exception as e:
            res["errors"]["predict"] = f"{type(e).__name__}: {e}"
    res["blas"] = blas_info()
    save()


def prepare(args):
    """Write MNIST as float32 / 255, flattened, to args.prepare (the --quick subset if asked)."""
    import numpy as np
    from fastnn.datasets import mnist
    (x, y), (xt, yt) = mnist.load_data()
    if args.quick:
        x, y, xt, yt = x[:2000], y[:2000], xt[:500], yt[:500]
    for name, a in (("x_train", x), ("x_test", xt)):
        np.save(os.path.join(args.prepare, name + ".npy"),
                (a.reshape(len(a), 784).astype(np.float32) / np.float32(255)))
    np.save(os.path.join(args.prepare, "y_train.npy"), y.astype(np.int32))
    np.save(os.path.join(args.prepare, "y_test.npy"), yt.astype(np.int32))


# ----------------------------------------------------------------------------------------
# The driver: start-up measurements, the workers, the table.
# ----------------------------------------------------------------------------------------

def thread_env(n):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(n)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def import_times(system, threads, reps):
    """(median wall seconds of `python -c IMPORT`, -X importtime ms, the modules imported)."""
    stmt = IMPORTS[system]
    env = thread_env(threads)
    walls = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", stmt], env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if r.returncode:
            return None, None, []
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], env=env,
                       capture_output=True, text=True)
    # Top-level entries after `site` are the ones the statement triggered (tf.keras's lazy
    # load of keras adds its own); their cumulative times add up to the import's cost.
    cumulative, modules, after_site = 0.0, [], False
    for line in r.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        modules.append(name.strip())
        if after_site and name.startswith(" ") and not name.startswith("  "):
            cumulative += int(parts[1]) / 1000
        after_site = after_site or name == " site"
    return statistics.median(walls), cumulative, modules


def peak_rss_mb(code, env):
    """Peak RSS (MB) of `python -c code`, read by a wrapper process that has only that child."""
    wrapper = ("import resource, subprocess, sys\n"
               f"r = subprocess.run([sys.executable, '-c', {code!r}], stdout=subprocess.DEVNULL,"
               " stderr=subprocess.PIPE, text=True)\n"
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.stderr.write(r.stderr[-2000:])")
    r = subprocess.run([sys.executable, "-c", wrapper], env=env, capture_output=True, text=True,
                       cwd=REPO)
    try:
        rc, kb = r.stdout.split()
    except ValueError:
        return None, r.stderr[-500:]
    return (int(kb) / 1024, "") if rc == "0" else (None, r.stderr[-500:])


def dir_size(path, skip_ext=(".pyx", ".pxd", ".pxi")):
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files
                     if not f.endswith(skip_ext))
    return total


def fastnn_footprint(args, env):
    """Peak RSS of examples/mnist.py (and of the data alone), installed size, wheel size."""
    out = {}
    example = os.path.join(REPO, "examples", "mnist.py")
    if args.quick:   # one epoch is enough to exercise the measurement
        code = f"import runpy; runpy.run_path({example!r})['main'](epochs=1, verbose=0)"
    else:
        code = f"import runpy; runpy.run_path({example!r}, run_name='__main__')"
    out["example_rss"], out["example_err"] = peak_rss_mb(code, env)
    data = os.path.join(os.environ.get("FASTNN_DATA_DIR", ""), "mnist.npz")
    base = ("import numpy as np\n"
            f"with np.load({data!r}) as f: (x, y), (xt, yt) = (f['x_train'], f['y_train']),"
            " (f['x_test'], f['y_test'])\n"
            "x, xt = x / 255.0, xt / 255.0")
    out["data_rss"], _ = peak_rss_mb(base, env)
    r = subprocess.run([sys.executable, "-c",
                        "import fastnn, fastnn._core as c, os, json; print(json.dumps("
                        "[os.path.dirname(fastnn.__file__), c.__file__]))"],
                       env=env, capture_output=True, text=True)
    if r.returncode == 0:
        pkg, core = json.loads(r.stdout.strip().splitlines()[-1])
        size = dir_size(pkg)
        if not os.path.dirname(core).startswith(pkg):   # an editable install keeps the .so apart
            size += dir_size(os.path.dirname(core))
            out["editable"] = True
        out["installed"] = size / 1e6
        out["core_so"] = os.path.getsize(core) / 1e6
    if args.wheel and os.path.exists(args.wheel):
        import zipfile
        out["wheel"] = os.path.getsize(args.wheel) / 1e6
        with zipfile.ZipFile(args.wheel) as z:   # what installing this wheel would unpack
            out["wheel_unpacked"] = sum(i.file_size for i in z.infolist()
                                        if i.filename.startswith("fastnn/")) / 1e6
    return out


def run_worker(args, system, threads, data_dir):
    fd, result = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", system, "--threads",
           str(threads), "--data", data_dir, "--result", result, "--jobs", args.jobs,
           "--epochs", str(args.epochs), "--calls", str(args.calls), "--tf-predict-calls",
           str(args.tf_predict_calls), "--reps", str(args.reps)]
    try:
        r = subprocess.run(cmd, env=thread_env(threads), capture_output=True, text=True,
                           timeout=args.timeout)
        with open(result) as f:
            text = f.read()
        if r.returncode or not text:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"failed": f"exit {r.returncode}: {tail[0][:300]}"}
        return json.loads(text)
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {args.timeout} s"}
    finally:
        os.remove(result)


def fmt(v, scale=1.0, digits=3):
    """A number with `digits` significant figures (no exponent), or '–'."""
    if v is None:
        return "–"
    v *= scale
    if v == 0:
        return "0"
    mag = len(str(int(abs(v)))) if abs(v) >= 1 else 0
    return f"{v:.{max(digits - mag, 0)}f}"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown"

    def field(key):
        return next((l.split(":", 1)[1].strip() for l in info.splitlines()
                     if l.split(":")[0].strip() == key), "?")

    name = f"{field('model name')} (family {field('cpu family')}, model {field('model')})"
    flags = field("flags").split()
    isa = "AVX-512" if "avx512f" in flags else "AVX2+FMA" if "avx2" in flags else "no AVX2"
    return f"{name}, {os.cpu_count()} logical CPUs, {isa}"


COLUMNS = [("system", None), ("version", None), ("threads", None),
           ("epoch b32 (s)", ("epoch32", 1)), ("acc b32", ("acc32", 1)),
           ("epoch b256 (s)", ("epoch256", 1)), ("acc b256", ("acc256", 1)),
           ("predict(x[:1]) (µs)", ("predict1", 1e6)), ("model(x[:1]) (µs)", ("call1", 1e6)),
           ("predict 10k (ms)", ("predict10k", 1e3)),
           ("predict 10k, 1 batch (ms)", ("predict10k_one", 1e3)),
           ("import (s)", ("import", 1)), ("peak RSS (MB)", ("rss", 1))]


def fastnn_source():
    """The commit fastnn runs from, and whether src/ or csrc/ differ from it (editable installs)."""
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "src", "csrc"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes in src/ or csrc/" if dirty else "")


def table(rows):
    lines = ["| " + " | ".join(c for c, _ in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for row in rows:
        res, cells = row["res"], [TITLES[row["system"]]]
        if "not_installed" in res or "failed" in res:
            what = "not installed" if "not_installed" in res else "failed"
            cells += [what, str(row["threads"])] + ["–"] * (len(COLUMNS) - 3)
        else:
            cells += [res.get("version", "?"), str(row["threads"])]
            fig = dict(res["figures"], **{"import": row.get("import")})
            for _, (key, scale) in COLUMNS[3:]:
                digits = 4 if key.startswith("acc") else 3
                cells.append(fmt(fig.get(key), scale, digits))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def driver(args):
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        sys.exit(f"unknown system(s) {unknown}; expected some of {SYSTEMS}")
    jobs = args.jobs.split(",")
    if [j for j in jobs if j not in JOBS]:
        sys.exit(f"unknown job in --jobs {args.jobs!r}; expected some of {JOBS}")
    fastnn_threads = sorted({int(t) for t in args.fastnn_threads.split(",")} | {args.threads},
                            reverse=True) if args.fastnn_threads else [args.threads]
    runs = [(s, t) for s in systems for t in (fastnn_threads if s == "fastnn" else [args.threads])]

    start = datetime.datetime.now().astimezone()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="peers_data_") as data_dir:
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--prepare", data_dir]
                           + (["--quick"] if args.quick else []), env=thread_env(args.threads),
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit("could not prepare MNIST (is FASTNN_DATA_DIR set?):\n" + r.stderr[-2000:])
        rows = []
        for system, threads in runs:
            print(f"[peers] {system} at {threads} thread(s) ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            row = {"system": system, "threads": threads,
                   "res": run_worker(args, system, threads, data_dir)}
            if "startup" in jobs and "version" in row["res"]:
                wall, cum, modules = import_times(system, threads, args.import_reps)
                row.update({"import": wall, "importtime": cum, "modules": modules})
            print(f"[peers]   done in {time.perf_counter() - t0:.1f} s", file=sys.stderr,
                  flush=True)
            rows.append(row)
        footprint = None
        if "startup" in jobs and "fastnn" in systems and any(
                "version" in r["res"] for r in rows if r["system"] == "fastnn"):
            footprint = fastnn_footprint(args, thread_env(args.threads))
    load1 = os.getloadavg()
    report = render(args, rows, footprint, start, load0, load1, jobs)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report + "\n")


def render(args, rows, footprint, start, load0, load1, jobs):
    pools = {}   # what threadpoolctl saw in each system's worker
    for r in rows:
        if r["res"].get("blas"):
            pools.setdefault(TITLES[r["system"]], []).append(
                f"{r['threads']} thr: " + ", ".join(r["res"]["blas"]))
    out = [f"Command: `{shlex.join(['python', os.path.relpath(sys.argv[0])] + sys.argv[1:])}`",
           f"Date: {start:%Y-%m-%d %H:%M %Z}. Machine: {cpu_model()}; "
           f"Python {platform.python_version()}, {platform.system()} {platform.release()}. "
           f"fastnn from {REPO} at {fastnn_source()}.",
           f"Load average (1 min) before / after the run: {load0[0]:.2f} / {load1[0]:.2f}"
           " (other jobs on the machine share its cores).",
           "Thread pools in each worker (threadpoolctl): "
           + ("; ".join(f"{k} ({' / '.join(v)})" for k, v in pools.items()) or "n/a") + "."]
    if args.quick:
        out.append("**--quick: 2,000 training and 500 test images, few calls; the figures "
                   "only show that the script runs.**")
    out += ["", table(rows), ""]
    notes = [f"Epochs: {args.epochs}; s/epoch is the median of epochs 2-{args.epochs}"
             if args.epochs > 1 else "Epochs: 1 (s/epoch is that epoch)"]
    n_tf = next((r["res"]["figures"].get("predict1_calls") for r in rows
                 if r["system"] == "tf.keras" and "figures" in r["res"]), None)
    notes += [
        f"Single sample: median over {args.calls} calls after 20 untimed ones"
        + (f" (tf.keras predict: {n_tf} calls)" if n_tf else "") + ". "
        "fastnn and tf.keras: `model.predict(x[:1], verbose=0)` and `model(x[:1])`. "
        "PyTorch: predict = numpy in, `model(torch.from_numpy(x))` under `no_grad`, numpy out; "
        "model(x) = a tensor made once, `model(t)` under `no_grad`. sklearn: predict = "
        "`predict_proba(x[:1])` (it has no separate call). NumPy: both are the forward function.",
        f"predict 10k: median of {args.reps} runs. 'predict 10k': `model.predict(x_test)` as a "
        "user calls it, batch_size left at Keras's default of 32 (tf.keras steps through "
        "32-row batches; fastnn may compute larger chunks, with the same results); PyTorch, "
        "sklearn and NumPy loop over 32-row slices. '1 batch': "
        "`model.predict(x, batch_size=10000)`, `model(x)` under `no_grad`, `predict_proba(x)`, "
        "the NumPy forward on all 10,000 rows.",
        "The same model in every system: Glorot-uniform weights, zero biases, Adam (lr 1e-3, "
        "eps 1e-7), shuffling every epoch, seed 2. PyTorch's loop also keeps a running loss "
        "and accuracy, as Keras's fit does. sklearn's MLPClassifier has **no dropout** (alpha=0, "
        "so no L2 either) and is timed per epoch with one `partial_fit` call per epoch. "
        "The NumPy MLP (this script) uses inverted dropout and softmax cross-entropy in NumPy.",
        "Threads: each system runs in its own process with OMP_NUM_THREADS, OPENBLAS_NUM_THREADS "
        "and MKL_NUM_THREADS set; fastnn.set_num_threads, torch.set_num_threads / "
        "set_num_interop_threads and tf.config.threading intra- and inter-op are set to the same "
        "number.",
        "import: wall time of `python -c \"<import>\"` in a fresh interpreter, median of "
        f"{args.import_reps}. peak RSS: the worker process after training (interpreter, library, "
        "float32 MNIST of 219 MB in full runs, both batch sizes trained).",
    ]
    out += ["Notes:", ""] + [f"- {n}" for n in notes]
    errs = [f"- {TITLES[r['system']]} ({r['threads']} thr): " + (
        r["res"].get("not_installed") or r["res"].get("failed") or
        "; ".join(f"{k}: {v}" for k, v in r["res"].get("errors", {}).items()))
        for r in rows if r["res"].get("not_installed") or r["res"].get("failed")
        or r["res"].get("errors")]
    if errs:
        out += ["", "Problems:", ""] + errs
    if "mnist" in jobs:
        out += ["", "Per-epoch seconds (batch 32 / batch 256):", ""]
        for r in rows:
            f = r["res"].get("figures", {})
            if "epochs32" in f or "epochs256" in f:
                out.append(f"- {TITLES[r['system']]} ({r['threads']} thr): "
                           + " ".join(fmt(t) for t in f.get("epochs32", [])) + " / "
                           + " ".join(fmt(t) for t in f.get("epochs256", [])))
    if "startup" in jobs:
        out += ["", "Start-up and footprint:", ""]
        for r in rows:
            if r.get("import") is not None:
                mods = r.get("modules", [])
                out.append(f"- {TITLES[r['system']]} ({r['threads']} thr): "
                           f"`{IMPORTS[r['system']]}` {fmt(r['import'])} s wall; `-X importtime`"
                           f" (the statement's top-level imports): {fmt(r['importtime'])} ms, "
                           f"{len(mods)} modules in the interpreter"
                           + (f"; h5py imported: {'yes' if 'h5py' in mods else 'no'}"
                              if r["system"] == "fastnn" else ""))
        if footprint:
            fp = footprint
            ex = ("examples/mnist.py with epochs=1 (--quick)" if args.quick
                  else "`python examples/mnist.py`")
            out.append(f"- fastnn: peak RSS of {ex}: {fmt(fp.get('example_rss'))} MB"
                       + (f" (failed: {fp['example_err']})" if fp.get("example_err") else "")
                       + f"; of NumPy alone holding MNIST as the example does (uint8 loaded, "
                       f"x / 255.0 in float64): {fmt(fp.get('data_rss'))} MB")
            out.append(f"- fastnn: installed package {fmt(fp.get('installed'))} MB (files under "
                       "the package folder without .pyx/.pxd/.pxi and __pycache__"
                       + ("; an editable install, so the Python files of src/fastnn plus the "
                          "compiled extension's folder" if fp.get("editable") else "")
                       + f"), of which the extension module {fmt(fp.get('core_so'))} MB")
            if args.wheel:
                out.append(f"- fastnn: wheel `{os.path.basename(args.wheel)}` "
                           f"{fmt(fp.get('wheel'))} MB; its fastnn/ folder unpacked (the package as "
                           f"a wheel installs it): {fmt(fp.get('wheel_unpacked'))} MB")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"some of {SYSTEMS}")
    p.add_argument("--jobs", default=",".join(JOBS), help=f"some of {JOBS}")
    p.add_argument("--epochs", type=int, default=None, help="default 5 (2 with --quick)")
    p.add_argument("--threads", type=int, default=2, help="threads for every system")
    p.add_argument("--fastnn-threads", default="1",
                   help="extra thread counts for fastnn, comma-separated ('' for none)")
    p.add_argument("--calls", type=int, default=None, help="single-sample calls (1000)")
    p.add_argument("--tf-predict-calls", type=int, default=None,
                   help="calls for tf.keras's slow predict(x[:1]) (100)")
    p.add_argument("--reps", type=int, default=None, help="runs of predict over 10k (5)")
    p.add_argument("--import-reps", type=int, default=None, help="fresh imports timed (3)")
    p.add_argument("--wheel", help="a built fastnn wheel whose size to report")
    p.add_argument("--quick", action="store_true", help="tiny subset, for a smoke check")
    p.add_argument("--out", help="also write the Markdown report to this file")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per worker")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--prepare", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    q = args.quick
    for name, full, quick in (("epochs", 5, 2), ("calls", 1000, 50), ("tf_predict_calls", 100, 5),
                              ("reps", 5, 2), ("import_reps", 3, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if q else full)
    if args.prepare:
        prepare(args)
    elif args.worker:
        worker(args)
    else:
        driver(args)


if __name__ == "__main__":
    main()
