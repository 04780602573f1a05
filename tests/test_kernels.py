"""Numba kernels against the plain-NumPy references of tests/naive.py.

Every kernel that takes samples is checked on dense arrays and on CSR triples.
"""

import naive
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from nbkm import _kernels as K
from nbkm._assign import assign_labels, inertia, prepare_views, squared_norms
from nbkm._elkan import elkan_single
from nbkm._lloyd import lloyd_single
from nbkm._samples import Samples

DTYPES = [np.float32, np.float64]
LAYOUTS = ["dense", "csr"]
RTOL = {np.float32: 1e-4, np.float64: 1e-7}

# (n_samples, n_features, n_clusters): fewer samples than a tile or a block, a count
# that is a multiple of neither, one feature, one cluster, more centres than one
# centre block of the micro-kernel.
SHAPES = [
    (3, 2, 2),
    (5, 3, 4),
    (257, 4, 3),
    (1000, 1, 5),
    (300, 8, 1),
    (257, 5, 20),
    (700, 16, 130),
]


def _data(rng, shape, dtype, layout="dense"):
    n, d, k = shape
    X = rng.normal(size=(n, d))
    if layout == "csr":
        X[rng.uniform(size=(n, d)) < 0.6] = 0.0  # rows with no stored value too
    centers = rng.normal(size=(k, d)).astype(dtype)
    weights = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    return X.astype(dtype), centers, weights


def _samples(X, layout):
    return Samples.of(sp.csr_matrix(X) if layout == "csr" else X)


def _sq(centers):
    return squared_norms(centers)


