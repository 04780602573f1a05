"""Thread counts of Numba's parallel regions and of BLAS, set per call, restored.

BLAS: Lloyd's sweep calls BLAS from inside Numba's parallel loop, one matrix
product per chunk of samples; BLAS is limited to one thread meanwhile (as sklearn
does around its own chunked products), so the two thread pools do not multiply.
The limit is process-wide (BLAS has one thread count per process), so it is
counted: the first nbkm call that enters lowers it, the last one that leaves
restores the count from before the first, however calls from several Python
threads interleave.

Threading layer: nbkm changes no Numba configuration; Numba picks ``tbb`` if it
can load it, else ``omp``, else ``workqueue`` (``NUMBA_THREADING_LAYER`` chooses
one). nbkm depends on the ``tbb`` wheel and makes its library loadable (see
:func:`_make_tbb_loadable`), so ``tbb`` is the default: it survives a fork, and
where nbkm and scikit-learn run in one process it avoids two OpenMP runtimes
slowing each other (measured in docs/performance.md).
``tbb`` and ``omp`` may be entered from several Python threads at once;
``workqueue`` may not (it aborts the process), so while that layer is active, or
before Numba has picked one, nbkm's parallel sections are serialised by a lock.
The lock is held around nbkm's own kernels only, never while a user's callable
(an ``init`` callable) runs, so that callable may use nbkm from other threads.

Threads outside Numba: the bounded sweeps and the once-a-fit passes (column
sums, inertia) are serial ``nogil`` kernels over a range of blocks, which
``nbkm._kernels._pool.over_blocks`` runs in shares on a small thread pool of
nbkm's own, with the thread count set here (why: that module's docstring).

Fork: GNU OpenMP cannot run in a child forked from a process that has started
its threads (Numba's ``omp`` layer then kills the child with SIGTERM, and a
``multiprocessing`` pool waits forever). A fork is noted here, and nbkm refuses to
run in such a child with a ``RuntimeError`` that says what to do instead.
"""

import contextlib
import ctypes
import functools
import importlib.metadata
import os
import sys
import threading
from collections.abc import Iterator

import numba
import threadpoolctl
from threadpoolctl import ThreadpoolController

# Re-entrant: kmeans_plusplus inside a user's init callable runs on the thread
# that called fit, which may still be inside an nbkm call.
_UNSAFE_LAYER_LOCK = threading.RLock()

# How many nbkm calls hold BLAS at one thread, and the limiter that restores it.
_BLAS_LOCK = threading.Lock()
_blas_holders = 0
_blas_limiter = None

_FORK_MESSAGE = (
    "nbkm cannot run in this process: it was forked from a process whose Numba "
    "parallel regions had started GNU OpenMP threads, which do not survive a fork. "
    "Start worker processes with the 'spawn' or 'forkserver' method "
    "(multiprocessing.get_context('spawn')), or use Numba's tbb threading layer "
    "(pip install tbb; NUMBA_THREADING_LAYER=tbb)."
)
_forked_after_gnu_openmp = False


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


#: Values of NUMBA_THREADING_LAYER under which Numba may pick tbb.
_LAYERS_WITH_TBB = ("default", "tbb", "safe", "threadsafe")


def _make_tbb_loadable() -> None:
    """Load the TBB library of the ``tbb`` wheel, so that Numba can use it.

    pip puts ``libtbb.so.12`` in ``<prefix>/lib``, which the dynamic loader
    searches for a system Python but not in a virtual environment, so Numba's
    ``tbb`` layer would fail to load there and fall back to ``omp``. Loading the
    library first (by its own path) lets Numba's layer find it by name. Nothing
    happens when another layer is requested, the wheel is absent, or not on
    Linux (elsewhere Numba finds the wheel's library itself).
    """
    requested = os.environ.get("NUMBA_THREADING_LAYER", "default")
    if sys.platform != "linux" or requested not in _LAYERS_WITH_TBB:
        return
    try:
        files = importlib.metadata.files("tbb") or []
    except importlib.metadata.PackageNotFoundError:
        return
    for file in files:
        if file.name == "libtbb.so.12":
            with contextlib.suppress(OSError):
                ctypes.CDLL(str(file.locate()), mode=ctypes.RTLD_GLOBAL)
            return


_make_tbb_loadable()


def _active_layer() -> str | None:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel region has run yet: the layer is unknown
        return None


def _gnu_openmp_started() -> bool:
    if _active_layer() != "omp":
        return False
    from numba.np.ufunc import omppool

    return omppool.openmp_vendor == "GNU"


def _note_fork_in_child() -> None:
    global _forked_after_gnu_openmp, _blas_holders, _blas_limiter
    _forked_after_gnu_openmp = _forked_after_gnu_openmp or _gnu_openmp_started()
    # The child has one thread: no nbkm call of the parent's is running in it.
    _blas_holders, _blas_limiter = 0, None


os.register_at_fork(after_in_child=_note_fork_in_child)


def _layer_lock() -> contextlib.AbstractContextManager:
    if _active_layer() in ("tbb", "omp"):
        return contextlib.nullcontext()
    return _UNSAFE_LAYER_LOCK


@functools.cache
def _threadpool_controller() -> ThreadpoolController:
    # Inspecting the loaded libraries takes milliseconds: do it once.
    return ThreadpoolController()


def _release_openblas_control() -> None:
    # threadpoolctl >= 3.8 lets only one Python thread change OpenBLAS's
    # process-wide count: the first that did, for as long as it lives. nbkm's
    # counted limit is set by the thread that enters first and restored by the one
    # that leaves last, so it releases that control around each change (under
    # _BLAS_LOCK) and leaves none behind.
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    release = getattr(openblas, "clear_controlling_thread", None)
    if release is not None:
        release(force=True)


@contextlib.contextmanager
def _blas_single_threaded() -> Iterator[None]:
    """Hold BLAS at one thread; the last holder to leave restores the original."""
    global _blas_holders, _blas_limiter
    with _BLAS_LOCK:
        if _blas_holders == 0:
            _release_openblas_control()
            _blas_limiter = _threadpool_controller().limit(limits=1, user_api="blas")
            _release_openblas_control()
        _blas_holders += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_holders -= 1
            if _blas_holders == 0:
                _release_openblas_control()
                _blas_limiter.restore_original_limits()
                _release_openblas_control()
                _blas_limiter = None


@contextlib.contextmanager
def numba_threads(n_threads: int | None) -> Iterator[int]:
    """Run nbkm's kernels with Numba's thread count set to ``n_threads``, BLAS to one.

    The previous Numba count of the calling thread is restored on exit, also when
    the body raises; BLAS gets back the count it had before any nbkm call entered.
    The body must not call user code (see the module docstring).

    Parameters
    ----------
    n_threads : int or None
        As for :func:`effective_n_threads`.

    Yields
    ------
    n : int
        The thread count in force inside the body.

    Raises
    ------
    RuntimeError
        In a child forked after the parent started GNU OpenMP threads.
    """
    if _forked_after_gnu_openmp:
        raise RuntimeError(_FORK_MESSAGE)
    n = effective_n_threads(n_threads)
    with _layer_lock(), _blas_single_threaded():
        previous = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            yield n
        finally:
            numba.set_num_threads(previous)
