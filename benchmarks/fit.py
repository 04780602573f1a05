"""Whole fits the way users run them: digits with n_init=10, and the peak memory.

``DigitsFit`` is the textbook workload (``KMeans(n_clusters=10, n_init=10,
random_state=0)`` on scikit-learn's 1797 x 64 digits, k-means++ init, default tol
and max_iter). Both implementations draw the same k-means++ seeds from the same
``random_state``, so they do the same work; the ``track_`` methods show that they
also reach the same clustering.
"""

from benchmarks.common import (
    IMPLS,
    Benchmark,
    digits,
    gaussian,
    make_kmeans,
    mode_accuracy,
    n_iterations,
    require,
    warm_up,
)
from benchmarks.workloads import PEAK_MEMORY


class DigitsFit(Benchmark):
    """Digits, k=10, n_init=10, k-means++ from ``random_state=0``."""

    param_names = ["impl"]
    params = [IMPLS]

    def setup(self, impl):
        require(impl)
        self.X, self.y = digits()
        self._limit_threads()
        warm_up(impl, "float64")
        self.estimator = make_kmeans(impl, n_clusters=10, n_init=10, random_state=0)

    def time_fit(self, impl):
        self.estimator.fit(self.X)

    def track_accuracy(self, impl):
        labels = self.estimator.fit(self.X).labels_
        return mode_accuracy(labels, self.y)

    track_accuracy.unit = "fraction"

    def track_inertia(self, impl):
        return float(self.estimator.fit(self.X).inertia_)

    track_inertia.unit = "inertia"

    def track_n_iter(self, impl):
        return int(self.estimator.fit(self.X).n_iter_)

    track_n_iter.unit = "iterations"


class PeakMemoryFit(Benchmark):
    """Peak resident memory of a Lloyd fit of 1e6 x 16 float64 samples, k=100.

    The samples alone are 128 MB; an n x k distance matrix would add 800 MB. The
    process's peak includes the interpreter, NumPy, SciPy, scikit-learn and Numba
    (imported for both implementations), so compare the two, not the absolute.
    """

    param_names = ["impl"]
    params = [IMPLS]
    n, d, k = PEAK_MEMORY["n"], PEAK_MEMORY["d"], PEAK_MEMORY["k"]
    timeout = 600

    def setup(self, impl):
        require(impl)
        self.X = gaussian(self.n, self.d, "float64")
        self._limit_threads()
        warm_up(impl, "float64")
        self.estimator = make_kmeans(
            impl,
            n_clusters=self.k,
            init=self.X[: self.k].copy(),
            n_init=1,
            max_iter=n_iterations(2),
            tol=0,
        )

    def peakmem_fit(self, impl):
        self.estimator.fit(self.X)
