"""Shared test helpers: reproducible data, running code under a given thread count, and a
local HTTP server for the download tests."""
import contextlib
import http.server
import os
import subprocess
import sys
import textwrap
import threading
from functools import partial

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def run_with_threads(code, threads, timeout=300):
    """Run Python code in a fresh interpreter with OMP_NUM_THREADS set; return its stdout."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


class RecordingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder quietly and records each requested path in server.requests."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_directory(root, handler=RecordingHandler):
    """An HTTP server on 127.0.0.1 for the folder root: yields (server, base URL ending
    in '/'), and shuts it down afterwards."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
