"""The estimator :class:`KMeans` of ``nbkm.dask``."""

from functools import partial

import numpy as np
from dask import array as da
from distributed import get_client
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _is_arraylike_not_scalar, check_is_fitted

from nbkm import _kernels as K
from nbkm._base import (
    checked_array_init,
    resolve_n_init,
    validate_center_shape,
    warn_on_missing_clusters,
)
from nbkm._checks import check_squares_fit
from nbkm._em import best_of_runs, label_pairs, same_clustering
from nbkm._kernels._dense import CHUNK_ROWS
from nbkm._kmeans import KMeans as NbkmKMeans
from nbkm.dask import _init as init_centers
from nbkm.dask import _lloyd
from nbkm.dask import _tasks as T
from nbkm.dask._pieces import (
    aligned_chunks,
    as_dask_matrix,
    as_dask_weights,
    float_dtype,
    scatter_data,
    tolerance,
)
from nbkm.dask._workers import ensure_workers_ready


def _client():
    try:
        return get_client()
    except ValueError as exc:
        raise RuntimeError(
            "nbkm.dask.KMeans runs on a dask.distributed cluster: create a "
            "Client first (distributed.Client('scheduler:8786'), or "
            "Client(LocalCluster(threads_per_worker=1)))."
        ) from exc


