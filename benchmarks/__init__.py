"""asv benchmark suite of nbkm: nbkm against scikit-learn on the same fixed workloads.

See ``benchmarks/common.py`` for the rules of the suite and ``docs/asv.md`` for how
to run it.
"""
