"""Numba kernels over dense samples: Lloyd's sweep and greedy k-means++ potentials.

Lloyd's sweep assigns chunks of samples with one matrix product each (BLAS) and
accumulates the M-step's sums in the same pass. k-means++ uses a micro-kernel of
dot products (a tile of ``TILE_ROWS`` samples times a block of candidates).

Every kernel takes the samples ``X`` as the caller gave them plus ``x_mean``, the
vector that sklearn subtracts from dense data before it clusters. Subtracting it
on the fly gives the same floating-point values as a centred copy (one subtraction
each) without copying or modifying the caller's array.

Parallel kernels loop ``prange`` over the blocks of ``bounds``
(see :func:`nbkm._kernels._blocks.block_bounds`); sums go to per-block partial
buffers that are reduced in block order.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._config import FASTMATH
from nbkm._kernels._rows import nearest_center

#: Samples handled together by the micro-kernel: each centre value read from
#: memory is used this many times.
TILE_ROWS = 4

#: Centres handled together by the micro-kernel: the accumulators of one tile
#: (``TILE_ROWS * CENTER_BLOCK`` values) stay in L1 cache.
CENTER_BLOCK = 128

#: Samples assigned by one matrix product (sklearn's chunk size).
CHUNK_ROWS = 256


@njit(cache=True, nogil=True, fastmath=set(FASTMATH))
def _tile_dots(X, x_mean, r0, r1, centers_t, j0, m, acc):
    """Dot products of the (centred) samples ``r0:r1`` with the centres ``j0:j0+m``.

    The innermost loop runs over centres with unit stride, so it vectorizes;
    features are consumed four at a time so that each accumulator is loaded and
    stored once per four multiply-adds, which is what bounds this loop.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    r0, r1 : int
        The rows, ``0 < r1 - r0 <= TILE_ROWS``. A short tile repeats its last row.
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The centres, transposed.
    j0, m : int
        The centres ``j0:j0 + m``, ``m <= CENTER_BLOCK``.
    acc : ndarray, shape (TILE_ROWS, CENTER_BLOCK), same dtype as X
        OUT. ``acc[q, jj] = (x_{r0+q} - mean) . c_{j0+jj}``.
    """
    n_features = X.shape[1]
    i0 = r0
    i1 = min(r0 + 1, r1 - 1)
    i2 = min(r0 + 2, r1 - 1)
    i3 = min(r0 + 3, r1 - 1)
    a0 = acc[0]
    a1 = acc[1]
    a2 = acc[2]
    a3 = acc[3]
    for jj in range(m):
        a0[jj] = 0
        a1[jj] = 0
        a2[jj] = 0
        a3[jj] = 0
    n_features4 = n_features - n_features % 4
    for f in range(0, n_features4, 4):
        m0, m1, m2, m3 = x_mean[f], x_mean[f + 1], x_mean[f + 2], x_mean[f + 3]
        x00 = X[i0, f] - m0
        x01 = X[i0, f + 1] - m1
        x02 = X[i0, f + 2] - m2
        x03 = X[i0, f + 3] - m3
        x10 = X[i1, f] - m0
        x11 = X[i1, f + 1] - m1
        x12 = X[i1, f + 2] - m2
        x13 = X[i1, f + 3] - m3
        x20 = X[i2, f] - m0
        x21 = X[i2, f + 1] - m1
        x22 = X[i2, f + 2] - m2
        x23 = X[i2, f + 3] - m3
        x30 = X[i3, f] - m0
        x31 = X[i3, f + 1] - m1
        x32 = X[i3, f + 2] - m2
        x33 = X[i3, f + 3] - m3
        ct0 = centers_t[f, j0 : j0 + m]
        ct1 = centers_t[f + 1, j0 : j0 + m]
        ct2 = centers_t[f + 2, j0 : j0 + m]
        ct3 = centers_t[f + 3, j0 : j0 + m]
        for jj in range(m):
            c0, c1, c2, c3 = ct0[jj], ct1[jj], ct2[jj], ct3[jj]
            a = a0[jj] + x00 * c0
            a = a + x01 * c1
            a = a + x02 * c2
            a0[jj] = a + x03 * c3
            a = a1[jj] + x10 * c0
            a = a + x11 * c1
            a = a + x12 * c2
            a1[jj] = a + x13 * c3
            a = a2[jj] + x20 * c0
            a = a + x21 * c1
            a = a + x22 * c2
            a2[jj] = a + x23 * c3
            a = a3[jj] + x30 * c0
            a = a + x31 * c1
            a = a + x32 * c2
            a3[jj] = a + x33 * c3
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


@njit(cache=True, nogil=True)
def _nearest_centers_chunk(X, x_mean, r0, r1, centers_t, centers_sq, labels, xc):
    """Assign the samples ``r0:r1`` (at most CHUNK_ROWS) to their nearest centre.

    The dot products of the chunk with all centres are one matrix product, which
    Numba hands to BLAS (scipy's; the caller limits BLAS to one thread, as the
    chunks already run in parallel). The distance is ``||c||^2 - 2 x.c``, as in
    sklearn (which makes the same call on the same 256-sample chunks); ties go to
    the lowest centre index.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    r0, r1 : int
        The rows, ``0 < r1 - r0 <= CHUNK_ROWS``.
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The centres, transposed.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres.
    labels : ndarray of int32, shape (n_samples,)
        OUT. ``labels[r0:r1]`` is written.
    xc : ndarray, shape (CHUNK_ROWS, n_features), same dtype as X
        Scratch: the centred rows.
    """
    n_features = X.shape[1]
    m = r1 - r0
    for q in range(m):
        for f in range(n_features):
            xc[q, f] = X[r0 + q, f] - x_mean[f]
    dots = np.dot(xc[:m], centers_t)
    for q in range(m):
        labels[r0 + q] = nearest_center(dots[q], centers_sq)


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
        IN. The current centres, transposed. (The products go to BLAS, which the
        caller limits to one thread: see ``nbkm._threads``.)
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
    n_features = X.shape[1]
    for b in prange(n_blocks):
        xc = np.empty((CHUNK_ROWS, n_features), dtype=X.dtype)
        if update_centers:
            partial_sums[b] = 0
            partial_weights[b] = 0
        for r0 in range(bounds[b], bounds[b + 1], CHUNK_ROWS):
            r1 = min(r0 + CHUNK_ROWS, bounds[b + 1])
            _nearest_centers_chunk(X, x_mean, r0, r1, centers_t, centers_sq, labels, xc)
            if update_centers:
                for i in range(r0, r1):
                    w = sample_weight[i]
                    label = labels[i]
                    partial_weights[b, label] += w
                    srow = partial_sums[b, label]
                    xrow = X[i]
                    for f in range(n_features):
                        srow[f] += (xrow[f] - x_mean[f]) * w


@njit(cache=True, parallel=True)
def candidate_potentials_dense(
    X,
    x_mean,
    x_sq,
    candidates_t,
    candidates_sq,
    closest,
    sample_weight,
    bounds,
    dist,
    pot,
):
    """Closest squared distances and potential if each candidate became a centre.

    Distances use ``||x||^2 + ||c||^2 - 2 x.c`` floored at 0, as sklearn's k-means++
    does, computed with the micro-kernel.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    x_sq : ndarray of float64, shape (n_samples,)
        IN. Squared norms of the (centred) samples.
    candidates_t : ndarray, shape (n_features, n_candidates), same dtype as X
        IN. The candidate centres (centred), transposed.
    candidates_sq : ndarray of float64, shape (n_candidates,)
        IN. Squared norms of the candidates.
    closest : ndarray of float64, shape (n_samples,)
        IN. Squared distance of each sample to its closest chosen centre
        (``inf`` before the first centre).
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    dist : ndarray of float64, shape (n_candidates, n_samples)
        OUT. ``min(closest[i], ||x_i - candidate_t||^2)``.
    pot : ndarray of float64, shape (n_candidates,)
        OUT. ``sum_i w_i dist[t, i]``, reduced in block order.
    """
    n_candidates = candidates_t.shape[1]
    n_blocks = bounds.shape[0] - 1
    partial = np.zeros((n_blocks, n_candidates), dtype=np.float64)
    for b in prange(n_blocks):
        acc = np.empty((TILE_ROWS, CENTER_BLOCK), dtype=X.dtype)
        for r0 in range(bounds[b], bounds[b + 1], TILE_ROWS):
            r1 = min(r0 + TILE_ROWS, bounds[b + 1])
            for t0 in range(0, n_candidates, CENTER_BLOCK):
                m = min(CENTER_BLOCK, n_candidates - t0)
                _tile_dots(X, x_mean, r0, r1, candidates_t, t0, m, acc)
                for q in range(r1 - r0):
                    i = r0 + q
                    w = sample_weight[i]
                    for tt in range(m):
                        t = t0 + tt
                        sq = x_sq[i] + candidates_sq[t] - 2.0 * acc[q, tt]
                        if sq < 0.0:
                            sq = 0.0
                        if closest[i] < sq:
                            sq = closest[i]
                        dist[t, i] = sq
                        partial[b, t] += w * sq
    for t in range(n_candidates):
        total = 0.0
        for b in range(n_blocks):
            total += partial[b, t]
        pot[t] = total