def _lloyd_step(samples, weights, centers, grouped=False):
    """Labels and cluster sums of one sweep: fused (dense) or grouped afterwards."""
    n, d = samples.shape
    k = centers.shape[0]
    bounds = K.block_bounds(n)
    nb = bounds.size - 1
    labels = np.full(n, -1, dtype=np.int32)
    centers_t = np.empty((d, k), dtype=centers.dtype)
    centers_sq = np.empty(k, dtype=centers.dtype)
    prepare_views(centers, centers_t, centers_sq)
    sums = np.full((k, d), np.nan, dtype=centers.dtype)
    w = np.full(k, np.nan, dtype=centers.dtype)
    if samples.is_sparse or grouped:
        if samples.is_sparse:
            K.nearest_centers_sparse(samples.X, centers_t, centers_sq, bounds, labels)
        else:
            placeholder = np.zeros((1, 1, 1), dtype=centers.dtype)
            K.lloyd_step_dense(
                samples.X,
                samples.x_mean,
                weights,
                centers_t,
                centers_sq,
                bounds,
                labels,
                placeholder,
                placeholder[0],
                False,
            )
        order = np.empty(n, dtype=np.int64)
        starts = np.empty(k + 1, dtype=np.int64)
        K.group_by_label(labels, order, starts)
        assert_array_equal(order, np.argsort(labels, kind="stable"))
        K.accumulate_by_cluster(
            samples.X, samples.x_mean, weights, order, starts, sums, w
        )
        return labels, sums, w
    ps = np.full((nb, k, d), np.nan, dtype=centers.dtype)
    pw = np.full((nb, k), np.nan, dtype=centers.dtype)
    K.lloyd_step_dense(
        samples.X,
        samples.x_mean,
        weights,
        centers_t,
        centers_sq,
        bounds,
        labels,
        ps,
        pw,
        True,
    )
    K.reduce_partials(ps, pw, sums, w)
    return labels, sums, w


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("grouped", [False, True])
def test_lloyd_step_labels_and_sums_match_naive(rng, shape, dtype, layout, grouped):
    X, centers, weights = _data(rng, shape, dtype, layout)
    labels, sums, w = _lloyd_step(_samples(X, layout), weights, centers, grouped)
    assert_array_equal(labels, naive.assign(X, centers))
    ref_sums, ref_w = naive.weighted_sums(X, weights, labels, centers.shape[0])
    assert_allclose(sums, ref_sums, rtol=RTOL[dtype], atol=1e-4 * X.shape[0])
    assert_allclose(w, ref_w, rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_sparse_sums_by_feature_range_match_naive_and_grouped_bitwise(
    rng, shape, dtype
):
    X, centers, weights = _data(rng, shape, dtype, "csr")
    samples = _samples(X, "csr")
    labels, grouped_sums, grouped_w = _lloyd_step(samples, weights, centers)
    n, d = X.shape
    k = centers.shape[0]
    ref_sums, ref_w = naive.weighted_sums(X, weights, labels, k)
    # One range, one range a feature, and uneven ranges with empty ones.
    splits = [[0, d], list(range(d + 1)), [0, 0, d // 3, d // 3, d]]
    for ranges in splits:
        sums = np.full((k, d), np.nan, dtype=dtype)
        w = np.full(k, np.nan, dtype=dtype)
        K.accumulate_by_feature_range(
            samples.X, weights, labels, np.array(ranges, np.int64), sums, w
        )
        assert_allclose(sums, ref_sums, rtol=RTOL[dtype], atol=1e-4 * n)
        assert_allclose(w, ref_w, rtol=RTOL[dtype])
        # Terms in sample order either way: the same bits as by cluster.
        assert_array_equal(sums, grouped_sums)
        assert_array_equal(w, grouped_w)


@pytest.mark.parametrize("dtype", DTYPES)
def test_centring_on_the_fly_equals_a_centred_copy_bitwise(rng, dtype):
    X, centers, weights = _data(rng, (600, 5, 7), dtype)
    X = X + dtype(50)
    x_mean = X.mean(axis=0)
    on_the_fly = _lloyd_step(Samples.dense(X, x_mean), weights, centers)
    copied = _lloyd_step(Samples.dense(X - x_mean), weights, centers)
    for a, b in zip(on_the_fly, copied, strict=True):
        assert_array_equal(a, b)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_duplicate_points_get_the_same_label(rng, dtype, layout):
    base = rng.normal(size=(10, 3))
    X = np.repeat(base, 40, axis=0).astype(dtype)
    centers = rng.normal(size=(4, 3)).astype(dtype)
    labels = assign_labels(_samples(X, layout), centers)
    assert_array_equal(labels, naive.assign(X, centers))
    assert (labels.reshape(10, 40) == labels.reshape(10, 40)[:, :1]).all()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ties_go_to_the_lowest_centre_index(layout):
    X = np.array([[0.0], [2.0], [1.0]])
    centers = np.array([[2.0], [0.0], [0.0], [2.0]])
    labels = assign_labels(_samples(X, layout), centers)
    # 0.0 ties centres 1 and 2; 2.0 ties centres 0 and 3; 1.0 ties all four.
    assert_array_equal(labels, [1, 0, 0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_inertia_matches_naive(rng, shape, dtype, layout):
    X, centers, weights = _data(rng, shape, dtype, layout)
    s = _samples(X, layout)
    labels = naive.assign(X, centers)
    got = inertia(s, weights, centers, labels)
    assert_allclose(got, naive.inertia(X, weights, centers, labels), rtol=RTOL[dtype])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_transform_distances_match_naive(rng, shape, dtype, layout):
    X, centers, _ = _data(rng, shape, dtype, layout)
    s = _samples(X, layout)
    out = np.empty((X.shape[0], centers.shape[0]), dtype=dtype)
    K.euclidean_to_centers(s.X, s.x_mean, centers, _sq(centers), out)
    assert_allclose(
        out,
        np.sqrt(naive.sq_distances(X, centers)),
        rtol=RTOL[dtype],
        atol=1e-3 if dtype == np.float32 else 1e-6,
    )


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_distances_to_assigned_match_naive(rng, dtype, layout):
    X, centers, _ = _data(rng, (300, 6, 5), dtype, layout)
    s = _samples(X, layout)
    labels = naive.assign(X, centers)
    out = np.empty(X.shape[0], dtype=dtype)
    K.distances_to_assigned(s.X, s.x_mean, centers, _sq(centers), labels, out)
    ref = naive.sq_distances(X, centers)[np.arange(300), labels]
    assert_allclose(out, ref, rtol=RTOL[dtype], atol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_inertia_by_block_is_distances_then_weighted_sums_bitwise(rng, dtype, layout):
    # The one-pass inertia keeps the bits of the two kernels it replaced: the
    # distances in the samples' dtype, then per-block float64 sums; several
    # blocks, the last one short.
    X, centers, weights = _data(rng, (1100, 6, 5), dtype, layout)
    s = _samples(X, layout)
    labels = naive.assign(X, centers)
    bounds = K.block_bounds(1100, 256)
    out = np.empty(1100, dtype=dtype)
    K.distances_to_assigned(s.X, s.x_mean, centers, _sq(centers), labels, out)
    expected = np.empty(bounds.shape[0] - 1)
    K.weighted_sums_by_block(weights, out, bounds, expected)
    got = np.empty(bounds.shape[0] - 1)
    K.inertia_by_block(
        s.X, s.x_mean, centers, _sq(centers), labels, weights, bounds, got
    )
    assert_array_equal(got, expected)
    per_block = [
        (weights[lo:hi] * naive.sq_distances(X[lo:hi], centers)[
            np.arange(hi - lo), labels[lo:hi]]).sum()
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]  # fmt: skip
    assert_allclose(got, per_block, rtol=RTOL[dtype])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_candidate_potentials_match_naive(rng, dtype, layout):
    X, _, weights = _data(rng, (500, 7, 1), dtype, layout)
    s = _samples(X, layout)
    closest = naive.sq_distances(X, X[[3]])[:, 0]
    ids = np.array([10, 20, 499])
    rows = s.rows(ids)
    dist = np.empty((3, 500))
    pot = np.empty(3)
    K.candidate_potentials(
        s.X, s.x_mean, rows, _sq(rows), closest, weights, K.block_bounds(500), dist, pot
    )
    ref = np.minimum(closest[None, :], naive.sq_distances(X, X[ids]).T)
    assert_allclose(dist, ref, rtol=RTOL[dtype], atol=1e-5)
    assert_allclose(pot, ref @ weights.astype(np.float64), rtol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 2, 2), (257, 4, 3), (1000, 1, 5), (700, 16, 9)])
def test_dense_candidate_potentials_match_naive(rng, dtype, shape):
    n, d, t = shape
    X = (rng.normal(size=(n, d)) + 20).astype(dtype)
    x_mean = X.mean(axis=0)
    Xc = X.astype(np.float64) - x_mean
    weights = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    closest = np.full(n, np.inf)
    closest[::2] = 0.5
    ids = rng.choice(n, size=t, replace=False)
    rows = X[ids] - x_mean
    dist = np.empty((t, n))
    pot = np.empty(t)
    K.candidate_potentials_dense(
        X,
        x_mean,
        (Xc**2).sum(axis=1),
        np.ascontiguousarray(rows.T),
        (rows.astype(np.float64) ** 2).sum(axis=1),
        closest,
        weights,
        K.block_bounds(n),
        dist,
        pot,
    )
    ref = np.minimum(closest[None, :], naive.sq_distances(Xc, Xc[ids]).T)
    assert_allclose(
        dist, ref, rtol=RTOL[dtype], atol=1e-3 if dtype == np.float32 else 1e-9
    )
    assert_allclose(pot, ref @ weights.astype(np.float64), rtol=RTOL[dtype] * 10)


def test_average_centers_divides_and_fills_zero_weight_clusters_with_the_heaviest():
    sums = np.array([[2.0, 4.0], [0.0, 0.0], [9.0, 3.0]])
    weights = np.array([2.0, 0.0, 3.0])
    out = np.empty_like(sums)
    K.average_centers(sums, weights, out)
    assert_allclose(out, [[1.0, 2.0], [3.0, 1.0], [3.0, 1.0]])


def test_center_shifts_and_half_distances_match_naive(rng):
    a = rng.normal(size=(6, 4))
    b = rng.normal(size=(6, 4))
    shift = np.empty(6)
    K.center_shifts(a, b, shift)
    assert_allclose(shift, np.linalg.norm(a - b, axis=1))
    half = np.empty((6, 6))
    nxt = np.empty(6)
    K.half_center_distances(a, half, nxt)
    ref = np.sqrt(naive.sq_distances(a, a)) / 2
    assert_allclose(half, ref, atol=1e-12)
    np.fill_diagonal(ref, np.inf)
    assert_allclose(nxt, ref.min(axis=1))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_move_samples_to_empty_clusters_moves_weight_and_sum(layout):
    X = np.array([[0.0], [1.0], [10.0]])
    s = _samples(X, layout)
    w = np.array([1.0, 1.0, 2.0])
    labels = np.array([0, 0, 0], dtype=np.int32)
    sums, weights = naive.weighted_sums(X, w, labels, 2)
    K.move_samples_to_empty_clusters(
        s.X, s.x_mean, w, labels, np.array([2]), np.array([1]), sums, weights
    )
    assert_allclose(sums, [[1.0], [20.0]])
    assert_allclose(weights, [2.0, 2.0])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape", [(5, 3, 4), (257, 4, 3), (1000, 1, 5), (700, 16, 130)]
)
def test_elkan_bounds_are_valid_and_labels_match_naive(rng, shape, dtype, layout):
    X, centers, _ = _data(rng, shape, dtype, layout)
    s = _samples(X, layout)
    n, k = X.shape[0], centers.shape[0]
    half = np.empty((k, k), dtype=dtype)
    nxt = np.empty(k, dtype=dtype)
    K.half_center_distances(centers, half, nxt)
    labels = np.empty(n, dtype=np.int32)
    upper = np.empty(n, dtype=dtype)
    lower = np.empty((n, k), dtype=dtype)
    K.elkan_init_bounds(
        s.X, s.x_mean, centers, _sq(centers), half, labels, upper, lower
    )
    assert_array_equal(labels, naive.assign(X, centers))
    true = np.sqrt(naive.sq_distances(X, centers))
    slack = 1 + RTOL[dtype]
    # After the first assignment the upper bound is the exact distance.
    # (sqrt of a float32 squared distance near zero: absolute error ~ 1e-3.)
    atol = 1e-3 if dtype == np.float32 else 1e-6
    assert_allclose(upper, true[np.arange(n), labels], rtol=RTOL[dtype], atol=atol)
    assert (lower <= true * slack + 1e-5).all()

    # Move the centres, loosen the bounds by the shifts: they must stay bounds, and
    # one Elkan step must give the naive assignment to the moved centres.
    moved = (centers + rng.normal(scale=0.3, size=centers.shape)).astype(dtype)
    shift = np.empty(k, dtype=dtype)
    K.center_shifts(centers, moved, shift)
    K.elkan_shift_bounds(shift, labels, upper, lower)
    true = np.sqrt(naive.sq_distances(X, moved))
    assert (upper >= true[np.arange(n), labels] / slack - 1e-5).all()
    assert (lower <= true * slack + 1e-5).all()
    K.half_center_distances(moved, half, nxt)
    dummy_sums = np.zeros((1, 1, 1), dtype=dtype)
    dummy_weights = np.zeros((1, 1), dtype=dtype)
    K.elkan_step(
        s.X,
        s.x_mean,
        np.ones(n, dtype),
        moved,
        _sq(moved),
        half,
        nxt,
        upper,
        lower,
        labels,
        K.block_bounds(n),
        dummy_sums,
        dummy_weights,
        False,
    )
    assert_array_equal(labels, naive.assign(X, moved))


FRESH_OR_CACHED_SCRIPT = """
import hashlib
import numpy as np
from nbkm import _kernels as K
from nbkm._samples import Samples
rng = np.random.default_rng(0)
digests = []
for d in (4, 16):
    X = (rng.normal(size=(3000, d)) * 3).astype(np.float32)
    s = Samples.of(X)
    c = np.ascontiguousarray(X[:7] - s.x_mean)
    c_sq = (c * c).sum(1)
    labels = rng.integers(0, 7, 3000).astype(np.int32)
    dist = np.empty(3000, np.float32)
    K.distances_to_assigned(s.X, s.x_mean, c, c_sq, labels, dist)
    far = np.empty((3000, 7), np.float32)
    K.euclidean_to_centers(s.X, s.x_mean, c, c_sq, far)
    digests += [hashlib.sha256(a.tobytes()).hexdigest() for a in (dist, far)]
print(" ".join(digests))
"""


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_kernels_give_the_same_bits_freshly_compiled_and_from_the_cache(tmp_path):
    # With contraction among the fast-math flags, float32 distances at 4
    # features differed between the process that compiled the kernels and
    # later processes that loaded them from Numba's cache: a fit's inertia
    # depended on the state of the cache.
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DISABLE_JIT="0")
    runs = [
        subprocess.run(
            [sys.executable, "-c", FRESH_OR_CACHED_SCRIPT],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=True,
        ).stdout.split()
        for _ in range(2)
    ]
    assert any(tmp_path.rglob("*.nbc")), "the first run wrote no cache"
    assert runs[0] == runs[1]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("run", [lloyd_single, elkan_single])
@pytest.mark.parametrize("shape", [(9, 3, 2), (257, 4, 3), (1000, 1, 5), (700, 16, 30)])
def test_single_runs_match_the_naive_loop(rng, run, shape, dtype, layout):
    X, centers, weights = _data(rng, shape, dtype, layout)
    labels, inertia, got_centers, n_iter = run(
        _samples(X, layout), weights, centers, 300, 1e-8
    )[:4]
    ref_labels, ref_centers, ref_inertia, ref_iter = naive.kmeans(
        X.astype(np.float64),
        weights.astype(np.float64),
        centers.astype(np.float64),
        300,
        1e-8,
    )
    assert_array_equal(labels, ref_labels)
    assert n_iter == ref_iter
    assert_allclose(got_centers, ref_centers, rtol=RTOL[dtype], atol=1e-5)
    assert_allclose(inertia, ref_inertia, rtol=RTOL[dtype])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("run", [lloyd_single, elkan_single])
def test_an_emptied_cluster_takes_the_farthest_sample(run, layout):
    # Centre 2 is far from every sample: it is empty after the first assignment and
    # must take the sample farthest from its centre (the outlier at 30).
    X = np.array([[0.0], [0.5], [1.0], [10.0], [10.5], [30.0]])
    centers = np.array([[0.5], [10.0], [-100.0]])
    w = np.ones(6)
    labels, _, got, n_iter = run(_samples(X, layout), w, centers, 1, 0.0)[:4]
    ref_labels, ref_centers = naive.lloyd_step(X, w, centers)
    assert_allclose(got, ref_centers)
    assert got[2, 0] == 30.0
    # The final labels agree with the final centres (labels-only sweep).
    assert_array_equal(labels, naive.assign(X, got))


def test_fastmath_comes_only_from_the_one_flag_set():
    import pathlib
    import re

    from nbkm._kernels._config import FASTMATH_DOT

    # NaN/inf semantics kept: no nnan, ninf or "fast"; no contraction, whose
    # code differed between a fresh compile and Numba's cache (next test).
    assert FASTMATH_DOT == {"reassoc"}
    kernels = pathlib.Path(K.__file__).parent
    for path in kernels.glob("*.py"):
        for use in re.findall(r"fastmath\s*=\s*([^,)]+\)?)", path.read_text()):
            assert use == "set(FASTMATH_DOT)", (path.name, use)


@pytest.mark.parametrize("run", [lloyd_single, elkan_single])
def test_grouped_sums_give_the_fused_result(rng, run, monkeypatch):
    # Wide data whose per-block partial sums would not fit the memory budget are
    # summed per cluster instead; both ways must agree.
    import nbkm._em

    X, centers, weights = _data(rng, (2000, 12, 7), np.float64)
    s = _samples(X, "dense")
    fused = run(s, weights, centers, 300, 1e-8)
    monkeypatch.setattr(nbkm._em, "fits_partial_sums", lambda *shape: False)
    grouped = run(s, weights, centers, 300, 1e-8)
    assert_array_equal(fused[0], grouped[0])
    assert fused[3] == grouped[3]
    assert_allclose(fused[2], grouped[2], rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_clusters", [1, 7, 8, 9, 31, 32, 33, 100, 1000])
def test_nearest_center_is_numpys_first_argmin(dtype, n_clusters, rng):
    # Both branches (a scalar loop below KEYED_MIN_CLUSTERS centres, 8 for
    # float32, integer keys from it on) against NumPy's argmin, which returns
    # the first of equal minima: values drawn from few integers tie often,
    # with negative, zero and positive distances.
    from nbkm._kernels._rows import nearest_center

    values = np.empty(n_clusters, dtype=dtype)
    for _ in range(50):
        centers_sq = rng.integers(0, 4, size=n_clusters).astype(dtype)
        dots = (rng.integers(-6, 6, size=n_clusters) / 4).astype(dtype)
        expected = np.argmin(centers_sq - (dots + dots))
        assert nearest_center(dots, centers_sq, values) == expected
        # Continuous values, of mixed magnitudes (the keys order exponents too).
        centers_sq = (
            rng.uniform(size=n_clusters) * 10.0 ** rng.integers(-3, 4)
        ).astype(dtype)
        dots = rng.normal(scale=10.0 ** rng.integers(-3, 4), size=n_clusters).astype(
            dtype
        )
        expected = np.argmin(centers_sq - (dots + dots))
        assert nearest_center(dots, centers_sq, values) == expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1), (256, 16, 10), (37, 3, 1000), (5, 64, 7)])
