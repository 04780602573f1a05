"""Property-based tests (hypothesis): random shapes, values, k, weights, dtypes,
layouts and algorithms.

- Any valid input: no crash, ``labels_ == predict(X)``, ``inertia_ == -score(X)``
  to rounding, finite centres, input never modified.
- Data without distance ties (continuous blobs, initial centres near distinct
  samples): the same labels and ``n_iter_`` as scikit-learn's lloyd.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SKKMeans

from nbkm import KMeans

RTOL = {np.float32: 1e-4, np.float64: 1e-9}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: CI never flakes
)

layouts = st.sampled_from(["dense", "csr"])
algorithms = st.sampled_from(["lloyd", "elkan"])
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def problems(draw):
    """Arbitrary finite data: duplicates, zeros, wide magnitudes, weights."""
    dtype = draw(dtypes)
    n = draw(st.integers(1, 40))
    d = draw(st.integers(1, 5))
    values = st.one_of(
        st.integers(-3, 3).map(float),  # exact duplicates and ties
        st.floats(-1e6, 1e6, allow_nan=False, width=32),
    )
    X = draw(hnp.arrays(dtype, (n, d), elements=values))
    k = draw(st.integers(1, min(n, 6)))
    weights = draw(
        st.one_of(
            st.none(),
            hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.5, 1.0, 7.0])),
        )
    )
    if weights is not None and not weights.any():
        weights[0] = 1.0  # all-zero weights are refused (tested elsewhere)
    return X, k, weights


def _as_layout(X, layout):
    return sp.csr_matrix(X) if layout == "csr" else X


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


@SETTINGS
@given(problem=problems(), layout=layouts, algorithm=algorithms, seed=st.integers(0, 9))
def test_any_input_gives_a_consistent_model(problem, layout, algorithm, seed):
    X, k, weights = problem
    X = _as_layout(X, layout)
    X_before = _dense(X).copy()
    w_before = None if weights is None else weights.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few distinct points: ConvergenceWarning
        km = KMeans(k, n_init=2, random_state=seed, algorithm=algorithm).fit(
            X, sample_weight=weights
        )
    assert_array_equal(_dense(X), X_before)
    if weights is not None:
        assert_array_equal(weights, w_before)
    assert km.cluster_centers_.shape == (k, X.shape[1])
    assert np.isfinite(km.cluster_centers_).all()
    assert_array_equal(km.labels_, km.predict(X))
    score = km.score(X, sample_weight=weights)
    scale = float(np.abs(X_before).max()) ** 2 * X.shape[1] * X.shape[0] + 1.0
    assert_allclose(km.inertia_, -score, rtol=RTOL[X.dtype.type], atol=1e-6 * scale)


@st.composite
def tie_free_problems(draw):
    """Continuous blobs and initial centres jittered off distinct samples."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(2, 300))
    d = draw(st.integers(1, 6))
    k = draw(st.integers(1, min(n, 8)))
    means = rng.uniform(-10, 10, size=(k, d))
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    init = X[rng.choice(n, size=k, replace=False)] + rng.normal(scale=1e-3, size=(k, d))
    weights = rng.uniform(0.5, 2.0, size=n) if draw(st.booleans()) else None
    return X, init, weights


@SETTINGS
@given(
    problem=tie_free_problems(),
    layout=layouts,
    algorithm=algorithms,
    tol=st.sampled_from([0.0, 1e-4]),
    max_iter=st.sampled_from([1, 300]),
)
def test_tie_free_data_gives_sklearns_lloyd_labels(
    problem, layout, algorithm, tol, max_iter
):
    X, init, weights = problem
    X = _as_layout(X, layout)
    k = init.shape[0]
    params = dict(n_clusters=k, init=init, n_init=1, tol=tol, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SKKMeans(algorithm="lloyd", **params).fit(X, sample_weight=weights)
        km = KMeans(algorithm=algorithm, **params).fit(X, sample_weight=weights)
    assert_array_equal(km.labels_, ref.labels_)
    assert km.n_iter_ == ref.n_iter_
    # An inertia of (nearly) zero is rounding noise: CSR distances are
    # ||x||^2 - 2 x.c + ||c||^2, which need not cancel to exactly 0.
    scale = float((_dense(X) ** 2).sum())
    assert_allclose(km.inertia_, ref.inertia_, rtol=1e-9, atol=1e-12 * scale)
    assert_allclose(km.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
