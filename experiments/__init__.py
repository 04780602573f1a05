"""Experiment harness of nbkm: ``python -m experiments <name> [options]``.

Each experiment lives in its own module with a ``main(argv)`` entry point and
writes its JSON and figures under ``results/<name>/`` (or ``--out DIR``). The
JSON schema is documented in :mod:`experiments._io`.
"""
