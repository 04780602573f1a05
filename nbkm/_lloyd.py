"""One run of Lloyd's k-means over dense samples, and the E-step used by predict."""

import numpy as np

from nbkm._em import Sweep, finish_centers, run_em
from nbkm._kernels import (
    block_bounds,
    inertia_dense,
    lloyd_step_dense,
    prepare_centers,
)


def _empty_partials(dtype):
    return np.zeros((1, 1, 1), dtype=dtype), np.zeros((1, 1), dtype=dtype)


def assign_labels(X, x_mean, centers):
    """Index of the nearest centre of every sample (Lloyd's E-step alone).

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        The samples, C-contiguous.
    x_mean : ndarray, shape (n_features,), same dtype as X
        Subtracted from the samples on the fly.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        The centres.

    Returns
    -------
    labels : ndarray of int32, shape (n_samples,)
    """
    n_clusters, n_features = centers.shape
    centers_t = np.empty((n_features, n_clusters), dtype=X.dtype)
    centers_sq = np.empty(n_clusters, dtype=X.dtype)
    prepare_centers(centers, centers_t, centers_sq)
    labels = np.empty(X.shape[0], dtype=np.int32)
    sums, weights = _empty_partials(X.dtype)
    no_weights = np.empty(0, dtype=X.dtype)
    bounds = block_bounds(X.shape[0])
    lloyd_step_dense(
        X, x_mean, no_weights, centers_t, centers_sq, bounds, labels, sums, weights,
        False,
    )
    return labels


def inertia(X, x_mean, sample_weight, centers, labels):
    """Weighted sum of squared distances of the samples to their assigned centre.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        The samples, C-contiguous.
    x_mean : ndarray, shape (n_features,), same dtype as X
        Subtracted from the samples on the fly.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        The centres.
    labels : ndarray of int32, shape (n_samples,)
        Assigned centre of each sample.

    Returns
    -------
    inertia : float
    """
    bounds = block_bounds(X.shape[0])
    return float(inertia_dense(X, x_mean, sample_weight, centers, labels, bounds))


def lloyd_single(X, x_mean, sample_weight, centers_init, max_iter, tol, verbose=0):
    """One run of Lloyd's algorithm from the given centres.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        The samples, C-contiguous; never modified.
    x_mean : ndarray, shape (n_features,), same dtype as X
        Subtracted from the samples on the fly (zeros for no centring).
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        Weight of each sample.
    centers_init : ndarray, shape (n_clusters, n_features), same dtype as X
        Initial centres, in the centred frame.
    max_iter : int
        Most iterations.
    tol : float
        Absolute tolerance on the sum of squared centre shifts.
    verbose : int
        Print progress.

    Returns
    -------
    labels : ndarray of int32, shape (n_samples,)
    inertia : float
    centers : ndarray, shape (n_clusters, n_features)
    n_iter : int
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    sweep = Sweep.allocate(n_samples, n_clusters, n_features, X.dtype)
    centers_t = np.empty((n_features, n_clusters), dtype=X.dtype)
    centers_sq = np.empty(n_clusters, dtype=X.dtype)

    def step(centers, centers_new, update_centers):
        prepare_centers(centers, centers_t, centers_sq)
        lloyd_step_dense(
            X,
            x_mean,
            sample_weight,
            centers_t,
            centers_sq,
            sweep.bounds,
            sweep.labels,
            sweep.partial_sums,
            sweep.partial_weights,
            update_centers,
        )
        if not update_centers:
            return False
        return finish_centers(X, x_mean, sample_weight, centers, centers_new, sweep)

    def run_inertia(centers, labels):
        return inertia(X, x_mean, sample_weight, centers, labels)

    return run_em(step, sweep, centers_init, max_iter, tol, run_inertia, verbose)
