"""Numba kernels of the bounded exact algorithms (Hamerly, Yinyang) on dense samples.

One kernel serves both. The centres are split into ``G`` groups (``G = 1`` is
Hamerly's algorithm; Yinyang's groups hold about ``CENTERS_PER_GROUP`` centres, see
``nbkm._bounded``), stored permuted so that each group's centres are contiguous.
Every sample keeps, in float64, an upper bound on its distance to its assigned
centre, a lower bound per group on its distance to the group's other centres, and
the least of those (the global bound).

Drift coordinates. A bound is never rewritten just because centres moved: each is
stored against a running total of movement, and read by one addition. The upper
bound is stored minus the total distance its centre has moved (``cum[a]``), the
group bounds plus the total of their group's largest moves (``drift[g]``), the
global bound plus the total of the largest moves (``drift_all``). A row whose
bounds prove its label costs one branch-free test and writes nothing.

Exactness. Labels are chosen from ``||c||^2 - 2 x.c`` as Lloyd's are, and a computed
such value (plus ``||x||^2``) is within ``pad = pad_factor (||x||^2 + c2cap) +
pad_floor`` of the true squared distance (``c2cap`` bounds every centre's squared
norm during the fit; ``pad_floor`` covers the absolute rounding of the subnormal
range). Lloyd then picks the assigned centre ``a`` over ``j`` whenever
``d_j^2 - d_a^2 > 2 pad``, which holds if ``d_j - d_a > tau(u)`` with
``tau(u) = 2 pad / (sqrt(u^2 + 2 pad) + u)`` for any ``u <= d_a``'s bound (the
product of the difference and the sum of the distances exceeds ``2 pad``). So
``tau`` is folded into the upper bound when it is set, and the test is one
comparison. A row whose two best computed values lie within ``2 pad`` (a near-tie
that another product's rounding could order differently) sends its chunk down
Lloyd's path: one product of the whole chunk against all centres in their original
order, the very call ``lloyd_step_dense`` makes (a BLAS product's bits change when
its columns are permuted). Every chunk of a first sweep takes that path too.

A sweep, per chunk of ``CHUNK_ROWS`` samples, in named steps: ``_untested_rows``
(the global and half-gap tests), ``_tighten`` (one exact distance a failing row,
then the per-group tests: the rows still failing are compacted with the groups they
need), ``_group_values`` (one BLAS product per group over its compacted rows, or a
vectorised loop when tiny), ``_refresh_rows`` (labels and bounds of the computed
rows). The weighted sums are accumulated in sample order with
``lloyd_step_dense``'s expression, so with the same labels the centres are bitwise
Lloyd's; a block none of whose labels changed keeps last sweep's partial sums,
which summing again would reproduce bit for bit.

Arguments travel as records (tuples):

- ``data = (X, x_mean, x_sq)``: the samples (float32 or float64, shape
  (n_samples, n_features)), the vector subtracted from them on the fly, and
  ``||x_i - mean||^2`` of the centred values, float64 (n_samples,);
- ``centres = (centers, centers_sq, group_t, lloyd_t, perm, group_starts,
  group_of, half_gap, position, permuted)``: ``centers`` (n_clusters,
  n_features) in original order; ``centers_sq`` (n_clusters,), Lloyd's norms
  in permuted order; ``group_t`` (n_features * n_clusters,), group ``g``'s
  centres transposed, C-contiguous ``(n_features, k_g)`` at offset
  ``n_features * group_starts[g]``; ``lloyd_t`` (n_features, n_clusters), the
  centres transposed in original order, as Lloyd's sweep has them; ``perm``
  int64 (n_clusters,), the original index at each permuted position;
  ``group_starts`` int64 (n_groups + 1,); ``group_of`` int64 (n_clusters,),
  each centre's group; ``half_gap`` float64 (n_clusters,), half the distance
  from each centre to its nearest other one, rounded down; ``position`` int64
  (n_clusters,), each centre's permuted position (``perm``'s inverse);
  ``permuted`` (n_clusters, n_features), the centres in permuted order;
- ``motion = (cum, drift, drift_all)``: float64 running totals of movement since
  the fit began, rounded up: per centre (n_clusters,), per group the largest
  (n_groups,), and the largest of all;
- ``pads = (pad_factor, pad_floor, c2cap)``: a row's pad is ``pad_factor (x_sq +
  c2cap) + pad_floor``; ``c2cap`` bounds every centre's squared norm while the
  bounds live;
- ``state = (labels, upper, lower, glob)``: int32 labels (n_samples,); float64
  bounds in drift coordinates: ``upper`` (n_samples,), ``lower`` (n_samples,
  n_groups), ``glob`` (n_samples,).
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._blas import matmul
from nbkm._kernels._config import FASTMATH_DOT
from nbkm._kernels._dense import CHUNK_ROWS, accumulate_rows, chunk_dots
from nbkm._kernels._rows import key_value, order_key

#: Relative widening of every float64 bound update (a few float64 ulps).
_UP = 1.0 + 1e-14
_DOWN = 1.0 - 1e-14

#: Relative slack of a test in drift coordinates: a stored bound and a running
#: total are each rounded to float64 when written and when added, so the test
#: leaves this much of their magnitudes (many float64 ulps) unclaimed.
_SLACK = 1e-14

#: The largest order key: "no value" (see ``nbkm._kernels._rows.order_key``).
_NO_KEY = np.int64(0x7FFFFFFFFFFFFFFF)

#: A position no row has: "skip nothing" for ``_least_key``.
_NOWHERE = np.uint64(0xFFFFFFFFFFFFFFFF)

#: A chunk takes Lloyd's full path when more than this fraction of its
#: (row, group) pairs need distances: one large product is then cheaper than
#: gathering rows.
FULL_PATH_FRACTION = 0.5

#: A group's distances for the compacted rows go to BLAS when there are at least
#: this many (rows x centres); fewer are computed by a vectorised loop, as a
#: BLAS call costs more than a tiny product.
MIN_BLAS_PAIRS = 512


@njit(cache=True, nogil=True, fastmath=set(FASTMATH_DOT))
def _dots_across(xg, t, gt, kg, acc):
    """``acc[p] = xg[t] . c_p`` for a group's ``kg`` centres, from their transpose.

    ``gt`` holds the group's centres transposed, flat ``(n_features, kg)``: the
    inner loop runs along the centres, contiguous, so it vectorises without a
    horizontal sum per centre.
    """
    # Unsigned positions: Numba wraps a signed index that could be negative,
    # and a select per element keeps a loop from vectorising.
    width = np.uint64(kg)
    for p in range(width):
        acc[p] = 0
    for f in range(xg.shape[1]):
        xf = xg[t, f]
        base = np.uint64(f) * width
        for p in range(width):
            acc[p] += xf * gt[base + p]


@njit(cache=True, nogil=True, fastmath=set(FASTMATH_DOT))
def _sum_of_squares(diff):
    """``sum(diff**2)`` in float64, summed in vector lanes."""
    sq = 0.0
    for f in range(diff.shape[0]):
        sq += diff[f] * diff[f]
    return sq


@njit(cache=True, nogil=True, inline="always")
def _exact_distance(X, x_mean, i, centers, a, diff):
    """``||(x_i - mean) - c_a||`` in float64, rounded up, from the dtype's values.

    Each centred value is one subtraction in the dtype, as Lloyd's products see
    it; the float64 sum of squares is reassociated, so its relative error (at
    most ``d + 2`` float64 ulps) and absolute error in the subnormal range (as
    many smallest subnormals) are added before the root. ``diff`` is scratch of
    shape (n_features,), float64.
    """
    for f in range(X.shape[1]):
        xc = X.dtype.type(X[i, f] - x_mean[f])
        diff[f] = np.float64(xc) - np.float64(centers[a, f])
    sq = _sum_of_squares(diff)
    n_terms = X.shape[1] + 2
    return np.sqrt(sq * (1.0 + n_terms * 2.3e-16) + n_terms * 5e-324) * _UP


@njit(cache=True, nogil=True, inline="always")
def _pad(x_sq, i, pads):
    """Bound on the rounding of one computed ``||c||^2 - 2 x.c`` of row ``i``."""
    pad_factor, pad_floor, c2cap = pads
    return pad_factor * (x_sq[i] + c2cap) + pad_floor


@njit(cache=True, nogil=True, inline="always")
def _with_tie_margin(u, pad):
    """``u + tau(u)``: an upper bound with the near-tie margin folded in."""
    tau = 2.0 * pad / (np.sqrt(u * u + 2.0 * pad) + u) if pad > 0.0 else 0.0
    return (u + tau) * _UP


@njit(cache=True, nogil=True, inline="always")
def _clears(stored_lower, moved, u_stored, cum_a):
    """Whether a stored lower bound, read against ``moved``, beats the upper one.

    Both are in drift coordinates; the test leaves ``_SLACK`` of the magnitudes
    involved for the roundings of storing and reading them.
    """
    slack = _SLACK * (abs(stored_lower) + moved + abs(u_stored) + cum_a)
    return stored_lower - moved - (u_stored + cum_a) > slack


@njit(cache=True, nogil=True, inline="always")
def _label_holds(glob_i, u_stored, cum_a, half_gap_a, drift_all):
    """Whether the global bound or the half gap proves a row's label (one test).

    The half-gap bound: every other centre is at least ``2 half_gap - u`` away.
    """
    u_now = u_stored + cum_a
    return _clears(glob_i, drift_all, u_stored, cum_a) | _clears(
        2.0 * half_gap_a - u_now, 0.0, u_stored, cum_a
    )


@njit(cache=True, nogil=True)
def _untested_rows(r0, r1, state, motion, half_gap, out):
    """Rows of ``r0:r1`` whose global or half-gap test fails, into ``out``.

    Branch-free: every row is written to ``out[n]`` and ``n`` advances only for
    a failing row; nothing of a passing row is written.

    Returns
    -------
    n : int
        Failing rows, ``out[:n]``.
    """
    labels, upper, _, glob = state
    cum, _, drift_all = motion
    n = 0
    for i in range(r0, r1):
        a = labels[i]
        ca = cum[a]
        ok = _label_holds(glob[i], upper[i], ca, half_gap[a], drift_all)
        out[n] = i
        n += 0 if ok else 1
    return n


@njit(cache=True, nogil=True)
def _tighten(data, pads, centres, motion, state, tested, n_tested, work):
    """Exact upper bounds for the failing rows, then their per-group tests.

    Rows that clear their bounds once tightened are done; the others are
    compacted into ``rows`` with the groups they need (the assigned centre's
    group always, so the label is chosen among values of one computation).

    Returns
    -------
    m : int
        Compacted rows (``work`` holds them and their groups).
    pairs : int
        (row, group) pairs that need values.
    """
    X, x_mean, x_sq = data
    centers, _, _, _, _, _, group_of, half_gap, _, _ = centres
    cum, drift, drift_all = motion
    labels, upper, lower, glob = state
    rows, _, row_groups, n_row_groups, least_skipped, members, n_members = work[:7]
    diff = work[10]
    n_groups = lower.shape[1]
    for t in range(n_tested):
        i = tested[t]
        a = labels[i]
        u = _exact_distance(X, x_mean, i, centers, a, diff)
        upper[i] = _with_tie_margin(u, _pad(x_sq, i, pads)) - cum[a]
    for g in range(n_groups):
        n_members[g] = 0
    # Branch-free, as the tests' outcomes are unpredictable: every candidate
    # slot is written and its count advances only where the row or group
    # fails (a branch per group is mispredicted about half the time).
    m = 0
    pairs = 0
    for t in range(n_tested):
        i = tested[t]
        a = labels[i]
        ca = cum[a]
        u = upper[i]
        fails = not _label_holds(glob[i], u, ca, half_gap[a], drift_all)
        ga = group_of[a]
        n_computed = 0
        least = np.inf
        for g in range(n_groups):
            stored = lower[i, g]
            skip = _clears(stored, drift[g], u, ca) & (g != ga)
            need = fails & (not skip)
            row_groups[m, n_computed] = g
            n_computed += need
            members[g, n_members[g]] = m
            n_members[g] += need
            read = stored - drift[g] - _SLACK * (abs(stored) + drift[g])
            least = min(least, read if skip else np.inf)
        pairs += n_computed
        n_row_groups[m] = n_computed
        least_skipped[m] = least
        rows[m] = i
        m += fails
    return m, pairs


@njit(cache=True, nogil=True, fastmath=set(FASTMATH_DOT))
def _dots_along(xg, t, centers, kg, acc):
    """``acc[p] = xg[t] . centers[p]``: one dot product per centre, row-major.

    Independent sums, each in vector lanes along the features: faster than
    :func:`_dots_across` for float64 and for float32 groups under 32 centres
    (measured in docs/performance.md).
    """
    for p in range(kg):
        s = acc.dtype.type(0)
        for f in range(xg.shape[1]):
            s += xg[t, f] * centers[p, f]
        acc[p] = s


@njit(cache=True, nogil=True, inline="always")
def _store_values(out, centers_sq, dots):
    """``out[p] = centers_sq[p] - 2 dots[p]``, the values Lloyd's argmin compares."""
    for p in range(out.shape[0]):
        d2 = dots[p]
        out[p] = centers_sq[p] - (d2 + d2)


