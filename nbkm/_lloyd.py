"""One run of Lloyd's k-means."""

from nbkm._assign import CenterViews, lloyd_sweep
from nbkm._em import Sweep, finish_centers, run_sweeps
from nbkm._samples import Samples


def lloyd_single(
    samples: Samples, sample_weight, centers_init, max_iter, tol, verbose=0
):
    """One run of Lloyd's algorithm from the given centres.

    Parameters
    ----------
    samples : Samples
        The samples; never modified.
    sample_weight : ndarray, shape (n_samples,), same dtype as the samples
        Weight of each sample.
    centers_init : ndarray, shape (n_clusters, n_features), same dtype
        Initial centres, in the samples' (centred) frame.
    max_iter : int
        Most iterations.
    tol : float
        Absolute tolerance on the sum of squared centre shifts.
    verbose : int
        Print progress.

    Returns
    -------
    run : nbkm._em.Run
        Labels, inertia, centres (in the samples' frame), iterations, and
        whether the labels are ``predict``'s for the final centres.
    """
    n_clusters = centers_init.shape[0]
    sweep = Sweep.allocate(samples, n_clusters)
    views = CenterViews(n_clusters, samples.shape[1], samples.dtype)
    partials = (sweep.partial_sums, sweep.partial_weights) if sweep.fused else None

    def step(centers, centers_new):
        views.update(centers)
        lloyd_sweep(
            samples,
            sample_weight,
            views,
            sweep.labels,
            sweep.bounds,
            partials,
        )
        return finish_centers(samples, sample_weight, centers, centers_new, sweep)

    return run_sweeps(
        step,
        samples,
        sample_weight,
        sweep,
        centers_init,
        max_iter,
        tol,
        verbose,
        lloyds_labels=True,
    )
