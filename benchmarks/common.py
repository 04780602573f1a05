"""Shared pieces of the asv suite: the base class, the datasets, the implementations.

Rules of the suite (numpy's and scikit-learn's, see ``docs/asv.md``):

- Every benchmark compares the implementations side by side: the parameter ``impl``
  takes the values of :data:`IMPLS`, so one run gives the nbkm/sklearn ratio.
- Both implementations run with :data:`N_THREADS` threads: nbkm through its
  ``n_threads`` parameter, scikit-learn (OpenMP) and BLAS through
  :func:`threadpoolctl.threadpool_limits`, set in ``setup`` and undone in
  ``teardown``.
- Only nbkm's public API is called (``nbkm.KMeans``, ``nbkm.MiniBatchKMeans``,
  ``nbkm.kmeans_plusplus``), so the suite also runs against older commits. When
  nbkm is not installed, or lacks something a benchmark needs, ``setup`` raises
  ``NotImplementedError`` and asv skips that combination; when nbkm is installed
  but fails to import, the nbkm combinations fail (a broken commit must show) and
  scikit-learn's still run.
- The workloads (shapes, thread count, fit parameters) are defined once, in
  ``benchmarks/workloads.py``, the datasets in ``benchmarks/data.py``; ``python -m
  experiments compare`` uses both too.
- The whole-fit classes also time the peers (:data:`ALL_IMPLS`: faiss and
  scikit-learn-intelex, ``benchmarks/peers.py``); where a peer is not installed,
  ``setup`` raises ``NotImplementedError`` and asv skips it.
"""

import functools
import timeit

import numpy as np
from sklearn.metrics.cluster import contingency_matrix

from benchmarks import peers
from benchmarks.data import (  # noqa: F401 - the suite's modules import them here
    SMOKE_MAX_SAMPLES,
    digits,
    gaussian,
    n_samples,
    smoke,
    sparse_tfidf_like,
)
from benchmarks.workloads import (  # noqa: F401 - the suite's modules import them here
    N_THREADS,
    n_iterations,
    supported_algorithms,
)

try:
    import nbkm

    NBKM_IMPORT_ERROR = None
except ModuleNotFoundError as exc:
    if exc.name != "nbkm":
        raise
    nbkm = None  # not installed: the nbkm combinations are skipped
    NBKM_IMPORT_ERROR = None
except Exception as exc:  # noqa: BLE001 - broken at this commit: those fail
    nbkm = None
    NBKM_IMPORT_ERROR = exc

#: The implementations compared by every benchmark.
IMPLS = ["nbkm", "sklearn"]
#: The implementations of the whole-fit classes: nbkm, scikit-learn and the peers.
ALL_IMPLS = IMPLS + list(peers.PEERS)
#: Algorithms each other implementation has (nbkm's are asked of nbkm.KMeans).
OTHER_ALGORITHMS = {
    "sklearn": ("lloyd", "elkan"),
    "faiss": ("lloyd",),
    "sklearnex": ("lloyd",),
}


class Benchmark:
    """Base of every benchmark class of the suite.

    Wall-clock timer (multithreaded code: process CPU time would hide the
    speed-up), one process per benchmark, and a fixed number of calls per sample
    so that asv never calibrates the workload. Each sample is preceded by
    ``setup`` (asv re-runs it), which is cheap: the datasets are cached.
    """

    timer = timeit.default_timer  # wall time
    processes = 1
    timeout = 300
    number = 1
    # (min samples, max samples, max seconds per combination after the warm-up)
    repeat = (3, 10, 3.0)
    warmup_time = 0.1  # at least one untimed call: first-touch of buffers
    min_run_count = 2

    def _limit_threads(self):
        """Cap OpenMP and BLAS threads at N_THREADS until teardown."""
        from threadpoolctl import threadpool_limits

        self._thread_limits = threadpool_limits(limits=N_THREADS)

    def teardown(self, *params):
        limits = getattr(self, "_thread_limits", None)
        if limits is not None:
            limits.restore_original_limits()
            self._thread_limits = None


def require(impl, attribute=None):
    """Raise ``NotImplementedError`` (asv: skip) when ``impl`` cannot run here.

    Parameters
    ----------
    impl : str
        One of :data:`ALL_IMPLS`.
    attribute : str, optional
        A public name nbkm must have for this benchmark.
    """
    if impl not in ALL_IMPLS:
        raise NotImplementedError(f"unknown implementation {impl!r}")
    if impl in peers.PEERS:
        found = peers.status(impl)
        if not found["available"]:
            raise NotImplementedError(f"{impl}: {found['reason']}")
    if impl == "nbkm":
        if NBKM_IMPORT_ERROR is not None:
            raise RuntimeError("nbkm fails to import") from NBKM_IMPORT_ERROR
        if nbkm is None:
            raise NotImplementedError("nbkm is not installed")
        if attribute is not None and not hasattr(nbkm, attribute):
            raise NotImplementedError(f"nbkm.{attribute} does not exist at this commit")


