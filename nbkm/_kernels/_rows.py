"""Row primitives shared by kernels over dense arrays and over CSR matrices.

Kernels take the samples ``X`` either as a C-contiguous 2-D array or as a CSR
triple ``(data, indices, indptr)``. Each primitive has one plain implementation
per layout; a Numba overload picks between them from the type of ``X`` at compile
time (so one kernel body serves both layouts), and the Python function picks at
run time (so kernels also run with ``NUMBA_DISABLE_JIT=1``). ``x_mean`` is
subtracted from dense rows on the fly (sklearn centres dense data); CSR rows are
never centred, as in sklearn.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from nbkm._kernels._config import FASTMATH_DOT


def _n_rows_dense(X):
    return X.shape[0]


def _n_rows_csr(X):
    return X[2].shape[0] - 1


def _sq_distance_dense(X, x_mean, i, centers, centers_sq, j):
    # Compiled with FASTMATH_DOT: the sum is vectorized across features.
    result = X.dtype.type(0)
    for f in range(X.shape[1]):
        diff = X[i, f] - x_mean[f] - centers[j, f]
        result += diff * diff
    return result


def _sq_distance_csr(X, x_mean, i, centers, centers_sq, j):
    data, indices, indptr = X
    result = data.dtype.type(0)
    for k in range(indptr[i], indptr[i + 1]):
        c = centers[j, indices[k]]
        diff = data[k] - c
        result += diff * diff - c * c
    result += centers_sq[j]
    # Rounding can take an exact zero below it; NaN (never expected: the
    # estimator refuses data whose squares overflow) must stay NaN.
    return data.dtype.type(0) if result < 0 else result


def _add_weighted_row_dense(X, x_mean, i, w, sums, label):
    for f in range(X.shape[1]):
        sums[label, f] += (X[i, f] - x_mean[f]) * w


def _add_weighted_row_csr(X, x_mean, i, w, sums, label):
    data, indices, indptr = X
    for k in range(indptr[i], indptr[i + 1]):
        sums[label, indices[k]] += data[k] * w


#: From this many centres on, :func:`nearest_center` takes the argmin through
#: integer keys, in loops that vectorise; below it, one scalar loop is cheaper.
#: float32 keys pack the index into one pass, which pays from fewer centres
#: (the per-row times are in docs/performance.md).
KEYED_MIN_CLUSTERS = 32

#: The same for float32.
KEYED_MIN_CLUSTERS_FLOAT32 = 8


def _order_key_float32(v):
    bits = np.int64(np.float32(v).view(np.int32))
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


def _order_key_float64(v):
    bits = np.float64(v).view(np.int64)
    return bits ^ ((bits >> 63) & 0x7FFFFFFFFFFFFFFF)


def order_key(v):
    """Return an int64 that orders as the float ``v`` does (not NaN, not -0.0).

    The float's bits with the sign turned into two's complement order; an
    integer minimum over such keys is a reduction LLVM vectorises, which a
    float minimum with its NaN rules is not. :func:`key_value` inverts it.
    """
    if isinstance(v, np.float32):
        return _order_key_float32(v)
    return _order_key_float64(v)


@overload(order_key, jit_options={"cache": True})
def _order_key_overload(v):
    return _order_key_float32 if v == types.float32 else _order_key_float64


def _key_value_float32(key, like):
    bits = np.int32(key ^ ((key >> 31) & 0x7FFFFFFF))
    return np.float64(bits.view(np.float32))


def _key_value_float64(key, like):
    return np.int64(key ^ ((key >> 63) & 0x7FFFFFFFFFFFFFFF)).view(np.float64)


def key_value(key, like):
    """Return, as float64, the float of ``like``'s dtype whose order key is ``key``."""
    if isinstance(like, np.float32):
        return _key_value_float32(key, like)
    return _key_value_float64(key, like)


@overload(key_value, jit_options={"cache": True})
def _key_value_overload(key, like):
    return _key_value_float32 if like == types.float32 else _key_value_float64


def _nearest_keyed_float32(dots, centers_sq):
    # One pass: the key in the high half, the index in the low half, so the
    # least packed value is the least distance and, among equal ones, the
    # lowest index (sklearn's tie rule).
    zero = np.float32(0)
    best = np.int64(0x7FFFFFFFFFFFFFFF)
    for j in range(dots.shape[0]):
        v = np.float32((centers_sq[j] - (dots[j] + dots[j])) + zero)
        best = min(best, order_key(v) << 32 | j)
    return best & 0xFFFFFFFF


