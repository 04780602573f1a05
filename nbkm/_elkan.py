"""One run of Elkan's exact accelerated k-means over dense samples."""

import numpy as np

from nbkm._em import Sweep, finish_centers, run_em
from nbkm._kernels import (
    elkan_init_bounds_dense,
    elkan_shift_bounds,
    elkan_step_dense,
    half_center_distances,
)
from nbkm._lloyd import inertia


def elkan_single(X, x_mean, sample_weight, centers_init, max_iter, tol, verbose=0):
    """One run of Elkan's algorithm from the given centres.

    Takes and returns the same as :func:`nbkm._lloyd.lloyd_single`. Holds an
    ``n_samples x n_clusters`` array of lower bounds, as sklearn's elkan does.
    """
    n_samples, n_features = X.shape
    n_clusters = centers_init.shape[0]
    dtype = X.dtype
    sweep = Sweep.allocate(n_samples, n_clusters, n_features, dtype)
    half_dist = np.empty((n_clusters, n_clusters), dtype=dtype)
    next_center = np.empty(n_clusters, dtype=dtype)
    upper = np.empty(n_samples, dtype=dtype)
    lower = np.empty((n_samples, n_clusters), dtype=dtype)
    half_center_distances(centers_init, half_dist, next_center)
    elkan_init_bounds_dense(
        X, x_mean, centers_init, half_dist, sweep.labels, upper, lower
    )

    def step(centers, centers_new, update_centers):
        elkan_step_dense(
            X,
            x_mean,
            sample_weight,
            centers,
            half_dist,
            next_center,
            upper,
            lower,
            sweep.labels,
            sweep.bounds,
            sweep.partial_sums,
            sweep.partial_weights,
            update_centers,
        )
        if not update_centers:
            return False
        relocated = finish_centers(X, x_mean, sample_weight, centers, centers_new, sweep)
        elkan_shift_bounds(sweep.shift, sweep.labels, upper, lower)
        half_center_distances(centers_new, half_dist, next_center)
        return relocated

    def run_inertia(centers, labels):
        return inertia(X, x_mean, sample_weight, centers, labels)

    return run_em(step, sweep, centers_init, max_iter, tol, run_inertia, verbose)
