"""Whole fits to convergence on the data kinds: every nbkm algorithm and the peers.

A fit as users run it (``benchmarks/workloads.py``: ``whole_fit``): explicit
initial centres (the first k samples), ``n_init=1``, the default ``tol`` and
``max_iter=300``, at the modest shape ``WHOLE_FIT_ASV`` (20,000 x 16, k=100) of
each data kind of ``KINDS``. ``impl`` is nbkm, scikit-learn or a peer;
``algorithm`` is one of nbkm's (``ALGORITHMS``, a fixed list: those missing at a
commit, and the ones another implementation lacks, are skipped in ``setup``).
faiss has no tolerance: it runs as many iterations as scikit-learn's Lloyd needs
on the same cell, so its time stays comparable per iteration.

``WholeFitTrack`` records the iterations of each fit; ``Pruning``, for nbkm, the
fraction of the n x k distances its bounds let it compute (``distances_computed_``:
one value per iteration, 1.0 for Lloyd), averaged over the fit and in the last
iteration.
"""

import functools

import numpy as np

from benchmarks import peers
from benchmarks.common import (
    ALL_IMPLS,
    N_THREADS,
    Benchmark,
    make_kmeans,
    require_algorithm,
    warm_up,
)
from benchmarks.data import KINDS, SPARSE_KINDS, kind_data
from benchmarks.workloads import ALGORITHMS, DOCUMENTS_ASV, WHOLE_FIT_ASV, whole_fit

DTYPES = ["float32", "float64"]


@functools.lru_cache(maxsize=16)
def _reference_n_iter(kind, dtype):
    """Iterations of scikit-learn's Lloyd on a cell: faiss runs as many."""
    X = _data(kind, dtype, WHOLE_FIT_ASV)
    return int(
        make_kmeans("sklearn", **whole_fit(X, WHOLE_FIT_ASV["k"])).fit(X).n_iter_
    )


def _data(kind, dtype, shape):
    return kind_data(kind, shape["n"], shape["d"], shape["k"], dtype)


def _require_sparse(impl, algorithm):
    """Skip (asv) an nbkm algorithm that takes no CSR input at this commit."""
    if impl == "nbkm":
        est = make_kmeans("nbkm", algorithm=algorithm)
        if not est.__sklearn_tags__().input_tags.sparse:
            raise NotImplementedError(f"{algorithm!r} takes dense input here")
    elif impl != "sklearn":
        raise NotImplementedError(f"{impl} clusters dense data only")


class _WholeFit(Benchmark):
    """Set up one whole fit: data, threads, warm-up and the fit to time."""

    repeat = (3, 5, 2.0)  # many combinations: keep the suite's run short
    #: The shape of the data (kinds of ``KINDS``, or ``documents``).
    shape = WHOLE_FIT_ASV

    def setup(self, impl, algorithm, kind, dtype):
        require_algorithm(impl, algorithm)
        if impl == "faiss" and dtype != "float32":
            raise NotImplementedError("faiss clusters float32 only")
        if kind in SPARSE_KINDS:
            _require_sparse(impl, algorithm)
        self.X = _data(kind, dtype, self.shape)
        self._limit_threads()
        warm_up(impl, dtype, algorithm)
        params = whole_fit(self.X, self.shape["k"])
        if impl == "faiss":
            niter = _reference_n_iter(kind, dtype)
            self.fit = functools.partial(
                peers.fit_faiss, self.X, params["init"], niter, N_THREADS
            )
            return
        if impl != "sklearnex":
            params["algorithm"] = algorithm
        self.estimator = make_kmeans(impl, **params)
        self.fit = functools.partial(self.estimator.fit, self.X)


class WholeFit(_WholeFit):
    """Seconds of a whole fit to convergence, per implementation, algorithm, kind."""

    param_names = ["impl", "algorithm", "kind", "dtype"]
    params = [ALL_IMPLS, list(ALGORITHMS), list(KINDS), DTYPES]

    def time_fit(self, impl, algorithm, kind, dtype):
        self.fit()


class DocumentsWholeFit(_WholeFit):
    """Seconds of a whole fit on CSR topic documents (``DOCUMENTS_ASV``, float64).

    nbkm's algorithms (those that take CSR input at the commit) against
    scikit-learn's; the sparse peers of ``python -m experiments compare``.
    """

    param_names = ["impl", "algorithm", "kind", "dtype"]
    params = [["nbkm", "sklearn"], list(ALGORITHMS), ["documents"], ["float64"]]
    shape = DOCUMENTS_ASV

    def time_fit(self, impl, algorithm, kind, dtype):
        self.fit()


class WholeFitTrack(_WholeFit):
    """Iterations and, for nbkm, the fraction of distances computed, per fit."""

    param_names = ["impl", "algorithm", "kind", "dtype"]
    params = [ALL_IMPLS, list(ALGORITHMS), list(KINDS), DTYPES]

    def setup(self, impl, algorithm, kind, dtype):
        super().setup(impl, algorithm, kind, dtype)
        self.fitted = self.fit()

    def track_n_iter(self, impl, algorithm, kind, dtype):
        if impl == "faiss":
            return int(self.fitted[1])
        return int(self.fitted.n_iter_)

    track_n_iter.unit = "iterations"


class Pruning(_WholeFit):
    """nbkm only: the fraction of the n x k distances its bounds let it compute.

    Skipped where the fit records no ``distances_computed_`` (an nbkm before the
    bounded algorithms). The other implementations do not report it.
    """

    param_names = ["impl", "algorithm", "kind", "dtype"]
    params = [["nbkm"], list(ALGORITHMS), list(KINDS), DTYPES]

    def setup(self, impl, algorithm, kind, dtype):
        super().setup(impl, algorithm, kind, dtype)
        fitted = self.fit()
        fractions = getattr(fitted, "distances_computed_", None)
        fractions = np.asarray([] if fractions is None else fractions, dtype=float)
        self.fractions = fractions[np.isfinite(fractions)]
        if not len(self.fractions):
            raise NotImplementedError("this fit records no distances_computed_")

    def track_distances_computed(self, impl, algorithm, kind, dtype):
        """Mean over the fit's iterations."""
        return float(np.mean(self.fractions))

    track_distances_computed.unit = "fraction of n x k"

    def track_distances_computed_last(self, impl, algorithm, kind, dtype):
        """Fraction in the last iteration counted, where the bounds prune most."""
        return float(self.fractions[-1])

    track_distances_computed_last.unit = "fraction of n x k"
