"""nbkm.KMeans against sklearn.cluster.KMeans, and the estimator's own contract."""

import itertools
import json
import subprocess
import sys

import numba
import numpy as np
import pytest
from data import make_blobs_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.datasets import load_digits

import nbkm._init
from nbkm import KMeans, kmeans_plusplus
from nbkm._threads import numba_threads

RTOL = {np.float32: 1e-4, np.float64: 1e-6}


def _digits():
    return load_digits().data


def _blobs():
    return make_blobs_data(np.random.default_rng(3), 600, 5, 8, std=1.5)


def _init_without_ties(X, k, seed):
    # Digits are integers: centres placed exactly on samples create exact distance
    # ties, which floating-point rounding breaks one way or the other. A small
    # jitter removes them, so labels can be compared exactly.
    rng = np.random.default_rng(seed)
    idx = rng.choice(X.shape[0], size=k, replace=False)
    return X[idx] + rng.uniform(-0.01, 0.01, size=(k, X.shape[1]))


def _assert_same_fit(ours, ref, dtype):
    assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert_allclose(ours.inertia_, ref.inertia_, rtol=RTOL[dtype])
    scale = np.abs(ref.cluster_centers_).max()
    assert_allclose(
        ours.cluster_centers_,
        ref.cluster_centers_,
        rtol=RTOL[dtype],
        atol=RTOL[dtype] * scale,
    )
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype


