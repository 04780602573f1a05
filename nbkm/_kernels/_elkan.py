"""Numba kernels of Elkan's exact accelerated k-means, over dense or CSR samples.

Elkan keeps, for every sample, an upper bound on the distance to its centre and a
lower bound on the distance to every other centre; the triangle inequality then
skips most distance computations. It gives Lloyd's assignment (up to rounding on
exact ties) at the cost of an ``n_samples x n_clusters`` array of lower bounds,
the same memory sklearn's elkan uses. ``X`` is a dense array or a CSR triple, as
described in ``_rows.py``.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import add_weighted_row, n_rows, sq_distance


@njit(cache=True, nogil=True)
def _distance(X, x_mean, i, centers, centers_sq, j):
    """Euclidean distance between sample ``i`` and centre ``j``."""
    return np.sqrt(sq_distance(X, x_mean, i, centers, centers_sq, j))


@njit(cache=True, parallel=True)
def elkan_init_bounds(X, x_mean, centers, centers_sq, half_dist, labels, upper, lower):
    """First assignment and bounds, skipping centres the triangle inequality rules out.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The initial centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres (used for CSR samples).
    half_dist : ndarray, shape (n_clusters, n_clusters), same dtype as X
        IN. Half the pairwise distances between centres.
    labels : ndarray of int32, shape (n_samples,)
        OUT. Nearest centre of each sample.
    upper : ndarray, shape (n_samples,), same dtype as X
        OUT. Distance to the assigned centre.
    lower : ndarray, shape (n_samples, n_clusters), same dtype as X
        OUT. Lower bound of the distance to each centre.
    """
    n_clusters = centers.shape[0]
    for i in prange(n_rows(X)):
        for j in range(n_clusters):
            lower[i, j] = 0
        best = 0
        # Typed indices: a literal or an unsigned prange index would each
        # compile a specialisation of _distance of its own.
        row = np.int64(i)
        best_dist = _distance(X, x_mean, row, centers, centers_sq, np.int64(best))
        lower[i, 0] = best_dist
        for j in range(1, n_clusters):
            if best_dist > half_dist[best, j]:
                dist = _distance(X, x_mean, row, centers, centers_sq, j)
                lower[i, j] = dist
                if dist < best_dist:
                    best_dist = dist
                    best = j
        labels[i] = best
        upper[i] = best_dist


@njit(cache=True, parallel=True)
def elkan_step(
    X,
    x_mean,
    sample_weight,
    centers,
    centers_sq,
    half_dist,
    next_center,
    upper,
    lower,
    labels,
    bounds,
    partial_sums,
    partial_weights,
    update_centers,
):
    """One Elkan E-step fused with the accumulation of the M-step.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The current centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres (used for CSR samples).
    half_dist : ndarray, shape (n_clusters, n_clusters), same dtype as X
        IN. Half the pairwise distances between the current centres.
    next_center : ndarray, shape (n_clusters,), same dtype as X
        IN. Half the distance from each centre to its nearest other centre.
    upper : ndarray, shape (n_samples,), same dtype as X
        INOUT. Upper bound of the distance to the assigned centre.
    lower : ndarray, shape (n_samples, n_clusters), same dtype as X
        INOUT. Lower bounds of the distances to the centres.
    labels : ndarray of int32, shape (n_samples,)
        INOUT. Assigned centre of each sample.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features), same dtype
        OUT. Per block, the weighted sum of the (centred) samples of each cluster.
    partial_weights : ndarray, shape (n_blocks, n_clusters), same dtype as X
        OUT. Per block, the total weight of each cluster.
    update_centers : bool
        Whether to accumulate the sums (E+M step) or only assign labels (E step).
    """
    n_clusters = centers.shape[0]
    n_blocks = bounds.shape[0] - 1
    for b in prange(n_blocks):
        if update_centers:
            for j in range(n_clusters):
                partial_weights[b, j] = 0
                for f in range(partial_sums.shape[2]):
                    partial_sums[b, j, f] = 0
        for i in range(bounds[b], bounds[b + 1]):
            ub = upper[i]
            label = np.int64(labels[i])
            if not next_center[label] >= ub:
                tight = False
                for j in range(n_clusters):
                    if j != label and ub > lower[i, j] and ub > half_dist[label, j]:
                        if not tight:
                            ub = _distance(X, x_mean, i, centers, centers_sq, label)
                            lower[i, label] = ub
                            tight = True
                        if ub > lower[i, j] or ub > half_dist[label, j]:
                            dist = _distance(X, x_mean, i, centers, centers_sq, j)
                            lower[i, j] = dist
                            if dist < ub:
                                label = j
                                ub = dist
                labels[i] = label
                upper[i] = ub
            if update_centers:
                w = sample_weight[i]
                partial_weights[b, label] += w
                add_weighted_row(X, x_mean, i, w, partial_sums[b], label)


@njit(cache=True, parallel=True)
def elkan_shift_bounds(shift, labels, upper, lower):
    """Loosen the bounds by how far the centres moved.

    Parameters
    ----------
    shift : ndarray, shape (n_clusters,)
        IN. Distance each centre moved.
    labels : ndarray of int32, shape (n_samples,)
        IN. Assigned centre of each sample.
    upper : ndarray, shape (n_samples,)
        INOUT. Upper bounds, increased by the shift of the assigned centre.
    lower : ndarray, shape (n_samples, n_clusters)
        INOUT. Lower bounds, decreased by each centre's shift (floored at 0).
    """
    n_samples, n_clusters = lower.shape
    for i in prange(n_samples):
        upper[i] += shift[labels[i]]
        for j in range(n_clusters):
            v = lower[i, j] - shift[j]
            lower[i, j] = v if v > 0 else 0
