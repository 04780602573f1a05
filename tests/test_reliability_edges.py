"""Regression tests for wrong results at the edges: weights spread over the float
range, subnormal squared distances, Yinyang's column order, grouping memory,
read-only input, and parameters that were taken for what they are not.

Each test failed before its fix.
"""

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from data import make_blobs_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SKKMeans

import nbkm._bounded
import nbkm._compile
from nbkm import KMeans
from nbkm._assign import assign_labels
from nbkm._bounded import BoundedSweep, center_groups
from nbkm._checks import weight_exponent
from nbkm._em import Sweep
from nbkm._samples import Samples
from nbkm._threads import numba_threads

ALGORITHMS = ["lloyd", "elkan", "hamerly", "yinyang"]

# --------------------------------------------------------------------------
# Weights whose ratio is extreme: the power-of-two scaling that keeps sums
# finite must not push the small weights to subnormal or zero.


def _two_groups(dtype, rng):
    X = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    return X.astype(dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "dtype, big, small",
    [
        (np.float64, 2.0**40, 2.0**-1000),
        (np.float32, 2.0**40, 2.0**-100),
        (np.float64, 1e300, 1e-300),
    ],
)
def test_extreme_weight_ratios_give_scikit_learns_split(algorithm, dtype, big, small):
    X = _two_groups(dtype, np.random.default_rng(0))
    w = np.r_[np.full(20, big), np.full(20, small)].astype(dtype)
    init = X[[0, 20]]
    km = KMeans(2, init=init, n_init=1, algorithm=algorithm).fit(X, sample_weight=w)
    ref = SKKMeans(2, init=init, n_init=1).fit(X, sample_weight=w)
    assert np.isfinite(km.cluster_centers_).all()
    assert_array_equal(km.labels_, ref.labels_)
    assert_array_equal(np.bincount(km.labels_), [20, 20])
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-6)


def test_weight_exponent_shifts_only_as_far_as_needed():
    f64 = np.float64
    # Already fine: no shift (scikit-learn's arithmetic bit for bit).
    assert weight_exponent(2.0**-1000, 2.0**40, 100, 2, 1.0, f64) == 0
    # Subnormal weights come up just to the normal range.
    e = weight_exponent(2.0**-1030, 2.0**-1030, 100, 2, 1.0, f64)
    assert np.ldexp(2.0**-1030, e) == np.finfo(f64).tiny  # the smallest normal
    # Huge weights go down just far enough that n * max(w) * 16 d M**2 (a bound
    # on the weighted squared distances) stays finite, and no further.
    e = weight_exponent(1.0, 2.0**1020, 1000, 2, 1.0, f64)
    assert np.isfinite(2 * 1000 * np.ldexp(2.0**1020, e) * 16 * 2)
    assert not np.isfinite(2 * 1000 * np.ldexp(2.0**1020, e + 2) * 16 * 2)
    # Both ends out of range: the sums win, the small weights lose precision.
    assert weight_exponent(2.0**-1070, 2.0**1020, 10, 2, 1.0, f64) < 0


# --------------------------------------------------------------------------
# Yinyang's "Lloyd path" (a whole chunk against every centre) must round as
# Lloyd's product does: a BLAS product's bits change with the column order, and
# Yinyang keeps its centres permuted by group.


def _bisector_samples(rng, k, d, n, dtype):
    """Samples within rounding of the bisecting planes of random centre pairs."""
    centers = rng.uniform(-5, 5, size=(k, d))
    a, b = rng.integers(0, k, n), rng.integers(0, k, n)
    t = 0.5 + rng.choice([0.0, 1e-8, 1e-7, 1e-6], size=n) * rng.choice([-1, 1], n)
    X = centers[a] * t[:, None] + centers[b] * (1 - t)[:, None]
    return X.astype(dtype), centers.astype(dtype)


@pytest.mark.parametrize("n_groups", [2, 3, 5])
@pytest.mark.parametrize("dtype, k, d", [(np.float32, 88, 40), (np.float64, 76, 40)])
def test_full_bounded_sweep_gives_lloyds_labels_at_near_ties(dtype, k, d, n_groups):
    X, centers = _bisector_samples(np.random.default_rng(1), k, d, 3000, dtype)
    samples = Samples.of(X, centre=True)
    c = (centers - samples.x_mean).astype(dtype)
    sweep = Sweep.allocate(samples, k)
    bounded = BoundedSweep(
        samples, np.ones(X.shape[0], dtype), c, n_groups, sweep, adaptive=False
    )
    assert np.any(bounded.perm != np.arange(k))  # the centres are permuted
    with numba_threads(2):
        bounded.assign(c)  # the first sweep: every chunk takes Lloyd's path
        assert_array_equal(sweep.labels, assign_labels(samples, c))


