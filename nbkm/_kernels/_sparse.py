"""Numba kernel of Lloyd's sweep over CSR samples: fused assignment and accumulation.

Sparse samples are not centred (as in sklearn); centres are dense.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import add_weighted_row


@njit(cache=True, parallel=True)
def lloyd_step_sparse(
    X,
    sample_weight,
    centers,
    centers_sq,
    bounds,
    labels,
    partial_sums,
    partial_weights,
    update_centers,
):
    """One Lloyd E-step fused with the accumulation of the M-step, CSR input.

    Parameters
    ----------
    X : tuple (data, indices, indptr)
        IN. CSR samples: ``data`` float32 or float64 of shape (nnz,), ``indices``
        int32 of shape (nnz,), ``indptr`` int32 of shape (n_samples + 1,);
        canonical (sorted, no duplicate indices).
    sample_weight : ndarray, shape (n_samples,), same dtype as data
        IN. Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features), same dtype as data
        IN. The current centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as data
        IN. Squared norms of the centres.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    labels : ndarray of int32, shape (n_samples,)
        OUT. Index of each sample's nearest centre (lowest index on ties).
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features), same dtype
        OUT. Per block, the weighted sum of the samples of each cluster. Untouched
        when ``update_centers`` is False.
    partial_weights : ndarray, shape (n_blocks, n_clusters), same dtype as data
        OUT. Per block, the total weight of each cluster. Untouched when
        ``update_centers`` is False.
    update_centers : bool
        Whether to accumulate the sums (E+M step) or only assign labels (E step).
    """
    data, indices, indptr = X
    n_clusters = centers.shape[0]
    n_blocks = bounds.shape[0] - 1
    no_mean = np.zeros(0, dtype=data.dtype)
    for b in prange(n_blocks):
        if update_centers:
            partial_sums[b] = 0
            partial_weights[b] = 0
        for i in range(bounds[b], bounds[b + 1]):
            best = np.inf
            label = 0
            for j in range(n_clusters):
                dot = 0.0
                for k in range(indptr[i], indptr[i + 1]):
                    dot += centers[j, indices[k]] * data[k]
                dist = centers_sq[j] - 2 * dot
                if dist < best:
                    best = dist
                    label = j
            labels[i] = label
            if update_centers:
                w = sample_weight[i]
                partial_weights[b, label] += w
                add_weighted_row(X, no_mean, i, w, partial_sums[b], label)
