"""Regression tests for defects found by adversarial input: memory safety, overflow,
weights at the edges of the float range, threads and forks.

Each test failed (or crashed, or hung) before its fix.
"""

import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from blas import nbkm_blas_threads
from data import make_blobs_data
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import cdist
from threadpoolctl import ThreadpoolController

from nbkm import KMeans, _threads, kmeans_plusplus
from nbkm import _kernels as K

TIMEOUT = 300


def _run(script, timeout=TIMEOUT, **env):
    """Run ``script`` in a fresh interpreter; return its last stdout line as JSON."""
    return _run_args(["-c", textwrap.dedent(script)], timeout, **env)


def _run_args(args, timeout=TIMEOUT, env=None, **changes):
    proc = subprocess.run(
        [sys.executable, *args],
        env={**(os.environ if env is None else env), **changes},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def blobs():
    return make_blobs_data(np.random.default_rng(7), 2000, 4, 8, std=1.0)


# --------------------------------------------------------------------------
# 1. shapes are checked before any kernel runs


@pytest.mark.parametrize("n_clusters_after", [1, 12])
def test_transform_is_sized_by_the_fitted_centres_not_the_parameter(
    blobs, n_clusters_after
):
    km = KMeans(8, random_state=0, n_init=1).fit(blobs)
    km.set_params(n_clusters=n_clusters_after)
    out = km.transform(blobs)
    assert out.shape == (2000, 8)
    assert_allclose(out, cdist(blobs, km.cluster_centers_), rtol=1e-9, atol=1e-9)
    assert_array_equal(km.predict(blobs), km.labels_)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
@pytest.mark.parametrize(
    "centers, match",
    [
        (np.zeros((8, 3)), r"cluster_centers_ has shape \(8, 3\).*fitted on 4"),
        (np.zeros((8, 5)), r"cluster_centers_ has shape \(8, 5\).*fitted on 4"),
        (np.zeros(4), "Expected 2D array"),
        (np.full((8, 4), np.nan), "NaN"),
    ],
)
def test_hand_set_centres_that_do_not_fit_raise_value_error(
    blobs, method, centers, match
):
    km = KMeans(8, random_state=0, n_init=1).fit(blobs)
    km.cluster_centers_ = centers
    with pytest.raises(ValueError, match=match):
        getattr(km, method)(blobs)


def test_hand_set_centres_of_another_count_are_used_as_given(blobs):
    km = KMeans(8, random_state=0, n_init=1).fit(blobs)
    km.cluster_centers_ = km.cluster_centers_[:3].copy()
    assert km.transform(blobs).shape == (2000, 3)
    assert km.predict(blobs).max() <= 2


# --------------------------------------------------------------------------
# 2. overflow: a clear error, never a distance reported smaller than it is


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_data_whose_squares_overflow_is_refused_in_both_layouts(layout):
    X = sp.random(200, 20, density=0.3, random_state=0, format="csr") * 1e200
    X = X if layout == "csr" else X.toarray()
    with pytest.raises(ValueError, match="too large for k-means in float64"):
        KMeans(3, random_state=0, n_init=1).fit(X)
    with pytest.raises(ValueError, match="too large"):
        kmeans_plusplus(X, 3, random_state=0)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_queries_whose_squares_overflow_are_refused(blobs, method):
    km = KMeans(3, random_state=0, n_init=1).fit(blobs)
    with pytest.raises(ValueError, match="too large"):
        getattr(km, method)(np.full((2, 4), 1e160))


def test_centres_whose_squares_overflow_are_refused(blobs):
    huge = np.full((2, 4), 1e160)
    with pytest.raises(ValueError, match="too large"):
        KMeans(2, init=huge, n_init=1).fit(blobs)
    with pytest.raises(ValueError, match="too large"):
        KMeans(2, init=lambda X, k, random_state: huge, n_init=1).fit(blobs)
    km = KMeans(2, random_state=0, n_init=1).fit(blobs)
    km.cluster_centers_ = huge
    with pytest.raises(ValueError, match="too large"):
        km.predict(blobs)


def test_largest_safe_magnitude_still_fits(blobs):
    # Just under the limit everything stays finite.
    X = blobs / np.abs(blobs).max() * 1e150
    km = KMeans(3, random_state=0, n_init=1).fit(X)
    assert np.isfinite(km.inertia_) and np.isfinite(km.transform(X)).all()


def test_csr_distance_kernel_never_turns_nan_into_zero():
    # One stored value and a centre whose squares overflow: (x - c)^2 - c^2 is
    # inf - inf = NaN, for a true distance of inf. The old floor
    # `r if r > 0 else 0` reported 0.
    X = sp.csr_matrix(np.array([[0.0, 1e300]]))
    centers = np.array([[0.0, -1e300]])
    centers_sq = (centers**2).sum(axis=1)
    out = np.empty(1)
    K.distances_to_assigned(
        (X.data, X.indices, X.indptr),
        np.zeros(2),
        centers,
        centers_sq,
        np.zeros(1, np.int32),
        out,
    )
    assert not out[0] < 1e300 * 1e300  # NaN or inf, never a finite underestimate


# --------------------------------------------------------------------------
# 3. no deadlock when an init callable runs nbkm on another thread


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_init_callable_that_waits_for_nbkm_on_another_thread_does_not_deadlock():
    script = """
        import json
        from concurrent.futures import ThreadPoolExecutor
        import numba, numpy as np
        import nbkm
        X = np.random.default_rng(0).normal(size=(500, 3))
        pool = ThreadPoolExecutor(1)
        def init(X, k, random_state):
            future = pool.submit(lambda: nbkm.KMeans(k, random_state=0).fit(X))
            return future.result(timeout=120).cluster_centers_
        km = nbkm.KMeans(3, init=init, n_init=2, random_state=0).fit(X)
        print(json.dumps({"layer": numba.threading_layer(), "n_iter": km.n_iter_}))
        """
    result = _run(script, NUMBA_THREADING_LAYER="workqueue")
    assert result["layer"] == "workqueue"
    assert result["n_iter"] >= 1


# --------------------------------------------------------------------------
# 4. the caller's data is never handed to user code


def test_init_callable_that_edits_its_csr_argument_leaves_the_callers_matrix():
    X = sp.random(60, 5, density=0.5, random_state=0, format="csr")
    before = X.copy()

    def init(data, k, random_state):
        data.data *= 2
        data.indices[:] = 0
        return data[:k].toarray()

    KMeans(3, init=init, n_init=1).fit(X)
    assert_array_equal(X.data, before.data)
    assert_array_equal(X.indices, before.indices)
    assert_array_equal(X.indptr, before.indptr)


# --------------------------------------------------------------------------
# 5. queries are computed in the model's dtype


def test_float32_query_on_a_float64_model_is_computed_in_float64(blobs):
    km = KMeans(2, random_state=0, n_init=1).fit(blobs[:, :2])
    query = np.array([[3e19, 0.0]], dtype=np.float32)
    out = km.transform(query)
    assert out.dtype == np.float64
    expected = cdist(query.astype(np.float64), km.cluster_centers_)
    assert_allclose(out, expected, rtol=1e-12)
    assert np.isfinite(km.score(query))


def test_float64_query_on_a_float32_model_matches_labels(blobs):
    X32 = blobs.astype(np.float32)
    km = KMeans(8, random_state=0, n_init=1).fit(X32)
    assert km.transform(blobs).dtype == np.float32
    assert_array_equal(km.predict(blobs), km.labels_)
    with pytest.raises(ValueError, match="float32"):
        km.predict(np.full((1, 4), 1e39))


# --------------------------------------------------------------------------
# 6. weights at the ends of the float range


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
@pytest.mark.parametrize("weight, scale", [(1e-320, 1.0), (1e300, 1e9)])
def test_extreme_uniform_weights_give_the_unweighted_clustering(
    blobs, algorithm, weight, scale
):
    X = blobs * scale
    w = np.full(X.shape[0], weight)
    ref = KMeans(8, random_state=0, n_init=1, algorithm=algorithm).fit(X)
    km = KMeans(8, random_state=0, n_init=1, algorithm=algorithm).fit(
        X, sample_weight=w
    )
    assert np.isfinite(km.cluster_centers_).all()
    assert_array_equal(km.labels_, ref.labels_)
    assert_array_equal(km.labels_, km.predict(X))
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    assert_allclose(km.inertia_, ref.inertia_ * weight, rtol=1e-3)


def test_ordinary_weights_are_used_exactly_as_given(blobs):
    # Weights whose sums fit are not rescaled: weights of 3.0 give bitwise the
    # same centres as weights of 6.0 (no hidden rescaling).
    w = np.full(blobs.shape[0], 3.0)
    a = KMeans(8, random_state=0, n_init=1).fit(blobs, sample_weight=w)
    b = KMeans(8, random_state=0, n_init=1).fit(blobs, sample_weight=w * 2.0)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ * 2.0 == b.inertia_


# --------------------------------------------------------------------------
# 7. labels_ is predict(X), also when final centres (nearly) coincide


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_labels_equal_predict_on_small_integer_data(algorithm):
    mismatched = []
    for seed in range(60):
        X = np.random.default_rng(seed).integers(-3, 4, size=(37, 1)).astype(float)
        with warnings.catch_warnings():
            # Fewer distinct values than clusters: the ConvergenceWarning is
            # expected and beside the point here.
            warnings.simplefilter("ignore")
            km = KMeans(8, random_state=seed, n_init=1, algorithm=algorithm).fit(X)
        if not np.array_equal(km.labels_, km.predict(X)):
            mismatched.append(seed)
    assert mismatched == []


# --------------------------------------------------------------------------
# 8. relocation that empties a one-sample cluster: documented behaviour


def test_cluster_emptied_by_a_relocation_takes_the_heaviest_clusters_mean():
    # Cluster 0 holds one sample (100), far from its centre (50): it is moved into
    # the empty cluster 1, which empties cluster 0. Cluster 0 then takes the centre
    # of the heaviest cluster, 2: its mean (2.0), where scikit-learn 1.9 copies
    # the sum before dividing it (10.0).
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [100.0]])
    init = np.array([[50.0], [-1000.0], [1.0]])
    km = KMeans(3, init=init, n_init=1, max_iter=1).fit(X)
    assert_allclose(km.cluster_centers_.ravel(), [2.0, 100.0, 2.0], rtol=1e-12)
    assert_array_equal(km.labels_, km.predict(X))