def test_matmul_is_numbas_dot_bitwise(dtype, shape, rng):
    # The kernels' product calls BLAS's gemm directly: the same call, hence the
    # same bits, as Numba's np.dot, which it replaced; and close to an exact
    # product in long double.
    from numba import njit

    from nbkm._kernels._blas import matmul

    m, k, n = shape
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    got = njit(lambda a, b: matmul(a, b))(a, b)
    assert got.dtype == dtype and got.shape == (m, n)
    assert_array_equal(got, njit(lambda a, b: np.dot(a, b))(a, b))
    exact = a.astype(np.longdouble) @ b.astype(np.longdouble)
    assert_allclose(got, exact, rtol=0, atol=k * np.finfo(dtype).eps * 8)


def test_matmul_refuses_what_gemm_cannot_take():
    import numba
    from numba import njit
    from numba.core.errors import TypingError

    from nbkm._kernels._blas import matmul

    a = np.ones((4, 3))
    f_order = np.asfortranarray(np.ones((3, 2)))
    product = njit(lambda a, b: matmul(a, b))
    if numba.config.DISABLE_JIT:  # plain NumPy then, which takes any layout
        assert_array_equal(product(a, f_order), np.full((4, 2), 3.0))
        return
    with pytest.raises(TypingError, match="C-contiguous"):
        product(a, f_order)
    with pytest.raises(TypingError, match="one dtype"):
        product(a, np.ones((3, 2), np.float32))


