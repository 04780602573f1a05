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


@njit(cache=True, nogil=True)
def nearest_center(dots, centers_sq):
    """Return the index of the nearest centre from a sample's dot products.

    The distance is ``||c||^2 - 2 x.c``, as in sklearn (``||x||^2`` does not change
    the argmin); ``dots + dots`` doubles exactly and keeps float32 in float32. Ties
    go to the lowest centre index.
    """
    best = np.inf
    label = 0
    for j in range(dots.shape[0]):
        d = centers_sq[j] - (dots[j] + dots[j])
        if d < best:
            best = d
            label = j
    return label


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
