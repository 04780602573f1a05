"""Compilation of nbkm's kernels: a notice on first use, and ahead-of-time compiling.

Numba compiles each kernel the first time it meets new argument types and keeps
the machine code in its on-disk cache, so only the first use on a machine (or
after an upgrade) pays for it. So that a user is not left waiting in silence, the
first compilation for a dtype is reported once per process through the ``nbkm``
logger (silent unless the application configures logging, as a library should
be), and :func:`compile_kernels` compiles everything up front, for images and CI.

Compilations are observed through Numba's event API (``numba:compile`` fires for
real compilations only, never for cache loads), so a warm cache never logs.
"""

import contextlib
import functools
import logging
import threading
import time

import numpy as np
import scipy.sparse as sp
from numba.core import event, types
from numba.core.caching import Cache

logger = logging.getLogger("nbkm")
logger.addHandler(logging.NullHandler())

NOTICE = "compiling nbkm kernels for {dtype} (first use; cached for later runs)"


def _is_nbkm_kernel(dispatcher) -> bool:
    return getattr(dispatcher.py_func, "__module__", "").startswith("nbkm.")


def _dtype_of(args) -> str | None:
    """Name of the float dtype of a kernel's first float array argument."""
    for arg in args:
        for t in arg.types if isinstance(arg, types.BaseTuple) else (arg,):
            if isinstance(t, types.Array) and isinstance(t.dtype, types.Float):
                return str(t.dtype)
    return None  # an integer-only helper: part of some dtype's compilation


class _CompileWatch(event.Listener):
    """Log the first compilation per dtype; time each top-level kernel compiled."""

    def __init__(self):
        self._local = threading.local()
        self._announced = set()
        self.seconds = {}

    def _stack(self):
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack

    def on_start(self, ev):
        dispatcher = ev.data["dispatcher"]
        if not _is_nbkm_kernel(dispatcher):
            return
        stack = self._stack()
        if not stack:
            dtype = _dtype_of(ev.data["args"])
            if dtype is not None and dtype not in self._announced:
                self._announced.add(dtype)
                logger.info(NOTICE.format(dtype=dtype))
        stack.append((dispatcher.py_func.__name__, time.perf_counter()))

    def on_end(self, ev):
        if not _is_nbkm_kernel(ev.data["dispatcher"]):
            return
        stack = self._stack()
        name, start = stack.pop()
        if not stack:  # callees are part of their caller's compilation
            elapsed = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
            logger.debug("compiled %s in %.2f s", name, elapsed)


WATCH = _CompileWatch()
event.register("numba:compile", WATCH)

CACHE_NOTICE = (
    "nbkm: Numba's cache of {name} could not be {action} ({error}); "
    "it is discarded and the kernel compiled afresh"
)


def _is_nbkm_cache(cache) -> bool:
    func = getattr(cache, "_py_func", None)
    return getattr(func, "__module__", "").startswith("nbkm.")


def guard_caches() -> None:
    """Make nbkm kernels whose cache files are damaged recompile instead of failing.

    Numba reads its cache index and data with ``pickle``: a file cut short (a
    process killed while writing it) raises ``UnpicklingError`` or ``EOFError``
    on every later call, forever. For nbkm's functions (the kernels, and the
    implementations Numba builds for their ``overload``s, which no module
    attribute reaches), Numba's cache loading and saving are wrapped so that any
    failure is reported through the ``nbkm`` logger, the function's index is
    emptied (Numba's ``flush``) and the kernel compiles as on a cold cache; the
    next save writes a sound cache. Other functions' caches are left to Numba.
    (Bytes that unpickle but are not machine code can still crash the
    interpreter inside Numba; nothing short of not loading the cache prevents
    that.)
    """
    if getattr(Cache, "nbkm_guarded", False):
        return
    load, save = Cache.load_overload, Cache.save_overload

    def discard(cache, action, exc):
        name = getattr(cache._py_func, "__qualname__", cache._name)
        logger.warning(CACHE_NOTICE.format(name=name, action=action, error=exc))
        with contextlib.suppress(Exception):
            cache.flush()

    @functools.wraps(load)
    def load_overload(self, sig, target_context):
        if not _is_nbkm_cache(self):
            return load(self, sig, target_context)
        try:
            return load(self, sig, target_context)
        except Exception as exc:  # noqa: BLE001 - any unreadable cache: recompile
            discard(self, "read", exc)
            return None

    @functools.wraps(save)
    def save_overload(self, sig, data):
        if not _is_nbkm_cache(self):
            return save(self, sig, data)
        try:
            save(self, sig, data)
        except Exception as exc:  # noqa: BLE001 - the compiled kernel still runs
            discard(self, "written", exc)

    Cache.load_overload = load_overload
    Cache.save_overload = save_overload
    Cache.nbkm_guarded = True


#: What ``compile_kernels`` (and ``python -m nbkm compile``) can prepare for.
DTYPES = ("float64", "float32")
LAYOUTS = ("dense", "csr")


