"""Numba kernels on the centres: reduction of partial sums, averaging, shifts.

Most work on ``n_clusters x n_features`` arrays, small next to the data, serially;
the parallel ones (``accumulate_by_cluster``, ``half_center_distances``) give each
output row to one task, so no result depends on the thread count.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import add_weighted_row


@njit(cache=True, nogil=True)
def reduce_partials(partial_sums, partial_weights, sums, weights):
    """Add the per-block partial sums in block order.

    Parameters
    ----------
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features)
        IN. Per-block weighted sums of samples.
    partial_weights : ndarray, shape (n_blocks, n_clusters)
        IN. Per-block cluster weights.
    sums : ndarray, shape (n_clusters, n_features)
        OUT. Total weighted sum of the samples of each cluster.
    weights : ndarray, shape (n_clusters,)
        OUT. Total weight of each cluster.
    """
    # Explicit loops: array expressions cost seconds of compile time here.
    n_blocks, n_clusters, n_features = partial_sums.shape
    for j in range(n_clusters):
        weights[j] = partial_weights[0, j]
        for f in range(n_features):
            sums[j, f] = partial_sums[0, j, f]
    for b in range(1, n_blocks):
        for j in range(n_clusters):
            weights[j] += partial_weights[b, j]
            for f in range(n_features):
                sums[j, f] += partial_sums[b, j, f]


@njit(cache=True, nogil=True)
def least_gap_squares(gram, norms, start, margin, floor, out):
    """Per centre, a lower bound on the squared distance to its nearest other one.

    ``||c_a||^2 + ||c_j||^2 - 2 c_a.c_j``, lowered by ``margin`` times the two
    squared norms and by ``floor`` (bounds on its rounding error), minimised over
    ``j != a`` in one pass over the Gram rows (NumPy's temporaries cost several
    times the product; docs/performance.md).

    Parameters
    ----------
    gram : ndarray of float64, shape (n_rows, n_clusters)
        IN. ``c_a . c_j`` for the centres ``a = start .. start + n_rows - 1``.
    norms : ndarray of float64, shape (n_clusters,)
        IN. Squared norms of the centres.
    start : int
        Index of the centre of ``gram``'s first row.
    margin, floor : float
        IN. Relative and absolute error bounds.
    out : ndarray of float64, shape (n_rows,)
        OUT. The least lowered squared distance (``inf`` for a single centre).
    """
    n = gram.shape[1]
    for q in range(gram.shape[0]):
        a, row = start + q, gram[q]
        # Two loops around the centre itself, so that no element is tested.
        least = _least_lowered(row, norms, a, 0, a, margin, floor, np.inf)
        out[q] = _least_lowered(row, norms, a, a + 1, n, margin, floor, least)


@njit(cache=True, nogil=True)
def _least_lowered(gram_row, norms, a, lo, hi, margin, floor, least):
    for j in range(lo, hi):
        pair = norms[a] + norms[j]
        least = min(least, (pair - 2.0 * gram_row[j]) - margin * pair - floor)
    return least


@njit(cache=True, nogil=True)
def group_by_label(labels, order, starts):
    """Sort the samples by label with a stable counting sort (sample order kept).

    Parameters
    ----------
    labels : ndarray of int32, shape (n_samples,)
        IN. Label of each sample, in ``0 .. n_clusters - 1``.
    order : ndarray of int64, shape (n_samples,)
        OUT. Sample indices, grouped by label, increasing within a label.
    starts : ndarray of int64, shape (n_clusters + 1,)
        OUT. The samples of label ``j`` are ``order[starts[j]:starts[j + 1]]``.
    """
    for j in range(starts.shape[0]):
        starts[j] = 0
    for i in range(labels.shape[0]):
        starts[labels[i] + 1] += 1
    for j in range(1, starts.shape[0]):
        starts[j] += starts[j - 1]
    fill = starts[:-1].copy()
    for i in range(labels.shape[0]):
        j = labels[i]
        order[fill[j]] = i
        fill[j] += 1


@njit(cache=True, parallel=True)
def accumulate_by_cluster(X, x_mean, sample_weight, order, starts, sums, weights):
    """Weighted sum and weight of each cluster, one cluster per parallel task.

    The M-step for when per-block partial sums would take too much memory (many
    features, e.g. sparse text data): each cluster is summed by one thread, in
    sample order, so the result does not depend on the thread count, and no buffer
    beyond ``sums`` is needed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64 (see ``_rows.py``).
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from dense samples on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    order, starts : ndarray of int64
        IN. The samples grouped by label (see :func:`group_by_label`).
    sums : ndarray, shape (n_clusters, n_features), same dtype as X
        OUT. Weighted sum of the samples of each cluster.
    weights : ndarray, shape (n_clusters,), same dtype as X
        OUT. Total weight of each cluster.
    """
    for j in prange(sums.shape[0]):
        for f in range(sums.shape[1]):
            sums[j, f] = 0
        total = weights.dtype.type(0)
        for idx in range(starts[j], starts[j + 1]):
            i = order[idx]
            w = sample_weight[i]
            total += w
            add_weighted_row(X, x_mean, i, w, sums, j)
        weights[j] = total


@njit(cache=True, nogil=True)
def move_samples_to_empty_clusters(
    X, x_mean, sample_weight, labels, far_samples, empty_clusters, sums, weights
):
    """Make each empty cluster the centre of one far-away sample (sklearn's rule).

    The sample's weighted contribution moves from its cluster's sum to the empty
    cluster's sum; its label is left as it is, as sklearn does (see
    ``nbkm._lloyd`` for how the final labels are made consistent).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64 (see ``_rows.py``).
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from dense samples on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    labels : ndarray of int32, shape (n_samples,)
        IN. Current assignment.
    far_samples : ndarray of int64, shape (n_empty,)
        IN. Samples to move, farthest first.
    empty_clusters : ndarray of int64, shape (n_empty,)
        IN. Clusters with zero weight, in increasing order.
    sums : ndarray, shape (n_clusters, n_features), same dtype as X
        INOUT. Weighted sums of the samples of each cluster.
    weights : ndarray, shape (n_clusters,), same dtype as X
        INOUT. Total weight of each cluster.
    """
    for idx in range(empty_clusters.shape[0]):
        new_id = empty_clusters[idx]
        i = far_samples[idx]
        w = sample_weight[i]
        old_id = labels[i]
        # The empty cluster's sum is exactly zero, so adding sets it.
        add_weighted_row(X, x_mean, i, -w, sums, old_id)
        add_weighted_row(X, x_mean, i, w, sums, new_id)
        weights[new_id] = w
        weights[old_id] -= w


@njit(cache=True, nogil=True)
def average_centers(sums, weights, centers_new):
    """Divide each cluster's sum by its weight.

    A cluster whose weight is zero after relocation (every sample sits exactly on
    its centre, the samples moved into it weigh zero, or its only sample was
    moved into another empty cluster) takes the centre of the heaviest cluster,
    as sklearn does. Unlike sklearn, it always copies the already averaged centre
    (the mean), whatever the order of the two clusters: sklearn copies the
    heaviest cluster's weighted sum when that cluster comes later in index order,
    which puts the centre at weight x mean, so labels and ``n_iter_`` can then
    differ from sklearn's.

    Parameters
    ----------
    sums : ndarray, shape (n_clusters, n_features)
        IN. Weighted sums of the samples of each cluster.
    weights : ndarray, shape (n_clusters,)
        IN. Total weight of each cluster.
    centers_new : ndarray, shape (n_clusters, n_features)
        OUT. The new centres.
    """
    n_clusters, n_features = sums.shape
    heaviest = 0  # the first of the heaviest, as np.argmax
    for j in range(1, n_clusters):
        if weights[j] > weights[heaviest]:
            heaviest = j
    for j in range(n_clusters):
        if weights[j] > 0:
            alpha = weights.dtype.type(1) / weights[j]
            for f in range(n_features):
                centers_new[j, f] = sums[j, f] * alpha
    for j in range(n_clusters):
        if not weights[j] > 0:
            for f in range(n_features):
                centers_new[j, f] = centers_new[heaviest, f]


@njit(cache=True, nogil=True)
def center_shifts(centers_old, centers_new, shift):
    """Euclidean distance each centre moved.

    Parameters
    ----------
    centers_old, centers_new : ndarray, shape (n_clusters, n_features)
        IN. Centres before and after the step.
    shift : ndarray, shape (n_clusters,)
        OUT. ``||new_j - old_j||``.
    """
    n_clusters, n_features = centers_old.shape
    for j in range(n_clusters):
        sq = centers_old.dtype.type(0)
        for f in range(n_features):
            diff = centers_new[j, f] - centers_old[j, f]
            sq += diff * diff
        shift[j] = np.sqrt(sq)


@njit(cache=True, parallel=True)
def half_center_distances(centers, half_dist, next_center):
    """Half the distance between every pair of centres (Elkan's bounds).

    Parameters
    ----------
    centers : ndarray, shape (n_clusters, n_features)
        IN. The centres.
    half_dist : ndarray, shape (n_clusters, n_clusters)
        OUT. ``||c_a - c_b|| / 2``.
    next_center : ndarray, shape (n_clusters,)
        OUT. Half the distance from each centre to its nearest other centre
        (0 when there is a single centre).
    """
    n_clusters, n_features = centers.shape
    for a in prange(n_clusters):
        nearest = np.inf
        for b in range(n_clusters):
            sq = centers.dtype.type(0)
            for f in range(n_features):
                diff = centers[a, f] - centers[b, f]
                sq += diff * diff
            h = np.sqrt(sq) / 2
            half_dist[a, b] = h
            if b != a and h < nearest:
                nearest = h
        next_center[a] = nearest if n_clusters > 1 else 0.0