@njit(cache=True, nogil=True)
def _group_values(data, centres, m, work):
    """``||c||^2 - 2 x.c`` of the compacted rows for the centres of their groups."""
    X, x_mean, _ = data
    _, centers_sq, group_t, _, _, group_starts, _, _, _, permuted = centres
    rows, _, _, _, _, members, n_members, values, xc, xg = work[:10]
    acc = work[11]
    n_features = X.shape[1]
    for q in range(m):
        for f in range(n_features):
            xc[q, f] = X[rows[q], f] - x_mean[f]
    for g in range(group_starts.shape[0] - 1):
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
            gt = group_t[n_features * s : n_features * e].reshape((n_features, e - s))
            dots = matmul(xg[:mg], gt)
            for t in range(mg):
                _store_values(values[members[g, t], s:e], centers_sq[s:e], dots[t])
        elif xg.itemsize == 4 and e - s >= 32:
            gt = group_t[n_features * s : n_features * e]
            for t in range(mg):
                _dots_across(xg, t, gt, e - s, acc)
                _store_values(values[members[g, t], s:e], centers_sq[s:e], acc)
        else:
            group = permuted[s:e]
            for t in range(mg):
                _dots_along(xg, t, group, e - s, acc)
                _store_values(values[members[g, t], s:e], centers_sq[s:e], acc)


