"""The training data on the cluster: validated, cut at block boundaries, persisted.

A fit rechunks the rows once so that every chunk starts at a multiple of
``rows_per_block(n_samples)``, the block size a single-machine fit of the same
data uses. Each chunk is then a run of whole blocks of the single-machine fit
(the last one possibly short), and a chunk's per-block partials are exactly the
single machine's for those blocks: folding all chunks' partials in chunk order
gives the single machine's bits, whatever the chunking and the worker count.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from dask import array as da
from dask.core import flatten
from distributed import futures_of

from nbkm import _kernels as K
from nbkm._checks import check_squares_fit, weight_exponent
from nbkm.dask import _tasks as T

FLOAT_DTYPES = (np.float32, np.float64)


def _is_sparse_meta(meta) -> bool:
    if sp.issparse(meta):
        return True
    module = type(meta).__module__
    return module.startswith(("sparse", "cupyx.scipy.sparse"))


def _check_known_chunks(a, name):
    """Raise ``ValueError`` if the row chunk sizes of dask array ``a`` are unknown."""
    # Unknown after boolean indexing, say: the rows cannot be cut at block
    # boundaries, nor matched with other arrays, without counting them.
    if any(np.isnan(c) for c in a.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first."
        )


def as_dask_matrix(X, name="X"):
    """Return ``X`` as a 2-D dask array with dense chunks, or raise.

    A NumPy array (or anything ``numpy.asarray`` takes) is wrapped in one chunk.
    """
    if not isinstance(X, da.Array):
        if sp.issparse(X):
            raise TypeError(
                "nbkm.dask.KMeans takes dense data; use nbkm.KMeans for a "
                "scipy.sparse matrix."
            )
        X = da.from_array(np.asarray(X), chunks=-1)
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead. Reshape your data "
            "either using array.reshape(-1, 1) if your data has a single feature "
            "or array.reshape(1, -1) if it contains a single sample."
        )
    if _is_sparse_meta(getattr(X, "_meta", None)):
        raise TypeError(
            f"nbkm.dask needs dense chunks; the chunks of {name} are "
            f"{type(X._meta).__name__} (sparse). Convert them with "
            ".map_blocks(lambda b: b.toarray()) or use nbkm.KMeans."
        )
    _check_known_chunks(X, name)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
            "while a minimum of 1 is required."
        )
    return X


def as_dask_weights(sample_weight, n, chunks, dtype):
    """Return sample weights as a dask array chunked as the samples, or raise.

    Only the shape and the chunks are checked here; the values are checked
    where the chunks are.

    Parameters
    ----------
    sample_weight : dask.array.Array, array-like or scalar
        Weight of each sample; a scalar weighs them all, as in scikit-learn.
    n : int
        Number of samples.
    chunks : tuple of int
        Row chunk sizes of the samples.
    dtype : numpy dtype
        The computation's float dtype.

    Returns
    -------
    w : dask.array.Array of shape (n,)
        Dense, C-contiguous chunks in ``dtype``, chunked as ``chunks``.
    """
    if isinstance(sample_weight, da.Array):
        w = sample_weight
    else:
        w = np.asarray(sample_weight)
        if w.ndim == 0:  # a scalar weight, as sklearn allows
            w = np.full(n, w)
    if w.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {w.ndim}D array. "
            f"Expected either a scalar value or a 1D array of length {n}."
        )
    if isinstance(w, da.Array):
        _check_known_chunks(w, "sample_weight")
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not isinstance(w, da.Array):
        w = da.from_array(w, chunks=(chunks,))
    if _is_sparse_meta(getattr(w, "_meta", None)):
        raise TypeError("sample_weight must be dense.")
    return w.rechunk((chunks,)).map_blocks(T.prepared, dtype, dtype=dtype)


def float_dtype(X):
    """Return the dtype of a fit: float32 and float64 kept, else float64."""
    return X.dtype if X.dtype in FLOAT_DTYPES else np.dtype(np.float64)


def aligned_chunks(row_chunks, rows):
    """Row chunk sizes whose boundaries are the given ones rounded to ``rows``.

    Boundaries are rounded down to a multiple of ``rows``; chunks that become
    empty disappear. The result has at most ``ceil(n / rows)`` chunks.
    """
    n = int(sum(row_chunks))
    edges = {0, n}
    for edge in np.cumsum(row_chunks)[:-1]:
        aligned = int(edge) // rows * rows
        if 0 < aligned < n:
            edges.add(aligned)
    edges = sorted(edges)
    return tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:], strict=True))


def _ordered_futures(array):
    """Return the futures of a persisted dask array's chunks, in row order."""
    by_key = {f.key: f for f in futures_of(array)}
    return [by_key[key] for key in flatten(array.__dask_keys__())]


