"""The iteration loop shared by Lloyd and Elkan, and the M-step that follows a sweep.

Semantics follow scikit-learn 1.9 (``sklearn/cluster/_kmeans.py``):

- each iteration assigns labels and accumulates weighted sums in one sweep, moves
  far samples into empty clusters, averages, and measures how far centres moved;
- it stops when the labels did not change (strict convergence), else when the
  sum of squared centre shifts is ``<= tol``, else after ``max_iter`` sweeps;
- after a non-strict stop, one more labels-only sweep makes ``labels_`` agree
  with ``predict``.

Empty clusters. sklearn moves a far sample into an empty cluster but leaves that
sample's label pointing at its old cluster, so after the last sweep the labels
can disagree with the centres. nbkm keeps sklearn's labels during the iterations
(so ``n_iter_`` and the labels match sklearn's), and also runs the labels-only
sweep after a strict stop whose last sweep relocated a sample. That pass is
``predict``'s own computation (uncentred samples, final centres); after any other
strict stop the estimator runs it for the best run (``KMeans._final_labels``), so
``labels_ == predict(X)`` always.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numba
import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from nbkm._assign import inertia, predict_assigner, squared_norms
from nbkm._kernels import (
    accumulate_by_cluster,
    accumulate_by_feature_range,
    average_centers,
    block_bounds,
    center_shifts,
    column_variances,
    distances_to_assigned,
    fits_partial_sums,
    group_by_label,
    move_samples_to_empty_clusters,
    reduce_partials,
)
from nbkm._samples import Samples, read_only
from nbkm._threads import numba_threads


def tolerance(X, tol, n_threads, x_mean=None):
    """Absolute tolerance: ``tol`` times the mean per-feature variance of X.

    Dense variances are summed by block (``nbkm._kernels.column_variances``), so
    that a caller holding X in pieces can compute the same bits; ``x_mean``,
    when given, is ``column_means(X)``, already computed.
    """
    if tol == 0:
        return 0.0
    if sp.issparse(X):
        variances = mean_variance_axis(X, axis=0)[1]
    else:
        with numba_threads(n_threads):
            variances = column_variances(read_only(X), x_mean)
    return float(np.mean(variances) * tol)


@dataclass
class Sweep:
    """Buffers one run reuses across iterations.

    Three ways to sum the samples of each cluster, all independent of the thread
    count: *fused* into the assignment sweep, each block of samples adding into its
    own partial buffer (``n_blocks x n_clusters x n_features``), then reduced in
    block order; or, when those buffers would exceed
    ``nbkm._kernels._blocks.PARTIAL_SUMS_BUDGET`` or the samples are sparse,
    after the sweep in a second pass: by *feature range* for CSR samples whose
    sums are small enough (:func:`sparse_feature_ranges`), else *grouped*, one
    cluster per parallel task. The last two add each sum's terms in sample
    order, so they give the same bits.

    Attributes
    ----------
    bounds : ndarray of int64, shape (n_blocks + 1,)
        Block boundaries of the samples.
    labels : ndarray of int32, shape (n_samples,)
        Current assignment.
    fused : bool
        Whether the sweep accumulates into the partial buffers.
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features)
        Per-block weighted sums (a 1 x 1 x 1 placeholder when not fused).
    partial_weights : ndarray, shape (n_blocks, n_clusters)
        Per-block cluster weights (a 1 x 1 placeholder when not fused).
    feature_ranges : ndarray of int64, shape (n_ranges + 1,)
        Feature boundaries of the by-feature-range sums (empty when not used).
    order, starts : ndarray of int64, shapes (n_samples,) and (n_clusters + 1,)
        Samples grouped by label, for the grouped sums (empty when not used).
    sums : ndarray, shape (n_clusters, n_features)
        Weighted sums of the samples of each cluster.
    weights : ndarray, shape (n_clusters,)
        Total weight of each cluster.
    shift : ndarray, shape (n_clusters,)
        How far each centre moved in the last iteration.
    """

    bounds: np.ndarray
    labels: np.ndarray
    fused: bool
    partial_sums: np.ndarray
    partial_weights: np.ndarray
    feature_ranges: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    sums: np.ndarray
    weights: np.ndarray
    shift: np.ndarray

    @classmethod
    def allocate(cls, samples: Samples, n_clusters: int):
        """Allocate the buffers of a run over ``samples``."""
        n_samples, n_features = samples.shape
        dtype = samples.dtype
        bounds = block_bounds(n_samples)
        n_blocks = bounds.shape[0] - 1
        fused = not samples.is_sparse and fits_partial_sums(
            n_blocks, n_clusters, n_features
        )
        partial_shape = (n_blocks, n_clusters, n_features) if fused else (1, 1, 1)
        ranges = np.zeros(0, dtype=np.int64)
        if samples.is_sparse:
            ranges = sparse_feature_ranges(n_features, n_clusters, dtype.itemsize)
        n_grouped = 0 if fused or ranges.size else n_samples
        return cls(
            bounds=bounds,
            labels=np.full(n_samples, -1, dtype=np.int32),
            fused=fused,
            partial_sums=np.zeros(partial_shape, dtype=dtype),
            partial_weights=np.zeros(partial_shape[:2], dtype=dtype),
            feature_ranges=ranges,
            order=np.zeros(n_grouped, dtype=np.int64),
            starts=np.zeros(n_clusters + 1 if n_grouped else 0, dtype=np.int64),
            sums=np.zeros((n_clusters, n_features), dtype=dtype),
            weights=np.zeros(n_clusters, dtype=dtype),
            shift=np.zeros(n_clusters, dtype=dtype),
        )


#: CSR sums go by feature range, one range a thread, while the sums
#: (``n_clusters x n_features`` values) fit this many bytes; past it the
#: scattered additions of a range miss the cache, where a task's one row of
#: sums (by cluster) stays in it (measured in docs/performance.md).
RANGE_SUMS_BYTES = 16 << 20


def sparse_feature_ranges(n_features: int, n_clusters: int, itemsize: int):
    """Feature boundaries for CSR sums by feature range, or an empty array for none.

    The choice follows the active thread count, which is safe: both ways to sum
    give the same bits (see :class:`Sweep`).
    """
    if n_clusters * n_features * itemsize > RANGE_SUMS_BYTES:
        return np.zeros(0, dtype=np.int64)
    n_ranges = max(1, min(numba.get_num_threads(), n_features))
    return np.arange(n_ranges + 1, dtype=np.int64) * n_features // n_ranges


def finish_centers(samples: Samples, sample_weight, centers_old, centers_new, sweep):
    """M-step after a sweep: reduce, relocate into empty clusters, average, shift.

    Parameters
    ----------
    samples : Samples
        The samples.
    sample_weight : ndarray, shape (n_samples,)
        Weight of each sample.
    centers_old : ndarray, shape (n_clusters, n_features)
        Centres the sweep assigned to.
    centers_new : ndarray, shape (n_clusters, n_features)
        OUT. The new centres.
    sweep : Sweep
        Buffers holding the sweep's labels (and partial sums, when fused).

    Returns
    -------
    relocated : bool
        Whether a sample was moved into an empty cluster.
    """
    if sweep.fused:
        reduce_partials(
            sweep.partial_sums, sweep.partial_weights, sweep.sums, sweep.weights
        )
    elif sweep.feature_ranges.size:
        accumulate_by_feature_range(
            samples.X,
            sample_weight,
            sweep.labels,
            sweep.feature_ranges,
            sweep.sums,
            sweep.weights,
        )
    else:
        group_by_label(sweep.labels, sweep.order, sweep.starts)
        accumulate_by_cluster(
            samples.X,
            samples.x_mean,
            sample_weight,
            sweep.order,
            sweep.starts,
            sweep.sums,
            sweep.weights,
        )
    relocated = _relocate_empty_clusters(samples, sample_weight, centers_old, sweep)
    average_centers(sweep.sums, sweep.weights, centers_new)
    center_shifts(centers_old, centers_new, sweep.shift)
    return relocated


def _relocate_empty_clusters(samples, sample_weight, centers_old, sweep):
    empty = np.flatnonzero(sweep.weights == 0)
    if empty.size == 0:
        return False
    centers_sq = squared_norms(centers_old)
    distances = np.empty(samples.shape[0], dtype=samples.dtype)
    distances_to_assigned(
        samples.X, samples.x_mean, centers_old, centers_sq, sweep.labels, distances
    )
    if distances.max() == 0:
        return False
    # np.argpartition, as sklearn uses, so the same far samples are chosen in the
    # same order.
    far = np.argpartition(distances, -empty.size)[: -empty.size - 1 : -1]
    move_samples_to_empty_clusters(
        samples.X,
        samples.x_mean,
        sample_weight,
        sweep.labels,
        far.astype(np.int64),
        empty.astype(np.int64),
        sweep.sums,
        sweep.weights,
    )
    return True


class Run(NamedTuple):
    """The result of one run from one set of initial centres."""

    labels: np.ndarray
    inertia: float
    centers: np.ndarray
    n_iter: int
    #: Whether ``labels`` came from ``assign_final`` against ``centers`` (so they
    #: equal ``predict``'s), rather than from the last iteration.
    labels_final: bool
    #: Per iteration, the fraction of sample-centre distances computed (bounded
    #: algorithms; ``None`` where not counted).
    distances_computed: np.ndarray | None = None


#: :func:`stop_reason` when no label changed.
STRICT = "strict"


def stop_reason(i, unchanged, shift, tol, verbose):
    """Whether iteration ``i`` ends a run, as scikit-learn decides it.

    Returns
    -------
    reason : str or None
        :data:`STRICT` when no label changed (``unchanged``), ``"tol"`` when the
        squared centre shifts ``shift`` total at most ``tol``, None to go on.
        With ``verbose``, the reason is printed in scikit-learn's words.
    """
    if unchanged:
        if verbose:
            print(f"Converged at iteration {i}: strict convergence.")
        return STRICT
    shift_total = float((shift**2).sum())
    if shift_total <= tol:
        if verbose:
            print(
                f"Converged at iteration {i}: center shift {shift_total} "
                f"within tolerance {tol}."
            )
        return "tol"
    return None


def run_em(
    step: Callable[[np.ndarray, np.ndarray], bool],
    sweep: Sweep,
    centers_init: np.ndarray,
    max_iter: int,
    tol: float,
    inertia: Callable[[np.ndarray, np.ndarray], float],
    assign_final: Callable[[np.ndarray], None],
    verbose: int = 0,
    sweeps_predict: bool = False,
) -> Run:
    """Iterate ``step`` until convergence, as sklearn's single runs do.

    Parameters
    ----------
    step : callable ``(centers, centers_new) -> relocated``
        One sweep from ``centers``: writes ``sweep.labels``, the new centres into
        ``centers_new`` and the shifts into ``sweep.shift``. Returns whether a
        sample was moved into an empty cluster.
    sweep : Sweep
        The run's buffers.
    centers_init : ndarray, shape (n_clusters, n_features)
        Initial centres (not modified).
    max_iter : int
        Most iterations.
    tol : float
        Absolute tolerance on the sum of squared centre shifts.
    inertia : callable ``(centers, labels) -> float``
        Inertia of an assignment.
    assign_final : callable ``(centers) -> None``
        The labels-only pass after a non-strict stop (or a relocation in the
        last iteration): writes ``sweep.labels`` as ``predict`` computes them.
    verbose : int
        Print the inertia of every iteration and why the run stopped.
    sweeps_predict : bool
        Whether a sweep's labels are ``predict``'s for the centres it was given
        (CSR samples, which are not centred, assigned by Lloyd's kernel or bit
        for bit as it). After a strict stop whose update gave back the same
        centres, the last labels are then ``predict``'s already, and the
        labels-only pass is skipped.

    Returns
    -------
    run : Run
    """
    centers = centers_init.copy()
    centers_new = np.zeros_like(centers)
    labels_old = np.full_like(sweep.labels, -1)
    strict_convergence = False
    relocated = False
    for i in range(max_iter):
        relocated = step(centers, centers_new)
        if verbose:
            print(f"Iteration {i}, inertia {inertia(centers, sweep.labels)}.")
        centers, centers_new = centers_new, centers
        unchanged = np.array_equal(sweep.labels, labels_old)
        stop = stop_reason(i, unchanged, sweep.shift, tol, verbose)
        if stop:
            strict_convergence = stop == STRICT
            break
        labels_old[:] = sweep.labels
    labels_final = not strict_convergence or relocated
    if labels_final:
        assign_final(centers)
    elif sweeps_predict and np.array_equal(centers, centers_new):
        labels_final = True  # swapped: centers_new holds the last sweep's
    inertia_run = inertia(centers, sweep.labels)
    return Run(sweep.labels, inertia_run, centers, i + 1, labels_final)


def run_sweeps(
    step,
    samples: Samples,
    sample_weight,
    sweep: Sweep,
    centers_init,
    max_iter,
    tol,
    verbose=0,
    lloyds_labels=False,
) -> Run:
    """:func:`run_em` with the inertia and the labels-only pass of ``samples``.

    The drivers' common tail: ``step`` as for :func:`run_em`; the inertia is
    :func:`nbkm._assign.inertia` and the labels-only pass ``predict``'s
    (:func:`nbkm._assign.predict_assigner`). ``lloyds_labels``: whether
    ``step`` labels as Lloyd's kernel does, bit for bit; on CSR samples (not
    centred) those labels are then ``predict``'s (``sweeps_predict``).
    """

    def run_inertia(centers, labels):
        return inertia(samples, sample_weight, centers, labels)

    assign_final = predict_assigner(samples, sweep.labels)
    return run_em(
        step,
        sweep,
        centers_init,
        max_iter,
        tol,
        run_inertia,
        assign_final,
        verbose,
        sweeps_predict=lloyds_labels and samples.is_sparse,
    )


def label_pairs(labels_a, labels_b, n_clusters):
    """Distinct ``(a, b)`` pairs of two labellings, coded ``a * n_clusters + b``."""
    return np.unique(labels_a.astype(np.int64) * n_clusters + labels_b)


def same_clustering(pairs, n_clusters):
    """Whether the coded label pairs of two labellings are one partition.

    As scikit-learn's ``_is_same_clustering``: each cluster of the first
    labelling meets one cluster of the second. ``pairs`` may be gathered from
    pieces of the labellings (duplicates are allowed).
    """
    pairs = np.unique(pairs)
    return np.unique(pairs // n_clusters).size == pairs.size


def best_of_runs(n_init, start, run, is_same_clustering, verbose=0):
    """Run ``n_init`` times and keep the best run, as scikit-learn does.

    Parameters
    ----------
    n_init : int
        Number of runs.
    start : callable
        ``start() -> centers_init``, the initial centres of the next run.
    run : callable
        ``run(centers_init) -> Run`` (or any result with ``inertia`` and
        ``labels``).
    is_same_clustering : callable
        ``is_same_clustering(labels_a, labels_b) -> bool``.
    verbose : int
        Print when each initialisation is done.

    Returns
    -------
    best : Run
        A run replaces the best so far only with a lower inertia and a
        different partition.
    """
    best = None
    for _ in range(n_init):
        centers_init = start()
        if verbose:
            print("Initialization complete")
        result = run(centers_init)
        if best is None or (
            result.inertia < best.inertia
            and not is_same_clustering(result.labels, best.labels)
        ):
            best = result
    return best
