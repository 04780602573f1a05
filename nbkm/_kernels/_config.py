"""Compile options shared by the kernels, kept in one place.

``FASTMATH`` allows only floating-point contraction: ``a + b * c`` may become one
fused multiply-add (one rounding instead of two, so slightly *more* accurate).

``FASTMATH_DOT`` also lets a dot product along the features be summed in vector
lanes (reassociation), the only way LLVM vectorizes such a loop. It is used by the
few-centre kernel only, on a sum over one sample's features: the order is fixed by
the compiled code, so results still do not depend on the thread count.

Neither assumes away NaN or infinity. The sklearn-equivalence tests run with both.
"""

FASTMATH = frozenset({"contract"})
FASTMATH_DOT = frozenset({"contract", "reassoc"})