@njit(cache=True, nogil=True)
def _lloyd_values(data, centres, r0, r1, work):
    """Lloyd's own product for the chunk ``r0:r1``, stored in permuted order."""
    X, x_mean, _ = data
    _, centers_sq, _, lloyd_t, perm, _, _, _, _, _ = centres
    rows, _, _, _, _, _, _, values, xc = work[:9]
    dots = chunk_dots(X, x_mean, r0, r1, lloyd_t, xc)
    for q in range(r1 - r0):
        rows[q] = r0 + q
        # Unsigned: a signed index makes Numba select per element for a
        # negative one, which kept this gather scalar (three times slower).
        row = dots[q]
        for p in range(np.uint64(perm.shape[0])):
            d2 = row[np.uint64(perm[p])]
            values[q, p] = centers_sq[p] - (d2 + d2)


@njit(cache=True, nogil=True, inline="always")
def _least_key(row, start, stop, skip):
    """Least order key of ``row[start:stop]`` but position ``skip`` (max if none).

    Adding zero first makes ``-0.0`` equal ``0.0``, as the floats compare. The
    positions are unsigned: Numba wraps a signed index that could be negative,
    and that select per element kept this loop from vectorising.
    """
    least = _NO_KEY
    zero = row.dtype.type(0)
    for p in range(np.uint64(start), np.uint64(stop)):
        key = order_key(row[p] + zero)
        least = min(least, key if p != skip else _NO_KEY)
    return least