def _exercise(X) -> None:
    """Run every public path once on tiny data ``X`` (dense or CSR)."""
    from nbkm._kmeans import KMeans, kmeans_plusplus
    from nbkm._minibatch import MiniBatchKMeans

    for algorithm in ("lloyd", "elkan", "hamerly", "yinyang"):
        for init in ("k-means++", "random"):
            km = KMeans(3, init=init, n_init=1, algorithm=algorithm, random_state=0)
            km.fit(X)
    km.predict(X), km.transform(X), km.score(X)
    kmeans_plusplus(X, 3, random_state=0)
    # Mini-batch steps: fit draws rows of X, partial_fit takes all of a piece.
    mini = MiniBatchKMeans(3, batch_size=16, max_iter=2, random_state=0).fit(X)
    mini.partial_fit(X)
    # An empty cluster on purpose: relocation, and the grouped M-step that wide
    # data uses.
    rows = X[:1].toarray() if sp.issparse(X) else X[:1]
    far = np.vstack([rows, rows + 1e3, rows - 1e3]).astype(X.dtype)
    KMeans(3, init=far, n_init=1, max_iter=2).fit(X)
    # Paths that tiny data does not take: the grouped M-step (CSR data, or dense
    # data whose per-block partial sums would be too large) and the k-means++
    # kernel of large dense data. Their kernels are called directly.
    from nbkm import _kernels as K
    from nbkm._samples import Samples, read_only

    n = X.shape[0]
    samples = Samples.of(X)
    ones = read_only(np.ones(n, X.dtype))  # weights as the estimator passes them
    # The bounded sweep: a fit runs Lloyd's sweep until labels settle, and
    # tiny data converges before that, so two bounded sweeps are run here
    # (the first sets the bounds, the second tests them).
    from nbkm._bounded import BoundedSweep
    from nbkm._em import Sweep

    centers = np.ascontiguousarray(far - samples.x_mean)
    bounded = BoundedSweep(
        samples, ones, centers, 1, Sweep.allocate(samples, 3), adaptive=False
    )
    bounded.assign(centers)
    bounded.assign(centers * 0.5)
    if not samples.is_sparse:
        # k-means++ on large dense data (small data takes NumPy's path).
        t = np.ones((X.shape[1], 2), X.dtype)
        K.candidate_potentials_dense(
            samples.X,
            samples.x_mean,
            np.ones(n),
            t,
            np.ones(2),
            np.ones(n),
            ones,
            K.block_bounds(n),
            np.empty((2, n)),
            np.empty(2),
        )
    order, starts = np.zeros(n, np.int64), np.zeros(3, np.int64)
    K.group_by_label(np.zeros(n, np.int32), order, starts)
    K.accumulate_by_cluster(
        samples.X,
        samples.x_mean,
        ones,
        order,
        starts,
        np.zeros((2, X.shape[1]), X.dtype),
        np.zeros(2, X.dtype),
    )


def _as_list(value) -> list:
    """One value (a string or dtype-like) as a list of one; a sequence as a list."""
    if isinstance(value, str | type | np.dtype):
        return [value]
    return list(value)


def _dtype_name(value):
    """``"float64"`` for ``np.float64``, ``np.dtype("float64")`` or the string."""
    try:
        return np.dtype(value).name
    except TypeError:
        return value  # reported as unknown by the caller


def compile_kernels(dtypes=DTYPES, layouts=LAYOUTS) -> dict:
    """Compile (or load from Numba's cache) every kernel for the given inputs.

    Later fits in this and other processes on the same machine then start
    without compiling. Use it when building an image or in CI.

    Parameters
    ----------
    dtypes : dtype-like or sequence of them, default=("float64", "float32")
        Float types of the data to prepare for: ``"float64"``, ``np.float32``,
        ``np.dtype("float64")``, ... (integer data is fitted as float64).
    layouts : {"dense", "csr"} or sequence of them, default=("dense", "csr")
        Dense arrays, CSR matrices (any scipy.sparse input), or both.

    Returns
    -------
    report : dict
        ``{"seconds": total wall seconds, "kernels": {kernel name: seconds spent
        compiling it}}``; kernels loaded from the cache take no compile time and
        are not listed.

    Raises
    ------
    ValueError
        For an unknown dtype or layout.

    Examples
    --------
    >>> import nbkm
    >>> report = nbkm.compile_kernels(dtypes=["float64"], layouts=["dense"])
    >>> sorted(report)
    ['kernels', 'seconds']
    """
    dtypes = [_dtype_name(d) for d in _as_list(dtypes)]
    layouts = _as_list(layouts)
    unknown = [d for d in dtypes if d not in DTYPES]
    unknown += [layout for layout in layouts if layout not in LAYOUTS]
    if unknown:
        raise ValueError(
            f"Unknown dtype or layout {unknown}: dtypes are {list(DTYPES)}, "
            f"layouts are {list(LAYOUTS)}."
        )
    before = dict(WATCH.seconds)
    start = time.perf_counter()
    data = np.random.default_rng(0).normal(size=(40, 3))
    data[data < 0] = 0  # zeros, so the CSR matrix is sparse
    for dtype in dtypes:
        for layout in layouts:
            X = data.astype(dtype)
            _exercise(sp.csr_matrix(X) if layout == "csr" else X)
    kernels = {
        name: seconds - before.get(name, 0.0)
        for name, seconds in WATCH.seconds.items()
        if seconds > before.get(name, 0.0)
    }
    return {"seconds": time.perf_counter() - start, "kernels": kernels}
