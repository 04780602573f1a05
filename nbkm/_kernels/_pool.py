"""nbkm's own thread pool, for serial kernels over a range of blocks.

A ``prange`` kernel costs Numba's parallel lowering at compile time: about 5 s
per dtype for the bounded sweeps' records of arrays, 0.4-0.5 s for a small pass
(docs/performance.md, compile time). Kernels that run a few times a fit, or
whose every call takes milliseconds, are instead serial ``nogil`` functions of
``(..., first_block, end_block)`` that :func:`over_blocks` runs in shares on the
calling thread and a pool of worker threads. The pool's hand-over costs tens of
microseconds a call (a Numba parallel region, a few): Lloyd's sweep, which can
take well under a millisecond, stays a ``prange`` kernel.

The thread count is Numba's for the calling thread (``numba.get_num_threads()``,
which ``nbkm._threads.numba_threads`` sets), so ``n_threads`` means the same for
both kinds of kernel.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

_pool = None
_POOL_LOCK = threading.Lock()


def _forget_pool_in_child() -> None:
    # The parent's worker threads do not exist in a forked child, and another
    # parent thread may have held the lock at the fork.
    global _pool, _POOL_LOCK
    _pool, _POOL_LOCK = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _worker_pool():
    global _pool
    with _POOL_LOCK:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max(1, int(numba.config.NUMBA_NUM_THREADS) - 1),
                thread_name_prefix="nbkm",
            )
        return _pool


#: Shares per thread of a block-range kernel: uneven blocks (a bounded sweep
#: computes more in some than in others) are balanced by taking shares in turn.
SHARES_PER_THREAD = 4


#: Fewer samples than this are swept by the calling thread alone: the whole pass
#: then takes about what the pool's hand-over does (20-40 us).
POOL_MIN_ROWS = 4096


def over_blocks(kernel, n_blocks: int, *args, rows: int | None = None) -> None:
    """Run ``kernel(*args, b0, b1)`` over the blocks ``0 .. n_blocks - 1``.

    The blocks are cut into contiguous shares that the calling thread and
    ``numba.get_num_threads() - 1`` pool threads take in turn, so ``kernel``
    (a ``nogil`` Numba function whose blocks write disjoint outputs) runs on
    the thread count in force (``nbkm._threads.numba_threads``), as a ``prange`` over
    the blocks would. Each block is run exactly once, so results do not depend
    on the thread count. An exception in any share is raised here, after every
    share has stopped.

    Parameters
    ----------
    kernel : callable
        ``kernel(*args, first_block, end_block)``.
    n_blocks : int
        Number of blocks, at least 1.
    *args
        The kernel's other arguments.
    rows : int, optional
        The samples the blocks hold; below ``POOL_MIN_ROWS`` the calling thread
        runs every block.
    """
    n_threads = min(numba.get_num_threads(), n_blocks)
    if n_threads <= 1 or (rows is not None and rows < POOL_MIN_ROWS):
        kernel(*args, 0, n_blocks)
        return
    n_shares = min(n_blocks, SHARES_PER_THREAD * n_threads)
    edges = [s * n_blocks // n_shares for s in range(n_shares + 1)]
    shares = iter(range(n_shares))
    take = threading.Lock()

    def work():
        while True:
            with take:
                s = next(shares, None)
            if s is None:
                return
            kernel(*args, edges[s], edges[s + 1])

    pool = _worker_pool()
    helpers = [pool.submit(work) for _ in range(n_threads - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            helper.exception()  # wait for every share before anything is raised
    for helper in helpers:
        helper.result()