@njit(cache=True, nogil=True)
def _refresh_rows(data, pads, centres, motion, state, n_rows, every_group, work):
    """Labels and bounds of the compacted rows from their computed values.

    ``values[q, p]`` is ``||c||^2 - 2 x.c`` of row ``rows[q]`` and the centre at
    permuted position ``p``, for the groups ``row_groups[q, :n_row_groups[q]]``
    (all groups when ``every_group``); ``least_skipped[q]`` is the least lower
    bound of the row's other groups, as read. The label is the lowest original
    index among the smallest values (Lloyd's rule). Per row, in loops over
    integer order keys that vectorise (a float minimum does not): the group
    minima, the label among the positions holding the least, then the second
    least within the label's group.

    Returns
    -------
    read : int
        Values read.
    near_tie : bool
        Whether some row's two smallest values lie within ``2 pad``.
    changed : bool
        Whether some row's label changed.
    """
    _, _, x_sq = data
    perm, group_starts, group_of, _, position = centres[4:9]
    cum, drift, drift_all = motion
    labels, upper, lower, glob = state
    rows, _, row_groups, n_row_groups, least_skipped = work[:5]
    values = work[7]
    gkey = work[12]
    n_groups = group_starts.shape[0] - 1
    n_clusters = perm.shape[0]
    read = 0
    near_tie = False
    changed = False
    for q in range(n_rows):
        i = rows[q]
        row = values[q]
        zero = row.dtype.type(0)
        n_computed = n_groups if every_group else n_row_groups[q]
        best_key = _NO_KEY
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            gkey[g] = _least_key(row, group_starts[g], group_starts[g + 1], _NOWHERE)
            read += group_starts[g + 1] - group_starts[g]
            best_key = min(best_key, gkey[g])
        label = n_clusters
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            if gkey[g] == best_key:
                start = np.uint64(group_starts[g])
                for p in range(start, np.uint64(group_starts[g + 1])):
                    hit = order_key(row[p] + zero) == best_key
                    label = min(label, perm[p] if hit else n_clusters)
        best = key_value(best_key, zero)
        if best != best:  # every value NaN: keep the label and the bounds
            near_tie = True
            continue
        changed = changed or labels[i] != label
        labels[i] = label
        pad = _pad(x_sq, i, pads)
        top = best + x_sq[i] + pad
        u = np.sqrt(top if top > 0.0 else 0.0) * _UP
        upper[i] = _with_tie_margin(u, pad) - cum[label]
        # The label's group: its least value other than the label's own.
        ga = group_of[label]
        gkey[ga] = _least_key(
            row, group_starts[ga], group_starts[ga + 1], np.uint64(position[label])
        )
        least = np.inf if every_group else least_skipped[q]
        runner_up = np.inf
        for t in range(n_computed):
            g = t if every_group else row_groups[q, t]
            gmin = key_value(gkey[g], zero) if gkey[g] != _NO_KEY else np.inf
            bottom = gmin + x_sq[i] - pad
            low = np.sqrt(bottom if bottom > 0.0 else 0.0) * _DOWN
            lower[i, g] = low + drift[g]
            runner_up = min(runner_up, gmin)
            least = min(least, low)
        glob[i] = least + drift_all
        near_tie = near_tie or runner_up - best <= 2.0 * pad
    return read, near_tie, changed


