"""The scikit-learn-compatible estimator :class:`KMeans` and :func:`kmeans_plusplus`."""

import warnings
from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import _is_arraylike_not_scalar, validate_data

from nbkm._assign import assign_labels, inertia
from nbkm._auto import choose_algorithm
from nbkm._base import (
    FLOAT_DTYPES,
    BaseKMeans,
    checked_array_init,
    checked_samples,
    checked_weights,
    warn_on_missing_clusters,
)
from nbkm._bounded import hamerly_single, yinyang_single
from nbkm._checks import THREAD_COUNT
from nbkm._elkan import elkan_single
from nbkm._em import best_of_runs, label_pairs, same_clustering
from nbkm._init import kmeans_plusplus_indices, random_indices
from nbkm._lloyd import lloyd_single
from nbkm._samples import Samples
from nbkm._threads import effective_n_threads, numba_threads

_RUNS = {
    "lloyd": lloyd_single,
    "elkan": elkan_single,
    "hamerly": hamerly_single,
    "yinyang": yinyang_single,
}


def _distances_computed(run, algorithm):
    """Fraction of the sample-centre distances computed in each iteration."""
    if run.distances_computed is not None:
        return run.distances_computed
    # Lloyd computes all of them; Elkan's kernel does not count.
    return np.full(run.n_iter, 1.0 if algorithm == "lloyd" else np.nan)


def _check_x_squared_norms(x_squared_norms, X):
    """Check the unused ``x_squared_norms`` as scikit-learn does (its length)."""
    if x_squared_norms is not None:
        x_squared_norms = check_array(x_squared_norms, dtype=X.dtype, ensure_2d=False)
        if x_squared_norms.shape[0] != X.shape[0]:
            raise ValueError(
                f"The length of x_squared_norms {x_squared_norms.shape[0]} should "
                f"be equal to the length of n_samples {X.shape[0]}."
            )


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "sample_weight": ["array-like", None],
        "x_squared_norms": ["array-like", None],
        "random_state": ["random_state"],
        "n_local_trials": [Interval(Integral, 1, None, closed="left"), None],
        "n_threads": THREAD_COUNT,
    },
    prefer_skip_nested_validation=True,
)
def kmeans_plusplus(
    X,
    n_clusters,
    *,
    sample_weight=None,
    x_squared_norms=None,
    random_state=None,
    n_local_trials=None,
    n_threads=None,
):
    """Choose initial centres by greedy k-means++, like sklearn's ``kmeans_plusplus``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The data to pick seeds from.
    n_clusters : int
        The number of centroids to initialize.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights for each observation in `X`. If `None`, all observations
        are assigned equal weight.
    x_squared_norms : array-like of shape (n_samples,), default=None
        Accepted for compatibility with scikit-learn and checked for length. nbkm
        computes distances directly, so it does not use them.
    random_state : int, RandomState instance or None, default=None
        Determines random number generation for centroid initialization. With
        the same seed, nbkm draws the same random numbers as scikit-learn.
    n_local_trials : int, default=None
        The number of seeding trials for each center (except the first), of
        which the one reducing inertia the most is greedily chosen. `None`
        means ``2 + int(log(n_clusters))``.
    n_threads : int, default=None
        Threads for the distance computations; `None` uses all of Numba's.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The initial centers for k-means.
    indices : ndarray of shape (n_clusters,)
        The index location of the chosen centers in the data array X. For a
        given index and center, X[index] = center.

    Examples
    --------
    >>> import numpy as np
    >>> from nbkm import kmeans_plusplus
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> centers, indices = kmeans_plusplus(X, n_clusters=2, random_state=0)
    >>> indices
    array([3, 2])
    """
    X = checked_samples(
        check_array(
            X,
            accept_sparse="csr",
            dtype=FLOAT_DTYPES,
            order="C",
            accept_large_sparse=False,
        )
    )
    sample_weight = checked_weights(sample_weight, X)[0]
    if X.shape[0] < n_clusters:
        raise ValueError(
            f"n_samples={X.shape[0]} should be >= n_clusters={n_clusters}."
        )
    _check_x_squared_norms(x_squared_norms, X)
    random_state = check_random_state(random_state)
    with numba_threads(n_threads):
        # Centred, as inside fit: the distance formula loses less to cancellation.
        samples = Samples.of(X, centre=True)
        indices = kmeans_plusplus_indices(
            samples, n_clusters, sample_weight, random_state, n_local_trials
        )
    centers = X[indices].toarray() if sp.issparse(X) else X[indices]
    return centers, indices.astype(int)


