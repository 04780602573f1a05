"""Worker-side pieces of the initialisations (k-means||, greedy k-means++).

Random numbers of k-means|| are keyed by the global row index: row ``i`` of
round ``r`` gets the ``i``-th double of a Philox stream keyed by ``(seed, r)``.
A chunk starting at row ``r0`` (a multiple of 4: chunks start at multiples of
256) advances the stream by ``r0 / 4`` counter steps (Philox4x64 yields four
doubles per step), so every row draws the same number whatever chunk holds it.
"""

import numpy as np

from nbkm import _kernels as K
from nbkm._threads import numba_threads
from nbkm.dask._tasks import _views, ones_if_none


def row_uniforms(key, offset, n):
    """Uniform [0, 1) doubles of rows ``offset .. offset + n - 1`` for ``key``."""
    bit_generator = np.random.Philox(key=np.asarray(key, dtype=np.uint64))
    bit_generator.advance(int(offset) // 4)
    return np.random.Generator(bit_generator).random(n)


def take_rows(x, local_indices):
    """Return copies of rows of a chunk."""
    return x[np.asarray(local_indices, dtype=np.int64)]


def first_draw(x, w, offset, key):
    """Weighted draw of one row by exponential keys ``E_i / w_i`` (min wins).

    Returns ``(smallest key, its global index)``; ties go to the lowest index.
    """
    w = ones_if_none(w, x).astype(np.float64)
    u = row_uniforms(key, offset, x.shape[0])
    with np.errstate(divide="ignore"):
        keys = -np.log1p(-u) / w
    i = int(np.argmin(keys))
    return float(keys[i]), int(offset) + i


def nearest_distances(x, d2_old, x_mean, candidates, rows, n_threads=None):
    """Squared distance of each row to its nearest candidate, min with ``d2_old``.

    Nearest by nbkm's Lloyd kernel (labels only, per 256-row BLAS product), then
    the exact squared distance to that candidate, in float64.
    """
    centers_t, centers_sq = _views(candidates)
    labels = np.empty(x.shape[0], dtype=np.int32)
    dist = np.empty(x.shape[0], dtype=x.dtype)
    with numba_threads(n_threads):
        K.lloyd_step_dense(
            x, x_mean, np.empty(0, x.dtype), centers_t, centers_sq,
            K.block_bounds(x.shape[0], rows), labels,
            np.zeros((1, 1, 1), x.dtype), np.zeros((1, 1), x.dtype), False,
        )  # fmt: skip
        K.distances_to_assigned(x, x_mean, candidates, centers_sq, labels, dist)
    d2 = dist.astype(np.float64)
    if d2_old is not None:
        np.minimum(d2, d2_old, out=d2)
    return d2


def cost_partials(w, d2, rows, n_threads=None):
    """Per-block ``sum_i w_i d2_i`` in float64 (the k-means|| potential)."""
    w = np.ones(d2.shape[0]) if w is None else w.astype(np.float64)
    bounds = K.block_bounds(d2.shape[0], rows)
    partial = np.empty(bounds.shape[0] - 1)
    with numba_threads(n_threads):
        K.weighted_sums_by_block(w, d2, bounds, partial)
    return partial


def oversample(x, w, d2, offset, key, factor):
    """Rows drawn independently with probability ``min(1, factor * w_i * d2_i)``.

    Returns ``(global indices, rows)``.
    """
    w = ones_if_none(w, x).astype(np.float64)
    u = row_uniforms(key, offset, x.shape[0])
    chosen = np.flatnonzero(u < np.minimum(1.0, factor * w * d2))
    return chosen.astype(np.int64) + int(offset), x[chosen]


def farthest(x, d2, offset, m, exclude):
    """Return the ``m`` rows of largest ``d2`` (then lower index) not in ``exclude``.

    Returns ``(global indices, d2 values, rows)``.
    """
    index = np.arange(x.shape[0], dtype=np.int64) + int(offset)
    keep = ~np.isin(index, exclude)
    order = np.lexsort((index[keep], -d2[keep]))[:m]
    picked = np.flatnonzero(keep)[order]
    return index[picked], d2[picked], x[picked]


def candidate_weights(x, w, x_mean, candidates, rows, n_threads=None):
    """Per-block weight of the rows nearest to each candidate, in float64."""
    centers_t, centers_sq = _views(candidates)
    labels = np.empty(x.shape[0], dtype=np.int32)
    bounds = K.block_bounds(x.shape[0], rows)
    with numba_threads(n_threads):
        K.lloyd_step_dense(
            x, x_mean, np.empty(0, x.dtype), centers_t, centers_sq, bounds, labels,
            np.zeros((1, 1, 1), x.dtype), np.zeros((1, 1), x.dtype), False,
        )  # fmt: skip
    w = ones_if_none(w, x).astype(np.float64)
    # bincount adds in sample order within each block.
    return np.stack(
        [
            np.bincount(labels[a:b], weights=w[a:b], minlength=candidates.shape[0])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    )


def squared_norms_f64(x, x_mean, n_threads=None):
    """``||x_i - mean||^2`` in float64, as ``nbkm._init`` computes ``x_sq``."""
    d = x.shape[1]
    out = np.empty(x.shape[0])
    with numba_threads(n_threads):
        K.distances_to_assigned(
            x, x_mean, np.zeros((1, d), x.dtype), np.zeros(1, x.dtype),
            np.zeros(x.shape[0], np.int32), out,
        )  # fmt: skip
    return out


def pp_potentials(x, w, x_sq, closest, x_mean, candidates_t, candidates_sq, rows):
    """``candidate_potentials_dense`` block by block: dist and per-block potentials.

    One call per block, so that each block's potential comes back unfolded; the
    client folds them in global block order as the kernel does.

    Returns ``(dist, partial)``: ``dist`` of shape (n_candidates, n_chunk) and
    ``partial`` of shape (n_blocks_of_chunk, n_candidates).
    """
    w = ones_if_none(w, x)
    n = x.shape[0]
    t = candidates_t.shape[1]
    if closest is None:
        closest = np.full(n, np.inf)
    bounds = K.block_bounds(n, rows)
    dist = np.empty((t, n))
    partial = np.empty((bounds.shape[0] - 1, t))
    with numba_threads(None):
        for b in range(bounds.shape[0] - 1):
            lo, hi = bounds[b], bounds[b + 1]
            dist_b = np.empty((t, hi - lo))
            K.candidate_potentials_dense(
                x[lo:hi], x_mean, x_sq[lo:hi], candidates_t, candidates_sq,
                closest[lo:hi], w[lo:hi], K.block_bounds(hi - lo, rows),
                dist_b, partial[b],
            )  # fmt: skip
            dist[:, lo:hi] = dist_b
    return dist, partial


def pp_cumsum(w, closest, previous, thresholds):
    """Chunk's part of ``searchsorted(cumsum(weight * closest), thresholds)``.

    ``previous`` is the preceding chunk's result (None for the first): its
    running total continues this chunk's cumulative sum, so the sums are the
    single-machine ``np.cumsum``'s bits. Returns ``(running total, positions)``.
    """
    weight = np.ones(closest.shape[0]) if w is None else w.astype(np.float64)
    values = weight * closest
    if previous is not None and values.size:
        values[0] = previous[0] + values[0]
    sums = np.cumsum(values)
    total = sums[-1] if sums.size else (previous[0] if previous else 0.0)
    return total, np.searchsorted(sums, thresholds)


def second(pair):
    """``pair[1]``."""
    return pair[1]


def row_of(pair, i):
    """Row ``i`` of ``pair[0]`` (a copy)."""
    return pair[0][i].copy()
