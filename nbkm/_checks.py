"""Checks that guard the kernels: the Numba kernels do no bounds or range checks.

Every public entry point validates its input with scikit-learn's helpers and then
with these, so that a kernel only ever sees arrays whose shapes agree, CSR
structures whose indices are in range, values whose squared distances are finite,
and weights whose sums neither underflow nor overflow.
"""

import numpy as np
import scipy.sparse as sp


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


def _max_abs(a) -> float:
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
    magnitude = _max_abs(X)
    limit = float(np.sqrt(np.finfo(dtype).max / (16.0 * max(X.shape[1], 1))))
    if magnitude > limit:
        raise ValueError(
            f"Input values up to {magnitude:.3g} are too large for k-means in "
            f"{np.dtype(dtype).name}: squared distances between them could "
            f"overflow (the largest safe magnitude with {X.shape[1]} features is "
            f"{limit:.3g}). Rescale the data."
        )


#: Weights whose largest value lies in [2**-WEIGHT_EXPONENT_RANGE,
#: 2**WEIGHT_EXPONENT_RANGE] are used as given.
WEIGHT_EXPONENT_RANGE = 32


def normalized_weights(sample_weight) -> tuple[np.ndarray, float]:
    """Scale extreme weights by a power of two so that their sums stay finite.

    Weights so small that ``1 / (cluster weight)`` overflows (subnormal weights)
    would give infinite centres, and weights so large that the weighted sums
    overflow would give NaN. Multiplying every weight by the same power of two is
    exact in binary floating point (the products and sums scale exactly, so
    centres and labels are unchanged); the inertia is scaled back by the caller.
    Weights whose largest value is within ``2**±WEIGHT_EXPONENT_RANGE`` are
    returned as they are, so ordinary weights give scikit-learn's arithmetic
    bit for bit.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive maximum.

    Returns
    -------
    weights : ndarray of shape (n_samples,), same dtype
        ``sample_weight * 2**e``: the input itself when ``e`` is 0.
    inertia_scale : float
        ``2**-e``: multiply an inertia computed with ``weights`` by it.
    """
    exponent = int(np.frexp(sample_weight.max())[1])
    if abs(exponent) <= WEIGHT_EXPONENT_RANGE:
        return sample_weight, 1.0
    scaled = np.ldexp(sample_weight, -exponent).astype(sample_weight.dtype)
    return scaled, float(np.ldexp(1.0, exponent))
