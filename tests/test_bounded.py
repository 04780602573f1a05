"""Hamerly's and Yinyang's bounded algorithms: bounds, labels, and Lloyd's result.

The kernel is checked against plain NumPy (tests/naive.py): its labels after
arbitrary centre moves, and the bounds it keeps (every bound must hold for the true
distances). The runs are checked against nbkm's Lloyd, which they must equal bit
for bit (same labels, so the same sums in the same order), and, in
tests/test_estimator.py, against scikit-learn's lloyd.
"""

import naive
import numpy as np
import pytest
import scipy.sparse as sp
from data import make_blobs_data
from numpy.testing import assert_allclose, assert_array_equal

import nbkm._bounded
from nbkm import KMeans
from nbkm._auto import (
    HAMERLY_MAX_CLUSTERS,
    MIN_BOUNDED_CLUSTERS,
    MIN_BOUNDED_SAMPLES,
    choose_algorithm,
)
from nbkm._bounded import (
    BoundedSweep,
    center_groups,
    half_gaps,
    hamerly_single,
    yinyang_single,
)
from nbkm._em import Sweep
from nbkm._kernels._centers import least_gap_squares
from nbkm._lloyd import lloyd_single
from nbkm._samples import Samples
from nbkm._threads import numba_threads

RUNS = {"hamerly": hamerly_single, "yinyang": yinyang_single}
LAYOUTS = ["dense", "csr"]


def _as_layout(X, layout, rng):
    """``X`` itself, or as CSR with about half its values zeroed (on a copy)."""
    if layout == "dense":
        return X
    X = X.copy()
    X[rng.uniform(size=X.shape) < 0.5] = 0
    return sp.csr_matrix(X)


def _run(run_single, X, centers, w=None, max_iter=300, tol=0.0, n_threads=2):
    samples = Samples.of(X, centre=True)
    w = np.ones(X.shape[0], X.dtype) if w is None else w.astype(X.dtype)
    with numba_threads(n_threads):
        return run_single(samples, w, centers - samples.x_mean, max_iter, tol)


def _dense_rows(X, rows):
    """Rows of ``X`` as a dense array (initial centres)."""
    return X[rows].toarray() if sp.issparse(X) else X[rows]


def _assert_bitwise_same_run(a, b):
    assert_array_equal(a.labels, b.labels)
    assert a.n_iter == b.n_iter
    assert_array_equal(a.centers, b.centers)
    assert a.inertia == b.inertia


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n_groups", [1, 3, 7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_labels_and_bounds_hold_after_arbitrary_centre_moves(
    dtype, n_groups, layout, rng
):
    n, d, k = 1500, 6, 21
    X = _as_layout(make_blobs_data(rng, n, d, 8, dtype=dtype, std=2.0), layout, rng)
    samples = Samples.of(X, centre=True)
    dense = X.toarray() if sp.issparse(X) else X
    xc = (dense - samples.x_mean).astype(dtype)
    centers = xc[rng.choice(n, k, replace=False)].copy()
    sweep = Sweep.allocate(samples, k)
    bounded = BoundedSweep(
        samples, np.ones(n, dtype), centers, n_groups, sweep, adaptive=False
    )
    group_of = bounded.group_of
    for step in range(8):
        with numba_threads(2):
            bounded.assign(centers)
        dist = np.sqrt(naive.sq_distances(xc, centers))
        # Labels: the nearest centre (continuous data: no ties at this precision).
        assert_array_equal(sweep.labels, dist.argmin(axis=1))
        # Bounds: upper above the true distance, every stored lower bound (read
        # back against the drift) below the true distance to its group's others.
        rows = np.arange(n)
        upper, lower, glob = bounded.read_bounds()
        assert np.all(upper >= dist[rows, sweep.labels])
        others = dist.copy()
        others[rows, sweep.labels] = np.inf
        for g in range(bounded.drift.shape[0]):
            in_group = others[:, group_of == g].min(axis=1)
            assert np.all(lower[:, g] <= in_group + 1e-9)
        assert np.all(glob <= others.min(axis=1) + 1e-9)
        # Small moves (the bounds must prune) and, every third step, one big jump
        # (a relocation: the bounds must widen, not lie).
        centers = centers + rng.normal(scale=0.05, size=centers.shape).astype(dtype)
        if step % 3 == 2:
            centers[step % k] = xc[rng.integers(n)]
    assert min(bounded.fractions[1:]) < 0.5  # the bounds did prune


