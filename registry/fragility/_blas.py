"""Run the engine's linear algebra on one BLAS thread.

The engine solves many small systems (one per model count, ~200 x 200). Multi-threaded
OpenBLAS on such sizes spends its time waking and spinning threads; on the 2-core reference
machine under load, one Newton refit took ~20 times longer with two BLAS threads than with one
(benchmarks/fragility_bench.py prints both). ``threadpoolctl`` limits the thread pools of
the BLAS libraries already loaded; without it (it is a small pure-Python package) the limit is
a no-op and ``OPENBLAS_NUM_THREADS=1`` in the environment has the same effect.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

Params = ParamSpec("Params")
Result = TypeVar("Result")

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - depends on the environment
    threadpool_limits = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS libraries to one thread inside the block (no-op without threadpoolctl)."""
    if threadpool_limits is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def single_threaded_blas[**Params, Result](
    function: Callable[Params, Result],
) -> Callable[Params, Result]:
    """Decorator form of :func:`one_blas_thread` for the engine's entry points."""

    @functools.wraps(function)
    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        with one_blas_thread():
            return function(*args, **kwargs)

    return wrapper
