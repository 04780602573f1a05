"""Compile options shared by the kernels, kept in one place.

``FASTMATH`` allows only floating-point contraction: ``a + b * c`` may become one
fused multiply-add (one rounding instead of two, so slightly *more* accurate). It
never assumes away NaN or infinity and never reassociates sums, so the order of
every reduction stays as written and results stay independent of the thread
count. The sklearn-equivalence tests run with it.
"""

FASTMATH = frozenset({"contract"})
