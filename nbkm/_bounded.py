"""One run of the bounded exact algorithms, Hamerly's and Yinyang's, on dense samples.

Both give, for the same initial centres, the labels and iteration count of Lloyd's
algorithm (see ``nbkm._kernels._bounded`` for how the skip tests are padded), and
the same centres bit for bit when the labels are the same, while computing only
the sample-centre distances that the bounds cannot rule out.
"""

import numpy as np

from nbkm import _kernels as K
from nbkm._em import Sweep, finish_centers, run_em
from nbkm._kernels._bounded import bounded_step_dense, centred_sq_norms
from nbkm._lloyd import inertia, predict_assigner
from nbkm._samples import Samples

#: Iterations of k-means on the initial centres that form Yinyang's groups.
GROUPING_ITERATIONS = 5


#: Rows of the centre-to-centre distance matrix formed at a time (memory bound).
_GAP_ROWS = 512


def half_gaps(centers: np.ndarray, out: np.ndarray) -> None:
    """Half the distance from each centre to its nearest other centre, rounded down.

    From the float64 Gram matrix (BLAS), ``rows`` centres at a time; the squared
    distances are lowered by a bound on their rounding error before the root.

    Parameters
    ----------
    centers : ndarray, shape (n_clusters, n_features)
        The centres.
    out : ndarray of float64, shape (n_clusters,)
        OUT. ``min_{j != a} ||c_a - c_j|| / 2`` (0 for a single centre).
    """
    k, d = centers.shape
    if k == 1:
        out[0] = 0.0
        return
    c = centers.astype(np.float64)
    norms = np.einsum("ij,ij->i", c, c)
    err = (2 * d + 8) * np.finfo(np.float64).eps
    for start in range(0, k, _GAP_ROWS):
        stop = min(start + _GAP_ROWS, k)
        sq = norms[start:stop, None] + norms[None, :] - 2.0 * (c[start:stop] @ c.T)
        sq -= err * (norms[start:stop, None] + norms[None, :])
        sq[np.arange(stop - start), np.arange(start, stop)] = np.inf
        out[start:stop] = np.sqrt(np.maximum(sq.min(axis=1), 0.0)) * (0.5 - 1e-15)


