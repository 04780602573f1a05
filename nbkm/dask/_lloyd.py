"""Lloyd's iterations on the cluster: one round trip per iteration.

The client mirrors ``nbkm._em.run_em`` and ``finish_centers`` step for step: the
workers run the fused sweep on their chunks (one task a worker, for all the
chunks it holds) and send back per-block partial sums;
the client reduces them in global block order (``reduce_partials``), relocates
far samples into empty clusters, averages and measures the shifts with the same
kernels. Labels stay on the workers. Centres travel as task arguments, so a task
lost with a worker is recomputed from its own arguments.
"""

from typing import NamedTuple

import numpy as np

from nbkm import _kernels as K
from nbkm._em import STRICT, stop_reason
from nbkm._kernels._blocks import PARTIAL_SUMS_BUDGET
from nbkm.dask import _tasks as T


class DaskRun(NamedTuple):
    """One run's result; ``labels`` are futures, one per chunk."""

    labels: list
    inertia: float
    centers: np.ndarray
    n_iter: int
    labels_final: bool


def inertia(pieces, centers, labels, x_mean, n_threads=None):
    """``nbkm._assign.inertia`` by chunk: distances, per-block sums, one fold."""
    partials = pieces.gather(
        pieces.map(
            T.inertia_partials,
            pieces.x,
            pieces.w,
            labels,
            x_mean=x_mean,
            centers=centers,
            rows=pieces.rows,
            n_threads=n_threads,
        )
    )
    return float(pieces.fold(partials))


def assign(pieces, centers, labels_old=None, n_threads=None):
    """Labels as ``predict`` computes them; returns (label futures, n_changed)."""
    olds = labels_old if labels_old is not None else [None] * pieces.n_chunks
    results = pieces.map(
        T.assign, pieces.x, olds, centers=centers, rows=pieces.rows, n_threads=n_threads
    )
    labels = pieces.map(T.first_of, results)
    n_changed = sum(pieces.gather(pieces.map(T.second_of, results)))
    return labels, n_changed


def _relocate(pieces, centers_old, steps, where, sums, weights, n_threads):
    """``nbkm._em._relocate_empty_clusters`` with per-chunk far candidates.

    Each chunk proposes its ``m`` farthest samples; the client picks the global
    ``m`` among them with ``np.argpartition`` as nbkm does. ``steps`` are the
    groups' sweep results and ``where[i]`` is chunk ``i``'s (group, position)
    in them. The chosen samples
    are nbkm's unless several share the m-th largest distance; with three or
    more empty clusters, argpartition's order (which sample goes to which empty
    cluster) may differ from the single machine's (see ``docs/dask.md``).
    """
    empty = np.flatnonzero(weights == 0)
    if empty.size == 0:
        return False
    m = empty.size
    found = pieces.gather(
        [
            pieces.client.submit(
                T.far_samples,
                x,
                w,
                pieces.x_mean,
                centers_old,
                steps[group],
                position,
                int(offset),
                m,
                n_threads,
            )
            for x, w, (group, position), offset in zip(
                pieces.x, pieces.w, where, pieces.offsets[:-1], strict=True
            )
        ]
    )
    if max(f[0] for f in found) == 0:
        return False
    dist = np.concatenate([f[2] for f in found])
    far = np.argpartition(dist, -m)[: -m - 1 : -1]
    rows = np.ascontiguousarray(np.concatenate([f[3] for f in found])[far])
    w = np.ascontiguousarray(np.concatenate([f[4] for f in found])[far])
    labels = np.ascontiguousarray(np.concatenate([f[5] for f in found])[far])
    K.move_samples_to_empty_clusters(
        rows,
        pieces.x_mean,
        w,
        labels,
        np.arange(m, dtype=np.int64),
        empty.astype(np.int64),
        sums,
        weights,
    )
    return True


def _labels(pieces, steps, where):
    """One labels future a chunk, taken from the groups' sweep results."""
    return [
        pieces.client.submit(T.labels_of, steps[group], position)
        for group, position in where
    ]


