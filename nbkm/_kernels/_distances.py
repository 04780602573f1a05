"""Numba kernels of sample-to-centre distances, over dense arrays or CSR triples.

``X`` is a C-contiguous 2-D array (centred on the fly by ``x_mean``) or a CSR
triple ``(data, indices, indptr)`` (never centred); see ``_rows.py``.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._pool import over_blocks
from nbkm._kernels._rows import n_rows, sq_distance


@njit(cache=True, parallel=True)
def distances_to_assigned(X, x_mean, centers, centers_sq, labels, out):
    """Squared distance of each sample to its assigned centre.

    Serves relocation, the inertia (weighted by the driver) and, against a zero
    centre, the squared norms k-means++ needs: one kernel to compile for all.

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


def inertia_by_block(
    X, x_mean, centers, centers_sq, labels, sample_weight, bounds, partial
):
    """Per block, ``sum_i w_i ||x_i - c_{label_i}||^2`` in float64, in sample order.

    The inertia in one pass: each squared distance is
    :func:`distances_to_assigned`'s, in the samples' dtype, and the sum is
    :func:`nbkm._kernels._blocks.weighted_sums_by_block`'s over those values,
    so the bits are those of the two kernels run in turn, without the
    per-sample array between them. Runs :func:`inertia_of_blocks` on nbkm's
    threads (``_pool.over_blocks``): once a run, it need not be a ``prange``
    kernel, which would cost 0.4 s more compile time a specialisation.

    Parameters
    ----------
    X, x_mean, centers, centers_sq, labels
        As in :func:`distances_to_assigned`.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial : ndarray of float64, shape (n_blocks,)
        OUT. The weighted sum over each block.
    """
    args = (X, x_mean, centers, centers_sq, labels, sample_weight, bounds, partial)
    n_blocks = bounds.shape[0] - 1
    over_blocks(inertia_of_blocks, n_blocks, *args, rows=bounds[-1] - bounds[0])


@njit(cache=True, nogil=True)
def inertia_of_blocks(
    X,
    x_mean,
    centers,
    centers_sq,
    labels,
    sample_weight,
    bounds,
    partial,
    first_block,
    end_block,
):
    """:func:`inertia_by_block` for the blocks ``first_block .. end_block - 1``."""
    for b in range(first_block, end_block):
        total = 0.0
        for i in range(bounds[b], bounds[b + 1]):
            d = sq_distance(X, x_mean, i, centers, centers_sq, labels[i])
            total += np.float64(sample_weight[i]) * np.float64(d)
        partial[b] = total


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