class KMeans(BaseKMeans):
    """K-Means clustering with Numba-parallel kernels, a drop-in for scikit-learn's.

    Takes the parameters of :class:`sklearn.cluster.KMeans` with the same defaults,
    plus ``n_threads``, and gives the same results: given the same initial centres
    the same labels and ``n_iter_``, and centres and inertia equal up to rounding.
    Unlike scikit-learn's, results are bitwise identical whatever the number of
    threads, and the input array is never modified or copied for centring.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters to form as well as the number of centroids to
        generate.
    init : {'k-means++', 'random'}, callable or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        Method for initialization: greedy k-means++, `n_clusters` samples drawn
        at random, an array of initial centres, or a callable
        ``init(X, n_clusters, random_state=...)`` returning one (it receives the
        mean-centred data, as in scikit-learn).
    n_init : 'auto' or int, default='auto'
        Number of runs from different initial centres; the run with the lowest
        inertia is kept. 'auto' means 1 run for 'k-means++' or an array, 10 for
        'random' or a callable.
    max_iter : int, default=300
        Maximum number of iterations of a single run.
    tol : float, default=1e-4
        Relative tolerance with regards to the Frobenius norm of the difference
        in the cluster centers of two consecutive iterations to declare
        convergence (multiplied by the mean variance of the features).
    verbose : int, default=0
        Verbosity mode.
    random_state : int, RandomState instance or None, default=None
        Determines random number generation for centroid initialization. The
        same seed draws the same random numbers as scikit-learn.
    copy_x : bool, default=True
        Accepted for compatibility. nbkm centres the data on the fly inside its
        kernels, so it neither copies nor modifies X whatever this value.
    algorithm : {"auto", "lloyd", "elkan", "hamerly", "yinyang"}, default="auto"
        K-means algorithm. All give, for the same initial centres, Lloyd's labels
        and number of iterations; the bounded ones skip the sample-centre
        distances that the triangle inequality rules out.

        - "lloyd": every distance, every iteration.
        - "elkan": a bound per sample and centre (an ``n_samples x n_clusters``
          array), dense or CSR.
        - "hamerly": two bounds a sample; best for few clusters. Dense only.
        - "yinyang": a bound per sample and group of about 32 centres
          (``n_samples x n_clusters / 32``); best for many clusters. Dense only.
        - "auto": chosen from the shape of the problem: Lloyd for CSR input,
          fewer than 50 clusters or fewer than 50,000 samples (where keeping
          bounds costs about what it saves), Hamerly up to 200 clusters,
          Yinyang above. The choice is in ``algorithm_``.
    n_threads : int, default=None
        Numba threads for the parallel kernels; `None` means all that Numba may
        use (``NUMBA_NUM_THREADS``). Results do not depend on it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of cluster centers.
    labels_ : ndarray of shape (n_samples,)
        Labels of each point.
    inertia_ : float
        Sum of squared distances of samples to their closest cluster center,
        weighted by the sample weights if provided.
    n_iter_ : int
        Number of iterations run.
    algorithm_ : str
        The algorithm the fit ran (what ``"auto"`` chose).
    distances_computed_ : ndarray of shape (n_iter_,)
        For the best run, the fraction of the ``n_samples * n_clusters``
        sample-centre distances computed in each iteration (1 for Lloyd, and
        for the Lloyd sweeps a bounded fit runs first and falls back to when
        bounds do not pay, which depends on timing; a bounded sweep can exceed 1
        by its exact re-checks; NaN for Elkan, which does not count).
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.cluster.KMeans : The reference implementation.

    Examples
    --------
    >>> import numpy as np
    >>> from nbkm import KMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> kmeans = KMeans(n_clusters=2, random_state=0, n_init="auto").fit(X)
    >>> kmeans.labels_
    array([1, 1, 1, 0, 0, 0], dtype=int32)
    >>> kmeans.predict([[0, 0], [12, 3]])
    array([1, 0], dtype=int32)
    >>> kmeans.cluster_centers_
    array([[10.,  2.],
           [ 1.,  2.]])
    """

    _parameter_constraints: dict = {
        **BaseKMeans._parameter_constraints,
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"auto", "lloyd", "elkan", "hamerly", "yinyang"})],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="auto",
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm
        self.n_threads = n_threads

    def _check_params_vs_input(self, X, x_mean=None):
        self._check_samples_and_tol(X, default_n_init=10, x_mean=x_mean)
        self._algorithm = self.algorithm
        if self._algorithm == "auto":
            self._algorithm = choose_algorithm(
                X.shape[0], X.shape[1], self.n_clusters, sp.issparse(X)
            )
        if self._algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using "
                "'lloyd' instead.",
                RuntimeWarning,
                stacklevel=3,
            )
            self._algorithm = "lloyd"

    def _init_centroids(self, samples, init, random_state, sample_weight):
        """Return the initial centres, in the samples' (centred) frame.

        A callable ``init`` runs outside nbkm's thread settings and locks: it is
        user code, and may itself run nbkm, on this thread or on others.
        """
        if isinstance(init, str):
            with numba_threads(self._n_threads):
                if init == "k-means++":
                    indices = kmeans_plusplus_indices(
                        samples, self.n_clusters, sample_weight, random_state
                    )
                else:
                    indices = random_indices(
                        samples.shape[0], self.n_clusters, sample_weight, random_state
                    )
                return samples.rows(indices)
        if callable(init):
            # sklearn hands the callable the centred data (sparse data as it is),
            # always a copy: the caller's X must survive whatever the callable does.
            X = samples.source
            data = X.copy() if samples.is_sparse else X - samples.x_mean
            return self._centers_from_callable(data, X, random_state)
        return init.copy()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training instances to cluster. Converted to a C-contiguous float
            array (or CSR matrix) if it is not one already; never modified.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X. If None, all observations
            are assigned equal weight. Not used by an array or callable `init`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=FLOAT_DTYPES,
            order="C",
            accept_large_sparse=False,
        )
        X = checked_samples(X)
        self._n_threads = effective_n_threads(self.n_threads)
        # sklearn subtracts the mean of dense data for more accurate distances; the
        # kernels do it on the fly, so X stays untouched. Sparse data is not centred
        # (x_mean is zero). The mean is a parallel kernel: inside nbkm's settings.
        with numba_threads(self._n_threads):
            samples = Samples.of(X, centre=True)
        self._check_params_vs_input(
            X, x_mean=None if samples.is_sparse else samples.x_mean
        )
        random_state = check_random_state(self.random_state)
        sample_weight, inertia_scale = checked_weights(sample_weight, X)

        init = self.init
        if _is_arraylike_not_scalar(init):
            init = checked_array_init(init, X.dtype, self.n_clusters, X.shape[1])
            init -= samples.x_mean
        run_single = _RUNS[self._algorithm]

        def run(centers_init):
            with numba_threads(self._n_threads):
                return run_single(
                    samples,
                    sample_weight,
                    centers_init,
                    self.max_iter,
                    self._tol,
                    self.verbose,
                )

        best = best_of_runs(
            self._n_init,
            partial(self._init_centroids, samples, init, random_state, sample_weight),
            run,
            self._same_clustering,
            self.verbose,
        )
        centers = best.centers + samples.x_mean
        labels, best_inertia = self._final_labels(
            X, samples, sample_weight, centers, best
        )
        n_distinct = np.count_nonzero(np.bincount(labels))
        warn_on_missing_clusters(n_distinct, self.n_clusters, stacklevel=2)
        self.cluster_centers_ = centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.labels_ = labels
        self.inertia_ = best_inertia * inertia_scale
        self.n_iter_ = best.n_iter
        self.algorithm_ = self._algorithm
        self.distances_computed_ = _distances_computed(best, self._algorithm)
        return self

    def _same_clustering(self, labels_a, labels_b):
        pairs = label_pairs(labels_a, labels_b, self.n_clusters)
        return same_clustering(pairs, self.n_clusters)

    def _final_labels(self, X, samples, sample_weight, centers, run):
        """Return the labels and inertia of ``run`` as ``predict`` sees them.

        After a strict stop, a run's labels come from its last iteration: the
        centred frame and the centres before the last update, so when two final
        centres nearly coincide they can differ from ``predict(X)`` by a rounding
        tie. One more labels pass, the kernel and inputs of ``predict``, makes
        ``labels_ == predict(X)`` always; the inertia is recomputed only if a
        label changed. (Other stops end with that pass already.) ``centers``
        are the run's, with the mean added back.
        """
        if run.labels_final:
            return run.labels, run.inertia
        query = samples if samples.is_sparse else Samples.of(X)
        with numba_threads(self._n_threads):
            final = assign_labels(query, centers)
            if np.array_equal(final, run.labels):
                return run.labels, run.inertia
            return final, inertia(query, sample_weight, centers, final)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
