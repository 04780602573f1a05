"""Numba kernel of the bounded exact algorithms (Hamerly, Yinyang) on CSR samples.

The bounds, their drift coordinates, the pads and the tests are those of the
dense kernel (``nbkm._kernels._bounded``, whose module docstring describes them);
only how a row's values are computed differs. A CSR row's value for a centre,
``||c||^2 - 2 x.c``, is Lloyd's own whichever other centres are computed with it:
each dot product adds its terms over the row's stored values in storage order
(the loop of ``nearest_center_csr``, without contraction), and there is no
blocked product whose rounding depends on its neighbours. So a row that fails
its tests computes Lloyd's values for the groups it needs and takes its label
from them as Lloyd does, and rows are handled one at a time, with no compaction
and no fallback to a full chunk for near-ties.

A row that fails the global and half-gap tests computes its assigned centre's
group first: that value tightens the upper bound (an exact distance on its own
would cost about as much, one scattered read of the centres per stored value),
and the other groups are then tested against it.

Arguments travel as records (tuples):

- ``X``, the CSR triple ``(data, indices, indptr)`` (canonical), and ``x_sq``,
  ``||x_i||^2`` in float64 (n_samples,), travel apart (a tuple of tuples does
  not pass into a parallel loop);
- ``centres = (centers, centers_sq, group_t, perm, group_starts, group_of,
  half_gap, position)``: ``centers`` (n_clusters, n_features) in original
  order; ``centers_sq`` (n_clusters,) Lloyd's norms in permuted order;
  ``group_t``, ``perm``, ``group_starts``, ``group_of``, ``half_gap``,
  ``position`` as in the dense kernel;
- ``motion``, ``pads`` and ``state = (labels, upper, lower, glob)`` as in the
  dense kernel.
"""

import numpy as np
from numba import njit, prange

from nbkm._kernels._bounded import (
    _DOWN,
    _NO_KEY,
    _NOWHERE,
    _SLACK,
    _UP,
    _clears,
    _label_holds,
    _least_key,
    _pad,
    _with_tie_margin,
)
from nbkm._kernels._rows import key_value, order_key


@njit(cache=True, parallel=True)
def csr_sq_norms(X, out):
    """``||x_i||^2`` of every CSR row, in float64.

    Parameters
    ----------
    X : tuple (data, indices, indptr)
        IN. CSR samples.
    out : ndarray of float64, shape (n_samples,)
        OUT. The squared norms.
    """
    data, _, indptr = X
    for i in prange(indptr.shape[0] - 1):
        sq = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            x = np.float64(data[p])
            sq += x * x
        out[i] = sq


@njit(cache=True, nogil=True)
def _group_values(X, i, centres, g, values):
    """Lloyd's ``||c||^2 - 2 x.c`` of row ``i`` for group ``g``'s centres.

    Written to ``values`` at the centres' permuted positions. The positions
    and strides are unsigned: Numba wraps a signed index that could be
    negative, and a select per element keeps the inner loop from vectorising.
    """
    data, indices, indptr = X
    _, centers_sq, group_t, _, group_starts = centres[:5]
    n_features = centres[0].shape[1]
    s = group_starts[g]
    e = group_starts[g + 1]
    width = np.uint64(e - s)
    offset = np.uint64(n_features * s)
    dots = values[s:e]
    for j in range(width):
        dots[j] = 0
    for p in range(indptr[i], indptr[i + 1]):
        x = data[p]
        base = offset + np.uint64(indices[p]) * width
        for j in range(width):
            dots[j] += group_t[base + j] * x
    for j in range(width):
        d2 = dots[j]
        dots[j] = centers_sq[s + j] - (d2 + d2)


@njit(cache=True, nogil=True)
def _needed_groups(state, motion, centres, i, first, need):
    """Write the groups whose values row ``i`` needs into ``need``.

    Every group on a first sweep; else the assigned centre's group and each
    group whose lower bound does not clear the (tightened) upper bound.

    Returns
    -------
    n : int
        Groups needed, ``need[:n]``.
    least : float
        The least lower bound of the skipped groups, as read.
    """
    labels, upper, lower, _ = state
    cum, drift, _ = motion
    group_of = centres[5]
    a = labels[i]
    ga = group_of[a]
    n = 0
    least = np.inf
    for g in range(lower.shape[1]):
        stored = lower[i, g]
        skip = (not first) and g != ga and _clears(stored, drift[g], upper[i], cum[a])
        if skip:
            read = stored - drift[g] - _SLACK * (abs(stored) + drift[g])
            least = min(least, read)
        else:
            need[n] = g
            n += 1
    return n, least


