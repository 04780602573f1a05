"""Numba kernels of sample-to-centre distances, over dense arrays or CSR triples.

``X`` is a C-contiguous 2-D array (centred on the fly by ``x_mean``) or a CSR
triple ``(data, indices, indptr)`` (never centred); see ``_rows.py``.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import n_rows, sq_distance


@njit(cache=True, parallel=True)
def inertia(X, x_mean, sample_weight, centers, centers_sq, labels, bounds):
    """Weighted sum of squared distances of the samples to their assigned centre.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,) (or any, for CSR), same dtype as X
        IN. Subtracted from dense samples on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres (used for CSR samples).
    labels : ndarray of int32, shape (n_samples,)
        IN. Assigned centre of each sample.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.

    Returns
    -------
    inertia : float64
        ``sum_i w_i ||x_i - c_{label_i}||^2``, accumulated in float64 per block and
        reduced in block order.
    """
    n_blocks = bounds.shape[0] - 1
    partial = np.zeros(n_blocks, dtype=np.float64)
    for b in prange(n_blocks):
        total = 0.0
        for i in range(bounds[b], bounds[b + 1]):
            sq = sq_distance(X, x_mean, i, centers, centers_sq, labels[i])
            total += sq * sample_weight[i]
        partial[b] = total
    result = 0.0
    for b in range(n_blocks):
        result += partial[b]
    return result


@njit(cache=True, parallel=True)
def distances_to_assigned(X, x_mean, centers, centers_sq, labels, out):
    """Squared distance of each sample to its assigned centre (for relocation).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from dense samples on the fly.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres (used for CSR samples).
    labels : ndarray of int32, shape (n_samples,)
        IN. Assigned centre of each sample.
    out : ndarray, shape (n_samples,), same dtype as X
        OUT. ``||x_i - c_{label_i}||^2``.
    """
    for i in prange(n_rows(X)):
        out[i] = sq_distance(X, x_mean, i, centers, centers_sq, labels[i])


@njit(cache=True, parallel=True)
def euclidean_to_centers(X, x_mean, centers, centers_sq, out):
    """Euclidean distance of every sample to every centre (``transform``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from dense samples on the fly.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The centres.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres (used for CSR samples).
    out : ndarray, shape (n_samples, n_clusters), same dtype as X
        OUT. ``||x_i - c_j||``.
    """
    n_clusters = centers.shape[0]
    for i in prange(n_rows(X)):
        for j in range(n_clusters):
            out[i, j] = np.sqrt(sq_distance(X, x_mean, i, centers, centers_sq, j))
