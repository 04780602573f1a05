"""Thread count of Numba's parallel regions, set per call and always restored.

BLAS: Lloyd's sweep calls BLAS from inside Numba's parallel loop, one matrix
product per chunk of samples; BLAS is limited to one thread meanwhile (as sklearn
does around its own chunked products), so the two thread pools do not multiply.

Threading layer: nbkm keeps Numba's default choice (``tbb``, then ``omp``, then
``workqueue``) and changes no Numba configuration. ``tbb`` and ``omp`` may be
entered from several Python threads at once; ``workqueue`` may not (it aborts the
process), so while that layer is active, or before Numba has picked one, parallel
sections of nbkm are serialised by a lock. Set ``NUMBA_THREADING_LAYER=omp`` or
install ``tbb`` to fit several models concurrently from Python threads.
"""

import contextlib
import functools
import threading
from collections.abc import Iterator

import numba
from threadpoolctl import ThreadpoolController

# Re-entrant: a user's init callable may itself call nbkm while a fit holds it.
_UNSAFE_LAYER_LOCK = threading.RLock()


def max_threads() -> int:
    """Return the most threads Numba can run (``NUMBA_NUM_THREADS``)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def effective_n_threads(n_threads: int | None) -> int:
    """Resolve the estimator's ``n_threads`` to a count Numba accepts.

    Parameters
    ----------
    n_threads : int or None
        Requested threads; ``None`` means all that Numba may use. Values above
        ``NUMBA_NUM_THREADS`` are capped to it.

    Returns
    -------
    n : int
        Between 1 and ``NUMBA_NUM_THREADS``.
    """
    limit = max_threads()
    if n_threads is None:
        return limit
    return max(1, min(int(n_threads), limit))


def _layer_lock() -> contextlib.AbstractContextManager:
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run yet: the layer is unknown
        layer = None
    if layer in ("tbb", "omp"):
        return contextlib.nullcontext()
    return _UNSAFE_LAYER_LOCK


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    # Inspecting the loaded libraries takes milliseconds: do it once.
    return ThreadpoolController()


@contextlib.contextmanager
def numba_threads(n_threads: int | None) -> Iterator[int]:
    """Run the body with Numba's thread count set to ``n_threads``, BLAS to one.

    The previous counts of the calling thread are restored on exit, also when the
    body raises.

    Parameters
    ----------
    n_threads : int or None
        As for :func:`effective_n_threads`.

    Yields
    ------
    n : int
        The thread count in force inside the body.
    """
    n = effective_n_threads(n_threads)
    blas_one_thread = _threadpool_controller().limit(limits=1, user_api="blas")
    with _layer_lock(), blas_one_thread:
        previous = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            yield n
        finally:
            numba.set_num_threads(previous)