@njit(cache=True, nogil=True)
def _refresh_row(x_sq, pads, centres, motion, state, i, need, n_need, least, values):
    """Label and bounds of row ``i`` from its values for the groups ``need``."""
    perm, group_starts, group_of, _, position = centres[3:8]
    cum, drift, drift_all = motion
    labels, upper, lower, glob = state
    zero = values.dtype.type(0)
    n_clusters = perm.shape[0]
    best_key = _NO_KEY
    for t in range(n_need):
        g = need[t]
        key = _least_key(values, group_starts[g], group_starts[g + 1], _NOWHERE)
        best_key = min(best_key, key)
    label = n_clusters
    for t in range(n_need):
        g = need[t]
        for p in range(np.uint64(group_starts[g]), np.uint64(group_starts[g + 1])):
            hit = order_key(values[p] + zero) == best_key
            label = min(label, perm[p] if hit else n_clusters)
    best = key_value(best_key, zero)
    if best != best:  # every value NaN (refused by the estimator): keep all
        return
    labels[i] = label
    pad = _pad(x_sq, i, pads)
    top = best + x_sq[i] + pad
    u = np.sqrt(top if top > 0.0 else 0.0) * _UP
    upper[i] = _with_tie_margin(u, pad) - cum[label]
    skip_label = np.uint64(position[label])
    ga = group_of[label]
    for t in range(n_need):
        g = need[t]
        skip = skip_label if g == ga else _NOWHERE
        key = _least_key(values, group_starts[g], group_starts[g + 1], skip)
        gmin = key_value(key, zero) if key != _NO_KEY else np.inf
        bottom = gmin + x_sq[i] - pad
        low = np.sqrt(bottom if bottom > 0.0 else 0.0) * _DOWN
        lower[i, g] = low + drift[g]
        least = min(least, low)
    glob[i] = least + drift_all


@njit(cache=True, nogil=True)
def bounded_step_sparse(
    X,
    x_sq,
    centres,
    motion,
    pads,
    state,
    first,
    bounds,
    computed,
    first_block,
    end_block,
):
    """One bounded E-step over CSR samples (the sums are taken afterwards).

    Parameters
    ----------
    X : tuple (data, indices, indptr)
        IN. Canonical CSR samples, float32 or float64.
    x_sq : ndarray of float64, shape (n_samples,)
        IN. ``||x_i||^2``.
    centres, motion, pads : tuple
        IN. The records described in the module docstring.
    state : tuple
        INOUT. The labels and stored bounds.
    first : bool
        IN. Whether the bounds are unset (every row computes every value).
    bounds : ndarray of int64, shape (n_blocks + 1,)
        IN. Block boundaries.
    computed : ndarray of int64, shape (n_blocks,)
        OUT. Sample-centre distances computed per block.
    first_block, end_block : int
        The blocks to sweep, as in ``_bounded.bounded_step_dense``.
    """
    labels, upper, lower, glob = state
    cum, _, drift_all = motion
    group_starts, group_of, half_gap, position = centres[4:8]
    n_clusters = centres[0].shape[0]
    n_groups = lower.shape[1]
    for b in range(first_block, end_block):
        values = np.empty(n_clusters, dtype=X[0].dtype)
        need = np.empty(n_groups, dtype=np.int64)
        count = 0
        for i in range(bounds[b], bounds[b + 1]):
            a = labels[i]
            ga = group_of[a] if not first else -1
            if not first:
                ca = cum[a]
                if _label_holds(glob[i], upper[i], ca, half_gap[a], drift_all):
                    continue
                # The assigned group's values, and from them a tight upper bound.
                _group_values(X, i, centres, ga, values)
                count += group_starts[ga + 1] - group_starts[ga]
                pad = _pad(x_sq, i, pads)
                top = values[position[a]] + x_sq[i] + pad
                u = np.sqrt(top if top > 0.0 else 0.0) * _UP
                upper[i] = _with_tie_margin(u, pad) - ca
                if _label_holds(glob[i], upper[i], ca, half_gap[a], drift_all):
                    continue
            n_need, least = _needed_groups(state, motion, centres, i, first, need)
            for t in range(n_need):
                g = need[t]
                if g != ga:  # the assigned group's values are computed
                    _group_values(X, i, centres, g, values)
                    count += group_starts[g + 1] - group_starts[g]
            _refresh_row(
                x_sq, pads, centres, motion, state, i, need, n_need, least, values
            )
        computed[b] = count