# --------------------------------------------------------------------------
# The bounded sweep's steps (nbkm._kernels._bounded) against NumPy.


@pytest.mark.parametrize("dtype", DTYPES)
def test_order_keys_order_as_the_floats_and_invert(dtype, rng):
    from nbkm._kernels._rows import key_value, order_key

    values = np.concatenate(
        [rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, 200), [0.0, np.inf]]
    ).astype(dtype)
    values = values[np.isfinite(values) | np.isinf(values)]
    keys = np.array([order_key(v) for v in values])
    order = np.argsort(values, kind="stable")
    assert np.all(np.diff(keys[order]) >= 0)  # same order as the floats
    assert np.all((np.diff(keys[order]) == 0) == (np.diff(values[order]) == 0))
    back = np.array([key_value(key, dtype(0)) for key in keys])
    assert_array_equal(back, values.astype(np.float64))  # exact inverse


def _bound_state(rng, n, k, n_groups):
    """Labels and bounds in drift coordinates, and their plain readings."""
    labels = rng.integers(0, k, n).astype(np.int32)
    cum = rng.uniform(0, 1, k)
    drift_all = 1.5
    u = rng.uniform(1, 2, n)  # the upper bound as read
    # Global bounds clearly above or clearly below the upper bound.
    lo = u + rng.choice([-0.5, 0.5], n)
    half_gap = np.where(rng.uniform(size=k) < 0.3, 5.0, 0.0)
    upper = u - cum[labels]
    glob = lo + drift_all
    lower = np.tile((lo + drift_all)[:, None], (1, n_groups))
    motion = (cum, np.full(n_groups, drift_all), drift_all)
    state = (labels, upper, lower, glob)
    return state, motion, half_gap, u, lo


