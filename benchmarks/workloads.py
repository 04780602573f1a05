"""The timing workloads of nbkm, defined once for asv and for ``experiments compare``.

A *fixed workload* makes two k-means implementations do the same work: explicit
initial centres (the first ``k`` samples), ``n_init=1``, ``tol=0`` and a fixed
``max_iter``, on standard normal data, on which Lloyd's iterations keep moving
labels for more than 40 iterations (so no fit can stop early and look fast).

Datasets come from fixed seeds and must never change, only be appended to: a
changed dataset makes the committed timing history meaningless. This module
imports neither nbkm nor asv.

``NBKM_BENCH_SMOKE=1`` shrinks every dataset (to at most
:data:`SMOKE_MAX_SAMPLES` samples) and the iteration counts, keeping the
parameters: only for checking that every benchmark runs, never for timings.
"""

import functools
import os

import numpy as np

#: Threads given to both implementations (nbkm's ``n_threads``, threadpoolctl for
#: scikit-learn's OpenMP and BLAS). Fixed so that the history stays comparable.
N_THREADS = 2
#: Iterations of every timed fit of the asv suite (seconds per iteration = time /
#: MAX_ITER).
MAX_ITER = 20
#: Largest sample count of any dataset in smoke mode.
SMOKE_MAX_SAMPLES = 500

#: The shape grid of the asv suite's Lloyd and Elkan iterations.
GRID = {
    "n": [10_000, 100_000],
    "d": [16, 64],
    "k": [10, 100],
    "dtype": ["float32", "float64"],
}
#: The full grid of ``python -m experiments compare`` (k <= n only).
FULL_GRID = {
    "n": [10_000, 100_000, 1_000_000],
    "d": [16, 64],
    "k": [10, 100, 1000],
    "dtype": ["float64", "float32"],
}
#: The large single shape, where scikit-learn is furthest from the GEMM ceiling.
LARGE = {"n": 1_000_000, "d": 64, "k": 10}
#: The TF-IDF-like sparse case.
SPARSE = {"n": 100_000, "d": 20_000, "density": 0.005, "k": 20}
#: The peak-memory fit of the asv suite.
PEAK_MEMORY = {"n": 1_000_000, "d": 16, "k": 100}
#: ``predict`` and k-means++ shapes of the asv suite.
PREDICT = {"n": 100_000, "d": 64, "k": [10, 100]}
KMEANS_PLUSPLUS = {"n": 100_000, "d": 16, "k": [10, 100]}


def smoke():
    """Whether smoke mode is on (``NBKM_BENCH_SMOKE`` set and not ``0``)."""
    return os.environ.get("NBKM_BENCH_SMOKE", "") not in ("", "0")


def n_samples(n):
    """Return the sample count of a dataset: ``n``, or a small one in smoke mode."""
    return min(int(n), SMOKE_MAX_SAMPLES) if smoke() else int(n)


def n_iterations(max_iter):
    """Return a fixed iteration count: ``max_iter``, or 2 in smoke mode."""
    return min(int(max_iter), 2) if smoke() else int(max_iter)


def shapes(grid):
    """List the ``(n, d, k, dtype)`` shapes of a grid, dtype first, ``k <= n``."""
    return [
        (n, d, k, dtype)
        for dtype in grid["dtype"]
        for n in grid["n"]
        for d in grid["d"]
        for k in grid["k"]
        if k <= n
    ]


def draw_gaussian(n, d, dtype, seed=0):
    """Return standard normal samples of shape ``(n, d)``, drawn in float64, cast.

    Not cached and not shrunk: for one-off uses that must not keep the array.
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(n), int(d))).astype(dtype, copy=False)


def gaussian(n, d, dtype, seed=0):
    """Return the cached Gaussian dataset of the suite (``n`` shrunk in smoke mode).

    Parameters
    ----------
    n, d : int
        Samples and features.
    dtype : str
        ``"float32"`` or ``"float64"``.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : ndarray of shape (n, d), C-contiguous, read-write
    """
    return _gaussian(n_samples(n), int(d), dtype, seed)


_gaussian = functools.lru_cache(maxsize=4)(draw_gaussian)


def sparse_tfidf_like(n, d, density, seed=0):
    """Return a TF-IDF-like CSR matrix: uniform values at random positions.

    Parameters
    ----------
    n, d : int
        Samples and features (``n`` is shrunk in smoke mode).
    density : float
        Fraction of stored values.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n, d), float64
    """
    return _sparse(n_samples(n), int(d), float(density), seed)


@functools.lru_cache(maxsize=2)
def _sparse(n, d, density, seed):
    import scipy.sparse as sp

    return sp.random(
        n, d, density=density, format="csr", random_state=np.random.default_rng(seed)
    )


def digits(dtype="float64"):
    """Return scikit-learn's digits (1797 x 64, fewer in smoke mode) and labels."""
    return _digits(n_samples(1797), dtype)


@functools.lru_cache(maxsize=2)
def _digits(n, dtype):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X[:n], dtype=dtype), y[:n]


def initial_centers(X, k):
    """Return the fixed workload's initial centres: the first ``k`` samples, dense."""
    first = X[:k]
    return first.toarray() if hasattr(first, "toarray") else first.copy()


def fixed_workload(X, k, max_iter, algorithm="lloyd"):
    """Return the KMeans parameters of a fixed workload on ``X``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The data.
    k : int
        Clusters.
    max_iter : int
        Iterations every fit runs (``tol=0``).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Algorithm.

    Returns
    -------
    params : dict
        Keyword arguments shared by ``nbkm.KMeans`` and ``sklearn.cluster.KMeans``.
    """
    return {
        "n_clusters": int(k),
        "init": initial_centers(X, k),
        "n_init": 1,
        "max_iter": int(max_iter),
        "tol": 0.0,
        "algorithm": algorithm,
    }
