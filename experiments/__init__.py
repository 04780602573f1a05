"""Experiment harness of nbkm: ``python -m experiments <name> [options]``.

Each experiment is one module that registers itself with
:func:`experiments._cli.register`; it writes its JSON record and figures as one
result set under ``runs/<set>/`` (git-ignored) unless ``--out`` says otherwise.
The committed reference in ``results/`` changes only through
``python -m experiments reference``. The record schema is documented in
:mod:`experiments._io`.
"""