def _nearest_keyed_float64(dots, centers_sq):
    # Two passes, the distance recomputed in the second (cheaper than writing
    # it): the least key, then the first index that holds it.
    k = dots.shape[0]
    least = np.int64(0x7FFFFFFFFFFFFFFF)
    for j in range(k):
        key = order_key((centers_sq[j] - (dots[j] + dots[j])) + 0.0)
        least = min(least, key)
    first = k
    for j in range(k):
        key = order_key((centers_sq[j] - (dots[j] + dots[j])) + 0.0)
        first = min(first, j if key == least else k)
    return first


def _nearest_keyed(dots, centers_sq):
    """Lowest index of the least ``||c||^2 - 2 x.c``, through integer keys.

    The distance's float bits with the sign turned into two's complement order
    (``-0.0`` made ``0.0`` by adding zero) order as the floats do for every
    value but NaN; integer minima are reductions LLVM vectorises, which a float
    minimum with its NaN rules is not.
    """
    if dots.dtype == np.float32:
        return _nearest_keyed_float32(dots, centers_sq)
    return _nearest_keyed_float64(dots, centers_sq)


@overload(_nearest_keyed, jit_options={"cache": True})
def _nearest_keyed_overload(dots, centers_sq):
    if dots.dtype == types.float32:
        return _nearest_keyed_float32
    return _nearest_keyed_float64


@njit(cache=True, nogil=True, inline="always")
def nearest_center(dots, centers_sq, values):
    """Return the index of the nearest centre from a sample's dot products.

    The distance is ``||c||^2 - 2 x.c``, as in sklearn (``||x||^2`` does not change
    the argmin); ``dots + dots`` doubles exactly and keeps float32 in float32. Ties
    go to the lowest centre index. From ``KEYED_MIN_CLUSTERS`` centres on
    (``KEYED_MIN_CLUSTERS_FLOAT32`` for float32), the
    distances are compared as integer keys (:func:`_nearest_keyed`): the same
    order as the floats, hence the same label. No distance is NaN: the
    estimator refuses samples and centres whose squared distances could
    overflow (``nbkm._checks.check_squares_fit``), so no ``inf - inf`` arises.
    ``values`` is unused scratch kept for the callers' signature.
    """
    k = dots.shape[0]
    keyed_from = (
        KEYED_MIN_CLUSTERS_FLOAT32 if dots.itemsize == 4 else KEYED_MIN_CLUSTERS
    )
    if k < keyed_from:
        # Selects, not a branch: which centre wins is unpredictable.
        best = np.inf
        label = 0
        for j in range(k):
            d = centers_sq[j] - (dots[j] + dots[j])
            better = d < best
            best = d if better else best
            label = j if better else label
        return label
    return _nearest_keyed(dots, centers_sq)


def n_rows(X):
    """Return the number of samples of a dense array or a CSR triple."""
    return _n_rows_csr(X) if isinstance(X, tuple) else _n_rows_dense(X)


def sq_distance(X, x_mean, i, centers, centers_sq, j):
    """Return the squared Euclidean distance between sample ``i`` and centre ``j``.

    Dense rows: computed directly, ``sum((x - mean - c)**2)``. CSR rows: sklearn's
    formula ``sum over stored values of (x - c)**2 - c**2``, plus ``||c||^2``
    (``centers_sq[j]``), floored at 0 (a NaN stays NaN).
    """
    if isinstance(X, tuple):
        return _sq_distance_csr(X, x_mean, i, centers, centers_sq, j)
    return _sq_distance_dense(X, x_mean, i, centers, centers_sq, j)


def add_weighted_row(X, x_mean, i, w, sums, label):
    """Add ``w * (x_i - mean)`` to ``sums[label]`` (no mean for CSR rows)."""
    if isinstance(X, tuple):
        _add_weighted_row_csr(X, x_mean, i, w, sums, label)
    else:
        _add_weighted_row_dense(X, x_mean, i, w, sums, label)


def _is_csr(X):
    return isinstance(X, types.BaseTuple)


# Overload signatures must repeat the implementations' argument names.
@overload(n_rows, jit_options={"cache": True})
def _n_rows_overload(X):
    return _n_rows_csr if _is_csr(X) else _n_rows_dense


@overload(sq_distance, jit_options={"cache": True, "fastmath": set(FASTMATH_DOT)})
def _sq_distance_overload(X, x_mean, i, centers, centers_sq, j):
    return _sq_distance_csr if _is_csr(X) else _sq_distance_dense


@overload(add_weighted_row, jit_options={"cache": True})
def _add_weighted_row_overload(X, x_mean, i, w, sums, label):
    return _add_weighted_row_csr if _is_csr(X) else _add_weighted_row_dense
