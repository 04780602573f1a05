"""Compile options shared by the kernels, kept in one place.

``FASTMATH_DOT`` lets a dot product along the features be summed in vector lanes
(reassociation), the only way LLVM vectorizes such a loop (explicit partial sums
are not vectorized; measured in docs/performance.md). It is used on sums over one
sample's features only: the direct squared distance of ``_rows.sq_distance``
(Elkan, inertia, transform, relocation) and the bounded sweep's small products.

It does not assume away NaN or infinity, and the order of every sum is fixed by the
compiled code, so results do not depend on the thread count. It leaves out
contraction (``a + b * c`` as one fused multiply-add): with contraction too, the
code a process compiled and the same kernel loaded from Numba's cache gave
different float32 distances (at 4 features), so a fit's inertia depended on
whether its kernels were compiled in that process; without it they agree, at the
same speed (both in docs/performance.md). Like the BLAS kernels scikit-learn uses,
the vector width follows the CPU, so the last bits of a distance, and hence which
centre wins an exact tie, can differ between CPU models. The sklearn-equivalence
tests run with it.
"""

FASTMATH_DOT = frozenset({"reassoc"})
