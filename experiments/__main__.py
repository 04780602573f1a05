"""Command line of the harness: ``python -m experiments <name> [options]``."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import signal
import sys
import threading

# compare interleaves libraries with their own OpenMP runtimes (nbkm's Numba,
# scikit-learn's, faiss's, oneDAL's): threads that spin after a parallel region
# steal the 2 cores from the next library's (a 100x slowdown measured). Passive
# waiting must be set before any runtime loads, so here, before the imports.
if sys.argv[1:2] and sys.argv[1] in ("compare", "reference"):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import experiments  # noqa: E402
from experiments._cli import REGISTRY, UsageError  # noqa: E402
from experiments._cli import main as run_experiment  # noqa: E402
from experiments._io import RecordError, SetError  # noqa: E402


def load_all() -> dict:
    """Import every public module of the package, so that each registers itself."""
    for info in pkgutil.iter_modules(experiments.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"experiments.{info.name}")
    return dict(sorted(REGISTRY.items(), key=lambda item: item[1].order))


def usage() -> str:
    """Return the help text listing every experiment with one line each."""
    found = load_all()
    width = max(map(len, found))
    lines = ["usage: python -m experiments <name> [options]", "", "experiments:"]
    for name, exp in found.items():
        lines.append(f"  {name:<{width}}  {exp.doc.strip().splitlines()[0]}")
    lines += ["", "`python -m experiments <name> --help` for the options of one."]
    return "\n".join(lines)


#: Set by Ctrl-C: libraries may turn the KeyboardInterrupt into another error
#: (Numba does while it writes its cache), and it is still an interrupt.
_INTERRUPTED = threading.Event()
INTERRUPTED = "interrupted: nothing was written; the previous result set is intact"


def _on_sigint(signum, frame):
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Dispatch to an experiment; user errors give status 2, Ctrl-C 130.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        The experiment's status; 2 for a usage error, 130 when interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    # nbkm's notices (the line that says kernels are being compiled, on first
    # use) go to stderr with the progress lines.
    notices = logging.StreamHandler(sys.stderr)
    notices.setFormatter(logging.Formatter("%(message)s"))
    nbkm_log = logging.getLogger("nbkm")
    nbkm_log.addHandler(notices)
    nbkm_log.setLevel(logging.INFO)
    try:
        return _dispatch(argv)
    except BaseException as exc:
        if not (_INTERRUPTED.is_set() or isinstance(exc, KeyboardInterrupt)):
            raise
        print(INTERRUPTED, file=sys.stderr)
        return 130
    finally:
        nbkm_log.removeHandler(notices)
        signal.signal(signal.SIGINT, previous)


def _dispatch(argv: list[str]) -> int:
    try:
        found = load_all()
        if argv[0] not in found:
            raise UsageError(
                f"unknown experiment {argv[0]!r}; one of: {', '.join(found)}"
            )
        return run_experiment(found[argv[0]], argv[1:])
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RecordError as exc:
        print(f"error: malformed record: {exc}", file=sys.stderr)
        return 1
    except SetError as exc:  # the place of a set changed while it was made
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
