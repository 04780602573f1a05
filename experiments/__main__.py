"""Command line of the harness: ``python -m experiments <name> [options]``."""

from __future__ import annotations

import importlib
import sys

#: Experiment name -> module path; modules are imported only when run.
EXPERIMENTS: dict[str, str] = {
    "blobs": "experiments.blobs",
    "digits": "experiments.digits",
    "compare": "experiments.compare",
    "report": "experiments.report",
    "check": "experiments.check",
    "history": "experiments.history",
}


def _one_line(module_path: str) -> str:
    """Return the first docstring line of a module without running much of it."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(module_path)
    if spec is None or spec.origin is None:
        return "(not available in this checkout)"
    try:
        with open(spec.origin, encoding="utf-8") as fh:
            doc = ast.get_docstring(ast.parse(fh.read()))
    except (OSError, SyntaxError):
        doc = None
    return doc.strip().splitlines()[0] if doc else ""


def usage() -> str:
    """Return the help text listing every experiment with one line each."""
    width = max(len(name) for name in EXPERIMENTS)
    lines = [
        "usage: python -m experiments <name> [options]",
        "       python -m experiments <name> --help",
        "",
        "experiments:",
    ]
    for name, module in EXPERIMENTS.items():
        lines.append(f"  {name:<{width}}  {_one_line(module)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to an experiment's ``main``.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments without the program name; ``sys.argv[1:]`` when
        None.

    Returns
    -------
    code : int
        The experiment's exit code; 2 for an unknown or unavailable experiment.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in EXPERIMENTS:
        print(f"unknown experiment {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_path = EXPERIMENTS[name]
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name != module_path:
            raise
        print(
            f"experiment {name!r} is not available: module {module_path} is "
            "missing from this checkout",
            file=sys.stderr,
        )
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
