"""One run of the bounded exact algorithms, Hamerly's and Yinyang's, dense or CSR.

Both give, for the same initial centres, the labels and iteration count of Lloyd's
algorithm (see ``nbkm._kernels._bounded`` for how the skip tests are padded), and
the same centres bit for bit when the labels are the same, while computing only
the sample-centre distances that the bounds cannot rule out.
"""

import time

import numpy as np

from nbkm._assign import (
    CenterViews,
    lloyd_sweep,
    squared_norms,
)
from nbkm._em import Sweep, finish_centers, run_sweeps
from nbkm._kernels._bounded import bounded_step_dense, centred_sq_norms
from nbkm._kernels._centers import least_gap_squares
from nbkm._kernels._pool import over_blocks
from nbkm._kernels._sparse_bounded import bounded_step_sparse, csr_sq_norms
from nbkm._samples import Samples

#: Iterations of k-means on the initial centres that form Yinyang's groups.
GROUPING_ITERATIONS = 5


#: Runs start with Lloyd's own sweep and keep no bounds while more than this
#: fraction of the labels changed in the last iteration: bounds prune little
#: then, and keeping them costs more than the distances they would save. The
#: first bounded sweep after it is a full one that sets every bound.
BOUNDS_AFTER_CHANGED = 0.05

#: A run goes back to Lloyd's sweep when its last two pruned sweeps took, on
#: average, more than this times its quickest Lloyd sweep (wall clock): both give
#: the same labels and sums, so the choice is about speed alone, and measuring it
#: follows the machine, the shape and the data where a rule on the fraction of
#: distances computed did not (on 1e5 x 16, k = 100, float32, once the argmin
#: was vectorised, Lloyd's whole fit beat Hamerly's on overlapping blobs, uniform
#: noise and digits: 0.61-0.82 of scikit-learn's time against 0.67-0.99, while
#: separated blobs still favoured the bounds, 0.49 against 0.80). The bounds are
#: tried again after ``RETRY_AFTER`` iterations, twice as many after each
#: further fallback: fits often prune better as they converge.
MAX_BOUNDED_TIME_RATIO = 1.0

#: Lloyd sweeps between a fallback and the next try of the bounds (doubling).
RETRY_AFTER = 8

#: Rows of the centre-to-centre distance matrix formed at a time (memory bound).
_GAP_ROWS = 512

#: Absolute rounding error of a float64 operation in the subnormal range: sums
#: of squares of tiny values lose up to this much a term, whatever their size.
_SQUARES_FLOOR = float(np.finfo(np.float64).smallest_subnormal)

#: Relative headroom of the bound on the centres' squared norms (``c2cap``).
_C2_MARGIN = 1.0 + 1e-6


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
    c = centers.astype(np.float64, copy=False)
    norms = squared_norms(c)
    margin = (2 * d + 8) * np.finfo(np.float64).eps
    floor = _SQUARES_FLOOR * (2 * d + 8)
    for start in range(0, k, _GAP_ROWS):
        stop = min(start + _GAP_ROWS, k)
        least_gap_squares(
            c[start:stop] @ c.T, norms, start, margin, floor, out[start:stop]
        )
    np.sqrt(np.maximum(out, 0.0), out=out)
    out *= 0.5 - 1e-15


#: Centres per Yinyang group. The paper's groups hold about 10 centres; here a
#: group's distances are one BLAS product over compacted rows, and groups of
#: about 32 are faster (measured in docs/performance.md).
CENTERS_PER_GROUP = 32


