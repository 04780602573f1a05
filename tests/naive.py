"""Plain-NumPy references for nbkm's kernels and drivers. Never imports numba or nbkm.

Written for clarity, not speed: full distance matrices, masked means, Python loops.
"""

import numpy as np


def sq_distances(X, centers):
    """Full matrix of squared Euclidean distances, shape (n_samples, n_clusters)."""
    diff = X[:, None, :].astype(np.float64) - centers[None, :, :].astype(np.float64)
    return (diff**2).sum(axis=2)


def assign(X, centers):
    """Index of the nearest centre (lowest index on ties)."""
    return sq_distances(X, centers).argmin(axis=1).astype(np.int32)


def weighted_sums(X, sample_weight, labels, n_clusters):
    """Per-cluster weighted sum of samples and total weight."""
    sums = np.zeros((n_clusters, X.shape[1]))
    weights = np.zeros(n_clusters)
    for j in range(n_clusters):
        mask = labels == j
        sums[j] = (X[mask] * sample_weight[mask, None]).sum(axis=0)
        weights[j] = sample_weight[mask].sum()
    return sums, weights


def inertia(X, sample_weight, centers, labels):
    """Weighted sum of squared distances to the assigned centres."""
    diff = X.astype(np.float64) - centers[labels].astype(np.float64)
    return float(((diff**2).sum(axis=1) * sample_weight).sum())


def lloyd_step(X, sample_weight, centers):
    """One Lloyd iteration with sklearn's empty-cluster relocation.

    Returns (labels, new_centers). An empty cluster takes the sample farthest from
    its centre (farthest first for several empty clusters); that sample's weight
    moves with it.
    """
    n_clusters = centers.shape[0]
    labels = assign(X, centers)
    sums, weights = weighted_sums(X, sample_weight, labels, n_clusters)
    empty = np.flatnonzero(weights == 0)
    if empty.size:
        far_dist = sq_distances(X, centers)[np.arange(X.shape[0]), labels]
        order = np.argsort(-far_dist, kind="stable")
        for j, i in zip(empty, order[: empty.size], strict=True):
            w = sample_weight[i]
            sums[labels[i]] -= X[i] * w
            weights[labels[i]] -= w
            sums[j] = X[i] * w
            weights[j] = w
    new_centers = sums / weights[:, None]
    return labels, new_centers


def kmeans(X, sample_weight, centers, max_iter, tol):
    """Lloyd's algorithm with sklearn's stopping rules on uncentred data.

    Returns (labels, centers, inertia, n_iter).
    """
    labels_old = np.full(X.shape[0], -1)
    strict = False
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (returned after the loop)
        labels, new_centers = lloyd_step(X, sample_weight, centers)
        shift = ((new_centers - centers) ** 2).sum()
        centers = new_centers
        if np.array_equal(labels, labels_old):
            strict = True
            break
        if shift <= tol:
            break
        labels_old = labels
    if not strict:
        labels = assign(X, centers)
    return labels, centers, inertia(X, sample_weight, centers, labels), n_iter


def minibatch_update(X, sample_weight, labels, centers, weight_sums):
    """scikit-learn's mini-batch centre update, one centre at a time in a loop.

    Each centre with batch weight ``s > 0`` becomes ``(c * W + sum_i w_i x_i) /
    (W + s)`` with the products and sums taken in batch order in X's dtype;
    ``weight_sums`` (``W``) gains ``s``. Returns (new_centers, new_weight_sums).
    """
    dtype = X.dtype.type
    new = centers.copy()
    sums = weight_sums.copy()
    for j in range(centers.shape[0]):
        members = np.flatnonzero(labels == j)
        s = dtype(0)
        for i in members:
            s = dtype(s + sample_weight[i])
        if s > 0:
            row = centers[j] * sums[j]
            for i in members:
                row = row + X[i] * sample_weight[i]
            sums[j] = dtype(sums[j] + s)
            new[j] = row * (dtype(1) / sums[j])
    return new, sums
