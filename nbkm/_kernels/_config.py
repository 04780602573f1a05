"""Compile options shared by the kernels, kept in one place.

``FASTMATH_DOT`` allows floating-point contraction (``a + b * c`` may become one
fused multiply-add: one rounding instead of two) and lets a dot product along the
features be summed in vector lanes (reassociation), the only way LLVM vectorizes
such a loop (explicit partial sums are not vectorized; measured in
docs/performance.md). It is used on sums over one sample's features only: the
direct squared distance of ``_rows.sq_distance`` (Elkan, inertia, transform,
relocation).

It does not assume away NaN or infinity, and the order of every sum is fixed by the
compiled code, so results do not depend on the thread count. Like FMA itself (and
like the BLAS kernels scikit-learn uses), the vector width and FMA use follow the
CPU, so the last bits of a distance, and hence which centre wins an exact tie,
can differ between CPU models. The sklearn-equivalence tests run with it.
"""

FASTMATH_DOT = frozenset({"contract", "reassoc"})