def test_bound_test_fails_exactly_the_rows_numpy_fails(rng):
    from nbkm._kernels._bounded import _untested_rows

    n, k = 600, 13
    state, motion, half_gap, u, lo = _bound_state(rng, n, k, 1)
    out = np.empty(n, dtype=np.int64)
    for r0, r1 in [(0, n), (100, 356), (599, 600)]:
        m = _untested_rows(r0, r1, state, motion, half_gap, out)
        rows = np.arange(r0, r1)
        decided = (lo[rows] > u[rows]) | (half_gap[state[0][rows]] > u[rows])
        assert_array_equal(out[:m], rows[~decided])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_groups", [1, 3])
def test_refresh_sets_lloyds_label_and_valid_bounds(dtype, n_groups, rng):
    from nbkm._kernels._bounded import CHUNK_ROWS, _refresh_rows, _scratch

    n, d, k = CHUNK_ROWS, 4, 12
    X = rng.normal(size=(n, d)).astype(dtype)
    x_sq = np.einsum("ij,ij->i", X.astype(np.float64), X.astype(np.float64))
    starts = np.linspace(0, k, n_groups + 1).astype(np.int64)
    group_of_pos = np.repeat(np.arange(n_groups), np.diff(starts))
    perm = rng.permutation(k).astype(np.int64)  # original index at each position
    group_of = np.empty(k, dtype=np.int64)
    group_of[perm] = group_of_pos
    position = np.argsort(perm).astype(np.int64)
    centres = (None,) * 4 + (perm, starts, group_of, np.zeros(k), position, None)
    work = _scratch(d, k, n_groups, dtype)
    work[0][:] = np.arange(n)
    # Few distinct values: exact ties, which go to the lowest original index.
    values = (rng.integers(-8, 8, size=(n, k)) / 4).astype(dtype)
    work[7][:] = values
    cum = rng.uniform(0, 1, k)
    drift = rng.uniform(0, 1, n_groups)
    motion = (cum, drift, float(drift.max()))
    state = (
        np.zeros(n, np.int32),
        np.zeros(n),
        np.zeros((n, n_groups)),
        np.zeros(n),
    )
    pads = (1e-7, 0.0, 1.0)
    data = (X, np.zeros(d, dtype), x_sq)
    read, near_tie, changed = _refresh_rows(
        data, pads, centres, motion, state, n, True, work
    )
    assert read == n * k
    original = np.empty_like(values)
    original[:, perm] = values  # values by original centre index
    assert_array_equal(state[0], original.argmin(axis=1))  # first of the least
    assert changed == bool(np.any(original.argmin(axis=1) != 0))
    sq = original.astype(np.float64) + x_sq[:, None]
    rows = np.arange(n)
    best = sq[rows, state[0]]
    upper = state[1] + cum[state[0]]
    assert np.all(upper >= np.sqrt(np.maximum(best, 0)))
    sq[rows, state[0]] = np.inf
    for g in range(n_groups):
        others = sq[:, group_of == g].min(axis=1)
        low = state[2][:, g] - drift[g]
        assert np.all(low <= np.sqrt(np.maximum(others, 0)))
        assert_allclose(
            low, np.sqrt(np.maximum(others - 1e-7 * (x_sq + 1), 0)), rtol=1e-6
        )
    least_group = (state[2] - drift).min(axis=1)
    assert_allclose(state[3] - motion[2], least_group, rtol=1e-12)
    # Ties everywhere: some row's two best values are within its pad.
    assert near_tie
