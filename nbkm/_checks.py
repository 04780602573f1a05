"""Checks that guard the kernels: the Numba kernels do no bounds or range checks.

Every public entry point validates its input with scikit-learn's helpers and then
with these, so that a kernel only ever sees arrays whose shapes agree, CSR
structures whose indices are in range, values whose squared distances are finite,
and weights whose sums neither underflow nor overflow.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval


class _Count(Interval):
    """An integer interval that refuses booleans (``n_threads=True`` is a mistake).

    scikit-learn's ``Interval(Integral, ...)`` accepts ``True`` as 1, since
    ``bool`` is an integer type; a thread count given as a boolean is a typo.
    """

    def is_satisfied_by(self, val):  # noqa: D102 - scikit-learn's hook
        return not isinstance(val, bool) and super().is_satisfied_by(val)


#: The parameter constraint of ``n_threads``: a positive int (not a bool) or None.
THREAD_COUNT = [_Count(Integral, 1, None, closed="left"), None]


def check_csr_structure(X) -> None:
    """Raise ``ValueError`` unless the CSR arrays of ``X`` describe a valid matrix.

    ``check_array`` does not look inside a CSR matrix; a column index out of range
    would make the kernels read and write outside their arrays. The check is
    O(nnz) and vectorised (a few milliseconds per 10 million stored values).

    Parameters
    ----------
    X : scipy.sparse.csr_matrix or csr_array
        The matrix to check.

    Raises
    ------
    ValueError
        If ``indptr`` does not start at 0, end at ``nnz`` and never decrease, or
        a column index is outside ``0 .. n_features - 1``.
    """
    n_samples, n_features = X.shape
    indptr, indices = X.indptr, X.indices
    nnz = indices.shape[0]
    if (
        indptr.shape[0] != n_samples + 1
        or indptr[0] != 0
        or indptr[-1] != nnz
        or X.data.shape[0] != nnz
        or (n_samples > 0 and np.any(indptr[1:] < indptr[:-1]))
    ):
        raise ValueError(
            "Malformed CSR matrix: indptr must have n_samples + 1 entries, start "
            "at 0, never decrease and end at the number of stored values."
        )
    if nnz and (indices.min() < 0 or indices.max() >= n_features):
        raise ValueError(
            f"Malformed CSR matrix: column indices must be in [0, {n_features}), "
            f"found values in [{indices.min()}, {indices.max()}]."
        )


def max_abs(a) -> float:
    """Largest absolute value of an array or of a sparse matrix's stored values."""
    values = a.data if sp.issparse(a) else a
    if values.size == 0:
        return 0.0
    # Two reductions, no temporary array the size of the data.
    return float(max(values.max(), -values.min()))


def check_squares_fit(X, dtype) -> None:
    """Raise ``ValueError`` if squared distances between the values could overflow.

    A squared distance that overflows turns into ``inf`` or, through
    ``inf - inf``, into NaN, and an argmin over NaN silently picks centre 0: the
    labels, centres and inertia would all be wrong. With ``M`` the largest
    magnitude in the samples and the centres and ``d`` the number of features,
    every squared distance nbkm computes (centred samples included) is below
    ``16 d M**2``; that must be finite in ``dtype``. The bound holds for the pair
    when it holds for each, so samples and centres are checked one at a time
    (the samples once per call, each set of centres as it appears).

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n_rows, n_features)
        Finite samples or centres.
    dtype : numpy dtype
        The float type of the computation.

    Raises
    ------
    ValueError
        If ``16 d M**2`` exceeds the largest finite value of ``dtype``.
    """
    magnitude = max_abs(X)
    limit = float(np.sqrt(np.finfo(dtype).max / (16.0 * max(X.shape[1], 1))))
    if magnitude > limit:
        raise ValueError(
            f"Input values up to {magnitude:.3g} are too large for k-means in "
            f"{np.dtype(dtype).name}: squared distances between them could "
            f"overflow (the largest safe magnitude with {X.shape[1]} features is "
            f"{limit:.3g}). Rescale the data."
        )


def weight_exponent(low, high, n_samples, n_features, magnitude, dtype) -> int:
    """Return the power of two that keeps weighted sums finite and weights normal.

    Centres are ``sum(w x) / sum(w)`` per cluster, k-means++ draws by ``w d**2``
    and the inertia sums ``w d**2``: these sums overflow when the weights are
    huge, and the reciprocal of a cluster's weight overflows (an infinite
    centre) when its weights are subnormal. Multiplying every weight by
    the same power of two ``2**e`` is exact in binary floating point as long as
    no weight leaves the normal range, so centres and labels are unchanged. The
    answer is ``e = 0`` (scikit-learn's arithmetic bit for bit) whenever the
    weights already fit; otherwise the smallest shift that brings them in. When
    no shift fits both ends (weights spread over more than the float type's
    range), the sums are kept finite and the smallest weights lose precision.

    Parameters
    ----------
    low : float
        Smallest positive weight.
    high : float
        Largest weight (positive).
    n_samples : int
        Number of samples (bounds how many terms a sum has).
    n_features : int
        Number of features.
    magnitude : float
        Largest absolute value of the samples (centred ones are at most twice it).
    dtype : numpy dtype
        The float type of the sums.

    Returns
    -------
    e : int
        Multiply the weights by ``2**e``; an inertia computed with them by
        ``2**-e``.
    """
    info = np.finfo(dtype)
    # Every sum of n terms w x, w and w d**2 (d**2 < 16 d M**2, as
    # check_squares_fit bounds it) stays below half the largest value.
    term = max(16.0 * max(n_features, 1) * magnitude * magnitude, 2.0 * magnitude, 1.0)
    spread = int(np.frexp(float(max(n_samples, 1)) * term)[1])
    top = info.maxexp - 1 - spread  # frexp exponent the largest weight may have
    bottom = info.minexp + 1  # frexp exponent of the smallest normal value
    e_high = int(np.frexp(high)[1])
    e_low = int(np.frexp(low)[1])
    if e_high > top:
        return top - e_high
    if e_low < bottom:
        return min(bottom - e_low, top - e_high)
    return 0


def normalized_weights(sample_weight, X) -> tuple[np.ndarray, float]:
    """Scale extreme weights by a power of two so that their sums stay finite.

    See :func:`weight_exponent`: ordinary weights, and any whose sums fit, are
    returned as they are, so they give scikit-learn's arithmetic bit for bit.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive maximum.
    X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        The samples (their largest magnitude bounds the sums).

    Returns
    -------
    weights : ndarray of shape (n_samples,), same dtype
        ``sample_weight * 2**e``: the input itself when ``e`` is 0.
    inertia_scale : float
        ``2**-e``: multiply an inertia computed with ``weights`` by it.
    """
    positive = sample_weight[sample_weight > 0]
    exponent = weight_exponent(
        positive.min(),
        positive.max(),
        X.shape[0],
        X.shape[1],
        max_abs(X),
        sample_weight.dtype,
    )
    if exponent == 0:
        return sample_weight, 1.0
    scaled = np.ldexp(sample_weight, exponent).astype(sample_weight.dtype)
    return scaled, float(np.ldexp(1.0, -exponent))
