"""How samples are split into blocks for parallel, deterministic reductions.

Every parallel kernel walks the samples in contiguous blocks of ``rows_per_block``
samples (the last one shorter). The block size is a power-of-two multiple of
``MIN_BLOCK_ROWS`` chosen from the total number of samples only, never from the
thread count, and blocks start at multiples of it. A kernel that sums over samples
gives each block its own partial buffer and the partials are then added serially
in block order (``fold_blocks``, ``reduce_partials``).

So a result depends on the samples alone: it is bitwise the same whatever the
number of threads, and a caller that holds the samples in pieces (``nbkm.dask``)
gets the same bits by cutting its pieces at block boundaries, running the same
kernel on each piece and folding all the pieces' partials in the same order.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._pool import over_blocks

#: Fewest samples a block holds (sklearn's chunk size, for similar granularity).
MIN_BLOCK_ROWS = 256

#: Most blocks, whatever the data size. Bounds the partial-sum memory at
#: ``MAX_BLOCKS * n_clusters * n_features`` and leaves work for up to this many
#: threads (at least ``MAX_BLOCKS / 2`` blocks once there are that many chunks).
#: A caller holding the rows in pieces (``nbkm.dask``) runs each piece's blocks
#: in parallel: with too few blocks a small piece holds one block and runs on
#: one thread; 128 leaves several blocks a piece (measured in
#: docs/performance.md).
MAX_BLOCKS = 128

#: Most values the per-block partial sums may hold (``n_blocks * n_clusters *
#: n_features``): 64 MiB in float64, enough for 128 blocks at k = 1000 and
#: d = 64. Past it, runs sum each cluster in one parallel task instead (see
#: ``nbkm._em.Sweep``), so memory stays O(n + k * d) for wide data such as
#: TF-IDF matrices.
PARTIAL_SUMS_BUDGET = 1 << 23


def rows_per_block(n_samples: int) -> int:
    """Block size for ``n_samples`` samples in all.

    Parameters
    ----------
    n_samples : int
        Number of samples of the whole data set.

    Returns
    -------
    rows : int
        ``MIN_BLOCK_ROWS * 2**m``, the smallest such that at most ``MAX_BLOCKS``
        blocks cover the samples.
    """
    rows = MIN_BLOCK_ROWS
    while rows * MAX_BLOCKS < n_samples:
        rows *= 2
    return rows


def block_bounds(n_samples: int, rows: int | None = None) -> np.ndarray:
    """Return the sample index at which each block starts, plus ``n_samples``.

    Parameters
    ----------
    n_samples : int
        Number of samples to split.
    rows : int, optional
        Block size; by default ``rows_per_block(n_samples)``. A piece of a larger
        data set that starts at a block boundary passes the whole set's block size,
        so that its blocks are the whole set's.

    Returns
    -------
    bounds : ndarray of int64, shape (n_blocks + 1,)
        Block ``b`` covers samples ``bounds[b]:bounds[b + 1]``. ``n_blocks`` is
        at least 1.
    """
    if rows is None:
        rows = rows_per_block(n_samples)
    n_blocks = max(1, -(-n_samples // rows))
    bounds = np.arange(n_blocks + 1, dtype=np.int64) * rows
    bounds[-1] = n_samples
    return bounds


def fits_partial_sums(n_blocks: int, n_clusters: int, n_features: int) -> bool:
    """Whether per-block partial sums of this size stay within the memory budget."""
    return n_blocks * n_clusters * n_features <= PARTIAL_SUMS_BUDGET


def fold_blocks(partials: np.ndarray) -> np.ndarray:
    """Add per-block partials serially in block order (the order kernels rely on).

    Parameters
    ----------
    partials : ndarray of float64, shape (n_blocks, ...)
        One partial result per block, in block order.

    Returns
    -------
    total : ndarray of float64, shape ``partials.shape[1:]``
    """
    # An explicit loop: NumPy's reductions may sum pairwise or in vector lanes.
    total = partials[0].copy()
    for b in range(1, partials.shape[0]):
        total += partials[b]
    return total


@njit(cache=True, nogil=True)
def column_sums_of_blocks(X, x_mean, squares, bounds, partial, first_block, end_block):
    """Per block and feature, the sum of ``x`` or of ``(x - mean)**2``, in float64.

    The blocks ``first_block .. end_block - 1``; one kernel for the mean and the
    variance: each costs its own compilation (docs/performance.md, compile
    time). Run on nbkm's pool by :func:`block_column_sums`.
    """
    n_features = X.shape[1]
    for b in range(first_block, end_block):
        for f in range(n_features):
            partial[b, f] = 0.0
        if squares:
            for i in range(bounds[b], bounds[b + 1]):
                for f in range(n_features):
                    dev = np.float64(X[i, f]) - np.float64(x_mean[f])
                    partial[b, f] += dev * dev
        else:
            for i in range(bounds[b], bounds[b + 1]):
                for f in range(n_features):
                    partial[b, f] += X[i, f]


def block_column_sums(X, x_mean, squares, bounds, partial):
    """:func:`column_sums_of_blocks` over every block, on nbkm's threads."""
    n_blocks = bounds.shape[0] - 1
    args = (X, x_mean, squares, bounds, partial)
    over_blocks(column_sums_of_blocks, n_blocks, *args, rows=bounds[-1] - bounds[0])


