"""Command line of the harness: ``python -m experiments <name> [options]``."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from functools import partial

# compare interleaves libraries with their own OpenMP runtimes (nbkm's Numba,
# scikit-learn's, faiss's, oneDAL's): threads that spin after a parallel region
# steal the 2 cores from the next library's (a 100x slowdown measured). Passive
# waiting must be set before any runtime loads, so here, before the imports.
if sys.argv[1:2] and sys.argv[1] in ("compare", "reference"):
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from experiments import (  # noqa: E402
    _cli,
    _io,
    blobs,
    check,
    compare,
    digits,
    history,
    reference,
    report,
)
from experiments._cli import UsageError  # noqa: E402
from experiments._io import RecordError, SetError  # noqa: E402

#: The experiments: each writes a result set; ``job(**options)`` makes its run.
EXPERIMENTS = {
    "digits": (digits, digits.job),
    "blobs": (blobs, blobs.job),
    "compare": (compare, compare.job),
    "history": (history, history.job),
}


def parse_job(argv: list[str]) -> tuple[_io.Job, object]:
    """Parse an experiment's command line; return its job and its ``--out``.

    Nothing runs: the job's parameters are checked, the work waits for
    :func:`experiments._io.write_set`.
    """
    options = vars(build_parser().parse_args(argv))
    del options["name"]
    make_job, out = options.pop("handler"), options.pop("out")
    return make_job(**options), out


#: The other commands, each a function of its parsed options returning a status.
COMMANDS = {
    "check": (check, check.command),
    "report": (report, report.command),
    "reference": (reference, partial(reference.command, make_job=parse_job)),
}


def build_parser() -> _cli.Parser:
    """Return the parser of every command: one subcommand each, in help order."""
    parser = _cli.Parser(prog="python -m experiments", add_help=False)
    subcommands = parser.add_subparsers(dest="name", required=True)
    for name, (module, handler) in (EXPERIMENTS | COMMANDS).items():
        lines = module.__doc__.strip().splitlines()
        p = subcommands.add_parser(
            name,
            prog=f"python -m experiments {name}",
            description=lines[0],
            epilog="\n".join(lines[1:]).strip() or None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name in EXPERIMENTS:
            p.add_argument(
                "--out",
                type=_cli.out_dir,
                default=None,
                help="directory of the result set (default: runs/<set>, git-ignored);"
                " new, empty, or an earlier set of this experiment",
            )
        p.add_argument(
            "--quiet", action="store_true", help="no progress lines on stderr"
        )
        module.add_arguments(p)
        p.set_defaults(handler=handler)
    return parser


def usage() -> str:
    """Return the help text listing every command with one line each."""
    found = EXPERIMENTS | COMMANDS
    width = max(map(len, found))
    lines = ["usage: python -m experiments <name> [options]", "", "experiments:"]
    for name, (module, _) in found.items():
        lines.append(f"  {name:<{width}}  {module.__doc__.strip().splitlines()[0]}")
    lines += ["", "`python -m experiments <name> --help` for the options of one."]
    return "\n".join(lines)


def run_experiment(name: str, argv: list[str]) -> int:
    """Parse ``argv`` of the command ``name`` and run it; return the exit status.

    An experiment's set is checked writable before any work, then written whole.
    """
    if name not in EXPERIMENTS:
        options = vars(build_parser().parse_args([name, *argv]))
        del options["name"]
        return int(options.pop("handler")(**options) or 0)
    job, out = parse_job([name, *argv])
    out = out or _io.RUNS_DIR / job.set_name
    _cli.check_set_dir(out, job.experiment)
    command = shlex.join(["python", "-m", "experiments", name, *argv])
    record = _io.write_set(job, out, command)
    for line in job.summary(record):
        _cli.say(line)
    files = ", ".join(p.name for p in _io.listed_files(out))
    _cli.say(f"  wrote {_cli.shown(out)}/: {files}")
    return job.exit_code(record["results"])


#: Set by Ctrl-C: libraries may turn the KeyboardInterrupt into another error
#: (Numba does while it writes its cache), and it is still an interrupt.
_INTERRUPTED = threading.Event()
INTERRUPTED = "interrupted: nothing was written; the previous result set is intact"


def _on_sigint(signum, frame):
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the command of ``argv`` (default ``sys.argv[1:]``); return its status.

    A usage error gives status 2 with one line on stderr, Ctrl-C 130, a
    malformed record 1.
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
        if argv[0] not in EXPERIMENTS | COMMANDS:
            names = ", ".join(EXPERIMENTS | COMMANDS)
            raise UsageError(f"unknown experiment {argv[0]!r}; one of: {names}")
        return run_experiment(argv[0], argv[1:])
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RecordError, SetError) as exc:  # SetError: the set's place changed
        prefix = "malformed record: " * isinstance(exc, RecordError)
        print(f"error: {prefix}{exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