def yinyang_groups(n_clusters: int) -> int:
    """Return the number of centre groups of Yinyang's algorithm (about k / 10)."""
    return max(1, n_clusters // 10)


def center_groups(centers: np.ndarray, n_groups: int) -> np.ndarray:
    """Group the centres by a few iterations of k-means on the centres themselves.

    Parameters
    ----------
    centers : ndarray, shape (n_clusters, n_features)
        The initial centres.
    n_groups : int
        Number of groups wanted.

    Returns
    -------
    group_of : ndarray of int64, shape (n_clusters,)
        Group of each centre, ``0 .. G - 1`` with every group non-empty
        (``G <= n_groups``). Deterministic: the seeds are evenly spaced centres.
    """
    k = centers.shape[0]
    if n_groups <= 1:
        return np.zeros(k, dtype=np.int64)
    c = centers.astype(np.float64)
    seeds = c[np.linspace(0, k - 1, n_groups).astype(np.int64)]
    group_of = np.zeros(k, dtype=np.int64)
    for _ in range(GROUPING_ITERATIONS):
        sq = ((c[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
        group_of = np.argmin(sq, axis=1)
        for g in range(n_groups):
            members = group_of == g
            if members.any():
                seeds[g] = c[members].mean(axis=0)
    # Renumber the non-empty groups 0 .. G - 1, in order of first appearance.
    _, group_of = np.unique(group_of, return_inverse=True)
    return group_of.astype(np.int64)


def bounded_single(
    samples: Samples,
    sample_weight,
    centers_init,
    max_iter,
    tol,
    verbose=0,
    *,
    n_groups: int,
):
    """One run of the bounded algorithm with ``n_groups`` centre groups.

    Takes and returns the same as :func:`nbkm._lloyd.lloyd_single`, plus
    ``n_groups`` (1: Hamerly; about ``k / 10``: Yinyang). The returned run's
    ``distances_computed`` holds, per iteration, the fraction of the
    ``n_samples * n_clusters`` distances that were computed. Memory beyond
    Lloyd's: ``n_samples * (n_groups + 1)`` float64 bounds.
    """
    n_samples, n_features = samples.shape
    n_clusters = centers_init.shape[0]
    dtype = samples.dtype
    group_of = center_groups(centers_init, n_groups)
    perm = np.argsort(group_of, kind="stable").astype(np.int64)
    n_groups = int(group_of.max()) + 1
    group_starts = np.searchsorted(group_of[perm], np.arange(n_groups + 1)).astype(
        np.int64
    )
    sweep = Sweep.allocate(samples, n_clusters)
    x_sq = np.empty(n_samples)
    centred_sq_norms(samples.X, samples.x_mean, x_sq)
    upper = np.zeros(n_samples)
    lower = np.zeros((n_samples, n_groups))
    glob = np.zeros(n_samples)
    computed = np.zeros(sweep.bounds.shape[0] - 1, dtype=np.int64)
    centers_t = np.empty((n_features, n_clusters), dtype=dtype)
    centers_sq = np.empty(n_clusters, dtype=dtype)
    group_t = np.empty(n_features * n_clusters, dtype=dtype)
    half_gap = np.empty(n_clusters)
    shift = np.zeros(n_clusters)
    # Totals of the largest shift per group and of any centre over past steps:
    # lower bounds are stored against them (see nbkm._kernels._bounded).
    drift = np.zeros(n_groups)
    drift_all = 0.0
    # Bound on the rounding error of one computed ||c||^2 - 2 x.c, relative to
    # ||x||^2 + max ||c||^2 (see nbkm._kernels._bounded).
    pad_factor = (2 * n_features + 4) * float(np.finfo(dtype).eps) / 2
    bounds_at = np.zeros_like(centers_init, dtype=np.float64)
    fractions = []

    def step(centers, centers_new):
        nonlocal drift_all
        first = not fractions
        permuted = np.ascontiguousarray(centers[perm])
        K.prepare_centers(permuted, centers_t, centers_sq)
        for g in range(n_groups):
            s, e = group_starts[g], group_starts[g + 1]
            group_t[n_features * s : n_features * e] = permuted[s:e].T.ravel()
        half_gaps(centers, half_gap)
        if not first:
            # How far each centre moved since the bounds were last set, in
            # float64 and rounded up.
            moved = centers.astype(np.float64) - bounds_at
            shift[:] = np.sqrt(np.einsum("ij,ij->i", moved, moved)) * (1 + 1e-12)
            drift[:] += np.maximum.reduceat(shift[perm], group_starts[:-1])
            drift_all += float(shift.max())
        bounded_step_dense(
            samples.X,
            samples.x_mean,
            x_sq,
            sample_weight,
            centers,
            permuted,
            centers_t,
            centers_sq,
            group_t,
            perm,
            group_starts,
            group_of,
            half_gap,
            shift,
            drift,
            drift_all,
            pad_factor,
            first,
            upper,
            lower,
            glob,
            sweep.labels,
            sweep.bounds,
            sweep.partial_sums,
            sweep.partial_weights,
            computed,
            sweep.fused,
        )
        bounds_at[:] = centers
        fractions.append(computed.sum() / (n_samples * n_clusters))
        return finish_centers(samples, sample_weight, centers, centers_new, sweep)

    def run_inertia(centers, labels):
        return inertia(samples, sample_weight, centers, labels)

    assign_final = predict_assigner(samples, sweep.labels)
    run = run_em(
        step, sweep, centers_init, max_iter, tol, run_inertia, assign_final, verbose
    )
    return run._replace(distances_computed=np.array(fractions))


def hamerly_single(samples, sample_weight, centers_init, max_iter, tol, verbose=0):
    """Hamerly's algorithm: two bounds a sample (see :func:`bounded_single`)."""
    return bounded_single(
        samples, sample_weight, centers_init, max_iter, tol, verbose, n_groups=1
    )


def yinyang_single(samples, sample_weight, centers_init, max_iter, tol, verbose=0):
    """Yinyang's algorithm: a bound per group of about 10 centres."""
    n_groups = yinyang_groups(centers_init.shape[0])
    return bounded_single(
        samples, sample_weight, centers_init, max_iter, tol, verbose, n_groups=n_groups
    )
