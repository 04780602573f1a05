"""Seconds of a fixed number of k-means iterations: Lloyd's, and the accelerated exact.

Each benchmark times a whole ``fit`` with ``max_iter=MAX_ITER``, ``tol=0``,
``n_init=1`` and ``init`` = the first ``k`` samples (an explicit array, so no
k-means++ is timed) on standard normal data that does not converge within
``MAX_ITER`` iterations (``setup`` checks ``n_iter_ == MAX_ITER`` once per process).
**Per-iteration time = reported time / MAX_ITER** (the fit's fixed overhead -- input
validation, centring, the final inertia -- is included and is small next to 20
iterations). The history figure divides; asv's own tables show the whole fit.

``SparseIteration`` does the same on a TF-IDF-like CSR matrix (100,000 x 20,000
at 0.5 % density, k=20), for both algorithms.

The shapes come from ``benchmarks/workloads.py`` (``GRID``, ``LARGE``, ``SPARSE``): a
grid that keeps a full run of the suite under ~20 minutes on 2 cores (n in {1e4, 1e5},
d in {16, 64}, k in {10, 100}, float32 and float64), plus one 1e6 x 64, k=10 case
(where scikit-learn is furthest from the GEMM ceiling).
"""

from benchmarks.common import (
    IMPLS,
    Benchmark,
    gaussian,
    make_kmeans,
    n_iterations,
    require,
    smoke,
    sparse_tfidf_like,
    warm_up,
)
from benchmarks.workloads import GRID, LARGE, MAX_ITER, SPARSE

# Parameter combinations whose iteration count was checked in this process.
_CHECKED = set()


class _FixedIterations(Benchmark):
    """Time ``fit`` with a fixed iteration count; subclasses set the algorithm."""

    algorithm = "lloyd"

    def _setup(self, impl, n, d, k, dtype):
        require(impl)
        self.X = gaussian(n, d, dtype)
        max_iter = n_iterations(MAX_ITER)
        self._limit_threads()
        warm_up(impl, dtype, self.algorithm)
        self.estimator = make_kmeans(
            impl,
            n_clusters=k,
            init=self.X[:k].copy(),
            n_init=1,
            max_iter=max_iter,
            tol=0,
            algorithm=self.algorithm,
        )
        key = (type(self).__name__, impl, n, d, k, dtype)
        if not smoke() and key not in _CHECKED:
            # One untimed full fit: first touch of the buffers, and the proof that
            # the timed fits run exactly max_iter iterations.
            n_iter = self.estimator.fit(self.X).n_iter_
            if n_iter != max_iter:
                raise RuntimeError(
                    f"{key}: the fit converged after {n_iter} < {max_iter} "
                    "iterations; the workload is not fixed"
                )
            _CHECKED.add(key)


class LloydIteration(_FixedIterations):
    """Lloyd's algorithm, ``MAX_ITER`` iterations, over the shape grid."""

    algorithm = "lloyd"
    param_names = ["impl", "n", "d", "k", "dtype"]
    params = [IMPLS, GRID["n"], GRID["d"], GRID["k"], GRID["dtype"]]

    def setup(self, impl, n, d, k, dtype):
        self._setup(impl, n, d, k, dtype)

    def time_fit(self, impl, n, d, k, dtype):
        self.estimator.fit(self.X)


class LloydIterationLarge(_FixedIterations):
    """Lloyd's algorithm, ``MAX_ITER`` iterations, 1e6 x 64 samples, k=10."""

    algorithm = "lloyd"
    param_names = ["impl", "dtype"]
    params = [IMPLS, ["float32", "float64"]]
    n, d, k = LARGE["n"], LARGE["d"], LARGE["k"]

    def setup(self, impl, dtype):
        self._setup(impl, self.n, self.d, self.k, dtype)

    def time_fit(self, impl, dtype):
        self.estimator.fit(self.X)


class ElkanIteration(_FixedIterations):
    """The accelerated exact algorithm (``algorithm="elkan"``) over the shape grid."""

    algorithm = "elkan"
    param_names = ["impl", "n", "d", "k", "dtype"]
    params = [IMPLS, GRID["n"], GRID["d"], GRID["k"], GRID["dtype"]]

    def setup(self, impl, n, d, k, dtype):
        self._setup(impl, n, d, k, dtype)

    def time_fit(self, impl, n, d, k, dtype):
        self.estimator.fit(self.X)


class SparseIteration(Benchmark):
    """Both algorithms, ``MAX_ITER`` iterations, on a TF-IDF-like CSR matrix."""

    param_names = ["impl", "algorithm"]
    params = [IMPLS, ["lloyd", "elkan"]]
    n, d, density, k = (SPARSE[key] for key in ("n", "d", "density", "k"))

    def setup(self, impl, algorithm):
        require(impl)
        self.X = sparse_tfidf_like(self.n, self.d, self.density)
        self._limit_threads()
        warm_up(impl, "float64", algorithm)
        self.estimator = make_kmeans(
            impl,
            n_clusters=self.k,
            init=self.X[: self.k].toarray(),
            n_init=1,
            max_iter=n_iterations(MAX_ITER),
            tol=0,
            algorithm=algorithm,
        )

    def time_fit(self, impl, algorithm):
        self.estimator.fit(self.X)
