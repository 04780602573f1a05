"""nbkm.MiniBatchKMeans: its kernels against NumPy, its fits against scikit-learn's.

Given the same ``random_state`` nbkm draws scikit-learn's random numbers in
scikit-learn's order, so every step sees the same batch; the centre update is
scikit-learn's operation for operation. On data without exact distance ties the
labels, ``n_steps_`` and centres therefore equal scikit-learn's (centres bit for
bit in the cases below), and the inertia agrees up to rounding.
(scikit-learn's own MiniBatchKMeans tests run against nbkm's class in
tests/test_minibatch_sklearn_suite.py.)
"""

import naive
import numpy as np
import pytest
import scipy.sparse as sp
from data import make_blobs_data
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans
from sklearn.cluster import kmeans_plusplus

from nbkm import MiniBatchKMeans
from nbkm import _kernels as K
from nbkm._assign import CenterViews
from nbkm._init import kmeans_plusplus_indices
from nbkm._minibatch import _Batches
from nbkm._samples import Samples


@pytest.fixture
def blobs(rng):
    return make_blobs_data(rng, 6000, 8, 12, std=1.5)


# ------------------------------------------------------------------- kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_batch_labels_against_numpy(dtype, layout, rng):
    X = make_blobs_data(rng, 1500, 6, 9, dtype=dtype, std=2.0)
    X[X < 0] = 0  # zeros, so that the CSR matrix is sparse
    centers = X[rng.choice(len(X), 9, replace=False)].copy()
    rows = rng.integers(0, len(X), 700).astype(np.int64)  # repeats, any order
    labels = np.empty(len(rows), np.int32)
    distances = np.empty(len(rows), dtype)
    views = CenterViews.of(centers)
    if layout == "csr":
        m = sp.csr_matrix(X)
        data = (m.data, m.indices.astype(np.int32), m.indptr.astype(np.int32))
        kernel = K.batch_labels_sparse
    else:
        data, kernel = X, K.batch_labels_dense
    kernel(data, rows, centers, views.t, views.sq, labels, distances)
    expected = naive.sq_distances(X[rows], centers)
    assert_array_equal(labels, expected.argmin(axis=1))
    assert_allclose(
        distances,
        expected.min(axis=1),
        rtol=1e-4 if dtype == np.float32 else 1e-10,
        atol=1e-3,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_centre_update_against_numpy_bit_for_bit(dtype, layout, rng):
    X = make_blobs_data(rng, 800, 5, 6, dtype=dtype, std=2.0)
    X[X < 0] = 0
    k = 7  # one centre gets no sample: it must stay where it is
    rows = rng.integers(0, len(X), 300).astype(np.int64)
    labels = rng.integers(0, k - 1, len(rows)).astype(np.int32)
    weight = rng.uniform(0.5, 2.0, len(rows)).astype(dtype)
    centers = rng.normal(size=(k, 5)).astype(dtype)
    weight_sums = rng.uniform(0, 5, k).astype(dtype)
    expected, expected_sums = naive.minibatch_update(
        X[rows], weight, labels, centers, weight_sums
    )
    if layout == "csr":
        m = sp.csr_matrix(X)
        data = (m.data, m.indices.astype(np.int32), m.indptr.astype(np.int32))
    else:
        data = X
    new = np.empty_like(centers)
    K.move_batch_centers(
        data, rows, weight, labels, centers, new, weight_sums, np.empty(300, np.int64)
    )
    if layout == "dense":  # the same operations in the same order: the same bits
        assert_array_equal(new, expected)
    else:  # CSR adds only the stored values: zeros add exactly nothing
        assert_allclose(new, expected, rtol=1e-6)
    assert_array_equal(weight_sums, expected_sums)
    assert_array_equal(new[k - 1], centers[k - 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_are_numpys_choice(dtype, rng):
    w = rng.uniform(0.1, 3.0, 5000).astype(dtype)
    p = w / np.sum(w)
    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    batches = _Batches(p)
    for size in (1, 100, 1024, 7):
        assert_array_equal(
            batches.draw(ours, size), theirs.choice(len(w), size, p=p, replace=True)
        )
    assert ours.randint(1 << 30) == theirs.randint(1 << 30)  # same state after


# ----------------------------------------------------- fits vs scikit-learn


CASES = {
    "default": {},
    "random init": {"init": "random"},
    "fixed steps": {"batch_size": 256, "max_no_improvement": None, "max_iter": 3},
    "tol": {"tol": 1e-3},
    "many reassignments": {"reassignment_ratio": 0.5, "batch_size": 100},
    "no labels": {"compute_labels": False},
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_equals_scikit_learn(case, dtype, blobs):
    X = blobs.astype(dtype)
    params = dict(n_clusters=12, random_state=3, **CASES[case])
    ours = MiniBatchKMeans(**params).fit(X)
    ref = SKMiniBatchKMeans(**params).fit(X)
    assert ours.n_steps_ == ref.n_steps_
    assert ours.n_iter_ == ref.n_iter_
    assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
    assert ours.cluster_centers_.dtype == dtype
    if params.get("compute_labels", True):
        assert_array_equal(ours.labels_, ref.labels_)
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-5)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_weighted_fit_equals_scikit_learn(layout, blobs, rng):
    X = np.maximum(blobs, 0)
    X = sp.csr_matrix(X) if layout == "csr" else X
    w = rng.uniform(0.5, 2.0, blobs.shape[0])
    params = dict(n_clusters=12, random_state=1, batch_size=200)
    ours = MiniBatchKMeans(**params).fit(X, sample_weight=w)
    ref = SKMiniBatchKMeans(**params).fit(X, sample_weight=w)
    assert ours.n_steps_ == ref.n_steps_
    assert_array_equal(ours.labels_, ref.labels_)
    assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-10)
    assert_allclose(ours.score(X), ref.score(X), rtol=1e-10)
    assert_array_equal(ours.predict(X), ref.predict(X))


def test_results_do_not_depend_on_the_thread_count(blobs):
    fits = [
        MiniBatchKMeans(12, random_state=0, batch_size=512, n_threads=n).fit(blobs)
        for n in (1, 2)
    ]
    assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert fits[0].inertia_ == fits[1].inertia_
    assert fits[0].n_steps_ == fits[1].n_steps_


# --------------------------------------------------------------- streaming


def test_partial_fit_over_memmap_pieces_equals_scikit_learn(blobs, rng, tmp_path):
    path = tmp_path / "data.npy"
    np.save(path, blobs)
    data = np.load(path, mmap_mode="r")  # read-only, as a file larger than memory
    w = rng.uniform(0.5, 2.0, len(blobs))
    ours = MiniBatchKMeans(12, random_state=2)
    ref = SKMiniBatchKMeans(12, random_state=2)
    for piece in np.array_split(np.arange(len(blobs)), 9):
        ours.partial_fit(data[piece[0] : piece[-1] + 1], sample_weight=w[piece])
        ref.partial_fit(blobs[piece], sample_weight=w[piece])
        assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
        assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_steps_ == ref.n_steps_ == 9
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-10)


def test_partial_fit_one_piece_is_one_step_of_fit_weights(blobs):
    # One partial_fit call on a batch is one step with that batch's own weights;
    # its centres come from the initialisation on that batch.
    ours = MiniBatchKMeans(12, random_state=5).partial_fit(blobs[:1000])
    ref = SKMiniBatchKMeans(12, random_state=5).partial_fit(blobs[:1000])
    assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)