def _check_partial_sums_fit(pieces, n_clusters, n_features):
    """Raise ``ValueError`` when per-block partial sums exceed their budget."""
    if not K.fits_partial_sums(
        -(-pieces.n_samples // pieces.rows), n_clusters, n_features
    ):
        raise ValueError(
            f"nbkm.dask.KMeans needs per-block partial sums, and n_clusters="
            f"{n_clusters} x n_features={n_features} is too wide for them "
            f"(more than {PARTIAL_SUMS_BUDGET} values). Use fewer "
            "clusters or features, or nbkm.KMeans on one machine."
        )


def _chunk_places(groups, n_chunks):
    """``(group, position)`` of each chunk in the per-worker ``groups``."""
    where = [None] * n_chunks
    for g, group in enumerate(groups):
        for position, c in enumerate(group):
            where[c] = (g, position)
    return where


def _submit_sweeps(pieces, groups, previous, centers, n_threads):
    """Submit one Lloyd sweep of every worker's chunks; return their futures."""
    return [
        pieces.client.submit(
            T.lloyd_steps,
            [pieces.x[c] for c in group],
            [pieces.w[c] for c in group],
            before,
            x_mean=pieces.x_mean,
            centers=centers,
            rows=pieces.rows,
            n_threads=n_threads,
        )
        for group, before in zip(groups, previous, strict=True)
    ]


def lloyd_run(pieces, centers_init, max_iter, tol, verbose=0, n_threads=None):
    """One run of Lloyd's algorithm on the cluster (``nbkm._lloyd.lloyd_single``).

    Parameters
    ----------
    pieces : nbkm.dask._pieces.Pieces
        The data.
    centers_init : ndarray of shape (n_clusters, n_features)
        Initial centres in the centred frame; not modified.
    max_iter : int
        Most iterations.
    tol : float
        Absolute tolerance on the sum of squared shifts.
    verbose : int
        Print the inertia of each iteration.
    n_threads : int or None
        Numba threads of each task (None: the worker's ``NUMBA_NUM_THREADS``).

    Returns
    -------
    run : DaskRun
    """
    n_clusters, n_features = centers_init.shape
    _check_partial_sums_fit(pieces, n_clusters, n_features)
    dtype = pieces.dtype
    centers = centers_init.copy()
    centers_new = np.zeros_like(centers)
    sums = np.zeros((n_clusters, n_features), dtype=dtype)
    weights = np.zeros(n_clusters, dtype=dtype)
    shift = np.zeros(n_clusters, dtype=dtype)
    groups = pieces.by_worker()
    where = _chunk_places(groups, pieces.n_chunks)
    previous = [None] * len(groups)
    strict_convergence = False
    relocated = False
    for i in range(max_iter):
        steps = _submit_sweeps(pieces, groups, previous, centers, n_threads)
        by_group = pieces.gather(
            [pieces.client.submit(T.partials_of, s) for s in steps]
        )
        parts = [by_group[g][p] for g, p in where]
        K.reduce_partials(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            sums,
            weights,
        )
        n_changed = sum(p[2] for p in parts)
        relocated = _relocate(pieces, centers, steps, where, sums, weights, n_threads)
        K.average_centers(sums, weights, centers_new)
        K.center_shifts(centers, centers_new, shift)
        if verbose:
            value = inertia(
                pieces, centers, _labels(pieces, steps, where), pieces.x_mean, n_threads
            )
            print(f"Iteration {i}, inertia {value}.")
        centers, centers_new = centers_new, centers
        stop = stop_reason(i, n_changed == 0, shift, tol, verbose)
        if stop:
            strict_convergence = stop == STRICT
            break
        previous = steps
    labels_final = not strict_convergence or relocated
    if labels_final:
        labels, _ = assign(pieces, centers + pieces.x_mean, None, n_threads)
    else:
        labels = _labels(pieces, steps, where)
    value = inertia(pieces, centers, labels, pieces.x_mean, n_threads)
    return DaskRun(labels, value, centers, i + 1, labels_final)
