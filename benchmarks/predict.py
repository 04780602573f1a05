"""Seconds of ``predict`` (the labels-only E-step) and of k-means++ initialisation."""

import functools

from benchmarks.common import (
    IMPLS,
    Benchmark,
    gaussian,
    kmeans_plusplus,
    make_kmeans,
    require,
    warm_up,
)
from benchmarks.workloads import KMEANS_PLUSPLUS, PREDICT


@functools.lru_cache(maxsize=4)
def _fitted(impl, n, d, k, dtype):
    """A model fitted with one iteration from the first k samples (cached)."""
    X = gaussian(n, d, dtype)
    return make_kmeans(impl, n_clusters=k, init=X[:k].copy(), n_init=1, max_iter=1).fit(
        X
    )


class Predict(Benchmark):
    """``predict`` of 1e5 x 64 samples given a fitted model."""

    param_names = ["impl", "k", "dtype"]
    params = [IMPLS, PREDICT["k"], ["float32", "float64"]]
    n, d = PREDICT["n"], PREDICT["d"]

    def setup(self, impl, k, dtype):
        require(impl)
        self._limit_threads()
        warm_up(impl, dtype)
        self.X = gaussian(self.n, self.d, dtype)
        self.model = _fitted(impl, self.n, self.d, k, dtype)

    def time_predict(self, impl, k, dtype):
        self.model.predict(self.X)


class KMeansPlusPlus(Benchmark):
    """Greedy k-means++ seeding of 1e5 x 16 samples (``random_state=0``)."""

    param_names = ["impl", "k", "dtype"]
    params = [IMPLS, KMEANS_PLUSPLUS["k"], ["float32", "float64"]]
    n, d = KMEANS_PLUSPLUS["n"], KMEANS_PLUSPLUS["d"]

    def setup(self, impl, k, dtype):
        require(impl, "kmeans_plusplus")
        self._limit_threads()
        warm_up(impl, dtype)
        self.X = gaussian(self.n, self.d, dtype)
        if impl == "nbkm":
            kmeans_plusplus(impl, self.X[:200], 3, random_state=0)

    def time_kmeans_plusplus(self, impl, k, dtype):
        kmeans_plusplus(impl, self.X, k, random_state=0)