@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [3, 25, 60])
@pytest.mark.parametrize("bounds_from", ["second sweep", "settled labels"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_runs_equal_nbkm_lloyd_bitwise(
    algorithm, dtype, weighted, k, bounds_from, layout, rng, monkeypatch
):
    if bounds_from == "second sweep":  # keep bounds from the second sweep on
        monkeypatch.setattr(nbkm._bounded, "BOUNDS_AFTER_CHANGED", 2.0)
        monkeypatch.setattr(nbkm._bounded, "MAX_BOUNDED_TIME_RATIO", np.inf)
    X = make_blobs_data(rng, 4000, 8, 12, dtype=dtype, std=1.5)
    X = _as_layout(X, layout, rng)
    w = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    init = _dense_rows(X, rng.choice(X.shape[0], k, replace=False))
    ours = _run(RUNS[algorithm], X, init, w, tol=1e-6)
    ref = _run(lloyd_single, X, init, w, tol=1e-6)
    _assert_bitwise_same_run(ours, ref)
    assert ours.n_iter > 2
    assert ours.distances_computed.shape == (ours.n_iter,)
    assert ours.distances_computed[0] == 1.0  # Lloyd's sweep
    if bounds_from == "second sweep":
        # Then the bounds skip most distances on blobs.
        assert ours.distances_computed[1] >= 1.0  # the full sweep sets them
        assert ours.distances_computed[-1] < 0.5


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
def test_poor_pruning_falls_back_to_lloyd_and_retries(
    algorithm, layout, rng, monkeypatch
):
    # A zero time ratio makes every second pruned sweep fall back, so the run
    # alternates: Lloyd sweeps, a full bounded sweep (fraction 1), two pruned
    # sweeps, then Lloyd again for twice as many sweeps. The result must stay
    # Lloyd's, bit for bit.
    monkeypatch.setattr(nbkm._bounded, "BOUNDS_AFTER_CHANGED", 2.0)
    monkeypatch.setattr(nbkm._bounded, "MAX_BOUNDED_TIME_RATIO", 0.0)
    monkeypatch.setattr(nbkm._bounded, "RETRY_AFTER", 2)
    X = _as_layout(rng.uniform(size=(3000, 5)), layout, rng)
    init = _dense_rows(X, rng.choice(X.shape[0], 40, replace=False))
    ours = _run(RUNS[algorithm], X, init, max_iter=20)
    _assert_bitwise_same_run(ours, _run(lloyd_single, X, init, max_iter=20))
    # Sweep 0 is Lloyd's, 1 a full bounded one, 2 and 3 pruned ones (fraction
    # not 1), then 2 Lloyd sweeps, full, 2 pruned; 4 Lloyd, full, 2 pruned.
    bounded_sweeps = np.flatnonzero(ours.distances_computed != 1.0)
    assert_array_equal(bounded_sweeps, [2, 3, 7, 8, 14, 15])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
def test_relocation_of_empty_clusters_keeps_lloyds_result(algorithm, layout, rng):
    # Several initial centres far from every sample: their clusters are empty in
    # the first iteration and get relocated (the bounds must follow the jump).
    X = _as_layout(make_blobs_data(rng, 3000, 4, 5, std=1.0), layout, rng)
    far = np.full((6, 4), 1e3) + np.arange(6)[:, None]
    init = np.vstack([_dense_rows(X, np.arange(20)), far])
    ours = _run(RUNS[algorithm], X, init, tol=1e-6)
    ref = _run(lloyd_single, X, init, tol=1e-6)
    _assert_bitwise_same_run(ours, ref)
    assert np.bincount(ours.labels, minlength=26).min() > 0


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_near_ties_resolve_as_lloyds(algorithm, dtype, layout, rng):
    # Samples on (or within rounding of) bisecting planes between two centres:
    # the padded skip tests and the near-tie fallback must give Lloyd's labels.
    k, d = 30, 5
    centers = rng.uniform(-5, 5, size=(k, d))
    a, b = rng.integers(0, k, 2000), rng.integers(0, k, 2000)
    t = 0.5 + rng.choice([0.0, 1e-7, 1e-5, 1e-3], size=2000) * rng.choice([-1, 1], 2000)
    X = (centers[a] * t[:, None] + centers[b] * (1 - t)[:, None]).astype(dtype)
    X = np.vstack([X, make_blobs_data(rng, 2000, d, 10, dtype=dtype)])
    if layout == "csr":  # zeros where the centres have them: ties stay ties
        centers[:, ::2] = 0
        X[:, ::2] = 0
        X = sp.csr_matrix(X)
    init = centers.astype(dtype)
    for max_iter in (1, 2, 300):
        ours = _run(RUNS[algorithm], X, init, max_iter=max_iter)
        ref = _run(lloyd_single, X, init, max_iter=max_iter)
        _assert_bitwise_same_run(ours, ref)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
def test_results_do_not_depend_on_the_thread_count(algorithm, layout, rng, monkeypatch):
    X = _as_layout(make_blobs_data(rng, 20_000, 8, 30, std=2.0), layout, rng)
    init = _dense_rows(X, rng.choice(X.shape[0], 40, replace=False))
    one = _run(RUNS[algorithm], X, init, n_threads=1)
    two = _run(RUNS[algorithm], X, init, n_threads=2)
    _assert_bitwise_same_run(one, two)
    # Which sweeps ran may differ (the fallback to Lloyd follows wall clock),
    # the result may not. Without the fallback, the pruning is the same too.
    monkeypatch.setattr(nbkm._bounded, "MAX_BOUNDED_TIME_RATIO", np.inf)
    one = _run(RUNS[algorithm], X, init, n_threads=1)
    two = _run(RUNS[algorithm], X, init, n_threads=2)
    _assert_bitwise_same_run(one, two)
    assert_array_equal(one.distances_computed, two.distances_computed)


def test_half_gaps_against_numpy(rng):
    centers = rng.normal(size=(700, 9))  # more rows than one block of the product
    out = np.empty(700)
    half_gaps(centers, out)
    dist = np.sqrt(naive.sq_distances(centers, centers))
    np.fill_diagonal(dist, np.inf)
    expected = dist.min(axis=1) / 2
    assert np.all(out <= expected)  # rounded down: a valid bound
    assert_allclose(out, expected, rtol=1e-10)
    one = np.empty(1)
    half_gaps(centers[:1], one)
    assert one[0] == 0.0


def test_least_gap_squares_is_numpys_expression_bit_for_bit(rng):
    centers = rng.normal(size=(40, 5))
    centers[15] = centers[12]  # a duplicate: its least gap is below zero
    norms = (centers**2).sum(axis=1)
    start, rows = 10, 20  # a block of rows that holds the duplicate
    gram = centers[start : start + rows] @ centers.T
    out = np.empty(rows)
    least_gap_squares(gram, norms, start, 1e-6, 1e-300, out)
    pair = norms[start : start + rows, None] + norms[None, :]
    sq = (pair - 2.0 * gram) - 1e-6 * pair - 1e-300
    sq[np.arange(rows), np.arange(start, start + rows)] = np.inf
    assert_array_equal(out, sq.min(axis=1))


def test_center_groups_cover_every_centre_with_non_empty_groups(rng):
    centers = np.vstack([rng.normal(loc=10 * i, size=(10, 3)) for i in range(5)])
    groups = center_groups(centers, 5)
    assert groups.shape == (50,)
    assert set(np.unique(groups)) == set(range(groups.max() + 1))
    # Five far-apart clumps of ten: each clump is one group.
    for i in range(5):
        assert np.unique(groups[10 * i : 10 * i + 10]).size == 1
    assert_array_equal(center_groups(centers, 1), np.zeros(50, np.int64))


def test_auto_choice_by_shape():
    n = MIN_BOUNDED_SAMPLES
    assert choose_algorithm(n, 16, HAMERLY_MAX_CLUSTERS, False) == "hamerly"
    assert choose_algorithm(n, 16, HAMERLY_MAX_CLUSTERS + 1, False) == "yinyang"
    assert choose_algorithm(n, 16, MIN_BOUNDED_CLUSTERS, False) == "hamerly"
    assert choose_algorithm(n, 16, MIN_BOUNDED_CLUSTERS - 1, False) == "lloyd"
    assert choose_algorithm(n - 1, 16, 500, False) == "lloyd"
    # CSR: Yinyang's groups from 64 centres on, Hamerly's bounds below.
    assert choose_algorithm(n, 5000, 500, True) == "yinyang"
    assert choose_algorithm(n, 5000, 63, True) == "hamerly"
    assert choose_algorithm(n, 5000, MIN_BOUNDED_CLUSTERS - 1, True) == "lloyd"
    assert choose_algorithm(n - 1, 5000, 500, True) == "lloyd"


def test_estimator_reports_algorithm_and_pruning(rng):
    X = make_blobs_data(rng, MIN_BOUNDED_SAMPLES, 4, 60, std=0.5)
    km = KMeans(60, n_init=1, random_state=0).fit(X)
    assert km.algorithm_ == "hamerly"
    assert km.distances_computed_.shape == (km.n_iter_,)
    lloyd = KMeans(60, n_init=1, random_state=0, algorithm="lloyd").fit(X)
    assert_array_equal(lloyd.distances_computed_, np.ones(lloyd.n_iter_))
    assert_array_equal(km.labels_, lloyd.labels_)
    assert_array_equal(km.cluster_centers_, lloyd.cluster_centers_)
    assert km.inertia_ == lloyd.inertia_


def test_auto_takes_the_bounds_on_csr_with_lloyds_result(rng):
    X = _as_layout(
        make_blobs_data(rng, MIN_BOUNDED_SAMPLES, 6, 60, std=0.5), "csr", rng
    )
    init = _dense_rows(X, np.arange(70))
    km = KMeans(70, init=init, n_init=1).fit(X)
    assert km.algorithm_ == "yinyang"
    assert km.distances_computed_.min() < 0.5  # the bounds pruned
    lloyd = KMeans(70, init=init, n_init=1, algorithm="lloyd").fit(X)
    assert_array_equal(km.labels_, lloyd.labels_)
    assert_array_equal(km.cluster_centers_, lloyd.cluster_centers_)
    assert km.inertia_ == lloyd.inertia_
    assert km.n_iter_ == lloyd.n_iter_


def test_sweep_choice_settles_falls_back_and_doubles_its_wait():
    from nbkm._bounded import RETRY_AFTER, SweepChoice

    choice = SweepChoice(adaptive=True)
    assert not choice.bounded  # Lloyd's sweep until the labels settle
    choice.after_lloyd(1.0, changed_fraction=0.5)
    assert not choice.bounded
    choice.after_lloyd(1.0, changed_fraction=0.01)
    assert choice.bounded
    assert not choice.after_bounded(3.0, first=True)  # a full sweep: not judged
    assert not choice.after_bounded(0.5, first=False)  # one pruned sweep: too few
    assert not choice.after_bounded(1.4, first=False)  # mean 0.95 < quickest Lloyd
    assert choice.after_bounded(1.2, first=False)  # mean 1.3: back to Lloyd
    assert not choice.bounded and choice.lloyd_sweeps_left == RETRY_AFTER
    for _ in range(RETRY_AFTER - 1):
        choice.after_lloyd(1.0, changed_fraction=0.0)
        assert not choice.bounded
    choice.after_lloyd(1.0, changed_fraction=0.0)
    assert choice.bounded
    choice.after_bounded(3.0, first=True)
    choice.after_bounded(5.0, first=False)
    assert choice.after_bounded(5.0, first=False)
    assert choice.lloyd_sweeps_left == 2 * RETRY_AFTER  # doubled


def test_sweep_choice_not_adaptive_keeps_the_bounds():
    from nbkm._bounded import SweepChoice

    choice = SweepChoice(adaptive=False)
    assert choice.bounded
    choice.after_bounded(1.0, first=True)
    choice.after_bounded(100.0, first=False)
    assert not choice.after_bounded(100.0, first=False)
    assert choice.bounded
