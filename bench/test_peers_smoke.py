"""Smoke test of bench/peers.py: a --quick run of fastnn and the NumPy MLP gives a full table.

Not a benchmark and not in the default test run (pyproject's testpaths is tests/). Run:
    FASTNN_DATA_DIR=/tmp/fnn_data python -m pytest bench/test_peers_smoke.py
"""
import os
import subprocess
import sys

import pytest

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers.py")
DATA = os.environ.get("FASTNN_DATA_DIR") or os.path.join(os.path.expanduser("~/.fastnn"),
                                                          "datasets")


def table_rows(report):
    """The Markdown table's header cells and its rows, keyed by (system, threads)."""
    lines = [l for l in report.splitlines() if l.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in line.strip("|").split("|"))))
        rows[(cells["system"], cells["threads"])] = cells
    return header, rows


@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "mnist.npz")),
                    reason="MNIST is not in $FASTNN_DATA_DIR (run shared/data/prepare-datasets)")
def test_quick_run_reports_numbers_for_fastnn_and_numpy(tmp_path):
    out = tmp_path / "peers.md"
    r = subprocess.run([sys.executable, PEERS, "--quick", "--systems", "fastnn,numpy",
                        "--threads", "2", "--fastnn-threads", "1", "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    report = out.read_text()
    assert report.strip() in r.stdout           # --out holds what was printed

    header, rows = table_rows(report)
    assert set(rows) == {("fastnn", "2"), ("fastnn", "1"), ("NumPy MLP", "2")}, report
    figures = header[3:]                        # after system, version, threads
    for key, cells in rows.items():
        for col in figures:
            value = float(cells[col])           # every figure is a number, not '–'
            assert value > 0, (key, col, value)
        for col in ("acc b32", "acc b256"):
            assert 0.5 < float(cells[col]) <= 1, (key, col)   # 2 epochs on 2,000 images
    # fastnn's results do not depend on the thread count (DESIGN.md, contract 2)
    assert rows[("fastnn", "2")]["acc b32"] == rows[("fastnn", "1")]["acc b32"]
    assert "Problems:" not in report, report
    assert "peak RSS of examples/mnist.py" in report and "installed package" in report
