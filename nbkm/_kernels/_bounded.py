"""Numba kernels of the bounded exact algorithms (Hamerly, Yinyang) on dense samples.

One kernel serves both. The centres are split into ``G`` groups (``G = 1`` is
Hamerly's algorithm, ``G`` about ``k / 10`` is Yinyang's), stored permuted so that
each group's centres are contiguous. Every sample keeps, in float64, an upper bound
``u`` on its distance to its assigned centre and, per group, a lower bound on its
distance to every other centre of that group.

Lower bounds are stored in drift coordinates: the stored value is the bound plus
the total distance its group's centres may have moved so far (``drift``, summed
over iterations), so a bound is read as ``stored - drift`` and no row pays for
the iterations in which it was not touched. A global lower bound (the least of a
row's group bounds, stored against the drift of all centres) decides most rows in
O(1) whatever the number of groups.

Per chunk of ``CHUNK_ROWS`` samples: the bounds are tested row by row; a row that
fails gets its upper bound tightened (one exact distance) and is tested again. The
rows that still fail are compacted into a contiguous buffer, and their distances to
the centres of each failing group come from one BLAS product per group (all
centres for Hamerly), or from a vectorised loop when the product would be tiny. A
chunk where most (row, group) pairs fail, and every chunk of the first iteration,
takes Lloyd's path: one product of the whole chunk against all centres in their
original order, the very call ``lloyd_step_dense`` makes (a BLAS product's bits
change when its columns are permuted, so the grouped order would not do).

Exactness. Labels are chosen from ``||c||^2 - 2 x.c`` as Lloyd's are. A skip must
never hide a centre that Lloyd's computed values would prefer, so the tests are
padded by ``pad = (2 d + 4) eps (||x||^2 + max ||c||^2) + floor``, a bound on the
rounding error of one such computed squared distance (``eps`` the unit roundoff
of the data's dtype; ``floor`` a multiple of its smallest subnormal, as rounding
in the subnormal range is absolute): a row skips only if
``lower^2 - u^2 > 2 pad``. Bounds derived from computed values are widened by
``pad``, and every float64 bound update is rounded outward. A row whose two
best computed values lie within ``2 pad`` (a near-tie that another product's
rounding could order differently) sends its chunk down Lloyd's path. The
weighted sums are accumulated row by row in sample order with
``lloyd_step_dense``'s expression, so with the same labels the sums, and hence
the centres, are bitwise Lloyd's. A block none of whose labels changed keeps the
partial sums of the last sweep, which summing again would reproduce bit for bit;
late in a fit most blocks are such, and their rows are then never read.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._config import FASTMATH_DOT
from nbkm._kernels._dense import CHUNK_ROWS, accumulate_rows, chunk_dots

#: Relative widening of every float64 bound update (a few float64 ulps).
_UP = 1.0 + 1e-14
_DOWN = 1.0 - 1e-14

#: A chunk takes Lloyd's full path when more than this fraction of its
#: (row, group) pairs need distances: one large product is then cheaper than
#: gathering rows.
FULL_PATH_FRACTION = 0.5


#: A group's distances for the compacted rows go to BLAS when there are at least
#: this many (rows x centres); fewer are computed by a vectorised loop, as a
#: BLAS call costs more than a tiny product.
MIN_BLAS_PAIRS = 512


@njit(cache=True, nogil=True, inline="always", fastmath=set(FASTMATH_DOT))
def _dots_across(xg, t, gt, kg, acc):
    """``acc[p] = xg[t] . c_p`` for a group's ``kg`` centres, from their transpose.

    ``gt`` holds the group's centres transposed, flat ``(n_features, kg)``: the
    inner loop runs along the centres, contiguous, so it vectorises without a
    horizontal sum per centre (a dot product per centre was 1.7x slower on
    k = 1000 groups of about 32).
    """
    for p in range(kg):
        acc[p] = 0
    for f in range(xg.shape[1]):
        xf = xg[t, f]
        row = gt[f * kg : (f + 1) * kg]
        for p in range(kg):
            acc[p] += xf * row[p]


@njit(cache=True, nogil=True, inline="always")
def _clears(lower, u, pad):
    """Whether a lower bound proves every centre behind it loses to ``u``."""
    return lower > u and (lower - u) * (lower + u) > 2.0 * pad


@njit(cache=True, nogil=True, inline="always")
def _read(stored, drift):
    """Read a lower bound stored in drift coordinates, rounded down."""
    return stored - drift - 1e-14 * (abs(stored) + drift)


@njit(cache=True, nogil=True, inline="always", fastmath=set(FASTMATH_DOT))
def _sum_of_squares(diff):
    """``sum(diff**2)`` in float64, summed in vector lanes."""
    sq = 0.0
    for f in range(diff.shape[0]):
        sq += diff[f] * diff[f]
    return sq


@njit(cache=True, nogil=True, inline="always")
def _exact_distance(X, x_mean, i, centers, a, diff):
    """``||(x_i - mean) - c_a||`` in float64, from the dtype's centred values.

    Each centred value is one subtraction in the dtype, as Lloyd's products see
    it; the differences are formed here, in order (no fast-math), and only their
    float64 sum of squares is reassociated, whose relative error (at most
    ``d + 2`` float64 ulps) and absolute error in the subnormal range (as many
    smallest subnormals) are added before the root. ``diff`` is scratch of
    shape (n_features,), float64.
    """
    for f in range(X.shape[1]):
        xc = X.dtype.type(X[i, f] - x_mean[f])
        diff[f] = np.float64(xc) - np.float64(centers[a, f])
    sq = _sum_of_squares(diff)
    # Relative error of the sum, and absolute error of subnormal squares.
    n_terms = X.shape[1] + 2
    return np.sqrt(sq * (1.0 + n_terms * 2.3e-16) + n_terms * 5e-324) * _UP


@njit(cache=True, nogil=True, inline="always")
def _min_of(values, start, stop):
    """Least of ``values[start:stop]`` (inf when empty)."""
    m = np.inf
    for p in range(start, stop):
        m = min(m, np.float64(values[p]))
    return m


@njit(cache=True, nogil=True)
def _refresh_rows(
    values,
    rows,
    n_rows,
    row_groups,
    n_row_groups,
    least_skipped,
    every_group,
    perm,
    group_starts,
    x_sq,
    pad_factor,
    pad_floor,
    c2max,
    drift,
    drift_all,
    labels,
    upper,
    lower,
    glob,
    gmin,
):
    """Labels and bounds of the rows ``rows[:n_rows]`` from their computed values.

    ``values[q, p]`` is ``||c||^2 - 2 x.c`` of row ``rows[q]`` and the centre at
    permuted position ``p``, for the groups ``row_groups[q, :n_row_groups[q]]``
    (all groups when ``every_group``); ``least_skipped[q]`` is the least lower
    bound of the row's other groups, as read (drift subtracted; unused when
    ``every_group``). The label is
    the lowest original index among the smallest values (Lloyd's rule). Per
    row, over its computed groups only: group minima first (one pass), then
    the label among the groups that hold the least value, then the second least
    within the label's group. (One pass finding all three, with branches, was
    1.2x slower: the minima compile to branch-free selects.) ``labels, upper,
    lower, glob`` are the kernel's, ``gmin`` scratch of shape (n_groups,). One
    call a chunk: a call per row would pay the arrays' reference counting on
    every row.

    Returns
    -------
    read : int
        Values read.
    near_tie : bool
        Whether some row's two smallest values lie within ``2 pad`` of each other
        (values from a different product could order them differently).
    """
    n_groups = group_starts.shape[0] - 1
    read = 0
    near_tie = False
    for q in range(n_rows):
        i = rows[q]
        row = values[q]
        pad = pad_factor * (x_sq[i] + c2max) + pad_floor
        n_computed = n_groups if every_group else n_row_groups[q]
        best = np.inf
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            gmin[g] = _min_of(row, group_starts[g], group_starts[g + 1])
            read += group_starts[g + 1] - group_starts[g]
            best = min(best, gmin[g])
        best_p = -1
        best_g = -1
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            if gmin[g] == best:
                for p in range(group_starts[g], group_starts[g + 1]):
                    if row[p] == best and (best_p < 0 or perm[p] < perm[best_p]):
                        best_p = p
                        best_g = g
        if best_p < 0:  # every value NaN: keep the label and the bounds
            near_tie = True
            continue
        labels[i] = perm[best_p]
        top = best + x_sq[i] + pad
        upper[i] = np.sqrt(top if top > 0.0 else 0.0) * _UP
        # The label's group: its least value other than the label's own.
        gmin[best_g] = min(
            _min_of(row, group_starts[best_g], best_p),
            _min_of(row, best_p + 1, group_starts[best_g + 1]),
        )
        least = np.inf if every_group else least_skipped[q]
        runner_up = np.inf
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            bottom = gmin[g] + x_sq[i] - pad
            low = np.sqrt(bottom if bottom > 0.0 else 0.0) * _DOWN
            lower[i, g] = low + drift[g]
            runner_up = min(runner_up, gmin[g])
            least = min(least, low)
        glob[i] = least + drift_all
        near_tie = near_tie or runner_up - best <= 2.0 * pad
    return read, near_tie


@njit(cache=True, parallel=True)
def bounded_step_dense(
    X,
    x_mean,
    x_sq,
    sample_weight,
    centers,
    centers_sq,
    group_t,
    lloyd_t,
    lloyd_sq,
    perm,
    group_starts,
    group_of,
    half_gap,
    shift,
    drift,
    drift_all,
    pad_factor,
    pad_floor,
    first,
    upper,
    lower,
    glob,
    labels,
    bounds,
    partial_sums,
    partial_weights,
    computed,
    update_centers,
    sums_valid,
):
    """One bounded E-step fused with the accumulation of the M-step.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample on the fly.
    x_sq : ndarray of float64, shape (n_samples,)
        IN. ``||x_i - mean||^2`` of the centred values in X's dtype.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    centers : ndarray, shape (n_clusters, n_features), same dtype as X
        IN. The current centres, original order.
    centers_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. ``lloyd_sq`` in permuted order.
    group_t : ndarray, shape (n_features * n_clusters,), same dtype as X
        IN. Group ``g``'s centres transposed, C-contiguous ``(n_features, k_g)``,
        at offset ``n_features * group_starts[g]``.
    lloyd_t : ndarray, shape (n_features, n_clusters), same dtype as X
        IN. The centres transposed in original order, as Lloyd's sweep multiplies
        by them: a BLAS product rounds a column by its position, so Lloyd's path
        must use Lloyd's own column order to give Lloyd's labels.
    lloyd_sq : ndarray, shape (n_clusters,), same dtype as X
        IN. Squared norms of the centres, original order, as Lloyd's sweep has.
    perm : ndarray of int64, shape (n_clusters,)
        IN. Original index of the centre at each permuted position.
    group_starts : ndarray of int64, shape (n_groups + 1,)
        IN. Group ``g`` holds permuted positions ``group_starts[g]:[g + 1]``.
    group_of : ndarray of int64, shape (n_clusters,)
        IN. Group of each centre (original order).
    half_gap : ndarray of float64, shape (n_clusters,)
        IN. Half the distance from each centre to its nearest other centre,
        rounded down (original order).
    shift : ndarray of float64, shape (n_clusters,)
        IN. How far each centre moved since the last step, rounded up.
    drift : ndarray of float64, shape (n_groups,)
        IN. Total of the largest shift in each group over all past steps.
    drift_all : float
        IN. Total of the largest shift of any centre over all past steps.
    pad_factor : float
        IN. ``(2 d + 4) eps``: a row's pad is ``pad_factor (x_sq + max ||c||^2)``
        plus ``pad_floor``.
    pad_floor : float
        IN. The absolute part of the pad: rounding in the subnormal range is
        absolute, so a relative pad alone fails for tiny data.
    first : bool
        IN. Whether the bounds are unset (every chunk takes Lloyd's path).
    upper : ndarray of float64, shape (n_samples,)
        INOUT. Upper bound on the distance to the assigned centre.
    lower : ndarray of float64, shape (n_samples, n_groups)
        INOUT. Lower bound on the distance to the other centres of each group, in
        drift coordinates (plus ``drift[g]``).
    glob : ndarray of float64, shape (n_samples,)
        INOUT. The least group bound, in drift coordinates (plus ``drift_all``).
    labels : ndarray of int32, shape (n_samples,)
        INOUT. Assigned centre.
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    partial_sums : ndarray, shape (n_blocks, n_clusters, n_features), same dtype
        INOUT. As in ``lloyd_step_dense``; a block is rewritten only when
        ``sums_valid`` is False or one of its labels changed.
    partial_weights : ndarray, shape (n_blocks, n_clusters), same dtype as X
        INOUT. Likewise.
    computed : ndarray of int64, shape (n_blocks,)
        OUT. Sample-centre distances computed per block.
    update_centers : bool
        Whether to accumulate the sums.
    sums_valid : bool
        Whether ``partial_sums`` and ``partial_weights`` hold the sums of the
        labels as they were before this call (the last sweep accumulated them).
        Only blocks in which a label changed are then summed again: the others'
        partials would come out bit for bit the same.
    """
    n_blocks = bounds.shape[0] - 1
    n_features = X.shape[1]
    n_clusters = centers.shape[0]
    n_groups = group_starts.shape[0] - 1
    c2max = 0.0
    for p in range(n_clusters):
        if centers_sq[p] > c2max:
            c2max = np.float64(centers_sq[p])
    for b in prange(n_blocks):
        xc = np.empty((CHUNK_ROWS, n_features), dtype=X.dtype)
        xg = np.empty((CHUNK_ROWS, n_features), dtype=X.dtype)
        rows = np.empty(CHUNK_ROWS, dtype=np.int64)
        tight = np.empty(CHUNK_ROWS, dtype=np.int64)
        # Per compacted row, the groups it needs and the least bound of the rest.
        row_groups = np.empty((CHUNK_ROWS, n_groups), dtype=np.int32)
        n_row_groups = np.empty(CHUNK_ROWS, dtype=np.int64)
        least_skipped = np.empty(CHUNK_ROWS)
        values = np.empty((CHUNK_ROWS, n_clusters), dtype=X.dtype)
        # Per group, the compacted rows (indices into ``rows``) that need it.
        members = np.empty((n_groups, CHUNK_ROWS), dtype=np.int32)
        n_members = np.zeros(n_groups, dtype=np.int64)
        acc = np.empty(n_clusters, dtype=X.dtype)
        gmin = np.empty(n_groups)
        diff = np.empty(n_features)
        before = np.empty(CHUNK_ROWS, dtype=np.int32)
        count = 0
        changed = not sums_valid
        for r0 in range(bounds[b], bounds[b + 1], CHUNK_ROWS):
            r1 = min(r0 + CHUNK_ROWS, bounds[b + 1])
            if update_centers and not changed:
                for q in range(r1 - r0):
                    before[q] = labels[r0 + q]
            m = 0
            pairs = 0
            for g in range(n_groups):
                n_members[g] = 0
            if not first:
                # The loosened bounds first; the rows they do not clear get
                # their exact distance in a second loop, whose independent
                # reads of scattered rows overlap in memory (interleaved with
                # the tests, each such read stalled the loop: 2x slower).
                n_tight = 0
                for i in range(r0, r1):
                    a = labels[i]
                    pad = pad_factor * (x_sq[i] + c2max) + pad_floor
                    u = (upper[i] + shift[a]) * _UP
                    gl = _read(glob[i], drift_all)
                    if _clears(max(gl, 2.0 * half_gap[a] - u), u, pad):
                        upper[i] = u
                    else:
                        tight[n_tight] = i
                        n_tight += 1
                for t in range(n_tight):
                    i = tight[t]
                    upper[i] = _exact_distance(X, x_mean, i, centers, labels[i], diff)
                count += n_tight
                for t in range(n_tight):
                    i = tight[t]
                    a = labels[i]
                    u = upper[i]
                    pad = pad_factor * (x_sq[i] + c2max) + pad_floor
                    if _clears(
                        max(_read(glob[i], drift_all), 2.0 * half_gap[a] - u), u, pad
                    ):
                        continue
                    # The assigned centre's group is always computed, so that the
                    # label is chosen among values of the same computation.
                    ga = group_of[a]
                    n_computed = 0
                    least = np.inf
                    for g in range(n_groups):
                        low = _read(lower[i, g], drift[g])
                        if g == ga or not _clears(low, u, pad):
                            row_groups[m, n_computed] = g
                            n_computed += 1
                            members[g, n_members[g]] = m
                            n_members[g] += 1
                            pairs += 1
                        else:
                            least = min(least, low)
                    n_row_groups[m] = n_computed
                    least_skipped[m] = least
                    rows[m] = i
                    m += 1
            full = first or pairs > FULL_PATH_FRACTION * (r1 - r0) * n_groups
            if not full and m > 0:
                for q in range(m):
                    for f in range(n_features):
                        xc[q, f] = X[rows[q], f] - x_mean[f]
                for g in range(n_groups):
                    s = group_starts[g]
                    e = group_starts[g + 1]
                    mg = n_members[g]
                    if mg == 0:
                        continue
                    for t in range(mg):
                        q = members[g, t]
                        for f in range(n_features):
                            xg[t, f] = xc[q, f]
                    if mg * (e - s) >= MIN_BLAS_PAIRS:
                        gt = group_t[n_features * s : n_features * e].reshape(
                            (n_features, e - s)
                        )
                        dots = np.dot(xg[:mg], gt)
                        for t in range(mg):
                            q = members[g, t]
                            for p in range(s, e):
                                d2 = dots[t, p - s]
                                values[q, p] = centers_sq[p] - (d2 + d2)
                    else:
                        kg = e - s
                        gt = group_t[n_features * s : n_features * e]
                        for t in range(mg):
                            q = members[g, t]
                            _dots_across(xg, t, gt, kg, acc)
                            for p in range(kg):
                                d2 = acc[p]
                                values[q, s + p] = centers_sq[s + p] - (d2 + d2)
                read, near_tie = _refresh_rows(
                    values,
                    rows,
                    m,
                    row_groups,
                    n_row_groups,
                    least_skipped,
                    False,
                    perm,
                    group_starts,
                    x_sq,
                    pad_factor,
                    pad_floor,
                    c2max,
                    drift,
                    drift_all,
                    labels,
                    upper,
                    lower,
                    glob,
                    gmin,
                )
                count += read
                # Values from another product may order a near-tie differently
                # from Lloyd's: redo the chunk as Lloyd does.
                full = near_tie
            if full:
                # Lloyd's path: the chunk against all centres in one product,
                # Lloyd's own call (same columns, same bits), stored permuted.
                dots = chunk_dots(X, x_mean, r0, r1, lloyd_t, xc)
                for q in range(r1 - r0):
                    rows[q] = r0 + q
                    for p in range(n_clusters):
                        j = perm[p]
                        values[q, p] = lloyd_sq[j] - (dots[q, j] + dots[q, j])
                read, _ = _refresh_rows(
                    values,
                    rows,
                    r1 - r0,
                    row_groups,
                    n_row_groups,
                    least_skipped,
                    True,
                    perm,
                    group_starts,
                    x_sq,
                    pad_factor,
                    pad_floor,
                    c2max,
                    drift,
                    drift_all,
                    labels,
                    upper,
                    lower,
                    glob,
                    gmin,
                )
                count += read
            if update_centers and not changed:
                for q in range(r1 - r0):
                    if labels[r0 + q] != before[q]:
                        changed = True
                        break
        computed[b] = count
        if update_centers and changed:
            # lloyd_step_dense's accumulation, expression and order; a block
            # whose labels all stayed keeps last sweep's partials, the same bits.
            for j in range(n_clusters):
                partial_weights[b, j] = 0
                for f in range(n_features):
                    partial_sums[b, j, f] = 0
            accumulate_rows(
                X,
                x_mean,
                sample_weight,
                labels,
                bounds[b],
                bounds[b + 1],
                partial_sums[b],
                partial_weights[b],
            )


@njit(cache=True, parallel=True)
def centred_sq_norms(X, x_mean, out):
    """``||x_i - mean||^2`` in float64, of the centred values in X's dtype.

    Parameters
    ----------
    X : ndarray of float32 or float64, shape (n_samples, n_features)
        IN. The samples.
    x_mean : ndarray, shape (n_features,), same dtype as X
        IN. Subtracted from every sample (rounded to X's dtype, as Lloyd's
        products see it).
    out : ndarray of float64, shape (n_samples,)
        OUT. The squared norms.
    """
    for i in prange(X.shape[0]):
        sq = 0.0
        for f in range(X.shape[1]):
            xc = np.float64(X.dtype.type(X[i, f] - x_mean[f]))
            sq += xc * xc
        out[i] = sq