@njit(cache=True, nogil=True)
def _scratch(n_features, n_clusters, n_groups, dtype):
    """One block's scratch arrays, in the order the steps index them."""
    return (
        np.empty(CHUNK_ROWS, dtype=np.int64),  # 0 rows (compacted)
        np.empty(CHUNK_ROWS, dtype=np.int64),  # 1 tested (failing the first test)
        np.empty((CHUNK_ROWS, n_groups), dtype=np.int32),  # 2 row_groups
        np.empty(CHUNK_ROWS, dtype=np.int64),  # 3 n_row_groups
        np.empty(CHUNK_ROWS),  # 4 least_skipped
        np.empty((n_groups, CHUNK_ROWS), dtype=np.int32),  # 5 members
        np.zeros(n_groups, dtype=np.int64),  # 6 n_members
        np.empty((CHUNK_ROWS, n_clusters), dtype=dtype),  # 7 values
        np.empty((CHUNK_ROWS, n_features), dtype=dtype),  # 8 xc
        np.empty((CHUNK_ROWS, n_features), dtype=dtype),  # 9 xg
        np.empty(n_features),  # 10 diff
        np.empty(n_clusters, dtype=dtype),  # 11 acc
        np.empty(n_groups, dtype=np.int64),  # 12 gkey (group minima)
    )


