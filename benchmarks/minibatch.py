"""Seconds of mini-batch k-means: one ``partial_fit`` step, and a whole fit.

``MiniBatchStep`` times ``partial_fit`` on one batch of ``MINIBATCH_STEP`` (1024
standard normal samples, k=100, d in {16, 64}): ``setup`` makes a fresh
estimator and calls ``partial_fit`` once (k-means++ on the batch, the JIT compiled
or loaded), so every timed call is one step (the centre update and the batch's
labels and inertia, what ``partial_fit`` computes). Each sample times
``number`` steps in a row, since one step takes about a millisecond.

``MiniBatchFit`` times a whole ``fit`` of ``MINIBATCH_FIT`` (1e5 x 16 standard
normal samples, k in {10, 100}, batch_size=1024, 3 epochs) with both early stops
off (``tol=0``, ``max_no_improvement=None``, ``benchmarks/workloads.py``:
``minibatch_fit``), so both implementations run the same 292 steps from the same
``random_state`` (k-means++ on the default ``init_size`` samples, then the steps,
then the labels of every sample); ``setup`` checks ``n_steps_`` once per process.
Its ``track_`` methods record ``n_steps_``, the inertia and whether the labels
equal scikit-learn's, which nbkm promises for the same ``random_state``.

The classes are skipped at commits whose nbkm has no ``MiniBatchKMeans``.
"""

import functools

import numpy as np

from benchmarks.common import (
    IMPLS,
    Benchmark,
    gaussian,
    make_kmeans,
    n_iterations,
    require,
    smoke,
    warm_up_minibatch,
)
from benchmarks.workloads import (
    MINIBATCH_FIT,
    MINIBATCH_STEP,
    minibatch_fit,
    minibatch_n_steps,
)

DTYPES = ["float32", "float64"]
ESTIMATOR = "MiniBatchKMeans"

# Parameter combinations whose step count was checked in this process.
_CHECKED = set()


class MiniBatchStep(Benchmark):
    """One ``partial_fit`` step on a batch of 1024 samples, k=100."""

    param_names = ["impl", "d", "dtype"]
    params = [IMPLS, MINIBATCH_STEP["d"], DTYPES]
    number = 20  # steps per sample: one is too short to time alone
    repeat = (5, 20, 2.0)
    batch_size, k = MINIBATCH_STEP["batch_size"], MINIBATCH_STEP["k"]

    def setup(self, impl, d, dtype):
        require(impl, ESTIMATOR)
        self.batch = gaussian(self.batch_size, d, dtype)
        self._limit_threads()
        warm_up_minibatch(impl, dtype)
        self.estimator = make_kmeans(impl, ESTIMATOR, n_clusters=self.k, random_state=0)
        self.estimator.partial_fit(self.batch)  # the init: not a step to time

    def time_partial_fit(self, impl, d, dtype):
        self.estimator.partial_fit(self.batch)


@functools.lru_cache(maxsize=8)
def _reference_labels(k, dtype, smoke):
    """Labels of scikit-learn's fit of a cell (smoke mode: of its smaller data)."""
    X = _data(dtype)
    est = make_kmeans("sklearn", ESTIMATOR, **_params(k))
    return est.fit(X).labels_


def _data(dtype):
    return gaussian(MINIBATCH_FIT["n"], MINIBATCH_FIT["d"], dtype)


def _params(k):
    max_iter = n_iterations(MINIBATCH_FIT["max_iter"])
    return minibatch_fit(k, MINIBATCH_FIT["batch_size"], max_iter)


class MiniBatchFit(Benchmark):
    """A whole fit of a fixed number of steps: 1e5 x 16 samples, 3 epochs."""

    param_names = ["impl", "k", "dtype"]
    params = [IMPLS, MINIBATCH_FIT["k"], DTYPES]

    def setup(self, impl, k, dtype):
        require(impl, ESTIMATOR)
        self.X = _data(dtype)
        self._limit_threads()
        warm_up_minibatch(impl, dtype)
        params = _params(k)
        self.estimator = make_kmeans(impl, ESTIMATOR, **params)
        key = (impl, k, dtype)
        if not smoke() and key not in _CHECKED:
            # One untimed fit: first touch of the buffers, and the proof that the
            # timed fits run every step (no early stop).
            expected = minibatch_n_steps(
                len(self.X), params["batch_size"], params["max_iter"]
            )
            n_steps = self.estimator.fit(self.X).n_steps_
            if n_steps != expected:
                raise RuntimeError(
                    f"{key}: the fit stopped after {n_steps} < {expected} steps; "
                    "the workload is not fixed"
                )
            _CHECKED.add(key)

    def time_fit(self, impl, k, dtype):
        self.estimator.fit(self.X)

    def track_n_steps(self, impl, k, dtype):
        return int(self.estimator.fit(self.X).n_steps_)

    track_n_steps.unit = "steps"

    def track_inertia(self, impl, k, dtype):
        return float(self.estimator.fit(self.X).inertia_)

    track_inertia.unit = "inertia"

    def track_labels_equal(self, impl, k, dtype):
        """1 when the labels are scikit-learn's for the same random_state, else 0."""
        labels = self.estimator.fit(self.X).labels_
        return int(np.array_equal(labels, _reference_labels(k, dtype, smoke())))

    track_labels_equal.unit = "same labels as sklearn"