class KMeans(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
    # No wrapping of transform's output in a DataFrame: that would compute it.
    auto_wrap_output_keys=None,
):
    """K-Means on a Dask cluster with nbkm's kernels; nbkm's answer, bit for bit.

    Takes the parameters of :class:`nbkm.KMeans` (``init`` defaults to
    ``"k-means||"``) and a 2-D ``dask.array`` chunked along rows. Each iteration
    is one round trip: every chunk runs nbkm's fused Lloyd sweep on its worker and
    sends back per-block partial sums, which the client folds in global block
    order. Given the same initial centres, ``labels_``, ``cluster_centers_``,
    ``inertia_`` and ``n_iter_`` are bitwise those of
    ``nbkm.KMeans(algorithm="lloyd", n_init=1)`` on the computed array, for any
    chunking and number of workers (limits: ``docs/dask.md``). ``predict`` and
    ``transform`` return dask arrays, lazily, whatever scikit-learn's
    ``transform_output`` setting (see :meth:`set_output`).

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {'k-means||', 'k-means++', 'random'}, callable or array-like of \
            shape (n_clusters, n_features), default='k-means||'
        ``'k-means||'``: scalable k-means++ (Bahmani et al. 2012), 5 rounds of
        oversampling by ``2 * n_clusters``, independent of the chunking and the
        workers. ``'k-means++'``: nbkm's greedy k-means++, the same centres as
        ``nbkm.KMeans`` for the same seed but two round trips per centre.
        ``'random'``: ``n_clusters`` samples drawn as nbkm draws them. A callable
        ``init(X, n_clusters, random_state=...)`` receives the mean-centred data
        as a dask array. An array gives the initial centres.
    n_init : 'auto' or int, default='auto'
        Runs from different initial centres; the lowest inertia is kept.
        'auto': 1 for 'k-means||', 'k-means++' or an array, 10 otherwise.
    max_iter : int, default=300
        Maximum number of iterations of a run.
    tol : float, default=1e-4
        Relative tolerance on the sum of squared centre shifts (times the mean
        variance of the features).
    verbose : int, default=0
        Print the inertia of each iteration (one more pass over the data each).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.
    copy_x : bool, default=True
        Accepted for compatibility; the caller's data is never modified.
    algorithm : {"lloyd", "elkan", "hamerly", "yinyang", "auto"}, default="lloyd"
        Always Lloyd's algorithm; the other values are accepted for parameter
        compatibility with ``nbkm.KMeans``, whose algorithms all give Lloyd's
        result bit for bit.
    n_threads : int, default=None
        Numba threads of each task; `None` means the worker's
        ``NUMBA_NUM_THREADS``. Results do not depend on it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Coordinates of cluster centers.
    labels_ : dask.array.Array of shape (n_samples,)
        Labels of each point (int32), kept on the workers. A pickled or copied
        model (``pickle``, ``joblib``, ``copy``) gathers them to the client
        first: its ``labels_`` is a dask array over the labels in memory,
        chunked alike, that computes without the fit's cluster.
    inertia_ : float
        Sum of squared distances of samples to their closest cluster center,
        weighted by the sample weights if provided.
    n_iter_ : int
        Number of iterations run.
    n_features_in_ : int
        Number of features seen during :term:`fit`.

    See Also
    --------
    nbkm.KMeans : The single-machine estimator.

    Examples
    --------
    >>> from distributed import Client, LocalCluster  # doctest: +SKIP
    >>> import dask.array as da  # doctest: +SKIP
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)  # doctest: +SKIP
    >>> rng = da.random.default_rng(0)  # doctest: +SKIP
    >>> X = rng.normal(size=(100_000, 8), chunks=25_000)  # doctest: +SKIP
    >>> km = nbkm.dask.KMeans(n_clusters=10, random_state=0).fit(X)  # doctest: +SKIP
    >>> km.predict(X)  # lazy  # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        **NbkmKMeans._parameter_constraints,
        "init": [
            StrOptions({"k-means||", "k-means++", "random"}),
            callable,
            "array-like",
        ],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means||",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
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

    def _init_centroids(self, pieces, X, init, random_state):
        """Return the initial centres, in the centred frame."""
        if isinstance(init, str):
            if init == "k-means||":
                return init_centers.kmeans_parallel_centers(
                    pieces, self.n_clusters, random_state, self.n_threads
                )
            if init == "k-means++":
                return init_centers.kmeans_plusplus_centers(
                    pieces, self.n_clusters, random_state, self.n_threads
                )
            return init_centers.random_centers(pieces, self.n_clusters, random_state)
        if callable(init):
            centred = X.astype(pieces.dtype) - pieces.x_mean
            centers = init(centred, self.n_clusters, random_state=random_state)
            if isinstance(centers, da.Array):
                centers = centers.compute()
            centers = check_array(centers, dtype=pieces.dtype, copy=True, order="C")
            validate_center_shape(centers, self.n_clusters, pieces.n_features)
            check_squares_fit(centers, pieces.dtype)
            return centers
        return init.copy()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering on the cluster of the current Client.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features)
            Training instances, dense, chunked along rows (column chunks are
            merged). A NumPy array is accepted and sent as one chunk. Never
            modified.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : dask.array.Array or array-like of shape (n_samples,), \
                default=None
            Weight of each sample; None means all ones.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        RuntimeError
            Without a ``distributed.Client``, or when a worker runs several
            threads on Numba's ``workqueue`` layer.
        """
        X = as_dask_matrix(X)
        n, d = X.shape
        if n < self.n_clusters:
            raise ValueError(
                f"n_samples={n} should be >= n_clusters={self.n_clusters}."
            )
        dtype = float_dtype(X)
        n_init = resolve_n_init(self, 10, stacklevel=2)
        init = self.init
        if _is_arraylike_not_scalar(init):
            init = checked_array_init(init, dtype, self.n_clusters, d)
        client = _client()
        ensure_workers_ready(client, dtype)
        random_state = check_random_state(self.random_state)
        pieces = scatter_data(client, X, sample_weight, dtype)
        self.n_features_in_ = d
        self._tol = tolerance(pieces, self.tol)
        if _is_arraylike_not_scalar(init):
            init -= pieces.x_mean

        best = best_of_runs(
            n_init,
            partial(self._init_centroids, pieces, X, init, random_state),
            partial(
                _lloyd.lloyd_run,
                pieces,
                max_iter=self.max_iter,
                tol=self._tol,
                verbose=self.verbose,
                n_threads=self.n_threads,
            ),
            partial(self._same_clustering, pieces),
            self.verbose,
        )
        centers = best.centers + pieces.x_mean
        labels, best_inertia = self._final_labels(pieces, centers, best)
        counts = pieces.gather(
            pieces.map(T.cluster_sizes, labels, n_clusters=self.n_clusters)
        )
        n_distinct = int(np.count_nonzero(np.sum(counts, axis=0)))
        warn_on_missing_clusters(n_distinct, self.n_clusters, stacklevel=2)
        self.cluster_centers_ = centers
        self._n_features_out = centers.shape[0]
        self._label_futures = labels
        sizes = np.diff(pieces.offsets)
        self.labels_ = da.concatenate(
            [
                da.from_delayed(f, shape=(int(s),), dtype=np.int32)
                for f, s in zip(labels, sizes, strict=True)
            ]
        )
        self.inertia_ = best_inertia * pieces.inertia_scale
        self.n_iter_ = best.n_iter
        return self

    def _same_clustering(self, pieces, labels_a, labels_b):
        """:func:`nbkm._em.same_clustering` over label futures."""
        pairs = pieces.gather(
            pieces.map(label_pairs, labels_a, labels_b, n_clusters=self.n_clusters)
        )
        return same_clustering(np.concatenate(pairs), self.n_clusters)

    def _final_labels(self, pieces, centers, run):
        """``nbkm.KMeans._final_labels``: predict's labels; inertia if changed."""
        if run.labels_final:
            return run.labels, run.inertia
        final, n_changed = _lloyd.assign(pieces, centers, run.labels, self.n_threads)
        if n_changed == 0:
            return run.labels, run.inertia
        zero = np.zeros(pieces.n_features, dtype=pieces.dtype)
        return final, _lloyd.inertia(pieces, centers, final, zero, self.n_threads)

    def __getstate__(self):
        # labels_ is built on futures of the fit's cluster, which a copy cannot
        # use: it gets the labels themselves.
        state = dict(super().__getstate__())  # a copy: the fitted model keeps its own
        futures = state.pop("_label_futures", None)
        if futures is not None:
            labels = np.concatenate(futures[0].client.gather(futures))
            state["labels_"] = da.from_array(labels, chunks=self.labels_.chunks)
        return state

    def _query(self, X, blocks=False):
        """Return validated query data and the centres.

        Chunks start at multiples of 256 rows, nbkm's BLAS groups, so that the
        labels are bitwise ``nbkm.KMeans.predict``'s; with ``blocks``, at
        multiples of ``rows_per_block(n_samples)`` (themselves multiples of
        256), so that per-block sums are bitwise nbkm's too.
        """
        check_is_fitted(self)
        centers = check_array(self.cluster_centers_, dtype=[np.float64, np.float32])
        X = as_dask_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {self.__class__.__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        X = X.rechunk({1: -1})
        rows = K.rows_per_block(X.shape[0]) if blocks else CHUNK_ROWS
        chunks = aligned_chunks(X.chunks[0], rows)
        if chunks != X.chunks[0]:
            X = X.rechunk({0: chunks})
        return X, np.ascontiguousarray(centers)

    def predict(self, X):
        """Predict the closest cluster of each sample, lazily.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : dask.array.Array of int32, shape (n_samples,)
            ``nbkm.KMeans.predict``'s labels for the same centres.
        """
        X, centers = self._query(X)
        return X.map_blocks(
            T.predict_block,
            centers,
            n_threads=self.n_threads,
            drop_axis=1,
            dtype=np.int32,
        )

    def transform(self, X):
        """Distances of each sample to each centre, lazily.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features)
            New data.

        Returns
        -------
        X_new : dask.array.Array of shape (n_samples, n_clusters)
            Euclidean distances, in the model's dtype; a dask array whatever
            ``set_output`` or scikit-learn's ``transform_output`` ask for.
        """
        X, centers = self._query(X)
        return X.map_blocks(
            T.transform_block,
            centers,
            n_threads=self.n_threads,
            chunks=(X.chunks[0], (centers.shape[0],)),
            dtype=centers.dtype,
        )

    def set_output(self, *, transform=None):
        """Keep the default output: this model's transforms return dask arrays.

        A pandas or polars DataFrame would compute the result into memory, so
        they are refused; build a lazy frame from the dask array instead, e.g.
        ``dask.dataframe.from_dask_array(X_new, columns=km.get_feature_names_out())``.
        scikit-learn's global ``transform_output`` setting is not applied either.

        Parameters
        ----------
        transform : {"default"} or None, default=None
            ``"default"`` or None (no change).

        Returns
        -------
        self : estimator instance
            Estimator instance.

        Raises
        ------
        ValueError
            For ``"pandas"``, ``"polars"`` or any other container.
        """
        if transform not in (None, "default"):
            raise ValueError(
                f"{self.__class__.__name__}.set_output(transform={transform!r}) is "
                "not supported: nbkm.dask transforms return dask arrays, lazily, "
                "and a DataFrame would compute the result into memory. Convert "
                "the dask array yourself, e.g. with dask.dataframe.from_dask_array("
                "X_new, columns=km.get_feature_names_out())."
            )
        return self

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the value of X on the K-means objective.

        Computed on the cluster of the current Client: bitwise
        ``nbkm.KMeans.score`` for the same centres, for any chunking.

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features)
            New data. A NumPy array is accepted and sent as one chunk.
        y : Ignored
            Not used, present here for API consistency by convention.
        sample_weight : dask.array.Array or array-like of shape (n_samples,), \
                default=None
            The weights for each observation in X; None means all ones.

        Returns
        -------
        score : float
            Opposite of the value of X on the K-means objective: minus the
            weighted sum of squared distances to the nearest centre.

        Raises
        ------
        ValueError
            If X has another number of features than in :term:`fit`, or the
            weights are invalid (wrong length, unknown chunk sizes, negative,
            NaN or infinite).
        RuntimeError
            Without a ``distributed.Client``.
        """
        X, centers = self._query(X, blocks=True)
        rows = K.rows_per_block(X.shape[0])
        row_chunks = X.chunks[0]
        arrays = [X, "ij"]
        if sample_weight is not None:
            w = as_dask_weights(sample_weight, X.shape[0], row_chunks, centers.dtype)
            arrays += [w, "i"]
        partials = da.blockwise(
            T.score_partials,
            "i",
            *arrays,
            centers=centers,
            rows=rows,
            n_threads=self.n_threads,
            concatenate=True,
            adjust_chunks={"i": lambda size: -(-size // rows)},  # blocks per chunk
            dtype=np.float64,
            meta=np.empty(0, dtype=np.float64),
        )
        # Folded in block order here, as nbkm.KMeans.score folds them.
        return -float(K.fold_blocks(_client().compute(partials, sync=True)))

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit and return ``labels_`` (a dask array).

        Parameters
        ----------
        X : dask.array.Array of shape (n_samples, n_features)
            Training instances.
        y : Ignored
            Not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample.

        Returns
        -------
        labels : dask.array.Array of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).labels_