# --------------------------------------------------------------------------
# 9. fork after a fit: working children or a clear error, never a hang


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_default_threading_layer_is_tbb():
    script = """
        import json
        import numba, numpy as np
        import nbkm
        nbkm.KMeans(2, n_init=1).fit(np.random.default_rng(0).normal(size=(50, 2)))
        print(json.dumps({"layer": numba.threading_layer()}))
        """
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    assert _run_args(["-c", textwrap.dedent(script)], env=env)["layer"] == "tbb"


@pytest.mark.parametrize("layer", ["tbb", "omp"])
@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_fork_pool_after_a_fit_never_hangs(layer):
    script = """
        import json, multiprocessing as mp
        import numba, numpy as np
        import nbkm
        X = np.random.default_rng(0).normal(size=(400, 3))
        def fit(seed):
            try:
                return float(nbkm.KMeans(3, random_state=seed).fit(X).inertia_)
            except RuntimeError as exc:
                return str(exc)
        parent = float(nbkm.KMeans(3, random_state=0).fit(X).inertia_)
        with mp.get_context("fork").Pool(2) as pool:
            children = pool.map(fit, [0, 1], chunksize=1)
        print(json.dumps({"layer": numba.threading_layer(), "parent": parent,
                          "children": children}))
        """
    result = _run(script, timeout=180, NUMBA_THREADING_LAYER=layer)
    assert result["layer"] == layer
    if layer == "omp":  # GNU OpenMP: a clear error in each child
        for outcome in result["children"]:
            assert "forked from a process" in outcome and "spawn" in outcome
    else:  # tbb, the default: children work
        assert result["children"][0] == result["parent"]


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_fork_after_a_bounded_fit_gives_children_a_pool_of_their_own():
    # The bounded sweeps run on nbkm's own thread pool, whose threads a forked
    # child does not inherit: the child starts a pool afresh and gets the
    # parent's result, instead of waiting forever on a pool that is not there.
    script = """
        import json, multiprocessing as mp
        import numpy as np
        import nbkm
        X = np.random.default_rng(0).normal(size=(6000, 3))
        init = X[:60].copy()
        def fit(_):
            km = nbkm.KMeans(60, init=init, n_init=1, algorithm="hamerly")
            return float(km.fit(X).inertia_)
        parent = fit(0)
        with mp.get_context("fork").Pool(2) as pool:
            children = pool.map(fit, [0, 1], chunksize=1)
        print(json.dumps({"parent": parent, "children": children}))
        """
    result = _run(script, timeout=180, NUMBA_THREADING_LAYER="tbb")
    assert result["children"] == [result["parent"]] * 2


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_spawn_pool_after_a_fit_works(tmp_path):
    # A file, not -c: spawned workers import the main module to find `fit`.
    script = tmp_path / "spawn_fit.py"
    script.write_text(
        textwrap.dedent("""
        import json, multiprocessing as mp
        import numpy as np
        import nbkm
        def fit(seed):
            X = np.random.default_rng(0).normal(size=(400, 3))
            return float(nbkm.KMeans(3, random_state=seed).fit(X).inertia_)
        if __name__ == "__main__":
            parent = fit(0)
            with mp.get_context("spawn").Pool(1) as pool:
                children = pool.map(fit, [0])
            print(json.dumps({"parent": parent, "children": children}))
        """)
    )
    result = _run_args([str(script)], timeout=240)
    assert result["children"] == [result["parent"]]


