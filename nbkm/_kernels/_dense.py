"""Numba kernel of Lloyd's sweep over dense samples: fused assignment and accumulation.

Every kernel takes the samples ``X`` as the caller gave them plus ``x_mean``, the
vector that sklearn subtracts from dense data before it clusters. Subtracting it
on the fly gives the same floating-point values as a centred copy (one subtraction
each) without copying or modifying the caller's array.

Parallel kernels loop ``prange`` over the blocks of ``bounds``
(see :func:`nbkm._kernels._blocks.block_bounds`); sums go to per-block partial
buffers that the caller reduces in block order.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import add_weighted_row

#: Samples handled together by the distance micro-kernel: each centre value read
#: from memory is used this many times.
TILE_ROWS = 4

#: Centres handled together by the distance micro-kernel: the accumulators of one
#: tile (``TILE_ROWS * CENTER_BLOCK`` values) stay in L1 cache.
CENTER_BLOCK = 128


@njit(cache=True, nogil=True)
def _nearest_centers_tile(
    X, x_mean, r0, r1, centers_t, centers_sq, labels, min_dist, acc
):
    """Assign the samples ``r0:r1`` (at most TILE_ROWS of them) to their nearest centre.

    The distance ``||c||^2 - 2 x.c`` (``||x||^2`` dropped, as it does not change the
    argmin) is accumulated over the features, so the innermost loop runs over
    centres with unit stride and vectorizes. Ties go to the lowest centre index.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    r0, r1 : int
        The rows to assign, ``0 < r1 - r0 <= TILE_ROWS``.
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The centres, transposed.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres.
    labels : ndarray of int32, shape (n_samples,)
        OUT. ``labels[r0:r1]`` is written.
    min_dist : ndarray, shape (TILE_ROWS,), same dtype as X
        OUT. ``||c||^2 - 2 x.c`` of each row's nearest centre.
    acc : ndarray, shape (TILE_ROWS, CENTER_BLOCK), same dtype as X
        Scratch.
    """
    n_features = X.shape[1]
    n_clusters = centers_t.shape[1]
    # A short last tile repeats its last row; only the real rows are written.
    i0 = r0
    i1 = min(r0 + 1, r1 - 1)
    i2 = min(r0 + 2, r1 - 1)
    i3 = min(r0 + 3, r1 - 1)
    a0 = acc[0]
    a1 = acc[1]
    a2 = acc[2]
    a3 = acc[3]
    inf = np.inf
    best0 = inf
    best1 = inf
    best2 = inf
    best3 = inf
    lab0 = 0
    lab1 = 0
    lab2 = 0
    lab3 = 0
    # Features are consumed four at a time: each accumulator is loaded and stored
    # once per four multiply-adds, which is what bounds this loop.
    n_features4 = n_features - n_features % 4
    for j0 in range(0, n_clusters, CENTER_BLOCK):
        m = min(CENTER_BLOCK, n_clusters - j0)
        for jj in range(m):
            a0[jj] = 0
            a1[jj] = 0
            a2[jj] = 0
            a3[jj] = 0
        for f in range(0, n_features4, 4):
            m0, m1, m2, m3 = x_mean[f], x_mean[f + 1], x_mean[f + 2], x_mean[f + 3]
            x00, x01, x02, x03 = (
                X[i0, f] - m0,
                X[i0, f + 1] - m1,
                X[i0, f + 2] - m2,
                X[i0, f + 3] - m3,
            )
            x10, x11, x12, x13 = (
                X[i1, f] - m0,
                X[i1, f + 1] - m1,
                X[i1, f + 2] - m2,
                X[i1, f + 3] - m3,
            )
            x20, x21, x22, x23 = (
                X[i2, f] - m0,
                X[i2, f + 1] - m1,
                X[i2, f + 2] - m2,
                X[i2, f + 3] - m3,
            )
            x30, x31, x32, x33 = (
                X[i3, f] - m0,
                X[i3, f + 1] - m1,
                X[i3, f + 2] - m2,
                X[i3, f + 3] - m3,
            )
            ct0 = centers_t[f, j0 : j0 + m]
            ct1 = centers_t[f + 1, j0 : j0 + m]
            ct2 = centers_t[f + 2, j0 : j0 + m]
            ct3 = centers_t[f + 3, j0 : j0 + m]
            for jj in range(m):
                c0, c1, c2, c3 = ct0[jj], ct1[jj], ct2[jj], ct3[jj]
                a0[jj] += (x00 * c0 + x01 * c1) + (x02 * c2 + x03 * c3)
                a1[jj] += (x10 * c0 + x11 * c1) + (x12 * c2 + x13 * c3)
                a2[jj] += (x20 * c0 + x21 * c1) + (x22 * c2 + x23 * c3)
                a3[jj] += (x30 * c0 + x31 * c1) + (x32 * c2 + x33 * c3)
        for f in range(n_features4, n_features):
            mu = x_mean[f]
            x0 = X[i0, f] - mu
            x1 = X[i1, f] - mu
            x2 = X[i2, f] - mu
            x3 = X[i3, f] - mu
            ct = centers_t[f, j0 : j0 + m]
            for jj in range(m):
                c = ct[jj]
                a0[jj] += x0 * c
                a1[jj] += x1 * c
                a2[jj] += x2 * c
                a3[jj] += x3 * c
        for jj in range(m):
            cs = centers_sq[j0 + jj]
            # a + a: exact doubling that keeps float32 in float32.
            d0 = cs - (a0[jj] + a0[jj])
            d1 = cs - (a1[jj] + a1[jj])
            d2 = cs - (a2[jj] + a2[jj])
            d3 = cs - (a3[jj] + a3[jj])
            if d0 < best0:
                best0 = d0
                lab0 = j0 + jj
            if d1 < best1:
                best1 = d1
                lab1 = j0 + jj
            if d2 < best2:
                best2 = d2
                lab2 = j0 + jj
            if d3 < best3:
                best3 = d3
                lab3 = j0 + jj
    n_rows = r1 - r0
    labels[r0] = lab0
    min_dist[0] = best0
    if n_rows > 1:
        labels[r0 + 1] = lab1
        min_dist[1] = best1
    if n_rows > 2:
        labels[r0 + 2] = lab2
        min_dist[2] = best2
    if n_rows > 3:
        labels[r0 + 3] = lab3
        min_dist[3] = best3


@njit(cache=True, parallel=True)
def lloyd_step_dense(
    X,
    x_mean,
    sample_weight,
    centers_t,
    centers_sq,
    bounds,
    labels,
    partial_sums,
    partial_weights,
    update_centers,
):
    """One Lloyd E-step fused with the accumulation of the M-step.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The current centres, transposed.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the current centres.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    labels : ndarray of int32, shape (n_samples,)
        OUT. Index of each sample's nearest centre.
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features), same dtype as X
        OUT. Per block, the weighted sum of the (centred) samples of each cluster.
        Untouched when ``update_centers`` is False.
    partial_weights : ndarray, shape (n_blocks, n_clusters), same dtype as X
        OUT. Per block, the total weight of each cluster. Untouched when
        ``update_centers`` is False.
    update_centers : bool
        Whether to accumulate the sums (E+M step) or only assign labels (E step).
    """
    n_blocks = bounds.shape[0] - 1
    for b in prange(n_blocks):
        acc = np.empty((TILE_ROWS, CENTER_BLOCK), dtype=X.dtype)
        min_dist = np.empty(TILE_ROWS, dtype=X.dtype)
        if update_centers:
            partial_sums[b] = 0
            partial_weights[b] = 0
        for r0 in range(bounds[b], bounds[b + 1], TILE_ROWS):
            r1 = min(r0 + TILE_ROWS, bounds[b + 1])
            _nearest_centers_tile(
                X, x_mean, r0, r1, centers_t, centers_sq, labels, min_dist, acc
            )
            if update_centers:
                for i in range(r0, r1):
                    w = sample_weight[i]
                    partial_weights[b, labels[i]] += w
                    add_weighted_row(X, x_mean, i, w, partial_sums[b], labels[i])
