"""Initial centres: greedy k-means++ and random choice, as scikit-learn draws them.

Random numbers are drawn exactly as sklearn 1.9 draws them from the same
``RandomState``, so with the same seed and the same data both pick the same
samples (up to rounding on exact ties of the sampling thresholds).
"""

import numpy as np

from nbkm import _kernels as K
from nbkm._assign import squared_norms
from nbkm._samples import Samples

#: Dense problems of at most this many values (n_samples * n_features) compute the
#: k-means++ candidate distances with NumPy (one BLAS product a step, as sklearn
#: does) instead of the parallel kernel: as fast at that size, and a first fit of
#: a small problem does not wait seconds for the kernel to compile.
SMALL_PLUSPLUS = 1 << 18


def kmeans_plusplus_indices(
    samples: Samples,
    n_clusters,
    sample_weight,
    random_state,
    n_local_trials=None,
    numpy_path=False,
):
    """Choose ``n_clusters`` samples by greedy k-means++.

    Parameters
    ----------
    samples : Samples
        The samples.
    n_clusters : int
        Number of centres to choose.
    sample_weight : ndarray, shape (n_samples,), same dtype as the samples
        Weight of each sample in the sampling probabilities and potentials.
    random_state : numpy.random.RandomState
        Source of randomness; consumed as sklearn consumes it.
    n_local_trials : int or None
        Candidates tried per centre after the first; ``None`` means
        ``2 + int(log(n_clusters))``.
    numpy_path : bool, default=False
        Take scikit-learn's NumPy arithmetic (:func:`_plusplus_as_sklearn`)
        whatever the size; by default only small dense problems take it.

    Returns
    -------
    indices : ndarray of int64, shape (n_clusters,)
        The chosen samples, in the order chosen.
    """
    n_samples = samples.shape[0]
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    small = n_samples * samples.shape[1] <= SMALL_PLUSPLUS
    if not samples.is_sparse and (numpy_path or small):
        return _plusplus_as_sklearn(
            samples, n_clusters, sample_weight, random_state, n_local_trials
        )
    potentials = _kernel_potentials(samples, sample_weight)
    return _greedy_choice(
        potentials, n_samples, n_clusters, sample_weight, random_state, n_local_trials
    )


def _kernel_potentials(samples: Samples, sample_weight):
    """Return ``potentials(candidate_ids, closest, dist, pot)`` by the kernels.

    It writes into ``dist`` each sample's squared distance to its closest
    centre if a candidate joined the chosen ones, and into ``pot`` the weighted
    total per candidate (see ``nbkm._kernels.candidate_potentials``).
    """
    bounds = K.block_bounds(samples.shape[0])
    if samples.is_sparse:

        def potentials(candidate_ids, closest, dist, pot):
            rows = samples.rows(candidate_ids)
            K.candidate_potentials(
                samples.X,
                samples.x_mean,
                rows,
                squared_norms(rows),
                closest,
                sample_weight,
                bounds,
                dist,
                pot,
            )

        return potentials

    # Squared norms of the centred samples: distances to a zero centre.
    n_samples, d = samples.shape
    x_sq = np.empty(n_samples)
    K.distances_to_assigned(
        samples.X,
        samples.x_mean,
        np.zeros((1, d), samples.dtype),
        np.zeros(1, samples.dtype),
        np.zeros(n_samples, np.int32),
        x_sq,
    )

    def potentials(candidate_ids, closest, dist, pot):
        rows = samples.rows(candidate_ids)
        K.candidate_potentials_dense(
            samples.X,
            samples.x_mean,
            x_sq,
            np.ascontiguousarray(rows.T),
            squared_norms(rows.astype(np.float64)),
            closest,
            sample_weight,
            bounds,
            dist,
            pot,
        )

    return potentials


def _greedy_choice(
    potentials, n_samples, n_clusters, sample_weight, random_state, n_local_trials
):
    """Greedy k-means++ over ``potentials``, drawing as scikit-learn draws."""
    weight = sample_weight.astype(np.float64, copy=False)
    indices = np.full(n_clusters, -1, dtype=np.int64)
    first = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    indices[0] = first
    dist = np.empty((1, n_samples))
    pot = np.empty(1)
    potentials(np.array([first]), np.full(n_samples, np.inf), dist, pot)
    closest = dist[0].copy()
    current_pot = pot[0]

    dist = np.empty((n_local_trials, n_samples))
    pot = np.empty(n_local_trials)
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidates = np.searchsorted(np.cumsum(weight * closest), rand_vals)
        # Rounding can put a threshold past the last cumulative sum.
        np.clip(candidates, None, n_samples - 1, out=candidates)
        potentials(candidates, closest, dist, pot)
        best = int(np.argmin(pot))
        current_pot = pot[best]
        closest[:] = dist[best]
        indices[c] = candidates[best]
    return indices


def _plusplus_as_sklearn(samples, n_clusters, sample_weight, random_state, n_trials):
    """Greedy k-means++ in scikit-learn's own arithmetic, for dense samples.

    scikit-learn's ``_kmeans_plusplus`` step by step: distances
    ``-2 c.x + ||c||^2 + ||x||^2`` (float32 samples upcast to float64 for them,
    the result rounded back), floored at 0; potentials, their cumulative sum and
    the candidates' potentials in the samples' dtype. Near-ties between the
    candidates' potentials (frequent in float32 sums of many samples) then go
    the same way, and so the same samples are picked.
    """
    X = samples.source - samples.x_mean if samples.x_mean.any() else samples.source
    dtype = X.dtype
    weight = sample_weight.astype(dtype, copy=False)
    wide = X.astype(np.float64, copy=False)
    x_sq = squared_norms(wide)

    def distances(ids):
        rows = wide[ids]
        d = -2 * (rows @ wide.T)
        d += squared_norms(rows)[:, None]
        d += x_sq[None, :]
        d = d.astype(dtype, copy=False)
        return np.maximum(d, 0, out=d)

    n_samples = X.shape[0]
    indices = np.full(n_clusters, -1, dtype=np.int64)
    indices[0] = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    closest = distances(indices[:1])
    current_pot = closest @ weight
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_trials) * current_pot
        candidates = np.searchsorted(np.cumsum(weight * closest), rand_vals)
        np.clip(candidates, None, closest.size - 1, out=candidates)
        dist = distances(candidates)
        np.minimum(closest, dist, out=dist)
        pots = dist @ weight.reshape(-1, 1)
        best = np.argmin(pots)
        current_pot = pots[best]
        closest = dist[best]
        indices[c] = candidates[best]
    return indices


def random_indices(n_samples, n_clusters, sample_weight, random_state):
    """Choose ``n_clusters`` distinct samples with probability proportional to weight.

    Parameters
    ----------
    n_samples : int
        Number of samples.
    n_clusters : int
        Number of centres to choose.
    sample_weight : ndarray, shape (n_samples,)
        Weight of each sample.
    random_state : numpy.random.RandomState
        Source of randomness; consumed as sklearn consumes it.

    Returns
    -------
    indices : ndarray of int64, shape (n_clusters,)
    """
    return random_state.choice(
        n_samples, size=n_clusters, replace=False, p=sample_weight / sample_weight.sum()
    ).astype(np.int64)
