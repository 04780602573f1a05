"""nbkm.dask.KMeans's scikit-learn API beyond the fit (issue 20).

``score``, pickling, sample weights with unknown chunk sizes and ``set_output``,
on one 2-worker ``LocalCluster`` shared by the module. Values are compared with
``nbkm.KMeans`` on the computed arrays, and ``score`` also with its formula.
"""

import copy
import pickle

import dask.array as da
import dask_fixtures
import joblib
import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

import nbkm
import nbkm.dask as nbkm_dask

client = dask_fixtures.client
on = dask_fixtures.on


def _blobs(n, d=4, dtype=np.float64, seed=0):
    X, _ = make_blobs(n, d, centers=5, cluster_std=2.0, random_state=seed)
    return X.astype(dtype)


def _fit_both(client, X, chunks, sample_weight=None):
    """``(nbkm.dask.KMeans, nbkm.KMeans)`` fitted on X from the same centres."""
    init = X[:5].copy()
    ref = nbkm.KMeans(5, init=init, n_init=1, algorithm="lloyd").fit(
        X, sample_weight=sample_weight
    )
    with on(client):
        km = nbkm_dask.KMeans(5, init=init, n_init=1).fit(
            da.from_array(X, chunks=(chunks, X.shape[1])), sample_weight=sample_weight
        )
    return km, ref


# -- score (14) --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_score_is_nbkm_score(client, dtype, weighted):
    km, ref = _fit_both(client, _blobs(3000, dtype=dtype), 1000)
    # More than 128 blocks of 256 rows: the sum runs over blocks of 512 rows,
    # which the query's chunks of 700 rows do not start at.
    Xq = _blobs(40_000, dtype=dtype, seed=1)
    w = np.random.default_rng(2).uniform(0.5, 3.0, len(Xq)) if weighted else None
    Xqd = da.from_array(Xq, chunks=(700, 4))
    wd = None if w is None else da.from_array(w, chunks=3000)
    with on(client):
        score = km.score(Xqd, sample_weight=wd)
        assert km.score(Xq, sample_weight=w) == score  # NumPy input
    assert isinstance(score, float)
    assert score == ref.score(Xq, sample_weight=w)
    # scikit-learn's definition: minus the weighted squared distance of each
    # sample to its nearest centre, summed.
    centers = km.cluster_centers_.astype(np.float64)
    nearest = ((Xq[:, None, :] - centers[None]) ** 2).sum(axis=2).min(axis=1)
    expected = -np.sum(nearest if w is None else w * nearest)
    assert_allclose(score, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_score_weights_and_errors(client):
    X = _blobs(1200)
    km, ref = _fit_both(client, X, 500)
    Xd = da.from_array(X, chunks=(500, 4))
    with on(client):
        assert km.score(Xd, sample_weight=2.0) == ref.score(X, sample_weight=2.0)
        assert km.score(Xd, sample_weight=list(np.ones(1200))) == ref.score(X)
        with pytest.raises(ValueError, match="features"):
            km.score(Xd[:, :3])
        with pytest.raises(ValueError, match="sample_weight"):
            km.score(Xd, sample_weight=np.ones(1199))
        with pytest.raises(ValueError, match="Negative"):
            km.score(Xd, sample_weight=-np.ones(1200))
        with pytest.raises(NotFittedError):
            nbkm_dask.KMeans(5).score(Xd)


# -- pickling (15) -----------------------------------------------------------


def test_pickled_model_keeps_its_labels(client, tmp_path):
    X = _blobs(3000)
    km, ref = _fit_both(client, X, 1000)
    with on(client):
        restored = pickle.loads(pickle.dumps(km))
        duplicate = copy.deepcopy(km)
        joblib.dump(km, tmp_path / "km.joblib")
        chunks = km.labels_.chunks
        del km  # the futures behind its labels go
    loaded = joblib.load(tmp_path / "km.joblib")
    # Outside `on(client)`: the labels compute without the cluster.
    for model in (restored, duplicate, loaded):
        assert isinstance(model.labels_, da.Array)
        assert model.labels_.chunks == chunks
        labels = model.labels_.compute()
        assert labels.dtype == np.int32
        assert_array_equal(labels, ref.labels_)
        assert_array_equal(model.cluster_centers_, ref.cluster_centers_)
    # And a copy of a copy.
    again = pickle.loads(pickle.dumps(restored))
    assert_array_equal(again.labels_.compute(), ref.labels_)


# -- sample weights of unknown chunk sizes (17a) -----------------------------


def test_weights_of_unknown_chunk_sizes(client):
    X = _blobs(1200)
    w = np.random.default_rng(3).uniform(0.5, 3.0, len(X))
    km, ref = _fit_both(client, X, 500, sample_weight=w)
    Xd = da.from_array(X, chunks=(500, 4))
    wd = da.from_array(w, chunks=500)
    unknown = wd[wd > 0]  # all of them, but how many is not known until computed
    assert np.isnan(unknown.shape[0])
    with on(client):
        fresh = nbkm_dask.KMeans(5, init=X[:5], n_init=1)
        with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
            fresh.fit(Xd, sample_weight=unknown)
        with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
            km.score(Xd, sample_weight=unknown)
        # The advice works.
        fresh.fit(Xd, sample_weight=unknown.compute_chunk_sizes())
    assert fresh.inertia_ == ref.inertia_
    assert_array_equal(fresh.cluster_centers_, ref.cluster_centers_)


# -- set_output (17b) --------------------------------------------------------


@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_set_output_to_a_dataframe_is_refused(container):
    with pytest.raises(ValueError, match="dask arrays"):
        nbkm_dask.KMeans(3).set_output(transform=container)


def test_transform_stays_a_lazy_dask_array(client):
    X = _blobs(1200)
    km, ref = _fit_both(client, X, 500)
    Xd = da.from_array(X, chunks=(500, 4))
    # scikit-learn's global setting is not the model's to honour: still lazy.
    with on(client), sklearn.config_context(transform_output="pandas"):
        out = km.transform(Xd)
        assert isinstance(out, da.Array)
        assert_allclose(out.compute(), ref.transform(X), rtol=1e-12)
    assert km.set_output(transform="default") is km
    assert km.set_output() is km
    assert isinstance(km.transform(Xd), da.Array)


# -- extreme weight ratios (9) ------------------------------------------------


@pytest.mark.parametrize(
    "dtype, big, small",
    [
        (np.float64, 2.0**40, 2.0**-1000),
        (np.float32, 2.0**40, 2.0**-100),
        (np.float64, 1e300, 1e-300),
    ],
)
def test_extreme_weight_ratios_give_nbkms_and_scikit_learns_split(
    client, dtype, big, small
):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))])
    X = X.astype(dtype)
    w = np.r_[np.full(20, big), np.full(20, small)].astype(dtype)
    init = X[[0, 20]]
    ref = SKKMeans(2, init=init, n_init=1).fit(X, sample_weight=w)
    with on(client):
        km = nbkm_dask.KMeans(2, init=init, n_init=1).fit(
            da.from_array(X, chunks=(15, 2)), sample_weight=da.from_array(w, 15)
        )
        labels = km.labels_.compute()
    assert np.isfinite(km.cluster_centers_).all()
    assert_array_equal(labels, ref.labels_)
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-6)