# --------------------------------------------------------------- bad input


def test_partial_fit_refuses_other_features_or_float_type(blobs):
    km = MiniBatchKMeans(4, random_state=0).partial_fit(blobs[:500])
    with pytest.raises(ValueError, match="features"):
        km.partial_fit(blobs[:500, :5])
    with pytest.raises(ValueError, match="float32 data, but the model was started"):
        km.partial_fit(blobs[:500].astype(np.float32))
    km.partial_fit(np.rint(blobs[:500]).astype(np.int64))  # integers convert
    assert km.cluster_centers_.dtype == np.float64


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((20, 2), np.nan), "NaN"),
        (np.zeros((0, 2)), "0 sample"),
        (np.ones(5), "2D array"),
        (np.ones((3, 2)), "n_samples=3 should be >= n_clusters=4"),
    ],
)
def test_bad_input_raises_value_error(X, match):
    with pytest.raises(ValueError, match=match):
        MiniBatchKMeans(4).fit(X)


@pytest.mark.parametrize(
    "params",
    [{"batch_size": 0}, {"reassignment_ratio": -1}, {"n_threads": True}, {"init": "x"}],
)
def test_bad_parameters_raise_value_error(params, blobs):
    with pytest.raises(ValueError, match="parameter of MiniBatchKMeans"):
        MiniBatchKMeans(**params).fit(blobs)


def test_negative_weights_are_refused_and_nothing_is_modified(blobs):
    X = blobs.copy()
    w = np.ones(len(X))
    w[3] = -1
    with pytest.raises(ValueError, match="Negative values"):
        MiniBatchKMeans(4).fit(X, sample_weight=w)
    w[3] = 2.0
    w_before = w.copy()
    km = MiniBatchKMeans(4, random_state=0).fit(X, sample_weight=w)
    km.partial_fit(X, sample_weight=w)
    assert_array_equal(X, blobs)
    assert_array_equal(w, w_before)


# ------------------------------------------- float32 k-means++ on the sample


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_sample_picks_scikit_learns_centres(dtype):
    # Standard normal data: the candidates' potentials are float32 sums of many
    # near-equal terms, and nbkm's float64 arithmetic used to pick other samples
    # from the 14th centre on (k = 100): the whole fit then differed.
    X = np.random.default_rng(0).normal(size=(24576, 16)).astype(dtype)
    ours = kmeans_plusplus_indices(
        Samples.of(X), 100, np.ones(len(X), dtype), np.random.RandomState(0),
        numpy_path=True,
    )  # fmt: skip
    assert_array_equal(ours, kmeans_plusplus(X, 100, random_state=0)[1])


def test_float32_fit_on_noise_equals_scikit_learn():
    X = np.random.default_rng(1).normal(size=(30000, 16)).astype(np.float32)
    params = dict(n_clusters=100, random_state=0, batch_size=8192, max_iter=2)
    ours = MiniBatchKMeans(**params).fit(X)
    ref = SKMiniBatchKMeans(**params).fit(X)
    assert ours.n_steps_ == ref.n_steps_
    assert_array_equal(ours.labels_, ref.labels_)
    assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)