# --------------------------------------------------------------------------
# Yinyang's grouping of the centres: memory O(k d + k G), no k x G x d temporary.


def test_center_grouping_never_builds_a_k_by_groups_by_features_temporary():
    k, d, n_groups = 2048, 32, 64
    centers = np.random.default_rng(3).normal(size=(k, d))
    tracemalloc.start()
    try:
        group_of = center_groups(centers, n_groups)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * centers.nbytes  # a k x G x d float64 temporary is 64x
    # Still a grouping: every centre is nearer its own group's mean than most.
    assert np.unique(group_of).size > n_groups // 2
    means = np.array([centers[group_of == g].mean(0) for g in np.unique(group_of)])
    sq = ((centers[:, None, :] - means[None]) ** 2).sum(2)
    assert np.mean(sq.argmin(1) == group_of) > 0.9


# --------------------------------------------------------------------------
# Tiny data whose squared distances are subnormal: rounding there is absolute,
# so the bounds' padding must be absolute too, or a skip can hide Lloyd's choice.


@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
@pytest.mark.parametrize("scale", [1e-159, 1e-161, 3e-162])
def test_subnormal_squared_distances_give_lloyds_run(algorithm, scale, monkeypatch):
    # Bounds from the second sweep on, never a fallback: every sweep prunes.
    monkeypatch.setattr(nbkm._bounded, "BOUNDS_AFTER_CHANGED", 2.0)
    monkeypatch.setattr(nbkm._bounded, "MAX_BOUNDED_TIME_RATIO", np.inf)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        X = make_blobs_data(rng, 2000, 4, 10, std=2.0) * scale
        init = X[rng.choice(X.shape[0], 40, replace=False)]
        ref = KMeans(40, init=init, n_init=1, algorithm="lloyd", tol=0).fit(X)
        km = KMeans(40, init=init, n_init=1, algorithm=algorithm, tol=0).fit(X)
        assert_array_equal(km.labels_, ref.labels_)
        assert km.n_iter_ == ref.n_iter_
        assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
        assert km.inertia_ == ref.inertia_


# --------------------------------------------------------------------------
# Read-only input (a read-only memmap, writeable=False) runs the kernels
# compiled for writeable input: no second signature, no second compilation.


def _nbkm_signatures():
    """Every compiled or loaded signature of every nbkm kernel, by kernel."""
    import nbkm._kernels as kernels

    found = {}
    for module in vars(kernels).values():
        if getattr(module, "__name__", "").startswith("nbkm._kernels."):
            for name, value in vars(module).items():
                if hasattr(value, "signatures"):
                    found[f"{module.__name__}.{name}"] = set(value.signatures)
    return found


def test_read_only_input_uses_the_signatures_of_writeable_input(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)) + rng.integers(0, 40, size=(3000, 1))
    w = rng.uniform(0.5, 2.0, X.shape[0])

    def every_path(data, weights):
        for algorithm in ALGORITHMS:
            km = KMeans(60, algorithm=algorithm, n_init=1, random_state=0)
            km.fit(data, sample_weight=weights)
            km.predict(data), km.transform(data), km.score(data, sample_weight=weights)

    every_path(X, w)
    before = _nbkm_signatures()
    np.save(tmp_path / "x.npy", X)
    frozen_w = w.copy()
    frozen_w.setflags(write=False)
    every_path(np.load(tmp_path / "x.npy", mmap_mode="r"), frozen_w)
    assert _nbkm_signatures() == before


# --------------------------------------------------------------------------
# Parameters and commands that took the wrong thing.


@pytest.mark.parametrize("dtypes", ["float64", np.float64, np.dtype("float64")])
def test_compile_kernels_takes_one_dtype_in_any_spelling(dtypes, monkeypatch):
    seen = []
    monkeypatch.setattr(nbkm._compile, "_exercise", lambda X: seen.append(X.dtype))
    nbkm.compile_kernels(dtypes=dtypes, layouts="dense")
    assert seen == [np.dtype("float64")]


def test_compile_kernels_names_what_it_does_not_know():
    with pytest.raises(ValueError, match=r"Unknown dtype or layout \['float16'\]"):
        nbkm.compile_kernels(dtypes=np.float16)


@pytest.mark.parametrize("n_threads", [True, False, 0, 1.5])
def test_n_threads_must_be_a_positive_int_not_a_bool(n_threads):
    X = np.eye(4)
    with pytest.raises(ValueError, match="'n_threads' parameter of KMeans"):
        KMeans(2, n_threads=n_threads, n_init=1).fit(X)


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_compile_command_under_disabled_jit_says_nothing_was_compiled():
    proc = subprocess.run(
        [sys.executable, "-m", "nbkm", "compile", "--layout", "dense"],
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "all cached" not in proc.stdout
    assert "NUMBA_DISABLE_JIT is set" in proc.stderr