def column_sums_by_block(X, bounds, partial):
    """Sum of the samples of each block, in float64.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. Dense samples.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial : ndarray of float64, shape (n_blocks, n_features)
        OUT. ``sum_{i in block b} X[i]``, in sample order.
    """
    block_column_sums(X, np.zeros(X.shape[1], X.dtype), False, bounds, partial)


@njit(cache=True, parallel=True)
def weighted_sums_by_block(weights, values, bounds, partial):
    """``sum_i weights[i] * values[i]`` over each block, in float64.

    Parameters
    ----------
    weights, values : ndarray of float32 or float64, shape (n_samples,)
        IN. Sample weights and per-sample values (e.g. squared distances).
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial : ndarray of float64, shape (n_blocks,)
        OUT. The sum over each block, in sample order.
    """
    for b in prange(bounds.shape[0] - 1):
        total = 0.0
        for i in range(bounds[b], bounds[b + 1]):
            total += np.float64(weights[i]) * np.float64(values[i])
        partial[b] = total


def column_means(X: np.ndarray) -> np.ndarray:
    """Mean of the samples, summed by block in float64 and cast to ``X.dtype``.

    The centring vector of dense runs; a piece-wise caller gets the same bits by
    folding its pieces' ``column_sums_by_block`` and dividing by ``n_samples``.
    """
    bounds = block_bounds(X.shape[0])
    partial = np.empty((bounds.shape[0] - 1, X.shape[1]))
    column_sums_by_block(X, bounds, partial)
    return (fold_blocks(partial) / X.shape[0]).astype(X.dtype)


def weighted_total(weights: np.ndarray, values: np.ndarray) -> float:
    """``sum_i weights[i] * values[i]`` in float64, summed by block in block order."""
    bounds = block_bounds(values.shape[0])
    partial = np.empty(bounds.shape[0] - 1)
    weighted_sums_by_block(weights, values, bounds, partial)
    return float(fold_blocks(partial))


def squared_deviation_sums_by_block(X, x_mean, bounds, partial):
    """Sum of ``(x - mean)**2`` per feature over each block, in float64.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. Dense samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. The mean to deviate from.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial : ndarray of float64, shape (n_blocks, n_features)
        OUT. Per block, the sum of squared deviations of each feature.
    """
    block_column_sums(X, x_mean, True, bounds, partial)


def column_variances(X: np.ndarray, x_mean: np.ndarray | None = None) -> np.ndarray:
    """Variance of each feature (about ``column_means(X)``), in float64, by block.

    Like ``column_means``, a piece-wise caller gets the same bits by folding its
    pieces' ``squared_deviation_sums_by_block`` and dividing by ``n_samples``.
    A caller that holds ``column_means(X)`` already passes it as ``x_mean``
    and saves a pass over X.
    """
    if x_mean is None:
        x_mean = column_means(X)
    bounds = block_bounds(X.shape[0])
    partial = np.empty((bounds.shape[0] - 1, X.shape[1]))
    squared_deviation_sums_by_block(X, x_mean, bounds, partial)
    return fold_blocks(partial) / X.shape[0]
