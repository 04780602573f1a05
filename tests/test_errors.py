"""Bad input: the exception sklearn raises, with a clear message; never a crash."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from nbkm import KMeans, kmeans_plusplus

X_OK = np.random.default_rng(0).normal(size=(20, 3))
X_NAN = X_OK.copy()
X_NAN[3, 1] = np.nan
X_INF = X_OK.copy()
X_INF[0, 0] = np.inf

# (constructor params, X, fit kwargs, exception, message)
BAD_FITS = [
    ({}, X_NAN, {}, ValueError, "NaN"),
    ({}, X_INF, {}, ValueError, "infinity"),
    ({}, np.empty((0, 3)), {}, ValueError, "0 sample"),
    ({}, np.empty((5, 0)), {}, ValueError, "0 feature"),
    ({}, np.arange(10.0), {}, ValueError, "Expected 2D array, got 1D"),
    ({}, np.array([["a", "b"], ["c", "d"]]), {}, ValueError, "could not convert"),
    ({}, np.array([[{}, 1.0], [2.0, 3.0]], dtype=object), {}, TypeError, "float"),
    ({"n_clusters": 0}, X_OK, {}, ValueError, "n_clusters"),
    (
        {"n_clusters": 21},
        X_OK,
        {},
        ValueError,
        "n_samples=20 should be >= n_clusters=21",
    ),
    ({"n_clusters": 2.5}, X_OK, {}, ValueError, "n_clusters"),
    ({"n_init": 0}, X_OK, {}, ValueError, "n_init"),
    ({"n_init": "many"}, X_OK, {}, ValueError, "n_init"),
    ({"max_iter": 0}, X_OK, {}, ValueError, "max_iter"),
    ({"tol": -1.0}, X_OK, {}, ValueError, "tol"),
    ({"algorithm": "full"}, X_OK, {}, ValueError, "algorithm"),
    ({"init": "kmeans++"}, X_OK, {}, ValueError, "init"),
    ({"n_threads": 0}, X_OK, {}, ValueError, "n_threads"),
    ({"copy_x": "yes"}, X_OK, {}, ValueError, "copy_x"),
    (
        {"n_clusters": 2, "init": np.zeros((3, 3))},
        X_OK,
        {},
        ValueError,
        r"initial centers \(3, 3\) does not match the number of clusters 2",
    ),
    (
        {"n_clusters": 2, "init": np.zeros((2, 4))},
        X_OK,
        {},
        ValueError,
        "does not match the number of features of the data 3",
    ),
    (
        {"n_clusters": 2, "init": np.array([[np.nan] * 3] * 2)},
        X_OK,
        {},
        ValueError,
        "NaN",
    ),
    (
        {"n_clusters": 2, "init": lambda X, k, random_state: np.zeros((3, 3))},
        X_OK,
        {},
        ValueError,
        "does not match the number of clusters",
    ),
    ({}, X_OK, {"sample_weight": -np.ones(20)}, ValueError, "Negative values"),
    (
        {},
        X_OK,
        {"sample_weight": np.ones(19)},
        ValueError,
        r"sample_weight.shape == \(19,\)",
    ),
    ({}, X_OK, {"sample_weight": np.zeros(20)}, ValueError, "at least one non-zero"),
    ({}, X_OK, {"sample_weight": np.r_[np.nan, np.ones(19)]}, ValueError, "NaN"),
]


@pytest.mark.parametrize("params, X, fit_kwargs, exc, match", BAD_FITS)
def test_bad_fit_input_raises(params, X, fit_kwargs, exc, match):
    X_before = np.array(X, copy=True)
    with pytest.raises(exc, match=match):
        KMeans(**params).fit(X, **fit_kwargs)
    np.testing.assert_array_equal(X, X_before)


def test_methods_before_fit_raise_not_fitted():
    for method in ("predict", "transform", "score"):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(KMeans(), method)(X_OK)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_wrong_feature_count_after_fit(method):
    km = KMeans(2, n_init=1, random_state=0).fit(X_OK)
    with pytest.raises(ValueError, match="X has 4 features, but KMeans is expecting 3"):
        getattr(km, method)(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        getattr(km, method)(X_NAN)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"n_clusters": 50}, ValueError, "n_samples=20 should be >= n_clusters=50"),
        ({"n_clusters": 2, "n_local_trials": 0}, ValueError, "n_local_trials"),
        ({"n_clusters": 2, "sample_weight": np.ones(3)}, ValueError, "sample_weight"),
    ],
)
def test_kmeans_plusplus_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        kmeans_plusplus(X_OK, **kwargs)
