"""Cluster-to-label mappings and the accuracy metrics of the digits experiment.

Clusters found by k-means carry arbitrary ids. Two ways to turn them into class
predictions are provided:

* :func:`mode_mapping`, the tutorial's: each cluster predicts the most frequent
  true label among its members (``scipy.stats.mode``; ties go to the smallest
  label). Several clusters may predict the same label, and a label may be
  predicted by no cluster.
* :func:`hungarian_mapping`: the one-to-one assignment of clusters to labels
  that maximises the number of correctly predicted samples
  (``scipy.optimize.linear_sum_assignment``). With more clusters than labels,
  the surplus clusters get no label and their members count as wrong.

In both, a cluster that has no members, or no label, maps to :data:`NO_LABEL`
(``-1``): it predicts nothing, and a sample carrying it is never correct.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm

#: Label given to clusters that predict nothing (empty, or left over).
NO_LABEL = -1


def _check(clusters, labels):
    clusters = np.asarray(clusters)
    labels = np.asarray(labels)
    if clusters.ndim != 1 or labels.ndim != 1 or clusters.shape != labels.shape:
        raise ValueError("clusters and labels must be 1-D arrays of equal length")
    if clusters.size and clusters.min() < 0:
        raise ValueError("cluster ids must be non-negative")
    if labels.size and labels.min() < 0:
        raise ValueError("true labels must be non-negative")
    return clusters.astype(np.intp), labels.astype(np.intp)


def _n_clusters(clusters, n_clusters):
    seen = int(clusters.max()) + 1 if clusters.size else 0
    if n_clusters is None:
        return seen
    if n_clusters < seen:
        raise ValueError(f"n_clusters={n_clusters} but cluster id {seen - 1} seen")
    return int(n_clusters)


def mode_mapping(clusters, labels, n_clusters: int | None = None) -> np.ndarray:
    """Map each cluster to the most frequent true label of its members.

    This is the tutorial's mapping: ``mode(labels[clusters == i])`` for each
    cluster ``i``. Ties between equally frequent labels go to the smallest
    label (``scipy.stats.mode``). A cluster with no members (possible when
    ``n_clusters`` exceeds the ids present) gets :data:`NO_LABEL`: it predicts
    nothing.

    Parameters
    ----------
    clusters : array-like of int, shape (n_samples,)
        Cluster id of each sample, in ``[0, n_clusters)``.
    labels : array-like of int, shape (n_samples,)
        True label of each sample, non-negative.
    n_clusters : int, optional
        Number of clusters; ``max(clusters) + 1`` when None.

    Returns
    -------
    mapping : ndarray of int, shape (n_clusters,)
        Label predicted by each cluster, or :data:`NO_LABEL`.
    """
    clusters, labels = _check(clusters, labels)
    k = _n_clusters(clusters, n_clusters)
    mapping = np.full(k, NO_LABEL, dtype=np.intp)
    for i in range(k):
        members = labels[clusters == i]
        if members.size:
            mapping[i] = int(stats.mode(members, keepdims=False).mode)
    return mapping


def contingency(clusters, labels, n_clusters: int | None = None, n_labels=None):
    """Count samples per (cluster, true label) pair.

    Parameters
    ----------
    clusters : array-like of int, shape (n_samples,)
        Cluster id of each sample.
    labels : array-like of int, shape (n_samples,)
        True label of each sample.
    n_clusters : int, optional
        Rows of the table; ``max(clusters) + 1`` when None.
    n_labels : int, optional
        Columns of the table; ``max(labels) + 1`` when None.

    Returns
    -------
    table : ndarray of int64, shape (n_clusters, n_labels)
        ``table[i, j]`` samples of cluster ``i`` have true label ``j``.
    """
    clusters, labels = _check(clusters, labels)
    k = _n_clusters(clusters, n_clusters)
    m = int(labels.max()) + 1 if labels.size else 0
    m = m if n_labels is None else max(m, int(n_labels))
    table = np.zeros((k, m), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def hungarian_mapping(clusters, labels, n_clusters: int | None = None) -> np.ndarray:
    """Map clusters to labels one-to-one, maximising the correct predictions.

    Solves the assignment problem on the cluster x label contingency table
    (``scipy.optimize.linear_sum_assignment``). Clusters left without a label
    (more clusters than labels) get :data:`NO_LABEL`. When several assignments
    are optimal, SciPy's choice is kept; the accuracy does not depend on it.

    Parameters
    ----------
    clusters : array-like of int, shape (n_samples,)
        Cluster id of each sample.
    labels : array-like of int, shape (n_samples,)
        True label of each sample.
    n_clusters : int, optional
        Number of clusters; ``max(clusters) + 1`` when None.

    Returns
    -------
    mapping : ndarray of int, shape (n_clusters,)
        Label predicted by each cluster (each label at most once), or
        :data:`NO_LABEL`.
    """
    table = contingency(clusters, labels, n_clusters)
    mapping = np.full(table.shape[0], NO_LABEL, dtype=np.intp)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping[rows] = cols
    return mapping


def predict_labels(clusters, mapping) -> np.ndarray:
    """Apply a cluster-to-label mapping.

    Parameters
    ----------
    clusters : array-like of int, shape (n_samples,)
        Cluster id of each sample.
    mapping : array-like of int, shape (n_clusters,)
        Label of each cluster, or :data:`NO_LABEL`.

    Returns
    -------
    predicted : ndarray of int, shape (n_samples,)
        Predicted label of each sample (:data:`NO_LABEL` where none).
    """
    return np.asarray(mapping, dtype=np.intp)[np.asarray(clusters, dtype=np.intp)]


def accuracy(labels, predicted) -> float:
    """Fraction of samples whose predicted label equals the true label.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        True labels.
    predicted : array-like of int, shape (n_samples,)
        Predicted labels; :data:`NO_LABEL` is always wrong.

    Returns
    -------
    acc : float
        In ``[0, 1]``; 0.0 for empty input.
    """
    labels = np.asarray(labels)
    predicted = np.asarray(predicted)
    if labels.size == 0:
        return 0.0
    return float(np.mean(labels == predicted))


def confusion(labels, predicted, n_labels: int) -> np.ndarray:
    """Confusion matrix, rows true label, columns predicted label.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        True labels in ``[0, n_labels)``.
    predicted : array-like of int, shape (n_samples,)
        Predicted labels; samples with :data:`NO_LABEL` are not counted.
    n_labels : int
        Number of classes.

    Returns
    -------
    matrix : ndarray of int64, shape (n_labels, n_labels)
        ``matrix[i, j]`` samples of true label ``i`` were predicted ``j``.
    """
    return skm.confusion_matrix(labels, predicted, labels=np.arange(n_labels))


def cluster_scores(clusters, labels, n_clusters: int | None = None) -> dict:
    """All the scores reported for one clustering.

    Parameters
    ----------
    clusters : array-like of int, shape (n_samples,)
        Cluster id of each sample.
    labels : array-like of int, shape (n_samples,)
        True label of each sample.
    n_clusters : int, optional
        Number of clusters; ``max(clusters) + 1`` when None.

    Returns
    -------
    scores : dict
        ``accuracy`` (mode mapping, the tutorial's), ``hungarian_accuracy``
        (one-to-one mapping), ``ari`` (adjusted Rand index), ``nmi``
        (normalised mutual information), ``mode_mapping`` and
        ``hungarian_mapping`` (lists, :data:`NO_LABEL` for none) and
        ``n_empty_clusters``.
    """
    clusters, labels = _check(clusters, labels)
    k = _n_clusters(clusters, n_clusters)
    mode = mode_mapping(clusters, labels, k)
    hung = hungarian_mapping(clusters, labels, k)
    return {
        "accuracy": accuracy(labels, predict_labels(clusters, mode)),
        "hungarian_accuracy": accuracy(labels, predict_labels(clusters, hung)),
        "ari": float(skm.adjusted_rand_score(labels, clusters)),
        "nmi": float(skm.normalized_mutual_info_score(labels, clusters)),
        "mode_mapping": [int(v) for v in mode],
        "hungarian_mapping": [int(v) for v in hung],
        "n_empty_clusters": int(np.sum(np.bincount(clusters, minlength=k) == 0)),
    }


def same_partition(a, b) -> bool:
    """Whether two clusterings are the same partition up to renaming the ids.

    Parameters
    ----------
    a, b : array-like of int, shape (n_samples,)
        Cluster ids.

    Returns
    -------
    same : bool
        True when there is a one-to-one renaming of ids turning ``a`` into ``b``.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    pairs = np.unique(np.stack([a, b]), axis=1)
    return bool(len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1])))


def summary(values) -> dict:
    """Mean, min, max (and count) of a list of numbers.

    Parameters
    ----------
    values : sequence of float
        Numbers; must not be empty.

    Returns
    -------
    stats : dict
        ``{"mean", "min", "max", "n"}``.
    """
    arr = np.asarray(values, dtype=float)
    return {
        "mean": float(arr.mean()),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "n": int(arr.size),
    }


def encode_labels(labels) -> str:
    """Store an integer label vector compactly as a space-separated string.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Labels.

    Returns
    -------
    text : str
        ``"3 3 0 7 ..."``; decode with :func:`decode_labels`.
    """
    return " ".join(str(int(v)) for v in np.asarray(labels).ravel())


def decode_labels(text: str) -> np.ndarray:
    """Inverse of :func:`encode_labels`.

    Parameters
    ----------
    text : str
        Space-separated integers.

    Returns
    -------
    labels : ndarray of int64, shape (n_samples,)
        The labels.
    """
    return np.array(text.split(), dtype=np.int64)
