"""What runs on the workers: nbkm's kernels on one chunk of rows.

Every function here takes one chunk (a C-contiguous float array whose first row
sits at a multiple of the whole data set's block size ``rows``) and returns
small per-block partials, or per-row results that stay on the worker. The
kernels are those of a single-machine fit, on the same blocks: that is what
makes the folded partials bitwise the single machine's (see
``nbkm._kernels._blocks``). Nothing here modifies its inputs.
"""

import functools

import numpy as np

from nbkm import _kernels as K
from nbkm._assign import CenterViews, squared_norms
from nbkm._samples import read_only
from nbkm._threads import numba_threads


def check_dense(x, name="X"):
    """Return ``x`` if it is a dense NumPy array, else raise ``TypeError``."""
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"nbkm.dask needs dense chunks (numpy.ndarray); a chunk of {name} is "
            f"a {type(x).__module__}.{type(x).__name__}. Sparse data is not "
            "supported by nbkm.dask: convert the chunks with .map_blocks(lambda b: "
            "b.toarray()) or use nbkm.KMeans on a scipy.sparse matrix."
        )
    return x


@functools.lru_cache(maxsize=8)
def _ones(n, dtype):
    # Read-only, as every array the kernels take from the caller (one Numba
    # signature; see nbkm._samples.read_only), and safe to share.
    return read_only(np.ones(n, dtype=dtype))


def ones_if_none(w, x):
    """Return a chunk's weights: ``w``, or shared ones in ``x``'s dtype.

    The ones are cached per length: chunks mostly share one length, and a
    fresh array per chunk and iteration costs page faults on every sweep.
    """
    return _ones(x.shape[0], x.dtype) if w is None else w


def prepared(x, dtype):
    """Return the chunk as the kernels take it: dense, C-contiguous, in ``dtype``.

    Read-only, as nbkm.KMeans hands the caller's arrays to the kernels (see
    ``nbkm._samples.read_only``): the workers compile one signature, the same.
    """
    check_dense(x)
    return read_only(np.ascontiguousarray(x, dtype=dtype))


def data_stats(x, rows):
    """Finiteness, largest magnitude and per-block column sums of a chunk.

    Returns
    -------
    stats : tuple
        ``(has_nan, has_inf, max_abs, column_sums)``, the last of shape
        ``(n_blocks_of_chunk, n_features)`` in float64.
    """
    check_dense(x)
    # Two reductions without temporaries; NaN and infinity make either one
    # non-finite, and only then are the two told apart.
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    finite = np.isfinite(low) and np.isfinite(high)
    has_nan = not finite and bool(np.isnan(x).any())
    has_inf = not finite and bool(np.isinf(x).any())
    max_abs = max(-low, high) if finite else 0.0
    bounds = K.block_bounds(x.shape[0], rows)
    partial = np.empty((bounds.shape[0] - 1, x.shape[1]))
    if not (has_nan or has_inf):
        with numba_threads(None):
            K.column_sums_by_block(x, bounds, partial)
    return has_nan, has_inf, max_abs, partial


def deviation_sums(x, x_mean, rows):
    """Per-block sums of squared deviations from ``x_mean`` (for the tolerance)."""
    bounds = K.block_bounds(x.shape[0], rows)
    partial = np.empty((bounds.shape[0] - 1, x.shape[1]))
    with numba_threads(None):
        K.squared_deviation_sums_by_block(x, x_mean, bounds, partial)
    return partial


def weight_problem(has_nan, has_inf, low):
    """Return nbkm's error message for weights with these stats, or None."""
    if has_nan:
        return "Input sample_weight contains NaN."
    if has_inf:
        return "Input sample_weight contains infinity."
    if low < 0:
        return "Negative values in data passed to `sample_weight`"
    return None


def weight_stats(w):
    """``(has_nan, has_inf, min, max, least positive)`` of a chunk of weights."""
    check_dense(w, "sample_weight")
    has_nan = bool(np.isnan(w).any())
    has_inf = bool(np.isinf(w).any())
    positive = w[w > 0]
    low_positive = float(positive.min()) if positive.size else np.inf
    if w.size == 0:
        return has_nan, has_inf, np.inf, -np.inf, low_positive
    return has_nan, has_inf, float(w.min()), float(w.max()), low_positive


