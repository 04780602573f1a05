"""Numba kernels of Lloyd's sweep over CSR samples: assignment, then the sums.

Sparse samples are not centred (as in sklearn); centres are dense. The weighted
sums of the M-step are taken after the assignment, in a second pass over the
stored values: per-block partial sums of wide sparse data would take too much
memory. Each sum ``sums[j, f]`` adds its terms in sample order, however the work
is split (by feature range here, by cluster in ``accumulate_by_cluster``), so
the sums are bitwise the same whatever the split and the thread count.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import nearest_center


@njit(cache=True, parallel=True)
def nearest_centers_sparse(X, centers_t, centers_sq, bounds, labels):
    """Index of the nearest centre of each CSR sample.

    The distance is ``||c||^2 - 2 x.c``, as in sklearn; the dot products run over
    each sample's stored values in order, reading the transposed centres so that
    each stored value meets all centres in one contiguous, vectorized row. Ties go
    to the lowest centre index.

    Parameters
    ----------
    X : tuple (data, indices, indptr)
        IN. CSR samples: ``data`` float32 or float64 of shape (nnz,), ``indices``
        int32 of shape (nnz,), ``indptr`` int32 of shape (n_samples + 1,);
        canonical (sorted, no duplicate indices).
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as data
        IN. The centres, transposed.
    centers_sq : ndarray, shape (n_clusters,), same dtype as data
        IN. Squared norms of the centres.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    labels : ndarray of int32, shape (n_samples,)
        OUT. Index of each sample's nearest centre.
    """
    data = X[0]
    n_clusters = centers_t.shape[1]
    n_blocks = bounds.shape[0] - 1
    for b in prange(n_blocks):
        dots = np.empty(n_clusters, dtype=data.dtype)
        values = np.empty(n_clusters, dtype=data.dtype)
        for i in range(bounds[b], bounds[b + 1]):
            labels[i] = nearest_center_csr(X, i, centers_t, centers_sq, dots, values)


@njit(cache=True, nogil=True)
def nearest_center_csr(X, i, centers_t, centers_sq, dots, values):
    """Index of the nearest centre of CSR sample ``i`` (see nearest_centers_sparse).

    ``dots`` and ``values`` are scratch of shape (n_clusters,), X's dtype.
    """
    data, indices, indptr = X
    n_clusters = centers_t.shape[1]
    for j in range(n_clusters):
        dots[j] = 0
    for p in range(indptr[i], indptr[i + 1]):
        x = data[p]
        row = centers_t[indices[p]]
        for j in range(n_clusters):
            dots[j] += row[j] * x
    return nearest_center(dots, centers_sq, values)


@njit(cache=True, nogil=True)
def _first_at_least(indices, lo, hi, feature):
    """First position in ``lo:hi`` of sorted ``indices`` holding ``>= feature``."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < feature:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, parallel=True)
def accumulate_by_feature_range(X, sample_weight, labels, ranges, sums, weights):
    """Weighted sum and weight of each cluster, one feature range per parallel task.

    Each task streams over all samples in order and adds the stored values in
    its features ``ranges[t]:ranges[t + 1]`` into ``sums``; the rows are read in
    sample order (prefetched), and a task's slice of ``sums`` stays in cache
    while it is small. Every ``sums[j, f]`` gets its terms in sample order with
    the expression of ``accumulate_by_cluster``, so both give the same bits.

    Parameters
    ----------
    X : tuple (data, indices, indptr)
        IN. Canonical CSR samples (sorted indices), float32 or float64.
    sample_weight : ndarray, shape (n_samples,), same dtype as data
        IN. Weight of each sample.
    labels : ndarray of int32, shape (n_samples,)
        IN. Cluster of each sample.
    ranges : ndarray of int64, shape (n_ranges + 1,)
        IN. Increasing feature boundaries, from 0 to ``n_features``.
    sums : ndarray, shape (n_clusters, n_features), same dtype as data
        OUT. Weighted sum of the samples of each cluster.
    weights : ndarray, shape (n_clusters,), same dtype as data
        OUT. Total weight of each cluster.
    """
    data, indices, indptr = X
    n_samples = indptr.shape[0] - 1
    for t in prange(ranges.shape[0] - 1):
        f0 = ranges[t]
        f1 = ranges[t + 1]
        for j in range(sums.shape[0]):
            for f in range(f0, f1):
                sums[j, f] = 0
        for i in range(n_samples):
            label = labels[i]
            w = sample_weight[i]
            end = indptr[i + 1]
            p = _first_at_least(indices, indptr[i], end, f0)
            while p < end and indices[p] < f1:
                sums[label, indices[p]] += data[p] * w
                p += 1
    for j in range(weights.shape[0]):
        weights[j] = 0
    for i in range(n_samples):
        weights[labels[i]] += sample_weight[i]
