"""Cluster-to-label mappings and the scores of a clustering against true labels.

Clusters found by k-means carry arbitrary ids: :func:`mode_mapping` (the
tutorial's; several clusters may predict the same label) and
:func:`hungarian_mapping` (one-to-one) turn them into class predictions. A
cluster with no members, or no label, maps to :data:`NO_LABEL` (``-1``): it
predicts nothing, and a sample carrying it is never correct.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm
from sklearn.metrics.cluster import contingency_matrix

#: Label given to clusters that predict nothing (empty, or left over).
NO_LABEL = -1


def _check(clusters, labels, n_clusters=None):
    clusters = np.asarray(clusters, dtype=np.intp)
    labels = np.asarray(labels, dtype=np.intp)
    if clusters.ndim != 1 or clusters.shape != labels.shape:
        raise ValueError("clusters and labels must be 1-D arrays of equal length")
    if clusters.size and min(clusters.min(), labels.min()) < 0:
        raise ValueError("cluster ids and true labels must be non-negative")
    seen = int(clusters.max()) + 1 if clusters.size else 0
    if n_clusters is not None and n_clusters < seen:
        raise ValueError(f"n_clusters={n_clusters} but cluster id {seen - 1} seen")
    return clusters, labels, seen if n_clusters is None else int(n_clusters)


def contingency(clusters, labels, n_clusters: int | None = None) -> np.ndarray:
    """Count samples per (cluster, true label) pair.

    ``clusters`` and ``labels`` give each sample's cluster id and true label;
    ``n_clusters`` rows (default ``max(clusters) + 1``), ``max(labels) + 1``
    columns: ids absent from the data give rows or columns of zeros.
    """
    clusters, labels, k = _check(clusters, labels, n_clusters)
    table = np.zeros((k, int(labels.max()) + 1 if labels.size else 0), np.int64)
    np.add.at(table, (clusters, labels), 1)
    return table


def mode_mapping(clusters, labels, n_clusters: int | None = None) -> np.ndarray:
    """Map each cluster to the most frequent true label of its members.

    The tutorial's ``mode(labels[clusters == i])``; ties go to the smallest
    label, an empty cluster gets :data:`NO_LABEL`. Arguments as in
    :func:`contingency`.
    """
    table = contingency(clusters, labels, n_clusters)
    empty = table.sum(axis=1) == 0
    return np.where(empty, NO_LABEL, table.argmax(axis=1)).astype(np.intp)


def hungarian_mapping(clusters, labels, n_clusters: int | None = None) -> np.ndarray:
    """Map clusters to labels one-to-one, maximising the correct predictions.

    ``scipy.optimize.linear_sum_assignment`` on :func:`contingency` (same
    arguments); surplus clusters get :data:`NO_LABEL`.
    """
    table = contingency(clusters, labels, n_clusters)
    mapping = np.full(table.shape[0], NO_LABEL, dtype=np.intp)
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping[rows] = cols
    return mapping


def predict_labels(clusters, mapping) -> np.ndarray:
    """Apply a cluster-to-label mapping: the label of each sample's cluster."""
    return np.asarray(mapping, dtype=np.intp)[np.asarray(clusters, dtype=np.intp)]


def accuracy(labels, predicted) -> float:
    """Fraction of samples predicted right (:data:`NO_LABEL` is always wrong)."""
    labels = np.asarray(labels)
    return float(np.mean(labels == np.asarray(predicted))) if labels.size else 0.0


def confusion(labels, predicted, n_labels: int) -> np.ndarray:
    """Confusion matrix, rows true label, columns predicted (NO_LABEL not counted)."""
    return skm.confusion_matrix(labels, predicted, labels=np.arange(n_labels))


def cluster_scores(clusters, labels, n_clusters: int | None = None) -> dict:
    """All the scores reported for one clustering (arguments of :func:`contingency`)."""
    clusters, labels, k = _check(clusters, labels, n_clusters)
    mode = mode_mapping(clusters, labels, k)
    hung = hungarian_mapping(clusters, labels, k)
    return {
        "accuracy": accuracy(labels, predict_labels(clusters, mode)),
        "hungarian_accuracy": accuracy(labels, predict_labels(clusters, hung)),
        "ari": float(skm.adjusted_rand_score(labels, clusters)),
        "nmi": float(skm.normalized_mutual_info_score(labels, clusters)),
        "mode_mapping": mode.tolist(),
        "hungarian_mapping": hung.tolist(),
        "n_empty_clusters": int(np.sum(np.bincount(clusters, minlength=k) == 0)),
    }


def same_partition(a, b) -> bool:
    """Whether two clusterings are the same partition up to renaming the ids."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    table = contingency_matrix(a, b)
    return bool(table.shape[0] == table.shape[1] == np.count_nonzero(table))


def summary(values) -> dict:
    """``{"mean", "min", "max", "n"}`` of a non-empty list of numbers."""
    arr = np.asarray(values, dtype=float)
    stats = {"mean": float(arr.mean()), "min": float(arr.min())}
    return stats | {"max": float(arr.max()), "n": int(arr.size)}