def _stopping_and_weights():
    """(weighted, tol, max_iter): three combinations quick, the other five slow.

    The quick ones meet each stop (strict with ``tol=0``, the tolerance, and
    ``max_iter``) and weights, with every algorithm, dtype, dataset and k; the
    default run has all eight.
    """
    quick = {(False, 0.0, 300), (True, 1e-4, 300), (False, 1e-4, 1)}
    return [
        pytest.param(*case, marks=() if case in quick else pytest.mark.slow)
        for case in itertools.product([False, True], [0.0, 1e-4], [1, 300])
    ]


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan", "hamerly", "yinyang", "auto"])
@pytest.mark.parametrize(("weighted", "tol", "max_iter"), _stopping_and_weights())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dataset", ["blobs", "digits"])
@pytest.mark.parametrize("k", [2, 10, 50])
def test_same_init_gives_sklearns_result(
    dataset, k, dtype, weighted, tol, max_iter, algorithm
):
    X = (_digits() if dataset == "digits" else _blobs()).astype(dtype)
    init = _init_without_ties(X, k, seed=k)
    sw = np.random.default_rng(k).uniform(0.5, 2.0, X.shape[0]) if weighted else None
    params = dict(
        n_clusters=k,
        init=init,
        n_init=1,
        tol=tol,
        max_iter=max_iter,
        algorithm=algorithm,
    )
    ours = KMeans(**params).fit(X, sample_weight=sw)
    # The bounded algorithms promise Lloyd's result.
    params["algorithm"] = algorithm if algorithm == "elkan" else "lloyd"
    ref = SKKMeans(**params).fit(X, sample_weight=sw)
    _assert_same_fit(ours, ref, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seed_gives_sklearns_result(init, seed, dtype):
    X = _blobs().astype(dtype)
    sw = np.random.default_rng(seed).uniform(0.5, 2.0, X.shape[0])
    params = dict(n_clusters=6, init=init, n_init=3, random_state=seed)
    ours = KMeans(**params).fit(X, sample_weight=sw)
    ref = SKKMeans(**params).fit(X, sample_weight=sw)
    _assert_same_fit(ours, ref, dtype)


@pytest.mark.parametrize("path", ["numpy", "kernel"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_kmeans_plusplus_picks_sklearns_samples(seed, weighted, path, monkeypatch):
    # Small dense problems take the NumPy path, larger ones the parallel kernel:
    # both pick sklearn's samples.
    if path == "kernel":
        monkeypatch.setattr(nbkm._init, "SMALL_PLUSPLUS", 0)
    X = _digits() - _digits().mean(axis=0)
    sw = np.random.default_rng(seed).uniform(0.1, 3, X.shape[0]) if weighted else None
    centers, idx = kmeans_plusplus(X, 12, sample_weight=sw, random_state=seed)
    ref_centers, ref_idx = sk_kmeans_plusplus(
        X, 12, sample_weight=sw, random_state=seed
    )
    assert_array_equal(idx, ref_idx)
    assert_array_equal(centers, X[idx])


def test_kmeans_plusplus_checks_x_squared_norms_length():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="length of x_squared_norms"):
        kmeans_plusplus(X, 3, x_squared_norms=np.ones(19))


def test_sample_weight_equals_repetition(rng):
    X = make_blobs_data(rng, 60, 3, 4, std=1.0)
    reps = rng.integers(0, 4, size=60)
    init = X[:4] + 0.01
    weighted = KMeans(4, init=init, n_init=1).fit(X, sample_weight=reps)
    repeated = KMeans(4, init=init, n_init=1).fit(np.repeat(X, reps, axis=0))
    assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_)
    assert_allclose(weighted.inertia_, repeated.inertia_)
    assert_array_equal(weighted.predict(X), repeated.predict(X))


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_predict_transform_score_agree_with_sklearn(rng, algorithm):
    X = make_blobs_data(rng, 500, 4, 5)
    X_new = make_blobs_data(rng, 100, 4, 5)
    init = X[:5] + 0.1
    ours = KMeans(5, init=init, n_init=1, algorithm=algorithm).fit(X)
    ref = SKKMeans(5, init=init, n_init=1, algorithm=algorithm).fit(X)
    assert_array_equal(ours.predict(X), ours.labels_)
    assert_array_equal(ours.predict(X_new), ref.predict(X_new))
    assert_allclose(ours.transform(X_new), ref.transform(X_new), rtol=1e-7, atol=1e-9)
    assert_allclose(ours.score(X_new), ref.score(X_new), rtol=1e-9)
    assert_array_equal(KMeans(5, init=init, n_init=1).fit_predict(X), ours.labels_)
    assert_allclose(KMeans(5, init=init, n_init=1).fit_transform(X), ours.transform(X))


def test_labels_agree_with_predict_after_a_max_iter_stop(rng):
    X = make_blobs_data(rng, 400, 3, 6, std=3.0)
    km = KMeans(6, init=X[:6].copy(), n_init=1, max_iter=2).fit(X)
    assert_array_equal(km.labels_, km.predict(X))


@pytest.mark.parametrize(
    "dtype, expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)],
)
def test_dtypes(rng, dtype, expected):
    X = (make_blobs_data(rng, 100, 3, 3) * 10).astype(dtype)
    km = KMeans(3, n_init=1, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == expected
    assert km.transform(X).dtype == expected
    assert km.labels_.dtype == np.int32


@pytest.mark.parametrize("copy_x", [True, False])
@pytest.mark.parametrize("init", ["k-means++", "random", "array", "callable"])
def test_inputs_are_never_modified(rng, copy_x, init):
    X = make_blobs_data(rng, 300, 4, 3) + 100.0
    sw = rng.uniform(0.5, 2, 300)
    init_arr = X[:3] + 0.5
    seen = []

    def init_fn(X_centred, n_clusters, random_state):
        seen.append(X_centred.mean(axis=0))
        return X_centred[:n_clusters].copy()

    init_param = {"array": init_arr, "callable": init_fn}.get(init, init)
    before = X.copy(), sw.copy(), init_arr.copy()
    KMeans(
        3,
        init=init_param,
        n_init=2 if init == "callable" else 1,
        copy_x=copy_x,
        random_state=0,
    ).fit(X, sample_weight=sw)
    for a, b in zip((X, sw, init_arr), before, strict=True):
        assert_array_equal(a, b)
    if init == "callable":
        # The callable receives mean-centred data, as in sklearn.
        assert_allclose(seen[0], 0, atol=1e-9)


def test_read_only_and_fortran_input(rng):
    X = make_blobs_data(rng, 200, 3, 3)
    init = X[:3] + 0.1
    ref = KMeans(3, init=init, n_init=1).fit(X)
    X_ro = X.copy()
    X_ro.flags.writeable = False
    for variant in (X_ro, np.asfortranarray(X)):
        km = KMeans(3, init=init, n_init=1).fit(variant)
        assert_array_equal(km.labels_, ref.labels_)
        assert_array_equal(km.predict(variant), ref.labels_)


# Fits of every input variant in a fresh interpreter (other tests call kernels
# directly, with arrays of their own); prints each kernel's sample types.
SIGNATURES_SCRIPT = """
import json
import numpy as np
from numba import types
import nbkm
from nbkm import _kernels as K
X = np.random.default_rng(0).normal(size=(100, 3))
X_ro = X.copy()
X_ro.flags.writeable = False
for variant in (X, X.astype(np.float32), (X * 10).astype(np.int32),
                np.asfortranarray(X), X_ro):
    nbkm.KMeans(3, n_init=1, random_state=0).fit(variant).predict(variant)
found = {}
for kernel in (K.lloyd_step_dense, K._distances.inertia_of_blocks):
    samples = {sig[0] for sig in kernel.signatures if isinstance(sig[0], types.Array)}
    found[kernel.py_func.__name__] = [[str(t.dtype), t.mutable] for t in samples]
print(json.dumps(found))
"""


def test_kernels_compile_once_per_dtype_whatever_the_flags():
    # The kernels take the caller's samples read-only, whatever their flags: one
    # specialisation per float dtype; int, Fortran-ordered and read-only input
    # add none.
    proc = subprocess.run(
        [sys.executable, "-c", SIGNATURES_SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, samples in found.items():
        assert sorted(samples) == [["float32", False], ["float64", False]], name


def test_thread_count_is_restored_after_fit_and_after_an_error(rng):
    X = make_blobs_data(rng, 100, 2, 2)
    before = numba.get_num_threads()
    KMeans(2, n_threads=1, n_init=1).fit(X)
    assert numba.get_num_threads() == before

    # User code (an init callable) runs with the caller's own settings, outside
    # nbkm's thread count and locks; its error passes through.
    def failing_init(X, n_clusters, random_state):
        assert numba.get_num_threads() == before
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        KMeans(2, init=failing_init, n_threads=1).fit(X)
    assert numba.get_num_threads() == before

    with pytest.raises(RuntimeError, match="inside"):
        with numba_threads(1):
            assert numba.get_num_threads() == 1
            raise RuntimeError("inside")
    assert numba.get_num_threads() == before


def test_n_threads_above_numba_limit_is_capped(rng):
    X = make_blobs_data(rng, 100, 2, 2)
    km = KMeans(2, n_threads=10_000, n_init=1).fit(X)
    assert km._n_threads == numba.config.NUMBA_NUM_THREADS


def test_same_random_state_gives_identical_fits():
    X = _digits()
    a = KMeans(10, n_init=3, random_state=7).fit(X)
    b = KMeans(10, n_init=3, random_state=7).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_verbose_reports_iterations(rng, capsys):
    X = make_blobs_data(rng, 100, 2, 2)
    KMeans(2, n_init=1, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization complete" in out
    assert "Iteration 0, inertia" in out
    assert "Converged at iteration" in out


def test_elkan_with_one_cluster_falls_back_to_lloyd(rng):
    X = make_blobs_data(rng, 50, 2, 1)
    with pytest.warns(RuntimeWarning, match="single cluster"):
        km = KMeans(1, algorithm="elkan", n_init=1).fit(X)
    assert_allclose(km.cluster_centers_[0], X.mean(axis=0))


def test_explicit_init_with_n_init_warns_like_sklearn(rng):
    X = make_blobs_data(rng, 50, 2, 2)
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        km = KMeans(2, init=X[:2], n_init=5).fit(X)
    assert km.n_iter_ >= 1


def test_duplicate_points_warn_fewer_distinct_clusters():
    from sklearn.exceptions import ConvergenceWarning

    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(3, n_init=1, random_state=0).fit(X)
    assert np.unique(km.labels_).size == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_kmeans_plusplus_on_offset_data_picks_sklearns_samples(seed, dtype):
    # Far from the origin: the expanded distance formula must not lose the
    # differences to cancellation (the data are centred internally, as in fit).
    rng = np.random.default_rng(seed)
    Y = (rng.normal(size=(3000, 10)) + 1000).astype(dtype)
    centers, idx = kmeans_plusplus(Y, 10, random_state=seed)
    _, ref_idx = sk_kmeans_plusplus(Y, 10, random_state=seed)
    assert_array_equal(idx, ref_idx)
    assert_array_equal(centers, Y[idx])


def test_kmeans_plusplus_with_more_local_trials_than_a_centre_block():
    X = np.random.default_rng(0).normal(size=(2000, 3))
    _, idx = kmeans_plusplus(X, 5, random_state=0, n_local_trials=300)
    _, ref_idx = sk_kmeans_plusplus(X, 5, random_state=0, n_local_trials=300)
    assert_array_equal(idx, ref_idx)


EDGE_CASES = {
    "n_clusters == n_samples": (np.arange(12.0).reshape(6, 2) ** 1.5, 6),
    "a single sample": (np.array([[1.0, -2.0, 3.0]]), 1),
    "identical points": (np.ones((30, 3)), 3),
    "one feature": (np.linspace(0, 1, 50)[:, None] ** 3, 4),
    "huge values": (np.random.default_rng(1).normal(size=(60, 3)) * 1e150, 3),
    "tiny values": (np.random.default_rng(2).normal(size=(60, 3)) * 1e-150, 3),
}


@pytest.mark.filterwarnings("ignore:Number of distinct clusters")
@pytest.mark.filterwarnings("ignore:algorithm='elkan' doesn't make sense")
@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("case", EDGE_CASES)
def test_edge_inputs_match_sklearn(case, algorithm):
    X, k = EDGE_CASES[case]
    params = dict(n_clusters=k, n_init=2, random_state=0, algorithm=algorithm)
    ours = KMeans(**params).fit(X)
    ref = SKKMeans(**params).fit(X)
    assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-6, atol=1e-300)
    assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-300)
    assert np.isfinite(ours.inertia_)


def test_blas_is_one_thread_in_kernels_only_and_restored_after_a_fit(rng):
    from blas import nbkm_blas_threads as blas_threads

    X = make_blobs_data(rng, 300, 3, 20)
    before = blas_threads()
    seen = []

    def init(X_centred, n_clusters, random_state):
        seen.append(blas_threads())
        return X_centred[:n_clusters].copy()

    KMeans(20, init=init, n_init=1).fit(X)
    # User code runs with the caller's BLAS threads, kernels with one.
    assert seen == [before]
    with numba_threads(1):
        assert set(blas_threads()) == {1}
    assert blas_threads() == before
