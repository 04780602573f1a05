"""What nbkm's k-means estimators share: input checks, prediction and scoring.

``KMeans`` and ``MiniBatchKMeans`` differ in how they fit; once fitted, both
predict, transform and score through the same kernels, from the same validated
input, as scikit-learn's share ``_BaseKMeans``.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _is_arraylike_not_scalar,
    check_is_fitted,
    validate_data,
)

from nbkm._assign import assign_labels, distances_to_centers, inertia
from nbkm._checks import (
    THREAD_COUNT,
    check_csr_structure,
    check_squares_fit,
    normalized_weights,
)
from nbkm._em import tolerance
from nbkm._samples import Samples, read_only
from nbkm._threads import numba_threads

FLOAT_DTYPES = [np.float64, np.float32]


def checked_samples(X):
    """Return validated samples after the checks the kernels rely on.

    ``X`` comes from ``check_array``/``validate_data`` (finite, float, C-ordered
    or CSR); CSR indices are checked to be in range and magnitudes to have finite
    squared distances (see ``nbkm._checks``).
    """
    if sp.issparse(X):
        check_csr_structure(X)
    check_squares_fit(X, X.dtype)
    return X


def checked_weights(sample_weight, X):
    """Validate ``sample_weight`` for X and scale extreme weights exactly.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,), X's dtype
        Non-negative, not all zero, scaled by a power of two when their
        weighted sums could overflow or their cluster weights be subnormal (see
        :func:`nbkm._checks.weight_exponent`).
    inertia_scale : float
        Factor that turns an inertia computed with these weights into one with
        the caller's weights.
    """
    given = sample_weight is not None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=X.dtype, ensure_non_negative=True
    )
    if not given:  # unit weights always fit
        return read_only(sample_weight), 1.0
    weights, inertia_scale = normalized_weights(sample_weight, X)
    return read_only(weights), inertia_scale


def resolve_n_init(estimator, default_n_init, stacklevel):
    """Return the number of runs for ``estimator``'s ``n_init`` and ``init``.

    'auto' is 1 for a greedy or scalable k-means++ ('k-means++', 'k-means||')
    or an array init, ``default_n_init`` for 'random' or a callable (10 for
    KMeans, 3 for MiniBatchKMeans, as in scikit-learn). An array init runs once,
    with a warning when more runs were asked for. ``stacklevel`` counts from
    the caller of this function.
    """
    init = estimator.init
    array_init = _is_arraylike_not_scalar(init)
    if estimator.n_init != "auto":
        n_init = estimator.n_init
    elif array_init or (isinstance(init, str) and init in ("k-means++", "k-means||")):
        n_init = 1
    else:  # 'random' or a callable
        n_init = default_n_init
    if array_init and n_init != 1:
        warnings.warn(
            "Explicit initial center position passed: performing only one init "
            f"in {estimator.__class__.__name__} instead of n_init={n_init}.",
            RuntimeWarning,
            stacklevel=stacklevel + 1,
        )
        n_init = 1
    return n_init


def validate_center_shape(centers, n_clusters, n_features):
    """Raise ``ValueError`` unless ``centers`` is ``(n_clusters, n_features)``."""
    if centers.shape[0] != n_clusters:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match "
            f"the number of clusters {n_clusters}."
        )
    if centers.shape[1] != n_features:
        raise ValueError(
            f"The shape of the initial centers {centers.shape} does not match "
            f"the number of features of the data {n_features}."
        )


def checked_array_init(init, dtype, n_clusters, n_features):
    """Return a checked copy of an array ``init`` in ``dtype``."""
    init = check_array(init, dtype=dtype, copy=True, order="C")
    validate_center_shape(init, n_clusters, n_features)
    check_squares_fit(init, dtype)
    return init


def warn_on_missing_clusters(n_distinct, n_clusters, stacklevel):
    """Warn, as scikit-learn does, when fewer clusters than asked hold samples."""
    if n_distinct < n_clusters:
        warnings.warn(
            f"Number of distinct clusters ({n_distinct}) found smaller "
            f"than n_clusters ({n_clusters}). Possibly due to duplicate "
            "points in X.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


class BaseKMeans(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseEstimator
):
    """Base of nbkm's k-means estimators: everything but ``fit``.

    Subclasses set ``cluster_centers_`` in ``fit`` and define ``n_clusters``,
    ``init`` and ``n_threads``.
    """

    #: The parameters both estimators take, as scikit-learn constrains them.
    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_threads": THREAD_COUNT,
    }

    def _check_samples_and_tol(self, X, default_n_init, x_mean=None):
        """Check X against ``n_clusters``; set ``_tol`` and ``_n_init``.

        ``x_mean``: the samples' ``column_means``, when the caller has them.
        """
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        self._tol = tolerance(X, self.tol, self.n_threads, x_mean)
        self._resolve_n_init(default_n_init)

    def _centers_from_callable(self, data, X, random_state):
        """Run a callable ``init`` on ``data`` (a copy); return checked centres.

        User code: it runs outside nbkm's thread settings and locks, and may
        itself run nbkm, on this thread or on others.
        """
        centers = self.init(data, self.n_clusters, random_state=random_state)
        if sp.issparse(centers):
            centers = centers.toarray()
        centers = check_array(centers, dtype=X.dtype, copy=True, order="C")
        self._validate_center_shape(X, centers)
        check_squares_fit(centers, X.dtype)
        return centers

    def _resolve_n_init(self, default_n_init):
        """Set ``_n_init`` (see :func:`resolve_n_init`)."""
        self._n_init = resolve_n_init(self, default_n_init, stacklevel=4)

    def _validate_center_shape(self, X, centers):
        validate_center_shape(centers, self.n_clusters, X.shape[1])

    def _fitted_centers(self):
        """Return ``cluster_centers_`` after checking it fits ``n_features_in_``.

        The kernels read the centres without bounds checks, and the attribute can
        be set by hand, so its shape and values are checked on every use.
        """
        centers = check_array(
            self.cluster_centers_, dtype=FLOAT_DTYPES, order="C", input_name="centers"
        )
        if centers.shape[1] != self.n_features_in_:
            raise ValueError(
                f"cluster_centers_ has shape {centers.shape}, but the model was "
                f"fitted on {self.n_features_in_} features."
            )
        return centers

    def _check_test_data(self, X):
        """Validate query samples; return them and the centres, in one dtype.

        Queries are computed in the model's dtype (that of ``cluster_centers_``),
        whatever the dtype of X: a float32 query on a float64 model is computed
        in float64, and ``predict`` on the training data gives ``labels_``.
        """
        centers = self._fitted_centers()
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            reset=False,
            dtype=centers.dtype,
            order="C",
            accept_large_sparse=False,
        )
        check_squares_fit(centers, centers.dtype)
        return Samples.of(checked_samples(X)), centers

    def fit_predict(self, X, y=None, sample_weight=None):
        """Compute cluster centers and predict cluster index for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training instances to cluster.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def predict(self, X):
        """Predict the closest cluster each sample in X belongs to.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to predict.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster each sample belongs to.
        """
        check_is_fitted(self)
        samples, centers = self._check_test_data(X)
        with numba_threads(self.n_threads):
            return assign_labels(samples, centers)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Compute clustering and transform X to cluster-distance space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to transform.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            X transformed in the new space.
        """
        self.fit(X, sample_weight=sample_weight)
        return self._transform(*self._check_test_data(X))

    def transform(self, X):
        """Transform X to a cluster-distance space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data to transform.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Euclidean distance of each sample to each centre.
        """
        check_is_fitted(self)
        return self._transform(*self._check_test_data(X))

    def _transform(self, samples, centers):
        # Sized by the fitted centres, never by the n_clusters parameter, which
        # set_params can change after fit.
        with numba_threads(self.n_threads):
            return distances_to_centers(samples, centers)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the value of X on the K-means objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X.

        Returns
        -------
        score : float
            Opposite of the value of X on the K-means objective.
        """
        check_is_fitted(self)
        samples, centers = self._check_test_data(X)
        sample_weight = _check_sample_weight(
            sample_weight, samples.source, dtype=samples.dtype, ensure_non_negative=True
        )
        sample_weight = read_only(sample_weight)
        with numba_threads(self.n_threads):
            labels = assign_labels(samples, centers)
            return -inertia(samples, sample_weight, centers, labels)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # CSR; KMeans narrows it by algorithm
        return tags