@njit(cache=True, nogil=True)
def _sweep_chunk(data, pads, centres, motion, state, r0, r1, first, work):
    """Assign the rows ``r0:r1``; return (distances computed, any label changed)."""
    n_groups = state[2].shape[1]
    count = 0
    changed = False
    full = first
    if not first:
        tested = work[1]
        n_tested = _untested_rows(r0, r1, state, motion, centres[7], tested)
        count += n_tested
        m = 0
        if n_tested > 0:
            m, pairs = _tighten(
                data, pads, centres, motion, state, tested, n_tested, work
            )
            full = pairs > FULL_PATH_FRACTION * (r1 - r0) * n_groups
        if m > 0 and not full:
            _group_values(data, centres, m, work)
            # ``full`` (False here), not a constant: a literal bool would
            # compile the refresh twice, once per value (1.6 s each).
            read, near_tie, changed = _refresh_rows(
                data, pads, centres, motion, state, m, full, work
            )
            count += read
            # Values from another product may order a near-tie differently
            # from Lloyd's: redo the chunk as Lloyd does.
            full = near_tie
    if full:
        _lloyd_values(data, centres, r0, r1, work)
        read, _, changed_full = _refresh_rows(
            data, pads, centres, motion, state, r1 - r0, full, work
        )
        count += read
        changed = changed or changed_full
    return count, changed


@njit(cache=True, nogil=True)
def bounded_step_dense(
    data,
    sample_weight,
    centres,
    motion,
    pads,
    state,
    first,
    bounds,
    partial_sums,
    partial_weights,
    computed,
    update_centers,
    sums_valid,
    first_block,
    end_block,
):
    """One bounded E-step fused with the accumulation of the M-step.

    Parameters
    ----------
    data, centres, motion, pads : tuple
        IN. The records described in the module docstring.
    sample_weight : ndarray, shape (n_samples,), same dtype as X
        IN. Weight of each sample.
    state : tuple
        INOUT. The labels and stored bounds (module docstring).
    first : bool
        IN. Whether the bounds are unset (every chunk takes Lloyd's path).
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
        labels as they were before this call.
    first_block, end_block : int
        The blocks to sweep; shares of them run on ``_pool.over_blocks``.
    """
    X, x_mean, _ = data
    labels = state[0]
    n_features = X.shape[1]
    n_clusters = centres[0].shape[0]
    n_groups = state[2].shape[1]
    for b in range(first_block, end_block):
        work = _scratch(n_features, n_clusters, n_groups, X.dtype)
        count = 0
        changed = not sums_valid
        for r0 in range(bounds[b], bounds[b + 1], CHUNK_ROWS):
            r1 = min(r0 + CHUNK_ROWS, bounds[b + 1])
            n, chunk_changed = _sweep_chunk(
                data, pads, centres, motion, state, r0, r1, first, work
            )
            count += n
            changed = changed or chunk_changed
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