def scaled_weights(w, exponent):
    """``w * 2**exponent`` exactly as ``nbkm._checks.normalized_weights`` scales."""
    return np.ldexp(w, exponent).astype(w.dtype)


def _views(centers):
    views = CenterViews.of(centers)  # the single machine's, bit for bit
    return views.t, views.sq


def lloyd_step(x, w, labels_old, x_mean, views, rows, n_threads=None):
    """One fused Lloyd sweep of a chunk (``nbkm._assign.lloyd_sweep`` on its blocks).

    ``views`` is ``(centers_t, centers_sq)`` of the centres.

    Returns
    -------
    result : tuple
        ``(labels, partial_sums, partial_weights, n_changed)``. ``n_changed``
        counts labels that differ from ``labels_old`` (all, when it is None).
    """
    w = ones_if_none(w, x)
    centers_t, centers_sq = views
    d, k = centers_t.shape
    bounds = K.block_bounds(x.shape[0], rows)
    n_blocks = bounds.shape[0] - 1
    labels = np.empty(x.shape[0], dtype=np.int32)
    partial_sums = np.zeros((n_blocks, k, d), dtype=x.dtype)
    partial_weights = np.zeros((n_blocks, k), dtype=x.dtype)
    with numba_threads(n_threads):
        K.lloyd_step_dense(
            x, x_mean, w, centers_t, centers_sq, bounds, labels,
            partial_sums, partial_weights, True,
        )  # fmt: skip
    if labels_old is None:
        n_changed = labels.shape[0]
    else:
        n_changed = int(np.count_nonzero(labels != labels_old))
    return labels, partial_sums, partial_weights, n_changed


def lloyd_steps(xs, ws, previous, x_mean, centers, rows, n_threads=None):
    """:func:`lloyd_step` on a group of chunks (those one worker holds).

    One task a worker and iteration instead of one a chunk: the scheduler's
    cost per task, not the sweep, dominated an iteration with many chunks.

    Parameters
    ----------
    xs, ws : list of ndarray
        The group's chunks and their weights (None entries when unweighted).
    previous : list of tuple or None
        This group's result of the previous iteration (for ``n_changed``).
    x_mean, centers, rows, n_threads
        As :func:`lloyd_step`.

    Returns
    -------
    steps : list of tuple
        :func:`lloyd_step`'s result for each chunk, in order. The labels stay
        on the worker; :func:`partials_of` fetches the rest.
    """
    views = _views(centers)
    olds = [None] * len(xs) if previous is None else [p[0] for p in previous]
    return [
        lloyd_step(x, w, old, x_mean, views, rows, n_threads)
        for x, w, old in zip(xs, ws, olds, strict=True)
    ]


def partials_of(steps):
    """Return the small part of each :func:`lloyd_steps` result, for the client."""
    return [step[1:] for step in steps]


def labels_of(steps, position):
    """Return the labels of chunk ``position`` of a :func:`lloyd_steps` result."""
    return steps[position][0]


def assign(x, labels_old, centers, rows, n_threads=None):
    """Labels of a chunk as ``predict`` computes them (uncentred, labels only).

    Returns ``(labels, n_changed)`` with ``n_changed`` as in :func:`lloyd_step`.
    """
    labels = np.empty(x.shape[0], dtype=np.int32)
    centers_t, centers_sq = _views(centers)
    no_weights = np.empty(0, dtype=x.dtype)
    placeholder_sums = np.zeros((1, 1, 1), dtype=x.dtype)
    placeholder_weights = np.zeros((1, 1), dtype=x.dtype)
    zero_mean = np.zeros(x.shape[1], dtype=x.dtype)
    with numba_threads(n_threads):
        K.lloyd_step_dense(
            x, zero_mean, no_weights, centers_t, centers_sq,
            K.block_bounds(x.shape[0], rows), labels,
            placeholder_sums, placeholder_weights, False,
        )  # fmt: skip
    if labels_old is None:
        return labels, labels.shape[0]
    return labels, int(np.count_nonzero(labels != labels_old))


