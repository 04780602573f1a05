"""Numba kernels of a mini-batch step: assign a batch, then move its centres.

A batch is given as row indices into the samples (dense array or CSR triple), so
that ``fit`` never copies the rows it draws. The centre update is scikit-learn's
(``_minibatch_update_dense`` / ``_sparse``) operation for operation: per centre,
the old centre times its accumulated weight, plus each of its batch samples times
its weight in batch order, times the reciprocal of the new accumulated weight.
With the same labels the centres are therefore scikit-learn's bit for bit; each
centre is one thread's work, so they do not depend on the thread count.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._blas import matmul
from nbkm._kernels._dense import CHUNK_ROWS
from nbkm._kernels._rows import add_weighted_row, nearest_center, sq_distance
from nbkm._kernels._sparse import nearest_center_csr


@njit(cache=True, parallel=True)
def batch_labels_dense(X, rows, centers, centers_t, centers_sq, labels, distances):
    """Nearest centre and squared distance to it of the samples ``X[rows]``.

    Lloyd's distance computation (``||c||^2 - 2 x.c``, one BLAS product per
    chunk of ``CHUNK_ROWS`` gathered rows, ties to the lowest index); the
    distance to the chosen centre is then computed directly, as scikit-learn's
    batch inertia is.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples (not centred).
    rows : ndarray of int64, shape (batch_size,)
        IN. The batch, as indices into X.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The centres.
    centers_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The centres, transposed.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres.
    labels : ndarray of int32, shape (batch_size,)
        OUT. Nearest centre of each batch sample.
    distances : ndarray, shape (batch_size,), same dtype as X
        OUT. Squared distance of each batch sample to its centre.
    """
    n, n_features = rows.shape[0], X.shape[1]
    no_mean = np.zeros(n_features, dtype=X.dtype)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        r0 = chunk * CHUNK_ROWS
        r1 = min(r0 + CHUNK_ROWS, n)
        xc = np.empty((r1 - r0, n_features), dtype=X.dtype)
        values = np.empty(centers_sq.shape[0], dtype=X.dtype)
        for q in range(r1 - r0):
            for f in range(n_features):
                xc[q, f] = X[rows[r0 + q], f]
        dots = matmul(xc, centers_t)
        for q in range(r1 - r0):
            label = nearest_center(dots[q], centers_sq, values)
            labels[r0 + q] = label
            distances[r0 + q] = sq_distance(
                X, no_mean, rows[r0 + q], centers, centers_sq, label
            )


@njit(cache=True, parallel=True)
def batch_labels_sparse(X, rows, centers, centers_t, centers_sq, labels, distances):
    """:func:`batch_labels_dense` for CSR samples ``X = (data, indices, indptr)``.

    Distances as ``nearest_centers_sparse`` and ``distances_to_assigned`` compute
    them for CSR samples.
    """
    n = rows.shape[0]
    n_clusters = centers_t.shape[1]
    no_mean = np.zeros(centers.shape[1], dtype=centers.dtype)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        dots = np.empty(n_clusters, dtype=centers.dtype)
        values = np.empty(n_clusters, dtype=centers.dtype)
        for q in range(chunk * CHUNK_ROWS, min((chunk + 1) * CHUNK_ROWS, n)):
            i = rows[q]
            label = nearest_center_csr(X, i, centers_t, centers_sq, dots, values)
            labels[q] = label
            distances[q] = sq_distance(X, no_mean, i, centers, centers_sq, label)


@njit(cache=True, parallel=True)
def move_batch_centers(
    X, rows, batch_weight, labels, centers_old, centers_new, weight_sums, order
):
    """Move each centre to the weighted mean of its past and its batch samples.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples (not centred), float32 or float64.
    rows : ndarray of int64, shape (batch_size,)
        IN. The batch, as indices into X.
    batch_weight : ndarray, shape (batch_size,), same dtype as X
        IN. Weight of each batch sample (in batch order).
    labels : ndarray of int32, shape (batch_size,)
        IN. Centre of each batch sample.
    centers_old : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The centres before the step.
    centers_new : ndarray, shape (n_clusters, n_features), same dtype as X
        OUT. The centres after the step (may be ``centers_old`` itself).
    weight_sums : ndarray, shape (n_clusters,), same dtype as X
        INOUT. Total weight each centre has seen.
    order : ndarray of int64, shape (batch_size,)
        Scratch: the batch positions grouped by centre, in batch order.
    """
    n_clusters, n_features = centers_old.shape
    no_mean = np.zeros(n_features, dtype=centers_old.dtype)
    # A stable counting sort: each centre's samples in batch order, as
    # scikit-learn visits them.
    starts = np.zeros(n_clusters + 1, dtype=np.int64)
    for q in range(labels.shape[0]):
        starts[labels[q] + 1] += 1
    for j in range(n_clusters):
        starts[j + 1] += starts[j]
    fill = starts[:-1].copy()
    for q in range(labels.shape[0]):
        order[fill[labels[q]]] = q
        fill[labels[q]] += 1
    for j in prange(n_clusters):
        wsum = centers_old.dtype.type(0)
        for t in range(starts[j], starts[j + 1]):
            wsum += batch_weight[order[t]]
        if wsum > 0:
            for f in range(n_features):
                centers_new[j, f] = centers_old[j, f] * weight_sums[j]
            for t in range(starts[j], starts[j + 1]):
                q = order[t]
                add_weighted_row(X, no_mean, rows[q], batch_weight[q], centers_new, j)
            weight_sums[j] += wsum
            alpha = centers_old.dtype.type(1) / weight_sums[j]
            for f in range(n_features):
                centers_new[j, f] *= alpha
        else:
            for f in range(n_features):
                centers_new[j, f] = centers_old[j, f]
