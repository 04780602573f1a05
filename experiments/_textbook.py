"""The tutorial's textbook k-means E-M loop, kept as a plain reference.

This is the "very basic implementation" of the tutorial, unchanged in what it
does: pick ``n_clusters`` distinct samples at random as the initial centres,
then repeat the E-step (assign every point to its nearest centre) and the
M-step (move every centre to the mean of its points) until the centres no
longer move. It has no k-means++, no restarts and no empty-cluster handling (an
empty cluster would give a NaN centre, which is reported as an error here). It
is not used by nbkm; the ``blobs`` experiment checks that nbkm finds the same
partition as this loop.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances_argmin


def find_clusters(
    X, n_clusters: int, rseed: int = 2, max_iter: int = 1000
) -> tuple[np.ndarray, np.ndarray, int]:
    """Textbook k-means: random initial centres, then E and M steps.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    n_clusters : int
        Number of clusters.
    rseed : int, default=2
        Seed of the ``RandomState`` whose permutation picks the initial centres
        (the tutorial uses 2).
    max_iter : int, default=1000
        Safety bound on the iterations (the tutorial loops forever).

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Final centres.
    labels : ndarray of int, shape (n_samples,)
        Index of the nearest final centre of each sample.
    n_iter : int
        Number of E-M iterations run.

    Raises
    ------
    RuntimeError
        If a cluster becomes empty or the loop does not stop in ``max_iter``.
    """
    X = np.asarray(X, dtype=float)
    # 1. Randomly choose clusters
    rng = np.random.RandomState(rseed)
    i = rng.permutation(X.shape[0])[:n_clusters]
    centers = X[i]
    for n_iter in range(1, max_iter + 1):
        # 2a. Assign labels based on closest center
        labels = pairwise_distances_argmin(X, centers)
        if np.any(np.bincount(labels, minlength=n_clusters) == 0):
            raise RuntimeError("a cluster became empty; the textbook loop stops")
        # 2b. Find new centers from means of points
        new_centers = np.array([X[labels == j].mean(0) for j in range(n_clusters)])
        # 2c. Check for convergence
        if np.all(centers == new_centers):
            return centers, labels, n_iter
        centers = new_centers
    raise RuntimeError(f"no convergence in {max_iter} iterations")