def first_of(pair):
    """``pair[0]`` (a task, so that the rest of a result can be released)."""
    return pair[0]


def second_of(pair):
    """``pair[1]``."""
    return pair[1]


def distances(x, x_mean, centers, labels, n_threads=None):
    """Squared distance of each sample of a chunk to its assigned centre."""
    centers_sq = squared_norms(centers)
    out = np.empty(x.shape[0], dtype=x.dtype)
    with numba_threads(n_threads):
        K.distances_to_assigned(x, x_mean, centers, centers_sq, labels, out)
    return out


def inertia_partials(x, w, labels, x_mean, centers, rows, n_threads=None):
    """Per-block weighted sums of squared distances (``nbkm._assign.inertia``)."""
    w = ones_if_none(w, x)
    bounds = K.block_bounds(x.shape[0], rows)
    partial = np.empty(bounds.shape[0] - 1)
    with numba_threads(n_threads):
        K.inertia_by_block(
            x, x_mean, centers, squared_norms(centers), labels, w, bounds, partial
        )
    return partial


def far_samples(x, w, x_mean, centers, steps, position, offset, m, n_threads=None):
    """Return the ``m`` samples of a chunk farthest from their assigned centre.

    Candidates for empty-cluster relocation: the client picks the global ``m``
    among all chunks' candidates. Within the chunk, the farthest come first and
    ties go to the lower index.

    Returns
    -------
    candidates : tuple
        ``(max_distance, global_indices, distances, rows, weights, labels)``.
    """
    w = ones_if_none(w, x)
    labels = labels_of(steps, position)
    dist = distances(x, x_mean, centers, labels, n_threads)
    m = min(m, x.shape[0])
    order = np.lexsort((np.arange(x.shape[0]), -dist))[:m]
    max_distance = dist.max() if dist.size else dist.dtype.type(0)
    return (
        max_distance,
        order.astype(np.int64) + offset,
        dist[order],
        x[order],
        w[order],
        labels[order],
    )


def cluster_sizes(labels, n_clusters):
    """Count the samples of a chunk in each cluster (one pass, no sort)."""
    return np.bincount(labels, minlength=n_clusters)


def _query_block(x, centers):
    """Return a block of query data prepared in the centres' dtype, or raise."""
    x = prepared(x, centers.dtype)
    if not np.isfinite(x).all():
        raise ValueError("Input X contains NaN or infinity.")
    return x


def predict_block(x, centers, n_threads=None):
    """Return ``predict``'s labels for one block of a dask array.

    A chunk that starts at a multiple of 256 rows gives nbkm's labels bitwise.
    """
    x = _query_block(x, centers)
    return assign(x, None, centers, K.rows_per_block(x.shape[0]), n_threads)[0]


def score_partials(x, w=None, *, centers, rows, n_threads=None):
    """Per-block weighted squared distances to the nearest centre (``score``).

    ``nbkm.KMeans.score`` on the chunk's blocks: the labels of ``predict``, then
    :func:`inertia_partials` without centring. A chunk whose first row sits at
    a multiple of ``rows`` gives that score's partials bitwise.
    """
    x = _query_block(x, centers)
    if w is not None:
        problem = weight_problem(*weight_stats(w)[:3])
        if problem is not None:
            raise ValueError(problem)
    labels = assign(x, None, centers, rows, n_threads)[0]
    zero = np.zeros(x.shape[1], dtype=x.dtype)
    return inertia_partials(x, w, labels, zero, centers, rows, n_threads)


def transform_block(x, centers, n_threads=None):
    """``transform`` of one block: Euclidean distances to every centre."""
    x = _query_block(x, centers)
    centers_sq = squared_norms(centers)
    out = np.empty((x.shape[0], centers.shape[0]), dtype=x.dtype)
    with numba_threads(n_threads):
        K.euclidean_to_centers(
            x, np.zeros(x.shape[1], x.dtype), centers, centers_sq, out
        )
    return out
