"""Numba kernels over dense samples: Lloyd's sweep and greedy k-means++ potentials.

Both work on chunks of ``CHUNK_ROWS`` samples with one matrix product each (BLAS):
Lloyd's sweep assigns a chunk and accumulates the M-step's sums in the same pass;
k-means++ computes the distances of a chunk to all candidates.

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

from nbkm._kernels._blas import matmul
from nbkm._kernels._rows import nearest_center

#: Samples assigned by one matrix product (sklearn's chunk size).
CHUNK_ROWS = 256


@njit(cache=True, nogil=True)
def chunk_dots(X, x_mean, r0, r1, centers_t, xc):
    """Dot products of the centred samples ``r0:r1`` with every centre, by BLAS.

    One matrix product, which Numba hands to BLAS (scipy's; the caller limits BLAS
    to one thread, as the chunks already run in parallel), as sklearn makes the
    same call on the same 256-sample chunks.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    r0, r1 : int
        The rows, ``0 < r1 - r0 <= CHUNK_ROWS``.
    centers_t : ndarray, shape (n_features, n_centers), same dtype as X
        IN. The centres (or candidates), transposed.
    xc : ndarray, shape (CHUNK_ROWS, n_features), same dtype as X
        Scratch: the centred rows.

    Returns
    -------
    dots : ndarray, shape (r1 - r0, n_centers), same dtype as X
        ``(x_i - mean) . c_j``.
    """
    n_features = X.shape[1]
    m = r1 - r0
    for q in range(m):
        for f in range(n_features):
            xc[q, f] = X[r0 + q, f] - x_mean[f]
    return matmul(xc[:m], centers_t)


@njit(cache=True, nogil=True)
def _nearest_centers_chunk(
    X, x_mean, r0, r1, centers_t, centers_sq, labels, xc, values
):
    """Assign the samples ``r0:r1`` (at most CHUNK_ROWS) to their nearest centre.

    The distance is ``||c||^2 - 2 x.c`` with the dot products of
    :func:`chunk_dots`, as in sklearn; ties go to the lowest centre index.
    ``labels[r0:r1]`` is written; the other arguments are those of
    :func:`chunk_dots`, plus ``centers_sq``, the squared norms of the centres,
    and ``values``, scratch of :func:`nbkm._kernels._rows.nearest_center`.
    """
    dots = chunk_dots(X, x_mean, r0, r1, centers_t, xc)
    for q in range(r1 - r0):
        labels[r0 + q] = nearest_center(dots[q], centers_sq, values)


@njit(cache=True, nogil=True)
def accumulate_rows(X, x_mean, sample_weight, labels, r0, r1, sums, weights):
    """Add the weighted, centred samples ``r0:r1`` to their clusters' sums.

    The M-step's accumulation, in sample order with one expression: the
    bounded sweep, which re-sums only some blocks, must produce Lloyd's bits.

    Parameters
    ----------
    X, x_mean, sample_weight, labels
        As in :func:`lloyd_step_dense`.
    r0, r1 : int
        The samples to add.
    sums : ndarray, shape (n_clusters, n_features), same dtype as X
        INOUT. One block's partial sums.
    weights : ndarray, shape (n_clusters,), same dtype as X
        INOUT. One block's partial weights.
    """
    for i in range(r0, r1):
        w = sample_weight[i]
        label = labels[i]
        weights[label] += w
        srow = sums[label]
        xrow = X[i]
        for f in range(X.shape[1]):
            srow[f] += (xrow[f] - x_mean[f]) * w


@njit(cache=True, nogil=True)
def _accumulate_centred(xc, sample_weight, labels, r0, r1, sums, weights):
    """:func:`accumulate_rows` for a chunk whose centred rows are in ``xc``.

    ``xc[q]`` holds ``X[r0 + q] - x_mean`` rounded to the dtype, the very values
    :func:`accumulate_rows` forms, so the sums are the same bits; reading them
    from the chunk's scratch, still in cache, saves a pass over X (measured in
    docs/performance.md).
    """
    n_features = xc.shape[1]
    for q in range(r1 - r0):
        w = sample_weight[r0 + q]
        label = np.uint64(labels[r0 + q])
        weights[label] += w
        for f in range(n_features):
            sums[label, f] += xc[q, f] * w


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
        values = np.empty(centers_sq.shape[0], dtype=X.dtype)
        if update_centers:
            # Loops, not `partial_sums[b] = 0`: array expressions compile slowly.
            for j in range(partial_sums.shape[1]):
                partial_weights[b, j] = 0
                for f in range(n_features):
                    partial_sums[b, j, f] = 0
        for r0 in range(bounds[b], bounds[b + 1], CHUNK_ROWS):
            r1 = min(r0 + CHUNK_ROWS, bounds[b + 1])
            _nearest_centers_chunk(
                X, x_mean, r0, r1, centers_t, centers_sq, labels, xc, values
            )
            if update_centers:
                _accumulate_centred(
                    xc,
                    sample_weight,
                    labels,
                    r0,
                    r1,
                    partial_sums[b],
                    partial_weights[b],
                )


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
    does, with the dot products of one BLAS product per chunk (:func:`chunk_dots`).

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
    n_features = X.shape[1]
    partial = np.zeros((n_blocks, n_candidates), dtype=np.float64)
    for b in prange(n_blocks):
        xc = np.empty((CHUNK_ROWS, n_features), dtype=X.dtype)
        for r0 in range(bounds[b], bounds[b + 1], CHUNK_ROWS):
            r1 = min(r0 + CHUNK_ROWS, bounds[b + 1])
            dots = chunk_dots(X, x_mean, r0, r1, candidates_t, xc)
            for q in range(r1 - r0):
                i = r0 + q
                w = sample_weight[i]
                for t in range(n_candidates):
                    sq = x_sq[i] + candidates_sq[t] - 2.0 * dots[q, t]
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
