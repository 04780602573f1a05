"""Numba kernel of greedy k-means++: distances to candidate centres and potentials."""

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def candidate_potentials(X, candidates, closest, sample_weight, bounds, dist, pot):
    """Closest squared distances and potential if each candidate became a centre.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    candidates : ndarray of int64, shape (n_candidates,)
        IN. Sample indices of the candidate centres.
    closest : ndarray of float64, shape (n_samples,)
        IN. Squared distance of each sample to its closest chosen centre
        (``inf`` before the first centre).
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    dist : ndarray of float64, shape (n_candidates, n_samples)
        OUT. ``min(closest[i], ||x_i - x_candidate||^2)``.
    pot : ndarray of float64, shape (n_candidates,)
        OUT. ``sum_i w_i dist[t, i]``, reduced in block order.
    """
    n_features = X.shape[1]
    n_candidates = candidates.shape[0]
    n_blocks = bounds.shape[0] - 1
    partial = np.zeros((n_blocks, n_candidates), dtype=np.float64)
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            w = sample_weight[i]
            for t in range(n_candidates):
                c = candidates[t]
                sq = 0.0
                for f in range(n_features):
                    diff = X[i, f] - X[c, f]
                    sq += diff * diff
                if closest[i] < sq:
                    sq = closest[i]
                dist[t, i] = sq
                partial[b, t] += w * sq
    for t in range(n_candidates):
        total = 0.0
        for b in range(n_blocks):
            total += partial[b, t]
        pot[t] = total
