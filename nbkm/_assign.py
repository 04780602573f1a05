"""Assignment helpers every driver shares: centre views, Lloyd's sweep, labels, inertia.

The drivers (``_lloyd``, ``_elkan``, ``_bounded``, ``_minibatch``) and the
estimators' ``predict`` and ``score`` assign samples and total their distances
through these, so that a label or an inertia is computed one way everywhere.
"""

import numpy as np

from nbkm import _kernels as K
from nbkm._samples import Samples, read_only


def squared_norms(a, out=None):
    """Squared Euclidean norm of each row of ``a``, rounded as scikit-learn's.

    NumPy's ``einsum``, the computation of scikit-learn's
    ``row_norms(a, squared=True)`` for dense arrays: where distances tie in exact
    arithmetic the argmin is decided by how these norms were rounded, so every
    norm computed outside a kernel comes from here.
    """
    return np.einsum("ij,ij->i", a, a, out=out)


def prepare_views(centers, centers_t, centers_sq):
    """Write ``centers.T`` into ``centers_t`` and the squared norms into ``centers_sq``.

    The norms are rounded as scikit-learn's ``row_norms(centers, squared=True)``
    (:func:`squared_norms`). Their bits matter
    wherever distances tie in exact arithmetic: a sparse sample that shares no
    feature with several centres is at ``||c||^2`` from each, and the argmin is
    then decided by how those norms were rounded.
    """
    centers_t[...] = centers.T
    squared_norms(centers, out=centers_sq)


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
    bounds = K.block_bounds(samples.shape[0])
    partial = np.empty(bounds.shape[0] - 1)
    K.inertia_by_block(
        samples.X,
        samples.x_mean,
        centers,
        squared_norms(centers),
        labels,
        sample_weight,
        bounds,
        partial,
    )
    return float(K.fold_blocks(partial))


def distances_to_centers(samples: Samples, centers):
    """Euclidean distance of every sample to every centre (``transform``).

    Returns
    -------
    distances : ndarray, shape (n_samples, n_clusters), the samples' dtype
    """
    out = np.empty((samples.shape[0], centers.shape[0]), dtype=samples.dtype)
    K.euclidean_to_centers(
        samples.X, samples.x_mean, centers, squared_norms(centers), out
    )
    return out
