"""scikit-learn's own MiniBatchKMeans tests, run against nbkm.MiniBatchKMeans.

Ported from ``sklearn/cluster/tests/test_k_means.py`` (scikit-learn 1.9): every
test there that runs ``MiniBatchKMeans`` (for those parametrized over
``[KMeans, MiniBatchKMeans]``, only the ``MiniBatchKMeans`` case: nbkm.KMeans is
tested elsewhere), with the same data and the same assertions. The estimator
under test is the module constant ``MBK``; set it to
``sklearn.cluster.MiniBatchKMeans`` to check the port itself, which passes all of
these tests.

``global_random_seed`` is scikit-learn's fixture, here a module fixture over
``SEEDS`` (scikit-learn's default run uses 42 alone; its tests must pass for any
seed). ``global_dtype`` is scikit-learn's opt-in float32/float64 fixture, here
always both.

Adapted to public behaviour (the original inspects scikit-learn internals):

- test_minibatch_update_consistency: called ``_mini_batch_step`` and
  ``_labels_inertia``. Here one ``partial_fit`` from ``init=centers_old`` with
  ``reassignment_ratio=0`` is the same step without reassignment; the batch
  inertia before the step is computed with NumPy, the one after is ``inertia_``.
- test_minibatch_reassign: called ``_mini_batch_step`` with
  ``random_reassign=True``. Here the first ``partial_fit`` (it always reassigns,
  since every count is still zero) from the perfect centres, with
  ``reassignment_ratio`` 1 and 1e-15; the scores are ``-inertia`` of the whole
  data (NumPy before, ``score`` after).
- test_minibatch_kmeans_init_size: read the private ``_init_size``. Here a fit
  with the default (or an oversized) ``init_size`` must equal, with the same
  random_state, a fit with the ``init_size`` scikit-learn resolves it to: the
  number of samples drawn for the init changes the random stream.
- test_kmeans_init_auto_with_initial_centroids and test_n_init_auto: read the
  private ``_n_init``. Here a fit with ``n_init="auto"`` must equal, with the
  same random_state, a fit with the expected ``n_init`` given explicitly.
- test_result_equal_in_diff_n_threads: limited the OpenMP threads only; here
  also ``n_threads`` 1 and 2 when the estimator has that parameter.

KMeans-only tests applied to MiniBatchKMeans too, as the behaviour they check is
shared by both estimators: test_kmeans_with_array_like_or_np_scalar_init,
test_predict_does_not_change_cluster_centers.

Left out:

- KMeans-only algorithm tests, meaningless for MiniBatchKMeans (no ``algorithm``,
  ``copy_x``, Lloyd/Elkan iterations, deterministic empty-cluster relocation or
  "fewer distinct clusters" warning): test_kmeans_results,
  test_kmeans_relocated_clusters, test_kmeans_elkan_results,
  test_kmeans_convergence, test_kmeans_verbose (KMeans' messages; MiniBatchKMeans'
  are checked by test_minibatch_kmeans_verbose and
  test_minibatch_declared_convergence), test_kmeans_copyx,
  test_kmeans_init_fitted_centers, test_kmeans_warns_less_centers_than_unique_points,
  test_kmeans_elkan_iter_attribute, test_kmeans_empty_cluster_relocated
  (MiniBatchKMeans reassigns empty clusters at random), test_warning_elkan_1_cluster,
  test_k_means_1_iteration, test_relocating_with_duplicates.
- test_n_init: KMeans only; MiniBatchKMeans picks its init by inertia on a
  validation subsample, so the final ``inertia_`` need not fall with ``n_init``.
- test_weighted_vs_repeated: not valid for MiniBatchKMeans, as its docstring says
  (the minibatches are drawn at random).
- test_relocate_empty_clusters, test_euclidean_distance, test_inertia,
  test_is_same_clustering: test scikit-learn's private Cython helpers.
- test_sample_weight_init, test_sample_weight_zero: call the private
  ``_init_centroids``; MiniBatchKMeans' initial centres are not public (``max_iter``
  is at least 1 and ``partial_fit`` always takes a step).
- test_k_means_function and the kmeans_plusplus tests: functions, not the
  estimator (nbkm.kmeans_plusplus is tested elsewhere).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import pairwise_distances
from sklearn.metrics.cluster import v_measure_score
from sklearn.utils._testing import (
    assert_allclose,
    assert_array_equal,
    create_memmap_backed_data,
)
from threadpoolctl import ThreadpoolController

import nbkm

MBK = nbkm.MiniBatchKMeans

SEEDS = [0, 42]

# Non-centred, sparse centres (scikit-learn's module data).
centers = np.array(
    [
        [0.0, 5.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 4.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 5.0, 1.0],
    ]
)
n_samples = 100
n_clusters, n_features = centers.shape
X, true_labels = make_blobs(
    n_samples=n_samples, centers=centers, cluster_std=1.0, random_state=42
)
CSR_CONTAINERS = [sp.csr_matrix, sp.csr_array]
X_as_any_csr = [container(X) for container in CSR_CONTAINERS]
data_containers = [np.array] + CSR_CONTAINERS
data_containers_ids = ["dense", "sparse_matrix", "sparse_array"]


@pytest.fixture(params=SEEDS)
def global_random_seed(request):
    return request.param


def _assert_same_fit(a, b):
    assert_array_equal(a.labels_, b.labels_)
    assert_allclose(a.cluster_centers_, b.cluster_centers_)
    assert a.n_steps_ == b.n_steps_


def _inertia(X, sample_weight, centers):
    # -score of ``centers`` on X, with each sample at its nearest centre.
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    d2 = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return float(np.sum(sample_weight * d2.min(axis=1)))


@pytest.mark.parametrize("X_csr", X_as_any_csr)
def test_minibatch_update_consistency(X_csr, global_random_seed):
    # Check that dense and sparse minibatch update give the same results
    rng = np.random.RandomState(global_random_seed)

    centers_old = centers + rng.normal(size=centers.shape)
    centers_old_csr = centers_old.copy()

    sample_weight = np.ones(X.shape[0], dtype=X.dtype)

    # extract a small minibatch
    X_mb = X[:10]
    X_mb_csr = X_csr[:10]
    sample_weight_mb = sample_weight[:10]

    def step(X_batch, init):
        km = MBK(
            n_clusters=n_clusters,
            init=init,
            n_init=1,
            reassignment_ratio=0,
            random_state=global_random_seed,
        )
        return km.partial_fit(X_batch, sample_weight=sample_weight_mb)

    # step 1: compute the dense minibatch update
    old_inertia = _inertia(X_mb, sample_weight_mb, centers_old)
    assert old_inertia > 0.0
    km = step(X_mb, centers_old)
    centers_new = km.cluster_centers_

    # the new inertia on the same batch has decreased
    labels, new_inertia = km.labels_, km.inertia_
    assert new_inertia > 0.0
    assert new_inertia < old_inertia

    # step 2: compute the sparse minibatch update
    old_inertia_csr = _inertia(X_mb_csr, sample_weight_mb, centers_old_csr)
    assert old_inertia_csr > 0.0
    km_csr = step(X_mb_csr, centers_old_csr)
    centers_new_csr = km_csr.cluster_centers_

    labels_csr, new_inertia_csr = km_csr.labels_, km_csr.inertia_
    assert new_inertia_csr > 0.0
    assert new_inertia_csr < old_inertia_csr

    # step 3: check that sparse and dense updates lead to the same results
    assert_array_equal(labels, labels_csr)
    assert_allclose(centers_new, centers_new_csr)
    assert_allclose(old_inertia, old_inertia_csr)
    assert_allclose(new_inertia, new_inertia_csr)
    # partial_fit leaves the user's init alone
    assert_array_equal(centers_old, centers_old_csr)


def _check_fitted_model(km):
    # check that the number of clusters centers and distinct labels match
    # the expectation
    centers = km.cluster_centers_
    assert centers.shape == (n_clusters, n_features)

    labels = km.labels_
    assert np.unique(labels).shape[0] == n_clusters

    # check that the labels assignment are perfect (up to a permutation)
    assert_allclose(v_measure_score(true_labels, labels), 1.0)
    assert km.inertia_ > 0.0


@pytest.mark.parametrize("input_data", [X] + X_as_any_csr, ids=data_containers_ids)
@pytest.mark.parametrize(
    "init",
    ["random", "k-means++", centers.copy(), lambda X, k, random_state: centers.copy()],
    ids=["random", "k-means++", "ndarray", "callable"],
)
def test_all_init(input_data, init):
    # Check MiniBatchKMeans with all possible init.
    n_init = 10 if isinstance(init, str) else 1
    km = MBK(init=init, n_clusters=n_clusters, random_state=42, n_init=n_init).fit(
        input_data
    )
    _check_fitted_model(km)


@pytest.mark.parametrize(
    "init",
    ["random", "k-means++", centers, lambda X, k, random_state: centers.copy()],
    ids=["random", "k-means++", "ndarray", "callable"],
)
def test_minibatch_kmeans_partial_fit_init(init):
    if hasattr(init, "copy"):
        # Avoid mutating a shared array in place to avoid side effects in other tests.
        init = init.copy()

    # Check MiniBatchKMeans init with partial_fit
    n_init = 10 if isinstance(init, str) else 1
    km = MBK(init=init, n_clusters=n_clusters, random_state=0, n_init=n_init)
    for _ in range(100):
        # "random" init requires many batches to recover the true labels.
        km.partial_fit(X)
    _check_fitted_model(km)


@pytest.mark.parametrize(
    "init, expected_n_init",
    [
        ("k-means++", 1),
        ("random", "default"),
        (
            lambda X, n_clusters, random_state: random_state.uniform(
                size=(n_clusters, X.shape[1])
            ),
            "default",
        ),
        ("array-like", 1),
    ],
    ids=["k-means++", "random", "callable", "array-like"],
)
def test_kmeans_init_auto_with_initial_centroids(init, expected_n_init):
    """Check that `n_init="auto"` chooses the right number of initializations.

    Non-regression test for #26657:
    https://github.com/scikit-learn/scikit-learn/pull/26657
    """
    rng = np.random.RandomState(0)
    n_sample, n_features, n_clusters = 100, 10, 5
    X = rng.randn(n_sample, n_features)
    if init == "array-like":
        init = rng.randn(n_clusters, n_features)
    if expected_n_init == "default":
        expected_n_init = 3

    kmeans = MBK(n_clusters=n_clusters, init=init, n_init="auto", random_state=0)
    kmeans.fit(X)
    # was: assert kmeans._n_init == expected_n_init
    expected = clone(kmeans).set_params(n_init=expected_n_init).fit(X)
    _assert_same_fit(kmeans, expected)


def test_fortran_aligned_data(global_random_seed):
    # Check that MiniBatchKMeans works with fortran-aligned data.
    X_fortran = np.asfortranarray(X)
    centers_fortran = np.asfortranarray(centers)

    km_c = MBK(
        n_clusters=n_clusters, init=centers, n_init=1, random_state=global_random_seed
    ).fit(X)
    km_f = MBK(
        n_clusters=n_clusters,
        init=centers_fortran,
        n_init=1,
        random_state=global_random_seed,
    ).fit(X_fortran)
    assert_allclose(km_c.cluster_centers_, km_f.cluster_centers_)
    assert_array_equal(km_c.labels_, km_f.labels_)


def test_minibatch_kmeans_verbose(capsys):
    # Check verbose mode of MiniBatchKMeans for better coverage. (scikit-learn
    # only runs it; here the messages are checked: the init, and one line per
    # step taken.)
    km = MBK(n_clusters=n_clusters, random_state=42, verbose=1)
    km.fit(X)
    out = capsys.readouterr().out
    assert "Init 1/" in out
    steps = [line for line in out.splitlines() if line.startswith("Minibatch step ")]
    assert len(steps) == km.n_steps_
    assert steps[-1].startswith(f"Minibatch step {km.n_steps_}/")


def test_minibatch_kmeans_warning_init_size():
    # Check that a warning is raised when init_size is smaller than n_clusters
    with pytest.warns(
        RuntimeWarning, match=r"init_size.* should be larger than n_clusters"
    ):
        MBK(init_size=10, n_clusters=20).fit(X)


def test_warning_n_init_precomputed_centers():
    # Check that a warning is raised when n_init > 1 and an array is passed for
    # the init parameter.
    with pytest.warns(
        RuntimeWarning,
        match="Explicit initial center position passed: performing only one init",
    ):
        MBK(init=centers, n_clusters=n_clusters, n_init=10).fit(X)


def test_minibatch_sensible_reassign(global_random_seed):
    # check that identical initial clusters are reassigned
    # also a regression test for when there are more desired reassignments than
    # samples.
    zeroed_X, true_labels = make_blobs(
        n_samples=100, centers=5, random_state=global_random_seed
    )
    zeroed_X[::2, :] = 0

    km = MBK(
        n_clusters=20, batch_size=10, random_state=global_random_seed, init="random"
    ).fit(zeroed_X)
    # there should not be too many exact zero cluster centers
    num_non_zero_clusters = km.cluster_centers_.any(axis=1).sum()
    assert num_non_zero_clusters > 9, f"{num_non_zero_clusters=} is too small"

    # do the same with batch-size > X.shape[0] (regression test)
    km = MBK(
        n_clusters=20, batch_size=200, random_state=global_random_seed, init="random"
    ).fit(zeroed_X)
    # there should not be too many exact zero cluster centers
    num_non_zero_clusters = km.cluster_centers_.any(axis=1).sum()
    assert num_non_zero_clusters > 9, f"{num_non_zero_clusters=} is too small"

    # do the same with partial_fit API
    km = MBK(n_clusters=20, random_state=global_random_seed, init="random")
    for _ in range(100):
        km.partial_fit(zeroed_X)
    # there should not be too many exact zero cluster centers
    num_non_zero_clusters = km.cluster_centers_.any(axis=1).sum()
    assert num_non_zero_clusters > 9, f"{num_non_zero_clusters=} is too small"


@pytest.mark.parametrize("input_data", [X] + X_as_any_csr, ids=data_containers_ids)
def test_minibatch_reassign(input_data, global_random_seed):
    # Check the reassignment part of the minibatch step with very high or very
    # low reassignment ratio.
    perfect_centers = np.empty((n_clusters, n_features))
    for i in range(n_clusters):
        perfect_centers[i] = X[true_labels == i].mean(axis=0)

    sample_weight = np.ones(n_samples)

    def step(reassignment_ratio):
        # The first partial_fit takes one step on the whole of input_data from
        # init, with zero counts, hence with a random reassignment.
        km = MBK(
            n_clusters=n_clusters,
            init=perfect_centers,
            n_init=1,
            reassignment_ratio=reassignment_ratio,
            random_state=global_random_seed,
        )
        return km.partial_fit(input_data, sample_weight=sample_weight)

    # Give a perfect initialization, but a large reassignment_ratio, as a
    # result many centers should be reassigned and the model should no longer
    # be good
    score_before = -_inertia(input_data, sample_weight, perfect_centers)
    km = step(reassignment_ratio=1)
    score_after = km.score(input_data)

    assert score_before > score_after

    # Give a perfect initialization, with a small reassignment_ratio,
    # no center should be reassigned.
    km = step(reassignment_ratio=1e-15)

    assert_allclose(km.cluster_centers_, perfect_centers)


def test_minibatch_with_many_reassignments(capsys):
    # Test for the case that the number of clusters to reassign is bigger
    # than the batch_size. Run the test with 100 clusters and a batch_size of
    # 10 because it turned out that these values ensure that the number of
    # clusters to reassign is always bigger than the batch_size. (scikit-learn
    # only runs it; here the verbose output shows that case happened: the
    # number reassigned reaches its cap, half the batch; and the fit must still
    # be a valid one.)
    km = MBK(
        n_clusters=100,
        batch_size=10,
        init_size=n_samples,
        random_state=42,
        verbose=True,
    ).fit(X)
    reassigned = [
        int(line.split()[2])
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("[MiniBatchKMeans] Reassigning ")
    ]
    assert reassigned and max(reassigned) == 10 // 2
    assert km.cluster_centers_.shape == (100, n_features)
    assert np.isfinite(km.cluster_centers_).all()
    assert_array_equal(km.labels_, km.predict(X))


def test_minibatch_kmeans_init_size():
    # Check the init size resolved by MiniBatchKMeans (was: its private
    # _init_size): a fit equals the fit with that init_size given explicitly.
    def fit(**params):
        return MBK(n_clusters=10, n_init=1, random_state=0, **params).fit(X)

    # default init size should be 3 * batch_size
    _assert_same_fit(fit(batch_size=5), fit(batch_size=5, init_size=15))

    # if 3 * batch size < n_clusters, it should then be 3 * n_clusters
    _assert_same_fit(fit(batch_size=1), fit(batch_size=1, init_size=30))

    # it should not be larger than n_samples
    _assert_same_fit(
        fit(batch_size=5, init_size=n_samples + 1),
        fit(batch_size=5, init_size=n_samples),
    )


@pytest.mark.parametrize("tol, max_no_improvement", [(1e-4, None), (0, 10)])
def test_minibatch_declared_convergence(capsys, tol, max_no_improvement):
    # Check convergence detection based on ewa batch inertia or on
    # small center change.
    X, _, centers = make_blobs(centers=3, random_state=0, return_centers=True)

    km = MBK(
        n_clusters=3,
        init=centers,
        batch_size=20,
        tol=tol,
        random_state=0,
        max_iter=10,
        n_init=1,
        verbose=1,
        max_no_improvement=max_no_improvement,
    )

    km.fit(X)
    assert 1 < km.n_iter_ < 10

    captured = capsys.readouterr()
    if max_no_improvement is None:
        assert "Converged (small centers change)" in captured.out
    if tol == 0:
        assert "Converged (lack of improvement in inertia)" in captured.out


def test_minibatch_iter_steps():
    # Check consistency of n_iter_ and n_steps_ attributes.
    batch_size = 30
    n_samples = X.shape[0]
    km = MBK(n_clusters=3, batch_size=batch_size, random_state=0).fit(X)

    # n_iter_ is the number of started epochs
    assert km.n_iter_ == np.ceil((km.n_steps_ * batch_size) / n_samples)
    assert isinstance(km.n_iter_, int)

    # without stopping condition, max_iter should be reached
    km = MBK(
        n_clusters=3,
        batch_size=batch_size,
        random_state=0,
        tol=0,
        max_no_improvement=None,
        max_iter=10,
    ).fit(X)

    assert km.n_iter_ == 10
    assert km.n_steps_ == (10 * n_samples) // batch_size
    assert isinstance(km.n_steps_, int)


def test_score_max_iter(global_random_seed):
    # Check that fitting MiniBatchKMeans with more iterations gives better score
    X = np.random.RandomState(global_random_seed).randn(100, 10)

    km1 = MBK(n_init=1, random_state=global_random_seed, max_iter=1)
    s1 = km1.fit(X).score(X)
    km2 = MBK(n_init=1, random_state=global_random_seed, max_iter=10)
    s2 = km2.fit(X).score(X)
    assert s2 > s1


@pytest.mark.parametrize("array_constr", data_containers, ids=data_containers_ids)
@pytest.mark.parametrize("max_iter", [2, 100])
@pytest.mark.parametrize("global_dtype", [np.float64, np.float32])
def test_kmeans_predict(array_constr, max_iter, global_dtype, global_random_seed):
    # Check the predict method and the equivalence between fit.predict and
    # fit_predict.
    X, _ = make_blobs(
        n_samples=200, n_features=10, centers=10, random_state=global_random_seed
    )
    X = array_constr(X, dtype=global_dtype)

    km = MBK(
        n_clusters=10,
        init="random",
        n_init=10,
        max_iter=max_iter,
        random_state=global_random_seed,
    )
    km.fit(X)
    labels = km.labels_

    # re-predict labels for training set using predict
    pred = km.predict(X)
    assert_array_equal(pred, labels)

    # re-predict labels for training set using fit_predict
    pred = km.fit_predict(X)
    assert_array_equal(pred, labels)

    # predict centroid labels
    pred = km.predict(km.cluster_centers_)
    assert_array_equal(pred, np.arange(10))


@pytest.mark.parametrize("X_csr", X_as_any_csr)
def test_dense_sparse(X_csr, global_random_seed):
    # Check that the results are the same for dense and sparse input.
    sample_weight = np.random.RandomState(global_random_seed).random_sample(
        (n_samples,)
    )
    km_dense = MBK(n_clusters=n_clusters, random_state=global_random_seed, n_init=1)
    km_dense.fit(X, sample_weight=sample_weight)
    km_sparse = MBK(n_clusters=n_clusters, random_state=global_random_seed, n_init=1)
    km_sparse.fit(X_csr, sample_weight=sample_weight)

    assert_array_equal(km_dense.labels_, km_sparse.labels_)
    assert_allclose(km_dense.cluster_centers_, km_sparse.cluster_centers_)


@pytest.mark.parametrize("X_csr", X_as_any_csr)
@pytest.mark.parametrize(
    "init", ["random", "k-means++", centers], ids=["random", "k-means++", "ndarray"]
)
def test_predict_dense_sparse(init, X_csr):
    # check that models trained on sparse input also works for dense input at
    # predict time and vice versa.
    n_init = 10 if isinstance(init, str) else 1
    km = MBK(n_clusters=n_clusters, init=init, n_init=n_init, random_state=0)

    km.fit(X_csr)
    assert_array_equal(km.predict(X), km.labels_)

    km.fit(X)
    assert_array_equal(km.predict(X_csr), km.labels_)


@pytest.mark.parametrize("array_constr", data_containers, ids=data_containers_ids)
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("init", ["k-means++", "ndarray"])
def test_integer_input(array_constr, dtype, init, global_random_seed):
    # Check that MiniBatchKMeans works with integer input.
    X_dense = np.array([[0, 0], [10, 10], [12, 9], [-1, 1], [2, 0], [8, 10]])
    X = array_constr(X_dense, dtype=dtype)

    n_init = 1 if init == "ndarray" else 10
    init = X_dense[:2] if init == "ndarray" else init

    km = MBK(n_clusters=2, init=init, n_init=n_init, random_state=global_random_seed)
    km.set_params(batch_size=2)

    km.fit(X)

    # Internally integer input should be converted to float64
    assert km.cluster_centers_.dtype == np.float64

    expected_labels = [0, 1, 1, 0, 0, 1]
    assert_allclose(v_measure_score(km.labels_, expected_labels), 1.0)

    # Same with partial_fit (#14314)
    km = clone(km).partial_fit(X)
    assert km.cluster_centers_.dtype == np.float64


def test_transform(global_random_seed):
    # Check the transform method
    km = MBK(n_clusters=n_clusters, random_state=global_random_seed).fit(X)

    # Transforming cluster_centers_ should return the pairwise distances
    # between centers
    Xt = km.transform(km.cluster_centers_)
    assert_allclose(Xt, pairwise_distances(km.cluster_centers_))
    # In particular, diagonal must be 0
    assert_array_equal(Xt.diagonal(), np.zeros(n_clusters))

    # Transforming X should return the pairwise distances between X and the
    # centers
    Xt = km.transform(X)
    assert_allclose(Xt, pairwise_distances(X, km.cluster_centers_))


def test_fit_transform(global_random_seed):
    # Check equivalence between fit.transform and fit_transform
    X1 = MBK(random_state=global_random_seed, n_init=1).fit(X).transform(X)
    X2 = MBK(random_state=global_random_seed, n_init=1).fit_transform(X)
    assert_allclose(X1, X2)


@pytest.mark.parametrize("input_data", [X] + X_as_any_csr, ids=data_containers_ids)
def test_float_precision(input_data, global_random_seed):
    # Check that the results are the same for single and double precision.
    km = MBK(n_init=1, random_state=global_random_seed)

    inertia = {}
    Xt = {}
    centers = {}
    labels = {}

    for dtype in [np.float64, np.float32]:
        X = input_data.astype(dtype, copy=False)
        km.fit(X)

        inertia[dtype] = km.inertia_
        Xt[dtype] = km.transform(X)
        centers[dtype] = km.cluster_centers_
        labels[dtype] = km.labels_

        # dtype of cluster centers has to be the dtype of the input data
        assert km.cluster_centers_.dtype == dtype

        # same with partial_fit
        km.partial_fit(X[0:3])
        assert km.cluster_centers_.dtype == dtype

    # compare arrays with low precision since the difference between 32 and
    # 64 bit comes from an accumulation of rounding errors.
    rtol = 1e-4
    assert_allclose(inertia[np.float32], inertia[np.float64], rtol=rtol)
    assert_allclose(Xt[np.float32], Xt[np.float64], atol=Xt[np.float64].max() * rtol)
    assert_allclose(
        centers[np.float32], centers[np.float64], atol=centers[np.float64].max() * rtol
    )
    assert_array_equal(labels[np.float32], labels[np.float64])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32, np.float64])
def test_centers_not_mutated(dtype):
    # Check that MiniBatchKMeans won't mutate the user provided init centers
    # silently even if input data and init centers have the same type.
    X_new_type = X.astype(dtype, copy=False)
    centers_new_type = centers.astype(dtype, copy=False)

    km = MBK(init=centers_new_type, n_clusters=n_clusters, n_init=1)
    km.fit(X_new_type)

    assert not np.may_share_memory(km.cluster_centers_, centers_new_type)


@pytest.mark.parametrize("input_data", [X] + X_as_any_csr, ids=data_containers_ids)
def test_unit_weights_vs_no_weights(input_data, global_random_seed):
    # Check that not passing sample weights should be equivalent to passing
    # sample weights all equal to one.
    sample_weight = np.ones(n_samples)

    km = MBK(n_clusters=n_clusters, random_state=global_random_seed, n_init=1)
    km_none = clone(km).fit(input_data, sample_weight=None)
    km_ones = clone(km).fit(input_data, sample_weight=sample_weight)

    assert_array_equal(km_none.labels_, km_ones.labels_)
    assert_allclose(km_none.cluster_centers_, km_ones.cluster_centers_)


@pytest.mark.parametrize("input_data", [X] + X_as_any_csr, ids=data_containers_ids)
def test_scaled_weights(input_data, global_random_seed):
    # Check that scaling all sample weights by a common factor
    # shouldn't change the result
    sample_weight = np.random.RandomState(global_random_seed).uniform(size=n_samples)

    km = MBK(n_clusters=n_clusters, random_state=global_random_seed, n_init=1)
    km_orig = clone(km).fit(input_data, sample_weight=sample_weight)
    km_scaled = clone(km).fit(input_data, sample_weight=0.5 * sample_weight)

    assert_array_equal(km_orig.labels_, km_scaled.labels_)
    assert_allclose(km_orig.cluster_centers_, km_scaled.cluster_centers_)


def test_result_equal_in_diff_n_threads(global_random_seed):
    # Check that MiniBatchKMeans gives the same results in parallel mode as in
    # sequential mode.
    rnd = np.random.RandomState(global_random_seed)
    X = rnd.normal(size=(50, 10))
    has_n_threads = "n_threads" in MBK().get_params()

    def labels(n_threads):
        params = {"n_threads": n_threads} if has_n_threads else {}
        with ThreadpoolController().limit(limits=n_threads, user_api="openmp"):
            km = MBK(n_clusters=n_clusters, random_state=global_random_seed, **params)
            return km.fit(X).labels_

    assert_array_equal(labels(1), labels(2))


@pytest.mark.parametrize(
    "init, expected", [("k-means++", 1), ("random", 3)], ids=["k-means++", "random"]
)
def test_n_init_auto(init, expected):
    # was: assert est._n_init == expected
    est = MBK(n_init="auto", init=init, random_state=0).fit(X)
    _assert_same_fit(est, MBK(n_init=expected, init=init, random_state=0).fit(X))


def test_sample_weight_unchanged():
    # Check that sample_weight is not modified in place by MiniBatchKMeans
    # (#17204)
    X = np.array([[1], [2], [4]])
    sample_weight = np.array([0.5, 0.2, 0.3])
    MBK(n_clusters=2, random_state=0).fit(X, sample_weight=sample_weight)

    assert_array_equal(sample_weight, np.array([0.5, 0.2, 0.3]))


@pytest.mark.parametrize(
    "param, match",
    [
        ({"n_clusters": n_samples + 1}, r"n_samples.* should be >= n_clusters"),
        (
            {"init": X[:2]},
            r"The shape of the initial centers .* does not match "
            r"the number of clusters",
        ),
        (
            {"init": lambda X_, k, random_state: X_[:2]},
            r"The shape of the initial centers .* does not match "
            r"the number of clusters",
        ),
        (
            {"init": X[:8, :2]},
            r"The shape of the initial centers .* does not match "
            r"the number of features of the data",
        ),
        (
            {"init": lambda X_, k, random_state: X_[:8, :2]},
            r"The shape of the initial centers .* does not match "
            r"the number of features of the data",
        ),
    ],
    ids=[
        "n_clusters",
        "init-array-clusters",
        "init-callable-clusters",
        "init-array-features",
        "init-callable-features",
    ],
)
def test_wrong_params(param, match):
    # Check that error are raised with clear error message when wrong values
    # are passed for the parameters
    # Set n_init=1 by default to avoid warning with precomputed init
    km = MBK(n_init=1)
    with pytest.raises(ValueError, match=match):
        km.set_params(**param).fit(X)


@pytest.mark.parametrize(
    "kwargs", ({"init": np.str_("k-means++")}, {"init": [[0, 0], [1, 1]], "n_init": 1})
)
def test_kmeans_with_array_like_or_np_scalar_init(kwargs):
    """Check that init works with numpy scalar strings.

    Non-regression test for #21964. (KMeans only in scikit-learn.)
    """
    X = np.asarray([[0, 0], [0.5, 0], [0.5, 1], [1, 1]], dtype=np.float64)

    clustering = MBK(n_clusters=2, random_state=0, **kwargs)
    # Does not raise
    clustering.fit(X)
    # And fits as the plain str or ndarray would (not only scikit-learn's check).
    plain = {
        "init": str(kwargs["init"])
        if isinstance(kwargs["init"], str)
        else np.asarray(kwargs["init"], dtype=np.float64)
    }
    reference = MBK(n_clusters=2, random_state=0, **{**kwargs, **plain}).fit(X)
    assert_array_equal(clustering.cluster_centers_, reference.cluster_centers_)
    assert_array_equal(clustering.labels_, reference.labels_)
    assert len(set(clustering.labels_)) == 2


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_feature_names_out(method):
    """Check `feature_names_out` for `MiniBatchKMeans`."""
    class_name = MBK.__name__.lower()
    kmeans = MBK()
    getattr(kmeans, method)(X)
    n_clusters = kmeans.cluster_centers_.shape[0]

    names_out = kmeans.get_feature_names_out()
    assert_array_equal([f"{class_name}{i}" for i in range(n_clusters)], names_out)


@pytest.mark.parametrize(
    "csr_container",
    CSR_CONTAINERS + [None],
    ids=["sparse_matrix", "sparse_array", "dense"],
)
def test_predict_does_not_change_cluster_centers(csr_container):
    """Check that predict does not change cluster centers.

    Non-regression test for gh-24253. (KMeans only in scikit-learn.)
    """
    X, _ = make_blobs(n_samples=200, n_features=10, centers=10, random_state=0)
    if csr_container is not None:
        X = csr_container(X)

    kmeans = MBK()
    y_pred1 = kmeans.fit_predict(X)
    # Make cluster_centers readonly
    kmeans.cluster_centers_ = create_memmap_backed_data(kmeans.cluster_centers_)
    kmeans.labels_ = create_memmap_backed_data(kmeans.labels_)

    y_pred2 = kmeans.predict(X)
    assert_array_equal(y_pred1, y_pred2)
