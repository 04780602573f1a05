"""Argument helpers shared by the experiments' command lines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: Root of the repository (the parent of ``experiments/``).
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Default root of the committed results.
RESULTS_DIR = REPO_ROOT / "results"


def parser(
    name: str, doc: str | None, out_default: Path | None = None, out_help=None
) -> argparse.ArgumentParser:
    """Build an argument parser with the options every experiment has.

    Parameters
    ----------
    name : str
        Experiment name; the default output directory is ``results/<name>``.
    doc : str or None
        Module docstring; its first line is the description.
    out_default : pathlib.Path, optional
        Default of ``--out``; ``results/<name>`` when None.
    out_help : str, optional
        Help of ``--out``.

    Returns
    -------
    parser : argparse.ArgumentParser
        With ``--out`` and ``--quiet``.
    """
    lines = (doc or "").strip().splitlines()
    p = argparse.ArgumentParser(
        prog=f"python -m experiments {name}",
        description=lines[0] if lines else None,
        epilog="\n".join(lines[1:]).strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR / name if out_default is None else out_default,
        help=out_help
        or f"directory for the JSON and figures (default: results/{name})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def say(*args) -> None:
    """Print a summary line on stdout and flush it."""
    print(*args)
    sys.stdout.flush()