@dataclass
class Pieces:
    """The persisted chunks of one fit and what the client knows about them.

    Attributes
    ----------
    client : distributed.Client
        The cluster's client.
    x : list of Future
        The chunks of X, dense, C-contiguous, in the fit's dtype, in row order.
    w : list of Future or None
        The chunks of the (scaled) sample weights; ``None`` entries when unweighted.
    offsets : ndarray of int64, shape (n_chunks + 1,)
        First row of each chunk, plus ``n_samples``.
    rows : int
        ``rows_per_block(n_samples)``.
    dtype : numpy dtype
        The fit's float dtype.
    n_features : int
        Number of features.
    x_mean : ndarray of shape (n_features,)
        The centring vector (``nbkm._kernels.column_means``'s bits).
    inertia_scale : float
        Factor from the scaled weights' inertia to the caller's.
    max_abs : float
        Largest magnitude in X.
    """

    client: object
    x: list
    w: list
    offsets: np.ndarray
    rows: int
    dtype: np.dtype
    n_features: int
    x_mean: np.ndarray = field(default=None)
    inertia_scale: float = 1.0
    max_abs: float = 0.0
    weighted: bool = False

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.offsets[-1])

    @property
    def n_chunks(self) -> int:
        """Number of chunks."""
        return len(self.x)

    def map(self, func, *per_chunk, **kwargs):
        """Submit ``func(*per_chunk[i], **kwargs)`` for every chunk ``i``."""
        return [
            self.client.submit(func, *args, **kwargs)
            for args in zip(*per_chunk, strict=True)
        ]

    def by_worker(self):
        """Chunk indices grouped by the worker that holds each chunk, in order.

        Tasks that take a whole group run where its chunks are. The grouping
        is only a placement: if a worker is lost, its group's task runs where
        the recomputed chunks land, with the same result.
        """
        holders = self.client.who_has(self.x)
        groups = {}
        for i, future in enumerate(self.x):
            where = sorted(holders.get(future.key, ())) or [None]
            groups.setdefault(where[0], []).append(i)
        return list(groups.values())

    def gather(self, futures):
        """Fetch results to the client."""
        return self.client.gather(futures)

    def fold(self, partials):
        """Fold per-block partials of all chunks in global block order."""
        return K.fold_blocks(np.concatenate(partials, axis=0))


def _check_weights(client, w_futures, n, n_features, max_abs, dtype):
    """Apply nbkm's weight rules (``_check_sample_weight``, ``normalized_weights``).

    Returns the weights' futures, scaled by ``nbkm._checks.weight_exponent``'s
    power of two when needed, and the factor that turns back the inertia.
    """
    stats = client.gather([client.submit(T.weight_stats, f) for f in w_futures])
    low = min(s[2] for s in stats)
    high = max(s[3] for s in stats)
    problem = T.weight_problem(any(s[0] for s in stats), any(s[1] for s in stats), low)
    if problem is not None:
        raise ValueError(problem)
    if high == 0 and low == 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    low_positive = min(s[4] for s in stats)
    exponent = weight_exponent(low_positive, high, n, n_features, max_abs, dtype)
    if exponent == 0:
        return w_futures, 1.0
    scaled = [client.submit(T.scaled_weights, f, exponent) for f in w_futures]
    return scaled, float(np.ldexp(1.0, -exponent))


def scatter_data(client, X, sample_weight, dtype):
    """Validate X and the weights, rechunk at block boundaries, persist.

    Parameters
    ----------
    client : distributed.Client
    X : dask.array.Array of shape (n_samples, n_features)
        Validated by :func:`as_dask_matrix`.
    sample_weight : dask array, array-like or None
    dtype : numpy dtype
        The fit's dtype.

    Returns
    -------
    pieces : Pieces
        With ``x_mean``, ``max_abs``, the weights validated and scaled.
    """
    n, d = X.shape
    rows = K.rows_per_block(n)
    X = X.rechunk({1: -1})
    chunks = aligned_chunks(X.chunks[0], rows)
    if chunks != X.chunks[0]:
        X = X.rechunk({0: chunks})
    X = X.map_blocks(T.prepared, dtype, dtype=dtype)
    offsets = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)

    w = None
    if sample_weight is not None:
        w = as_dask_weights(sample_weight, n, chunks, dtype)

    X = client.persist(X)
    x_futures = _ordered_futures(X)
    stats = client.gather(
        [client.submit(T.data_stats, f, rows=rows) for f in x_futures]
    )
    if any(s[0] for s in stats):
        raise ValueError("Input X contains NaN.")
    if any(s[1] for s in stats):
        raise ValueError(
            f"Input X contains infinity or a value too large for {np.dtype(dtype)!r}."
        )
    max_abs = max(s[2] for s in stats)
    check_squares_fit(np.full((1, d), max_abs), dtype)
    if w is None:
        w_futures, scale, weighted = [None] * len(x_futures), 1.0, False
    else:
        w = client.persist(w)
        w_futures, scale = _check_weights(
            client, _ordered_futures(w), n, d, max_abs, dtype
        )
        weighted = True
    pieces = Pieces(
        client=client,
        x=x_futures,
        w=w_futures,
        offsets=offsets,
        rows=rows,
        dtype=np.dtype(dtype),
        n_features=d,
        inertia_scale=scale,
        weighted=weighted,
    )
    pieces.max_abs = max_abs
    # column_means: block sums folded in block order, divided by n, cast.
    pieces.x_mean = (pieces.fold([s[3] for s in stats]) / n).astype(dtype)
    return pieces


def tolerance(pieces, tol):
    """``nbkm._em.tolerance`` for dense data, computed by chunk."""
    if tol == 0:
        return 0.0
    partials = pieces.gather(
        pieces.map(T.deviation_sums, pieces.x, x_mean=pieces.x_mean, rows=pieces.rows)
    )
    variances = pieces.fold(partials) / pieces.n_samples
    return float(np.mean(variances) * tol)
