"""Numba kernel of the assignment step over CSR samples.

Sparse samples are not centred (as in sklearn); centres are dense. The weighted
sums of the M-step are taken afterwards by ``accumulate_by_cluster``: a second
pass over the stored values is cheap next to this one, and per-block partial sums
of wide sparse data would take too much memory.
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
