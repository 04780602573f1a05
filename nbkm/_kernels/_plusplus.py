"""Numba kernel of greedy k-means++: distances to candidate centres and potentials."""

import numpy as np
from numba import njit, prange

from nbkm._kernels._rows import sq_distance


@njit(cache=True, parallel=True)
def candidate_potentials(
    X, x_mean, candidates, candidates_sq, closest, sample_weight, bounds, dist, pot
):
    """Closest squared distances and potential if each candidate became a centre.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), or CSR triple
        IN. The samples, float32 or float64.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from dense samples on the fly (zeros: distances between
        samples do not depend on centring).
    candidates : ndarray, shape (n_candidates, n_features), same dtype as X
        IN. The candidate centres, dense, in the frame of ``X - x_mean``.
    candidates_sq : ndarray, shape (n_candidates,), same dtype as X
        IN. Squared norms of the candidates (used for CSR samples).
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
    n_candidates = candidates.shape[0]
    n_blocks = bounds.shape[0] - 1
    partial = np.zeros((n_blocks, n_candidates), dtype=np.float64)
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            w = sample_weight[i]
            for t in range(n_candidates):
                sq = sq_distance(X, x_mean, i, candidates, candidates_sq, t)
                if closest[i] < sq:
                    sq = closest[i]
                dist[t, i] = sq
                partial[b, t] += w * sq
    for t in range(n_candidates):
        total = 0.0
        for b in range(n_blocks):
            total += partial[b, t]
        pot[t] = total
