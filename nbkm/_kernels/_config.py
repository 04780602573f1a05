"""Compile options shared by the kernels, kept in one place.

``FASTMATH_DOT`` allows floating-point contraction (``a + b * c`` may become one
fused multiply-add: one rounding instead of two) and lets a dot product along the
features be summed in vector lanes (reassociation), the only way LLVM vectorizes
such a loop (eight explicit partial sums were measured 3-5x slower: LLVM does not
vectorize them). It is used
on sums over one sample's features only: the direct squared distance of
``_rows.sq_distance`` (Elkan, inertia, transform, relocation; Elkan's first
assignment went from 212 to 29 ms of CPU time on 50,000 x 16, k=100).

It does not assume away NaN or infinity, and the order of every sum is fixed by the
compiled code, so results do not depend on the thread count. Like FMA itself (and
like the BLAS kernels scikit-learn uses), the vector width and FMA use follow the
CPU, so the last bits of a distance, and hence which centre wins an exact tie,
can differ between CPU models. The sklearn-equivalence tests run with it.
"""

FASTMATH_DOT = frozenset({"contract", "reassoc"})
