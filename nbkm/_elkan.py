"""One run of Elkan's exact accelerated k-means, over dense or CSR samples."""

import numpy as np

from nbkm import _kernels as K
from nbkm._assign import squared_norms
from nbkm._em import Sweep, finish_centers, run_sweeps
from nbkm._samples import Samples


def elkan_single(
    samples: Samples, sample_weight, centers_init, max_iter, tol, verbose=0
):
    """One run of Elkan's algorithm from the given centres.

    Takes and returns the same as :func:`nbkm._lloyd.lloyd_single`. Holds an
    ``n_samples x n_clusters`` array of lower bounds, as sklearn's elkan does.
    """
    n_samples = samples.shape[0]
    n_clusters = centers_init.shape[0]
    dtype = samples.dtype
    sweep = Sweep.allocate(samples, n_clusters)
    half_dist = np.empty((n_clusters, n_clusters), dtype=dtype)
    next_center = np.empty(n_clusters, dtype=dtype)
    centers_sq = np.empty(n_clusters, dtype=dtype)
    upper = np.empty(n_samples, dtype=dtype)
    lower = np.empty((n_samples, n_clusters), dtype=dtype)
    K.half_center_distances(centers_init, half_dist, next_center)
    squared_norms(centers_init, out=centers_sq)
    K.elkan_init_bounds(
        samples.X,
        samples.x_mean,
        centers_init,
        centers_sq,
        half_dist,
        sweep.labels,
        upper,
        lower,
    )

    def step(centers, centers_new):
        squared_norms(centers, out=centers_sq)
        K.elkan_step(
            samples.X,
            samples.x_mean,
            sample_weight,
            centers,
            centers_sq,
            half_dist,
            next_center,
            upper,
            lower,
            sweep.labels,
            sweep.bounds,
            sweep.partial_sums,
            sweep.partial_weights,
            sweep.fused,
        )
        relocated = finish_centers(samples, sample_weight, centers, centers_new, sweep)
        K.elkan_shift_bounds(sweep.shift, sweep.labels, upper, lower)
        K.half_center_distances(centers_new, half_dist, next_center)
        return relocated

    return run_sweeps(
        step, samples, sample_weight, sweep, centers_init, max_iter, tol, verbose
    )