def yinyang_groups(n_clusters: int) -> int:
    """Return the number of centre groups of Yinyang's algorithm."""
    return max(1, n_clusters // CENTERS_PER_GROUP)


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
    c_sq = squared_norms(c)
    seeds = c[np.linspace(0, k - 1, n_groups).astype(np.int64)]
    group_of = np.zeros(k, dtype=np.int64)
    for _ in range(GROUPING_ITERATIONS):
        # ||c - s||^2 through one product: memory k x G, never k x G x d (the
        # groups only steer the pruning, so their rounding does not matter).
        sq = c_sq[:, None] - 2.0 * (c @ seeds.T) + squared_norms(seeds)
        group_of = np.argmin(sq, axis=1)
        for g in range(n_groups):
            members = group_of == g
            if members.any():
                seeds[g] = c[members].mean(axis=0)
    # Renumber the non-empty groups 0 .. G - 1, in order of first appearance.
    _, group_of = np.unique(group_of, return_inverse=True)
    return group_of.astype(np.int64)


class SweepChoice:
    """Which sweep a run takes next, Lloyd's or the bounded one: a speed policy.

    Both sweeps give the same labels and sums, so the choice is about time
    alone. A run starts with Lloyd's sweep and keeps no bounds while more than
    ``BOUNDS_AFTER_CHANGED`` of the labels changed in the last iteration; once
    the bounds are in use, two pruned sweeps that took on average more than
    ``MAX_BOUNDED_TIME_RATIO`` times the quickest Lloyd sweep send the run back
    to Lloyd's sweep for ``RETRY_AFTER`` sweeps, twice as many after each
    further fallback. Plain Python, driven by what the sweeps report.

    Parameters
    ----------
    adaptive : bool
        False keeps the bounded sweep from the first call on.

    Attributes
    ----------
    bounded : bool
        Whether the next sweep is the bounded one.
    lloyd_seconds : float
        Wall time of the run's quickest Lloyd sweep.
    pruned : list of float
        Wall times of the last two pruned sweeps since the bounds were set.
    lloyd_sweeps_left, retry_after : int
        After a fallback, Lloyd sweeps still to run before the bounds are tried
        again, and how many the next fallback will ask for.
    """

    def __init__(self, adaptive: bool = True):
        self.adaptive = adaptive
        self.bounded = not adaptive
        self.lloyd_seconds = np.inf
        self.pruned: list[float] = []
        self.lloyd_sweeps_left = 0
        self.retry_after = RETRY_AFTER

    def after_lloyd(self, seconds: float, changed_fraction: float) -> None:
        """Note a Lloyd sweep; take the bounds once the labels have settled."""
        self.lloyd_seconds = min(self.lloyd_seconds, seconds)
        self.lloyd_sweeps_left -= 1
        settled = changed_fraction < BOUNDS_AFTER_CHANGED
        if settled and self.lloyd_sweeps_left <= 0:
            self.bounded = True

    def after_bounded(self, seconds: float, first: bool) -> bool:
        """Note a bounded sweep; return whether the run falls back to Lloyd's."""
        self.pruned = [] if first else self.pruned[-1:] + [seconds]
        slow = sum(self.pruned) > 2 * MAX_BOUNDED_TIME_RATIO * self.lloyd_seconds
        if self.adaptive and len(self.pruned) == 2 and slow:
            self.bounded = False
            self.lloyd_sweeps_left = self.retry_after
            self.retry_after *= 2
            return True
        return False


class BoundedSweep:
    """The bounds of one run, and the sweep that uses and keeps them.

    Parameters
    ----------
    samples : Samples
        Dense or CSR samples.
    sample_weight : ndarray, shape (n_samples,), same dtype as the samples
        Weight of each sample.
    centers_init : ndarray, shape (n_clusters, n_features)
        Initial centres (they decide Yinyang's groups).
    n_groups : int
        Centre groups wanted (1: Hamerly).
    sweep : nbkm._em.Sweep
        The run's buffers: labels and partial sums.
    adaptive : bool, default=True
        Let a :class:`SweepChoice` pick Lloyd's sweep where it is quicker;
        False keeps bounds from the first sweep on.

    Attributes
    ----------
    upper, lower, glob : ndarray of float64
        The bounds in drift coordinates, shapes (n_samples,),
        (n_samples, n_groups) and (n_samples,); :meth:`read_bounds` reads them.
    cum, drift, drift_all : ndarray of float64 (n_clusters,), (n_groups,), float
        Running totals of movement: per centre, per group the largest, and the
        largest of all.
    c2cap : float
        Bound on every centre's squared norm while the bounds live (the pads
        depend on it); centres beyond it reset the bounds.
    fractions : list of float
        Fraction of the distances computed, per sweep.
    bounds_ready : bool
        Whether the bounds are set (if not, the next bounded sweep is a full
        one that sets them).
    sums_valid : bool
        Whether the sweep's partial sums are those of the current labels.
    choice : SweepChoice
        Which sweep runs next.
    """

    def __init__(
        self, samples, sample_weight, centers_init, n_groups, sweep, adaptive=True
    ):
        n_samples, n_features = samples.shape
        n_clusters = centers_init.shape[0]
        dtype = samples.dtype
        self.samples, self.sample_weight, self.sweep = samples, sample_weight, sweep
        self.group_of = center_groups(centers_init, n_groups)
        self.perm = np.argsort(self.group_of, kind="stable").astype(np.int64)
        self.position = np.argsort(self.perm).astype(np.int64)
        n_groups = self.n_groups = int(self.group_of.max()) + 1
        self.group_starts = np.searchsorted(
            self.group_of[self.perm], np.arange(n_groups + 1)
        ).astype(np.int64)
        self.x_sq = np.empty(n_samples)
        if samples.is_sparse:
            csr_sq_norms(samples.X, self.x_sq)
        else:
            centred_sq_norms(samples.X, samples.x_mean, self.x_sq)
        self.upper = np.zeros(n_samples)
        self.lower = np.zeros((n_samples, n_groups))
        self.glob = np.zeros(n_samples)
        self.computed = np.zeros(sweep.bounds.shape[0] - 1, dtype=np.int64)
        self.centers_sq = np.empty(n_clusters, dtype=dtype)
        self.group_t = np.empty(n_features * n_clusters, dtype=dtype)
        self.half_gap = np.empty(n_clusters)
        self.cum = np.zeros(n_clusters)
        self.drift = np.zeros(n_groups)
        self.drift_all = 0.0
        # Bound on the rounding error of one computed ||c||^2 - 2 x.c, relative
        # to ||x||^2 + max ||c||^2 (see nbkm._kernels._bounded).
        self.pad_factor = (2 * n_features + 4) * float(np.finfo(dtype).eps) / 2
        # Rounding in the subnormal range is absolute: each of the value's
        # operations may lose up to a smallest subnormal, however tiny the data.
        tiniest = float(np.finfo(dtype).smallest_subnormal)
        self.pad_floor = (4 * n_features + 16) * tiniest
        # Centres are means of samples (or samples), so their norms stay below
        # the samples' largest; initial centres may lie beyond it.
        self.c2cap = float(self.x_sq.max(initial=0.0)) * _C2_MARGIN
        self.bounds_at = np.zeros(centers_init.shape)
        self.fractions = []
        self.choice = SweepChoice(adaptive)
        self.bounds_ready = False
        self.sums_valid = False
        self.labels_before = np.full(n_samples, -1, dtype=np.int32)
        self.lloyd_views = CenterViews(n_clusters, n_features, dtype)

    def assign(self, centers):
        """Assign every sample to ``centers`` (and accumulate the sums, if fused).

        Any centres may follow any others: the bounds are moved by how far each
        centre moved since the last call.
        """
        start = time.perf_counter()
        if not self.choice.bounded:
            changed = self._lloyd_sweep(centers)
            self.choice.after_lloyd(time.perf_counter() - start, changed)
            return
        first = self._bounded_sweep(centers)
        if self.choice.after_bounded(time.perf_counter() - start, first):
            self.bounds_ready = False  # set afresh by the next bounded sweep

    def read_bounds(self):
        """Return the bounds as distances, ``(upper, lower, glob)``, drift removed.

        ``upper`` includes the near-tie margin folded into it.
        """
        upper = self.upper + self.cum[self.sweep.labels]
        return upper, self.lower - self.drift, self.glob - self.drift_all

    def _move_bounds(self, centers):
        """Add how far each centre moved since the last bounded sweep to the totals."""
        n_features = centers.shape[1]
        moved = centers.astype(np.float64, copy=False) - self.bounds_at
        moved_sq = squared_norms(moved) + _SQUARES_FLOOR * n_features
        shift = np.sqrt(moved_sq) * (1 + 1e-12)
        self.cum += shift
        self.cum *= 1 + 1e-15  # each addition rounded up
        self.drift += np.maximum.reduceat(shift[self.perm], self.group_starts[:-1])
        self.drift *= 1 + 1e-15
        self.drift_all = (self.drift_all + float(shift.max())) * (1 + 1e-15)

    def _bounded_sweep(self, centers):
        """Run the bounded sweep; return whether it was a first, full one."""
        if self.samples.is_sparse:  # the CSR kernel reads no transposed centres
            lloyd_sq = squared_norms(centers)
        else:
            lloyd_sq = self.lloyd_views.update(centers).sq
        c2 = float(lloyd_sq.max())
        if c2 > self.c2cap:
            self.c2cap = c2 * _C2_MARGIN
            self.bounds_ready = False
        first = not self.bounds_ready
        self.bounds_ready = True
        n_features = centers.shape[1]
        # One copy each, as the centres can be wide (CSR vocabularies).
        permuted = centers if self.n_groups == 1 else centers[self.perm]
        self.centers_sq[:] = lloyd_sq[self.perm]  # Lloyd's bits
        starts = self.group_starts
        for g in range(starts.shape[0] - 1):
            s, e = starts[g], starts[g + 1]
            block = self.group_t[n_features * s : n_features * e]
            np.copyto(block.reshape(n_features, e - s), permuted[s:e].T)
        half_gaps(centers, self.half_gap)
        if not first:
            self._move_bounds(centers)
        samples, sweep = self.samples, self.sweep
        state = (sweep.labels, self.upper, self.lower, self.glob)
        if samples.is_sparse:
            self._sparse_step(centers, first, state)
        else:
            self._dense_step(centers, permuted, first, state)
        self.sums_valid = sweep.fused
        self.bounds_at[:] = centers
        n_pairs = sweep.labels.shape[0] * centers.shape[0]
        self.fractions.append(self.computed.sum() / n_pairs)
        return first

    def _sparse_step(self, centers, first, state):
        """Run the bounded E-step over CSR samples (the sums are taken afterwards)."""
        over_blocks(
            bounded_step_sparse,
            self.sweep.bounds.shape[0] - 1,
            self.samples.X,
            self.x_sq,
            (
                centers,
                self.centers_sq,
                self.group_t,
                self.perm,
                self.group_starts,
                self.group_of,
                self.half_gap,
                self.position,
            ),
            (self.cum, self.drift, self.drift_all),
            (self.pad_factor, self.pad_floor, self.c2cap),
            state,
            first,
            self.sweep.bounds,
            self.computed,
        )

    def _dense_step(self, centers, permuted, first, state):
        """Run the bounded E-step over dense samples, fused with the sums."""
        samples, sweep, lloyd = self.samples, self.sweep, self.lloyd_views
        over_blocks(
            bounded_step_dense,
            sweep.bounds.shape[0] - 1,
            (samples.X, samples.x_mean, self.x_sq),
            self.sample_weight,
            (
                centers,
                self.centers_sq,
                self.group_t,
                lloyd.t,
                self.perm,
                self.group_starts,
                self.group_of,
                self.half_gap,
                self.position,
                permuted,
            ),
            (self.cum, self.drift, self.drift_all),
            (self.pad_factor, self.pad_floor, self.c2cap),
            state,
            first,
            sweep.bounds,
            sweep.partial_sums,
            sweep.partial_weights,
            self.computed,
            sweep.fused,
            self.sums_valid,
        )

    def _lloyd_sweep(self, centers):
        """Run Lloyd's fused sweep (same labels, sums); return the changed fraction."""
        sweep = self.sweep
        partials = (sweep.partial_sums, sweep.partial_weights) if sweep.fused else None
        lloyd_sweep(
            self.samples,
            self.sample_weight,
            self.lloyd_views.update(centers),
            sweep.labels,
            sweep.bounds,
            partials,
        )
        self.sums_valid = sweep.fused
        self.fractions.append(1.0)
        changed = np.count_nonzero(sweep.labels != self.labels_before)
        self.labels_before[:] = sweep.labels
        return changed / sweep.labels.shape[0]


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
    ``n_groups`` (1: Hamerly; ``k // CENTERS_PER_GROUP``: Yinyang). The run's
    ``distances_computed`` holds, per iteration, the fraction of the
    ``n_samples * n_clusters`` distances that were computed. Memory beyond
    Lloyd's: ``n_samples * (n_groups + 2)`` float64 bounds.
    """
    sweep = Sweep.allocate(samples, centers_init.shape[0])
    bounded = BoundedSweep(samples, sample_weight, centers_init, n_groups, sweep)

    def step(centers, centers_new):
        bounded.assign(centers)
        return finish_centers(samples, sample_weight, centers, centers_new, sweep)

    run = run_sweeps(
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
    return run._replace(distances_computed=np.array(bounded.fractions))


def hamerly_single(samples, sample_weight, centers_init, max_iter, tol, verbose=0):
    """Hamerly's algorithm: two bounds a sample (see :func:`bounded_single`)."""
    return bounded_single(
        samples, sample_weight, centers_init, max_iter, tol, verbose, n_groups=1
    )


def yinyang_single(samples, sample_weight, centers_init, max_iter, tol, verbose=0):
    """Yinyang's algorithm: a bound per group of ``CENTERS_PER_GROUP`` centres."""
    n_groups = yinyang_groups(centers_init.shape[0])
    return bounded_single(
        samples, sample_weight, centers_init, max_iter, tol, verbose, n_groups=n_groups
    )
