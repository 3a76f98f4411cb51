"""One heavy computation at a time per server process, with its BLAS threads set on purpose.

The machine has 2 cores, and BLAS thread counts are process-wide: a computation that changes
them (the all-pairs pass runs two single-threaded BLAS workers) would otherwise change another
visitor's results mid-flight (an SVD with 1 or 2 BLAS threads differs in the last bits, and a
UMAP started from it then differs everywhere). So heavy steps take this re-entrant lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_LOCK = threading.RLock()


def cache_compiled(*modules_or_functions) -> None:
    """Switch on numba's disk cache for compiled functions a library left uncached (umap-learn's
    fuzzy graph, pynndescent): given modules, every dispatcher in them. Idempotent; numba itself
    skips the functions it cannot cache (it warns; callers silence that)."""
    from numba.core.dispatcher import Dispatcher

    for item in modules_or_functions:
        for obj in vars(item).values() if not isinstance(item, Dispatcher) else [item]:
            if isinstance(obj, Dispatcher) and type(obj._cache).__name__ == "NullCache":
                obj.enable_caching()


@contextmanager
def heavy(blas_threads: int | None = None) -> Iterator[None]:
    """Hold the process's heavy-work lock; with ``blas_threads``, BLAS runs that many threads."""
    with _LOCK:
        if blas_threads is None:
            yield
        else:
            with threadpool_limits(blas_threads, user_api="blas"):
                yield