def require_algorithm(impl, algorithm):
    """Raise ``NotImplementedError`` (asv: skip) when ``impl`` lacks ``algorithm``.

    nbkm's algorithms are read from ``nbkm.KMeans`` at the commit benchmarked
    (:func:`benchmarks.workloads.supported_algorithms`); faiss and
    scikit-learn-intelex have Lloyd's only.
    """
    require(impl)
    have = (
        supported_algorithms(nbkm.KMeans) if impl == "nbkm" else OTHER_ALGORITHMS[impl]
    )
    if algorithm not in have:
        raise NotImplementedError(f"{impl} has no algorithm {algorithm!r} here")


def make_kmeans(impl, estimator="KMeans", **kwargs):
    """Return a KMeans estimator of ``impl`` with :data:`N_THREADS` threads.

    Parameters
    ----------
    impl : str
        ``"nbkm"``, ``"sklearn"`` or ``"sklearnex"`` (faiss has no estimator).
    estimator : {"KMeans", "MiniBatchKMeans"}, default="KMeans"
        The class, by its name in ``nbkm`` and ``sklearn.cluster``
        (scikit-learn-intelex: KMeans only). An nbkm without it is skipped.
    **kwargs
        Parameters shared by both estimators.

    Returns
    -------
    estimator : KMeans or MiniBatchKMeans of nbkm, scikit-learn or sklearnex
    """
    require(impl, estimator)
    if impl == "nbkm":
        return getattr(nbkm, estimator)(n_threads=N_THREADS, **kwargs)
    if impl == "sklearnex":
        if estimator != "KMeans":
            raise NotImplementedError(f"sklearnex: no {estimator} timed")
        return peers.sklearnex_kmeans(N_THREADS, **kwargs)
    import sklearn.cluster

    return getattr(sklearn.cluster, estimator)(**kwargs)


def kmeans_plusplus(impl, X, n_clusters, random_state):
    """Run ``impl``'s k-means++ initialisation; nbkm with :data:`N_THREADS` threads.

    Parameters
    ----------
    impl : str
        ``"nbkm"`` or ``"sklearn"``.
    X : ndarray of shape (n_samples, n_features)
        Samples.
    n_clusters : int
        Number of centres.
    random_state : int
        Seed.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
    """
    require(impl, "kmeans_plusplus")
    if impl == "nbkm":
        centers, _ = nbkm.kmeans_plusplus(
            X, n_clusters, random_state=random_state, n_threads=N_THREADS
        )
        return centers
    from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus

    centers, _ = sk_kmeans_plusplus(X, n_clusters, random_state=random_state)
    return centers


def warm_up(impl, dtype, algorithm="lloyd"):
    """Compile (or load from the cache) nbkm's kernels for ``dtype`` with a tiny fit.

    A tiny fit with every code path a benchmark times: k-means++ and array
    initialisation, the chosen algorithm, predict. A no-op for scikit-learn.

    Parameters
    ----------
    impl : str
        ``"nbkm"`` or ``"sklearn"``.
    dtype : str
        ``"float32"`` or ``"float64"``.
    algorithm : str, default="lloyd"
        ``"lloyd"`` or ``"elkan"``.
    """
    if impl != "nbkm":
        return
    X = _tiny(dtype)
    km = make_kmeans(impl, n_clusters=3, n_init=1, random_state=0, algorithm=algorithm)
    km.fit(X).predict(X)
    make_kmeans(
        impl, n_clusters=3, init=X[:3], n_init=1, max_iter=2, tol=0, algorithm=algorithm
    ).fit(X)


def warm_up_minibatch(impl, dtype):
    """Compile (or load) nbkm's mini-batch kernels for ``dtype`` with tiny fits.

    ``fit`` (k-means++, steps, the final labels), ``partial_fit`` (first call:
    init and a step; second: a step alone) and ``predict``. A no-op for
    scikit-learn.

    Parameters
    ----------
    impl : str
        ``"nbkm"`` or ``"sklearn"``.
    dtype : str
        ``"float32"`` or ``"float64"``.
    """
    if impl != "nbkm":
        return
    X = _tiny(dtype)
    params = {"n_clusters": 3, "batch_size": 16, "random_state": 0}
    make_kmeans(impl, "MiniBatchKMeans", max_iter=2, **params).fit(X).predict(X)
    online = make_kmeans(impl, "MiniBatchKMeans", **params)
    online.partial_fit(X[:16]).partial_fit(X[16:32])


@functools.cache
def _tiny(dtype):
    rng = np.random.default_rng(12345)
    return rng.standard_normal((64, 3)).astype(dtype)


def mode_accuracy(clusters, labels):
    """Accuracy of clusters mapped to labels by the mode of the labels in each.

    The textbook's mapping: each cluster takes the most frequent true label of its
    members.

    Parameters
    ----------
    clusters, labels : ndarray of int of shape (n_samples,)
        Cluster indices and true labels.

    Returns
    -------
    accuracy : float
    """
    table = contingency_matrix(labels, clusters)  # rows: labels, columns: clusters
    return float(table.max(axis=0).sum() / len(labels))
