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
#: Measured per row of 256-row chunks (float32 / float64): at k = 1000, 0.29 /
#: 0.35 against 0.88 / 0.81 ns a centre for the scalar loop; at k = 100, 0.34 /
#: 0.50 against 0.83 / 0.88; at k = 10 the scalar loop is 1.3-1.5x faster.
KEYED_MIN_CLUSTERS = 32


def _keys_of_float32(values):
    return values.view(np.int32), np.int32(31), np.int32(0x7FFFFFFF)


def _keys_of_float64(values):
    return values.view(np.int64), np.int64(63), np.int64(0x7FFFFFFFFFFFFFFF)


def _keys_of(values):
    """Return ``values``' bits as integers, with the shift and mask of their sign.

    ``bits ^ ((bits >> shift) & mask)`` orders the integers as the floats they
    hold (negative floats are sign and magnitude; the xor turns them into
    two's complement), for every value but NaN and -0.0.
    """
    if values.dtype == np.float32:
        return _keys_of_float32(values)
    return _keys_of_float64(values)


@overload(_keys_of, jit_options={"cache": True})
def _keys_of_overload(values):
    if values.dtype == types.float32:
        return _keys_of_float32
    return _keys_of_float64


@njit(cache=True, nogil=True, inline="always")
def _first_least(keys, shift, mask):
    """Lowest index of the least ordered key (see :func:`_keys_of`).

    Two integer passes, a minimum and then the first index that holds it: both
    are reductions that LLVM vectorises, which a float minimum with its NaN
    rules is not.
    """
    k = keys.shape[0]
    least = keys[0] ^ ((keys[0] >> shift) & mask)
    for j in range(1, k):
        least = min(least, keys[j] ^ ((keys[j] >> shift) & mask))
    first = k
    for j in range(k):
        key = keys[j] ^ ((keys[j] >> shift) & mask)
        first = min(first, j if key == least else k)
    return first


@njit(cache=True, nogil=True, inline="always")
def nearest_center(dots, centers_sq, values):
    """Return the index of the nearest centre from a sample's dot products.

    The distance is ``||c||^2 - 2 x.c``, as in sklearn (``||x||^2`` does not change
    the argmin); ``dots + dots`` doubles exactly and keeps float32 in float32. Ties
    go to the lowest centre index. ``values`` is scratch of shape (n_clusters,)
    in the dtype. From ``KEYED_MIN_CLUSTERS`` centres on, the distances are
    written there and compared as integer keys: the same order as the floats
    for every value but NaN (adding 0 would turn a -0.0 into 0.0), hence the
    same label. No distance is NaN: the estimator refuses samples and centres
    whose squared distances could overflow (``nbkm._checks.check_squares_fit``),
    so no ``inf - inf`` arises. ``values`` must hold exactly n_clusters values.
    """
    k = dots.shape[0]
    if k < KEYED_MIN_CLUSTERS:
        best = np.inf
        label = 0
        for j in range(k):
            d = centers_sq[j] - (dots[j] + dots[j])
            if d < best:
                best = d
                label = j
        return label
    zero = values.dtype.type(0)
    for j in range(k):
        values[j] = (centers_sq[j] - (dots[j] + dots[j])) + zero
    keys, shift, mask = _keys_of(values)
    return _first_least(keys, shift, mask)


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
