"""The samples as the kernels take them: a dense array or a CSR triple."""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from nbkm._kernels import column_means


def read_only(a: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``a``: kernels take the caller's arrays so.

    Numba types a read-only array (``np.load(mmap_mode="r")``, a joblib memmap,
    ``writeable=False``) apart from a writeable one and compiles each kernel
    again for it. The kernels never write the caller's arrays, so they always
    take them read-only: one compiled signature serves both, and a kernel that
    tried to write one would not compile.
    """
    view = np.asarray(a).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class Samples:
    """Validated samples, ready for the kernels.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), or tuple (data, indices, indptr)
        What the kernels take: a C-contiguous float array, or the arrays of a
        canonical CSR matrix (sorted indices, no duplicates, int32 indices).
    x_mean : ndarray of shape (n_features,)
        Subtracted from dense samples on the fly (zeros when not centring; unused
        for CSR samples, which sklearn never centres).
    source : ndarray or scipy.sparse.csr_matrix
        The samples as validated, to take rows from.
    """

    X: object
    x_mean: np.ndarray
    source: object

    @classmethod
    def dense(cls, X, x_mean=None):
        """Wrap a validated C-contiguous float array, centred by ``x_mean`` if given."""
        if x_mean is None:
            x_mean = np.zeros(X.shape[1], dtype=X.dtype)
        X = read_only(X)
        return cls(X=X, x_mean=x_mean, source=X)

    @classmethod
    def csr(cls, X):
        """Wrap a validated CSR matrix, made canonical on a copy if it is not."""
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()  # also sorts the indices
        data = read_only(X.data)
        indices = read_only(X.indices.astype(np.int32, copy=False))
        indptr = read_only(X.indptr.astype(np.int32, copy=False))
        return cls(
            X=(data, indices, indptr),
            x_mean=np.zeros(X.shape[1], dtype=data.dtype),
            source=X,
        )

    @classmethod
    def of(cls, X, centre=False):
        """Wrap validated samples, dense (centred when ``centre``) or CSR."""
        if sp.issparse(X):
            return cls.csr(X)
        X = read_only(X)
        return cls.dense(X, column_means(X) if centre else None)

    @property
    def is_sparse(self) -> bool:
        """Whether the samples are a CSR triple."""
        return isinstance(self.X, tuple)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return self.source.shape

    @property
    def dtype(self) -> np.dtype:
        """The float dtype of the samples."""
        return self.x_mean.dtype

    def rows(self, indices) -> np.ndarray:
        """Dense copies of the given samples, in the centred frame.

        Parameters
        ----------
        indices : array-like of int
            Sample indices.

        Returns
        -------
        rows : ndarray of shape (len(indices), n_features)
        """
        if self.is_sparse:
            return np.ascontiguousarray(self.source[indices].toarray())
        return self.source[indices] - self.x_mean
