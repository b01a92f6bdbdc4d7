"""Fork safety: a child forked after the parent trained on two threads predicts and fits.

GNU OpenMP's worker pool does not survive fork(); csrc/threads.c registers a
pthread_atfork handler so that such a child runs its kernels on one thread (same bits,
contract 2) instead of waiting forever for workers that do not exist. Each scenario runs
in a fresh interpreter with a timeout, so a hang fails the test instead of stalling it.
"""
import pytest

from tests.robustness._util import last_json, run_python

pytestmark = pytest.mark.timeout(300)

_SETUP = """
import json, os, sys
import numpy as np
import fastnn

fastnn.set_num_threads(2)
fastnn.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((512, 256)).astype("float32")
y = rng.standard_normal((512, 10)).astype("float32")

def make():
    fastnn.utils.set_random_seed(0)
    m = fastnn.Sequential([fastnn.Input((256,)), fastnn.layers.Dense(256, activation="relu"),
                           fastnn.layers.Dense(10)])
    m.compile("adam", "mse")
    return m

def work(m):
    # predict, then two epochs of fit: big enough that the parent ran two-thread teams
    p = m.predict(x, verbose=0)
    m.fit(x, y, epochs=2, batch_size=256, verbose=0, shuffle=False)
    return p, m.get_weights()

def digest(p, weights):
    import hashlib
    h = hashlib.sha256(p.tobytes())
    for a in weights:
        h.update(a.tobytes())
    return h.hexdigest()
"""


def test_os_fork_child_predicts_and_fits_after_parent_trained_on_two_threads():
    out = run_python(_SETUP + """
model = make()
model.fit(x, y, epochs=1, batch_size=256, verbose=0)
assert fastnn.get_num_threads() == 2
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    try:
        msg = json.dumps({"threads": fastnn.get_num_threads(), "digest": digest(*work(model))})
    except BaseException as e:  # report anything, never fall back into the parent's code
        msg = json.dumps({"error": repr(e)})
    os.write(w, msg.encode())
    os._exit(0)
os.close(w)
_, status = os.waitpid(pid, 0)
res = json.loads(os.read(r, 4096).decode())
# the same work in the parent, on two threads, from the same state: the same bits
res["same"] = res.pop("digest", None) == digest(*work(model))
res["status"] = status
res["parent_threads"] = fastnn.get_num_threads()
print(json.dumps(res))
""", timeout=240)
    res = last_json(out.stdout)
    assert res == {"threads": 1, "same": True, "status": 0, "parent_threads": 2}, res


def test_multiprocessing_fork_pool_predicts_and_fits():
    out = run_python(_SETUP + """
import multiprocessing as mp

model = make()
model.fit(x, y, epochs=1, batch_size=256, verbose=0)

def job(i):
    return fastnn.get_num_threads(), digest(*work(model))

ctx = mp.get_context("fork")
with ctx.Pool(2, maxtasksperchild=1) as pool:  # each job in a fresh child of this state
    results = pool.map(job, range(4))
q = ctx.Queue()
proc = ctx.Process(target=lambda: q.put(job(0)))
proc.start()
single = q.get(timeout=120)
proc.join(60)
want = digest(*work(model))  # the parent, on two threads, from the same state
print(json.dumps({"pool": [[n, d == want] for n, d in results],
                  "process": [single[0], single[1] == want], "exitcode": proc.exitcode}))
""", timeout=240)
    res = last_json(out.stdout)
    assert res["pool"] == [[1, True]] * 4, res
    assert res["process"] == [1, True] and res["exitcode"] == 0, res


def test_child_forked_before_any_team_keeps_its_threads():
    # a process that never ran a multi-threaded kernel has no OpenMP pool to lose
    out = run_python("""
import json, os
import numpy as np
import fastnn
fastnn.set_num_threads(2)
pid = os.fork()
if pid == 0:
    n = fastnn.get_num_threads()
    a = np.random.default_rng(0).standard_normal((300, 300)).astype("float32")
    c = fastnn.ops.matmul(a, a)             # a two-thread GEMM in the child
    ok = np.allclose(c, a @ a, rtol=1e-4, atol=1e-3)
    os._exit(0 if (n == 2 and ok) else 3)
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": status}))
""", timeout=120)
    assert last_json(out.stdout) == {"status": 0}
