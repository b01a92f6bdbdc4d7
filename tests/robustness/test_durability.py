"""Durability: SIGKILL at random moments of training with ModelCheckpoint or BackupAndRestore.

tests/test_saving.py already kills model.save mid-write (at a hooked point and at random
points of large saves) and tests/test_callbacks.py kills a fit between epochs and resumes
it with BackupAndRestore, and interrupts a checkpoint and a backup before their commit
points. These tests add kills at random times while the callbacks write every batch or
epoch of a real fit, so that some land inside a write: the checkpoint left behind always
loads, and a fit resumed from the backup ends bit-identical to one never interrupted.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.timeout(600)

_CHILD = textwrap.dedent("""
    import sys
    import time
    import numpy as np
    import fastnn
    from fastnn import layers as L

    mode, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 300)).astype("float32")
    y = rng.integers(0, 10, 512)
    fastnn.utils.set_random_seed(1)
    model = fastnn.Sequential([fastnn.Input((300,)), L.Dense(400, activation="relu"),
                               L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    class Ready(fastnn.callbacks.Callback):
        # after the callbacks before it: once the first checkpoint or backup is on disk
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and mode == "checkpoint":
                print("READY", flush=True)

        def on_epoch_end(self, epoch, logs=None):  # (a resumed fit starts at a later epoch)
            if mode == "backup-killed":
                if not getattr(self, "told", False):
                    self.told = True
                    print("READY", flush=True)
                time.sleep(0.05)  # slower epochs, so that the kill lands before the end

    if mode == "checkpoint":
        cbs = [fastnn.callbacks.ModelCheckpoint(path, save_freq=1), Ready()]
        epochs = 1000
    else:
        cbs = [fastnn.callbacks.BackupAndRestore(path), Ready()] if mode != "plain" else []
        epochs = 40
    model.fit(x, y, batch_size=128, epochs=epochs, shuffle=False, verbose=0, callbacks=cbs)
    np.savez(out, *model.get_weights(), iterations=np.array(model.optimizer.iterations))
""")


def _spawn(tmp_path, mode, path, out):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    return subprocess.Popen([sys.executable, "-X", "faulthandler", str(script), mode, str(path),
                             str(out)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))


def _kill_after(child, seconds):
    try:
        assert child.stdout.readline().strip() == "READY"
        time.sleep(seconds)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stdout.close()


def test_kill_during_model_checkpoint_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "ckpt.keras"
    rng = np.random.default_rng(7)
    x = np.random.default_rng(0).standard_normal((4, 300)).astype("float32")
    for i in range(4):
        child = _spawn(tmp_path, "checkpoint", path, tmp_path / "unused.npz")
        _kill_after(child, float(rng.uniform(0.05, 0.8)))
        assert child.returncode == -signal.SIGKILL
        model = fastnn.models.load_model(path)  # whatever the moment of the kill
        assert model.predict(x, verbose=0).shape == (4, 10)
        assert int(model.optimizer.iterations) >= 1


def test_fit_killed_at_random_moments_resumes_bit_identically(tmp_path):
    backup = tmp_path / "backup"
    rng = np.random.default_rng(11)
    for i in range(3):  # kill, resume, kill again...
        child = _spawn(tmp_path, "backup-killed", backup, tmp_path / "never.npz")
        _kill_after(child, float(rng.uniform(0.02, 0.3)))
        assert child.returncode == -signal.SIGKILL
    # the kills came after some backups: the last run resumes instead of starting over
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] >= 1
    done = subprocess.run([sys.executable, str(tmp_path / "child.py"), "backup", str(backup),
                           str(tmp_path / "resumed.npz")], env=dict(os.environ, OMP_NUM_THREADS="1"),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    plain = subprocess.run([sys.executable, str(tmp_path / "child.py"), "plain", str(backup),
                            str(tmp_path / "plain.npz")], capture_output=True, text=True,
                           timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert plain.returncode == 0, plain.stderr
    a, b = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "plain.npz")
    assert int(a["iterations"]) == int(b["iterations"]) == 40 * 4
    for k in ("arr_0", "arr_1", "arr_2", "arr_3"):
        np.testing.assert_array_equal(a[k], b[k])
