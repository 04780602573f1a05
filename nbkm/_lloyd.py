"""One run of Lloyd's k-means, and the E-step and inertia used by predict and score."""

import numpy as np

from nbkm import _kernels as K
from nbkm._em import Sweep, finish_centers, run_em
from nbkm._samples import Samples, read_only


def prepare_views(centers, centers_t, centers_sq):
    """Write ``centers.T`` into ``centers_t`` and the squared norms into ``centers_sq``.

    The norms are rounded as scikit-learn's ``row_norms(centers, squared=True)``
    (NumPy's ``einsum``), overwriting the kernel's own sum. Their bits matter
    wherever distances tie in exact arithmetic: a sparse sample that shares no
    feature with several centres is at ``||c||^2`` from each, and the argmin is
    then decided by how those norms were rounded.
    """
    K.prepare_centers(centers, centers_t, centers_sq)
    np.einsum("ij,ij->i", centers, centers, out=centers_sq)


class CenterViews:
    """The centres in the forms the Lloyd kernels read: transposed, and norms."""

    def __init__(self, n_clusters, n_features, dtype):
        self.t = np.empty((n_features, n_clusters), dtype=dtype)
        self.sq = np.empty(n_clusters, dtype=dtype)

    def update(self, centers):
        prepare_views(centers, self.t, self.sq)
        return self

    @classmethod
    def of(cls, centers):
        """Return the views of ``centers``."""
        return cls(*centers.shape, centers.dtype).update(centers)


def lloyd_sweep(samples, sample_weight, views, labels, bounds, partials=None):
    """Assign every sample; also accumulate into ``partials`` when given.

    ``partials`` is ``(partial_sums, partial_weights)`` of a fused sweep (dense
    samples only; see ``nbkm._em.Sweep``).
    """
    if samples.is_sparse:
        K.nearest_centers_sparse(samples.X, views.t, views.sq, bounds, labels)
        return
    accumulate = partials is not None
    if not accumulate:
        partials = (
            np.zeros((1, 1, 1), dtype=samples.dtype),
            np.zeros((1, 1), dtype=samples.dtype),
        )
    K.lloyd_step_dense(
        samples.X,
        samples.x_mean,
        sample_weight,
        views.t,
        views.sq,
        bounds,
        labels,
        partials[0],
        partials[1],
        accumulate,
    )


def assign_labels(samples: Samples, centers):
    """Index of the nearest centre of every sample (Lloyd's E-step alone).

    Parameters
    ----------
    samples : Samples
        The samples.
    centers : ndarray, shape (n_clusters, n_features), same dtype as the samples
        The centres, in the samples' (centred) frame.

    Returns
    -------
    labels : ndarray of int32, shape (n_samples,)
    """
    views = CenterViews.of(centers)
    labels = np.empty(samples.shape[0], dtype=np.int32)
    no_weights = read_only(np.empty(0, dtype=samples.dtype))  # as weights come
    lloyd_sweep(samples, no_weights, views, labels, K.block_bounds(len(labels)))
    return labels


def predict_assigner(samples: Samples, labels):
    """Return ``assign(centers)``: writes ``labels`` as ``predict`` computes them.

    ``predict`` sees the caller's samples, not centred, and the centres with the
    mean added back; the same kernel on the same values gives the same labels.

    Parameters
    ----------
    samples : Samples
        The samples of a run (centred on the fly when dense).
    labels : ndarray of int32, shape (n_samples,)
        OUT, on each call. Buffer for the labels.
    """
    plain = samples if samples.is_sparse else Samples.dense(samples.source)

    def assign(centers):
        labels[:] = assign_labels(plain, centers + samples.x_mean)

    return assign


def inertia(samples: Samples, sample_weight, centers, labels):
    """Weighted sum of squared distances of the samples to their assigned centre.

    Parameters
    ----------
    samples : Samples
        The samples.
    sample_weight : ndarray, shape (n_samples,)
        Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features)
        The centres, in the samples' (centred) frame.
    labels : ndarray of int32, shape (n_samples,)
        Assigned centre of each sample.

    Returns
    -------
    inertia : float
        ``sum_i w_i ||x_i - c_{label_i}||^2``, summed in float64.
    """
    centers_sq = np.empty(centers.shape[0], dtype=centers.dtype)
    K.squared_norms(centers, centers_sq)
    distances = np.empty(samples.shape[0], dtype=samples.dtype)
    K.distances_to_assigned(
        samples.X, samples.x_mean, centers, centers_sq, labels, distances
    )
    return K.weighted_total(sample_weight, distances)


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

    def run_inertia(centers, labels):
        return inertia(samples, sample_weight, centers, labels)

    assign_final = predict_assigner(samples, sweep.labels)
    return run_em(
        step, sweep, centers_init, max_iter, tol, run_inertia, assign_final, verbose
    )