# --------------------------------------------------------------------------
# 10. the BLAS thread count is restored whatever the interleaving


def test_interleaved_calls_restore_the_original_blas_thread_count():
    controller = ThreadpoolController()
    with controller.limit(limits=2, user_api="blas"):
        original = nbkm_blas_threads()
        a_inside, b_inside, a_left = (threading.Event() for _ in range(3))
        seen = {}

        def first():
            with _threads.numba_threads(1):
                a_inside.set()
                b_inside.wait(30)
            a_left.set()

        def second():
            a_inside.wait(30)
            with _threads.numba_threads(1):
                b_inside.set()
                a_left.wait(30)
                seen["inside"] = nbkm_blas_threads()

        threads = [threading.Thread(target=f) for f in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert seen["inside"] == [1] * len(original)
        assert nbkm_blas_threads() == original


def test_concurrent_fits_leave_the_blas_thread_count_as_it_was(blobs):
    controller = ThreadpoolController()
    with controller.limit(limits=2, user_api="blas"):
        original = nbkm_blas_threads()
        threads = [
            threading.Thread(
                target=lambda: KMeans(8, n_init=3, random_state=0).fit(blobs)
            )
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert nbkm_blas_threads() == original


# --------------------------------------------------------------------------
# malformed CSR: a clear error, not a segfault


def _csr(data, indices, indptr, shape):
    X = sp.csr_matrix((np.array(data, float), np.array(indices), np.array(indptr)))
    X._shape = shape  # bypass scipy's own (partial) checks, as a broken file would
    return X


@pytest.mark.parametrize(
    "X, match",
    [
        (_csr([1.0, 2.0], [0, 7], [0, 1, 2], (2, 3)), r"column indices must be in"),
        (_csr([1.0, 2.0], [0, -1], [0, 1, 2], (2, 3)), r"column indices must be in"),
        (_csr([1.0, 2.0], [0, 1], [0, 2, 1], (2, 3)), "indptr"),
    ],
)
def test_malformed_csr_raises_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        KMeans(2, n_init=1, random_state=0).fit(X)
    km = KMeans(2, n_init=1, random_state=0).fit(np.eye(3))
    for method in ("predict", "transform", "score"):
        with pytest.raises(ValueError, match=match):
            getattr(km, method)(X)
