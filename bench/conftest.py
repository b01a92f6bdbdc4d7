"""Benchmark helpers: thread control for fastnn and for NumPy's BLAS."""
import contextlib

import pytest


@contextlib.contextmanager
def threads(n):
    """Run fastnn and NumPy's BLAS with n threads inside the block."""
    import fastnn
    from fastnn import _core
    from threadpoolctl import threadpool_limits

    fastnn.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        _core.reset_num_threads()


@pytest.fixture(params=[2, 1], ids=["2threads", "1thread"])
def nthreads(request):
    with threads(request.param):
        yield request.param
