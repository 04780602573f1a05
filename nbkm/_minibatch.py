"""The scikit-learn-compatible estimator :class:`MiniBatchKMeans`.

scikit-learn 1.9's mini-batch k-means, with its random numbers drawn in the same
order (validation sample, initialisation sample and centres, batch indices,
reassignment choices), so that for the same ``random_state`` each step sees the
same batch. A step is two Numba calls (``nbkm._kernels._minibatch``): the batch's
labels by Lloyd's distance code, then scikit-learn's centre update; the rest of a
step (the draws, reassignment, convergence) is O(batch_size + n_clusters) in
NumPy. Batch indices are drawn as ``RandomState.choice(n, b, p=p)`` draws them
(one ``random_sample(b)`` through the cumulative ``p``), with the cumulative sum
computed once a fit instead of once a step.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_sample_weight,
    _is_arraylike_not_scalar,
    validate_data,
)

from nbkm import _kernels as K
from nbkm._assign import CenterViews, assign_labels, inertia
from nbkm._base import FLOAT_DTYPES, BaseKMeans, checked_samples
from nbkm._checks import check_squares_fit
from nbkm._init import kmeans_plusplus_indices, random_indices
from nbkm._samples import Samples, read_only
from nbkm._threads import effective_n_threads, numba_threads


class _Batches:
    """Draw batch indices exactly as ``RandomState.choice(n, b, p=p)`` does.

    NumPy's legacy ``choice`` with probabilities builds ``cumsum(p)``, divides it
    by its last value, draws ``random_sample(b)`` and searches the draws in it:
    O(n) a call. The cumulative sum here is built once; each draw consumes the
    same random numbers and gives the same indices.
    """

    def __init__(self, probabilities):
        self.cdf = np.asarray(probabilities, dtype=np.float64).cumsum()
        self.cdf /= self.cdf[-1]

    def draw(self, random_state, size):
        """Return ``size`` indices, as ``random_state.choice`` would."""
        uniform = random_state.random_sample(size)
        # Searched in increasing order, neighbouring draws read neighbouring
        # parts of the cumulative sum; a random order misses the cache on most
        # probes of a large one.
        order = np.argsort(uniform)
        rows = np.empty(size, dtype=np.int64)
        rows[order] = self.cdf.searchsorted(uniform[order], side="right")
        return rows


class _Step:
    """The buffers of mini-batch steps on one data set, and the step itself."""

    def __init__(self, samples, n_clusters, batch_size):
        self.samples = samples
        self.labels = np.empty(batch_size, dtype=np.int32)
        self.distances = np.empty(batch_size, dtype=samples.dtype)
        self.order = np.empty(batch_size, dtype=np.int64)
        self.views = CenterViews(n_clusters, samples.shape[1], samples.dtype)

    def assign(self, rows, centers):
        """Label ``rows`` against ``centers``; return (labels, squared distances).

        Lloyd's distance code on chunks of 256 rows from the first, as
        ``predict`` computes them: for ``rows = arange(n)`` the same labels.
        """
        n = rows.shape[0]
        labels, distances = self.labels[:n], self.distances[:n]
        views = self.views.update(centers)
        sparse = self.samples.is_sparse
        assign = K.batch_labels_sparse if sparse else K.batch_labels_dense
        assign(self.samples.X, rows, centers, views.t, views.sq, labels, distances)
        return labels, distances

    def run(self, rows, weight, centers, centers_new, weight_sums):
        """Assign ``rows`` and move the centres; return the squared distances.

        The distances are those of the batch to ``centers``, before the move,
        whose weighted sum scikit-learn's ``_mini_batch_step`` returns.
        """
        labels, distances = self.assign(rows, centers)
        K.move_batch_centers(
            self.samples.X,
            rows,
            weight,
            labels,
            centers,
            centers_new,
            weight_sums,
            self.order[: rows.shape[0]],
        )
        return distances


def _reassign(samples, rows, centers_new, weight_sums, ratio, random_state, verbose):
    """Move centres that saw little weight onto batch samples, as scikit-learn does.

    Centres whose weight is below ``ratio`` times the largest go to samples of the
    batch drawn uniformly without replacement (at most half the batch); their
    weight is then reset to the least weight of the others.
    """
    to_reassign = weight_sums < ratio * weight_sums.max()
    if to_reassign.sum() > 0.5 * rows.shape[0]:
        keep = np.argsort(weight_sums)[int(0.5 * rows.shape[0]) :]
        to_reassign[keep] = False
    n_reassigns = to_reassign.sum()
    if n_reassigns:
        chosen = random_state.choice(rows.shape[0], replace=False, size=n_reassigns)
        if verbose:
            print(f"[MiniBatchKMeans] Reassigning {n_reassigns} cluster centers.")
        centers_new[to_reassign] = samples.rows(rows[chosen])
    weight_sums[to_reassign] = np.min(weight_sums[~to_reassign])


class MiniBatchKMeans(BaseKMeans):
    """Mini-batch k-means with Numba-parallel steps, a drop-in for scikit-learn's.

    Takes the parameters of :class:`sklearn.cluster.MiniBatchKMeans` with the
    same defaults, plus ``n_threads``. It draws the same random numbers in the
    same order as scikit-learn, so with the same ``random_state`` each step sees
    the same batch: on data without exact distance ties, the same labels,
    ``n_steps_`` and stopping step, with centres and inertia equal up to
    rounding (the centre update is scikit-learn's operation for operation).
    Results do not depend on the number of threads.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters to form.
    init : {'k-means++', 'random'}, callable or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        Method for initialization, on a random sample of ``init_size`` samples:
        greedy k-means++, `n_clusters` samples drawn at random, an array of
        initial centres, or a callable ``init(X, n_clusters, random_state=...)``
        (it receives the sample, not centred, as in scikit-learn).
    max_iter : int, default=100
        Maximum number of passes over the data (``max_iter * n_samples //
        batch_size`` steps at most).
    batch_size : int, default=1024
        Size of the mini batches.
    verbose : int, default=0
        Verbosity mode.
    compute_labels : bool, default=True
        Compute ``labels_`` and ``inertia_`` on the full data once the steps
        end.
    random_state : int, RandomState instance or None, default=None
        Determines the random draws; the same seed draws the same numbers as
        scikit-learn.
    tol : float, default=0.0
        Stop when the squared change of the centres in a step is below ``tol``
        times the mean variance of the features (0: never).
    max_no_improvement : int, default=10
        Stop after this many steps without improvement of the smoothed batch
        inertia; `None` disables it.
    init_size : int, default=None
        Samples drawn for the initialization; `None` means ``3 * batch_size``
        (at least ``3 * n_clusters``).
    n_init : 'auto' or int, default='auto'
        Initializations tried; the one with the lowest inertia on a validation
        sample is kept. 'auto': 1 for 'k-means++' or an array, 3 otherwise.
    reassignment_ratio : float, default=0.01
        Centres that saw less than this fraction of the largest centre's weight
        are moved to random batch samples.
    n_threads : int, default=None
        Numba threads for the parallel kernels; `None` means all that Numba may
        use. Results do not depend on it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of cluster centers.
    labels_ : ndarray of shape (n_samples,)
        Labels of each point (if compute_labels is set to True).
    inertia_ : float
        With ``compute_labels``, the weighted sum of squared distances of the
        samples to their closest centre; otherwise the smoothed batch inertia
        times the total weight.
    n_iter_ : int
        Number of passes over the data.
    n_steps_ : int
        Number of mini-batches processed.
    n_features_in_ : int
        Number of features seen during :term:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.cluster.MiniBatchKMeans : The reference implementation.
    nbkm.KMeans : Full-batch k-means.

    Examples
    --------
    >>> import numpy as np
    >>> from nbkm import MiniBatchKMeans
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [4, 0], [4, 4],
    ...               [4, 5], [0, 1], [2, 2], [3, 2], [5, 5], [1, -1]])
    >>> kmeans = MiniBatchKMeans(n_clusters=2, random_state=0, batch_size=6,
    ...                          n_init="auto").fit(X)
    >>> kmeans.cluster_centers_
    array([[3.55102041, 2.48979592],
           [1.06896552, 1.        ]])
    >>> kmeans.predict([[0, 0], [4, 4]])
    array([1, 0], dtype=int32)
    """

    _parameter_constraints: dict = {
        **BaseKMeans._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "compute_labels": ["boolean"],
        "max_no_improvement": [Interval(Integral, 0, None, closed="left"), None],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.n_threads = n_threads

    # ------------------------------------------------------------ checks

    def _check_params_vs_input(self, X):
        self._check_samples_and_tol(X, default_n_init=3)
        self._batch_size = min(self.batch_size, X.shape[0])
        self._init_size = self.init_size
        if self._init_size is None:
            self._init_size = 3 * self._batch_size
            if self._init_size < self.n_clusters:
                self._init_size = 3 * self.n_clusters
        elif self._init_size < self.n_clusters:
            warnings.warn(
                f"init_size={self._init_size} should be larger than "
                f"n_clusters={self.n_clusters}. Setting it to "
                "min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=3,
            )
            self._init_size = 3 * self.n_clusters
        self._init_size = min(self._init_size, X.shape[0])

    def _validated(self, X, sample_weight, reset):
        """Validate X (and, after the first ``partial_fit``, its dtype) and weights.

        Returns
        -------
        X : ndarray or CSR matrix
        sample_weight : ndarray of shape (n_samples,), X's dtype, read-only
        """
        dtype = FLOAT_DTYPES
        if not reset:
            model = self.cluster_centers_.dtype
            given = getattr(X, "dtype", None)
            if given is not None and given.kind == "f" and given != model:
                raise ValueError(
                    f"partial_fit got {given} data, but the model was started on "
                    f"{model} data; convert the data to {model}."
                )
            dtype = model
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=dtype,
            order="C",
            accept_large_sparse=False,
            reset=reset,
        )
        X = checked_samples(X)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        return X, read_only(sample_weight)

    # ---------------------------------------------------------- initial

    def _init_centroids(self, X, init, random_state, sample_weight, init_size):
        """Return initial centres from a random sample of ``init_size`` rows of X.

        scikit-learn's ``_init_centroids``: the same draws, on the same sample,
        not centred. A callable ``init`` runs outside nbkm's thread settings.
        """
        n_samples = X.shape[0]
        if init_size is not None and init_size < n_samples:
            init_indices = random_state.randint(0, n_samples, init_size)
            X = X[init_indices]
            sample_weight = sample_weight[init_indices]
        samples = Samples.of(X)
        if isinstance(init, str):
            picked = self._init_indices(samples, init, sample_weight, random_state)
            return samples.rows(picked)
        if callable(init):
            # A copy: the caller's rows must survive the callable.
            return self._centers_from_callable(X.copy(), X, random_state)
        return init.copy()

    def _init_indices(self, samples, init, sample_weight, random_state):
        """Return the samples 'k-means++' or 'random' picks, as scikit-learn's."""
        if init == "random":
            return random_indices(
                samples.shape[0], self.n_clusters, sample_weight, random_state
            )
        if samples.dtype == np.float32 and not samples.is_sparse:
            # scikit-learn's own arithmetic (float32 potentials, BLAS at its own
            # thread count, as its init runs): float32 near-ties of the
            # candidates' potentials then go its way. In float64 the parallel
            # kernel picks the same samples, faster.
            return kmeans_plusplus_indices(
                samples, self.n_clusters, sample_weight, random_state, numpy_path=True
            )
        with numba_threads(self._n_threads):
            return kmeans_plusplus_indices(
                samples, self.n_clusters, sample_weight, random_state
            )

    def _checked_init(self, X):
        """Return ``init`` with an array validated against X."""
        init = self.init
        if _is_arraylike_not_scalar(init):
            init = check_array(init, dtype=X.dtype, copy=True, order="C")
            self._validate_center_shape(X, init)
            check_squares_fit(init, X.dtype)
        return init

    # -------------------------------------------------------- stopping

    def _mini_batch_convergence(self, step, n_steps, n_samples, shift, batch_inertia):
        """scikit-learn's early stopping: centre shift, or no inertia improvement."""
        batch_inertia /= self._batch_size
        step = step + 1
        # The first step's inertia is that of the initial centres.
        if step == 1:
            if self.verbose:
                print(
                    f"Minibatch step {step}/{n_steps}: mean batch "
                    f"inertia: {batch_inertia}"
                )
            return False
        if self._ewa_inertia is None:
            self._ewa_inertia = batch_inertia
        else:
            alpha = min(self._batch_size * 2.0 / (n_samples + 1), 1)
            self._ewa_inertia = self._ewa_inertia * (1 - alpha) + batch_inertia * alpha
        if self.verbose:
            print(
                f"Minibatch step {step}/{n_steps}: mean batch inertia: "
                f"{batch_inertia}, ewa inertia: {self._ewa_inertia}"
            )
        if self._tol > 0.0 and shift <= self._tol:
            if self.verbose:
                print(f"Converged (small centers change) at step {step}/{n_steps}")
            return True
        if self._ewa_inertia_min is None or self._ewa_inertia < self._ewa_inertia_min:
            self._no_improvement = 0
            self._ewa_inertia_min = self._ewa_inertia
        else:
            self._no_improvement += 1
        if (
            self.max_no_improvement is not None
            and self._no_improvement >= self.max_no_improvement
        ):
            if self.verbose:
                print(
                    "Converged (lack of improvement in inertia) at step "
                    f"{step}/{n_steps}"
                )
            return True
        return False

    def _random_reassign(self):
        """Return whether this step reassigns centres.

        Every ``10 * n_clusters`` samples, and whenever a centre has seen no
        weight yet.
        """
        self._n_since_last_reassign += self._batch_size
        if (self._counts == 0).any() or self._n_since_last_reassign >= (
            10 * self.n_clusters
        ):
            self._n_since_last_reassign = 0
            return True
        return False

    # -------------------------------------------------------------- fit

    def _best_init(self, X, init, random_state, sample_weight):
        """Return the ``n_init`` initial centres of least inertia, as scikit-learn.

        Each candidate is scored on one validation sample of ``init_size`` rows.
        """
        validation_indices = random_state.randint(0, X.shape[0], self._init_size)
        valid = Samples.of(X[validation_indices])
        valid_weight = read_only(sample_weight[validation_indices])
        best_inertia = None
        for init_idx in range(self._n_init):
            if self.verbose:
                print(f"Init {init_idx + 1}/{self._n_init} with method {init}")
            centers = self._init_centroids(
                X, init, random_state, sample_weight, self._init_size
            )
            with numba_threads(self._n_threads):
                labels = assign_labels(valid, centers)
                value = inertia(valid, valid_weight, centers, labels)
            if self.verbose:
                print(f"Inertia for init {init_idx + 1}/{self._n_init}: {value}")
            if best_inertia is None or value < best_inertia:
                best_centers, best_inertia = centers, value
        return best_centers

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the centroids on X by chunking it into mini-batches.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training instances to cluster (a sparse matrix is converted to CSR).
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X; batches are drawn with
            probability proportional to them. Not used by an array or callable
            `init`.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, sample_weight = self._validated(X, sample_weight, reset=True)
        self._check_params_vs_input(X)
        random_state = check_random_state(self.random_state)
        self._n_threads = effective_n_threads(self.n_threads)
        n_samples = X.shape[0]
        init = self._checked_init(X)

        init_centers = self._best_init(X, init, random_state, sample_weight)
        centers = np.ascontiguousarray(init_centers)
        centers_new = np.empty_like(centers)
        self._counts = np.zeros(self.n_clusters, dtype=X.dtype)
        self._ewa_inertia = None
        self._ewa_inertia_min = None
        self._no_improvement = 0
        self._n_since_last_reassign = 0

        samples = Samples.of(X)
        sum_of_weights = np.sum(sample_weight)
        batches = _Batches(sample_weight / sum_of_weights)
        n_steps = (self.max_iter * n_samples) // self._batch_size
        # Batches are drawn by weight, so each drawn sample counts once.
        unit_weight = read_only(np.ones(self._batch_size, dtype=X.dtype))
        step = _Step(samples, self.n_clusters, self._batch_size)
        i = -1
        with numba_threads(self._n_threads):
            for i in range(n_steps):
                rows = batches.draw(random_state, self._batch_size)
                reassign = self._random_reassign()
                distances = step.run(
                    rows, unit_weight, centers, centers_new, self._counts
                )
                batch_inertia = K.weighted_total(unit_weight, distances)
                if reassign and self.reassignment_ratio > 0:
                    _reassign(
                        samples,
                        rows,
                        centers_new,
                        self._counts,
                        self.reassignment_ratio,
                        random_state,
                        self.verbose,
                    )
                shift = np.sum((centers_new - centers) ** 2) if self._tol > 0.0 else 0
                centers, centers_new = centers_new, centers
                if self._mini_batch_convergence(
                    i, n_steps, n_samples, shift, batch_inertia
                ):
                    break

        self.cluster_centers_ = centers
        self._n_features_out = self.cluster_centers_.shape[0]
        self.n_steps_ = i + 1
        self.n_iter_ = int(np.ceil(((i + 1) * self._batch_size) / n_samples))
        if self.compute_labels:
            with numba_threads(self._n_threads):
                self.labels_ = assign_labels(samples, centers)
                self.inertia_ = inertia(samples, sample_weight, centers, self.labels_)
        else:
            self.inertia_ = self._ewa_inertia * sum_of_weights
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the centres with one mini-batch, X.

        The first call initialises the centres from X (as ``fit`` does from its
        data); every call is one step over all of X with X's own weights. A
        stream of pieces (of a ``np.memmap``, say) is clustered by calling it on
        each piece in turn.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The mini-batch. After the first call, its features (and a float
            dtype, if it has one) must be those of the first.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights for each observation in X. Not used by an array or
            callable `init`.

        Returns
        -------
        self : object
            Updated estimator.
        """
        has_centers = hasattr(self, "cluster_centers_")
        X, sample_weight = self._validated(X, sample_weight, reset=not has_centers)
        if not hasattr(self, "_random_state"):
            self._random_state = check_random_state(self.random_state)
        self.n_steps_ = getattr(self, "n_steps_", 0)
        if not has_centers:
            self._check_params_vs_input(X)
            self._n_threads = effective_n_threads(self.n_threads)
            init = self._checked_init(X)
            self.cluster_centers_ = np.ascontiguousarray(
                self._init_centroids(
                    X, init, self._random_state, sample_weight, self._init_size
                )
            )
            self._counts = np.zeros(self.n_clusters, dtype=X.dtype)
            self._n_since_last_reassign = 0

        samples = Samples.of(X)
        rows = np.arange(X.shape[0], dtype=np.int64)
        centers = self.cluster_centers_
        with numba_threads(self._n_threads):
            reassign = self._random_reassign()
            step = _Step(samples, self.n_clusters, X.shape[0])
            step.run(rows, sample_weight, centers, centers, self._counts)
            if reassign and self.reassignment_ratio > 0:
                _reassign(
                    samples,
                    rows,
                    centers,
                    self._counts,
                    self.reassignment_ratio,
                    self._random_state,
                    self.verbose,
                )
            if self.compute_labels:  # predict's labels, from one kernel call
                labels, distances = step.assign(rows, centers)
                self.labels_ = labels.copy()
                self.inertia_ = K.weighted_total(sample_weight, distances)
        self.n_steps_ += 1
        self._n_features_out = self.cluster_centers_.shape[0]
        return self
