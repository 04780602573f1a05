"""The command line: the registry of experiments, option types, progress lines.

An experiment is one module that calls :func:`register` at import time with its
options, its run, its printed summary and its section of the results README;
``python -m experiments`` finds it by importing every public module of the
package. User errors exit with status 2 and one line on stderr (:class:`UsageError`,
raised also by the option types); Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments import _io


class UsageError(Exception):
    """A mistake of the user: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message):  # noqa: D102 - argparse's hook
        raise UsageError(f"{self.prog}: {message}")


@dataclass
class Experiment:
    """What the harness needs to know about one experiment or command.

    Attributes
    ----------
    name : str
        Command name.
    doc : str
        Module docstring: first line as the description, the rest as epilog.
    add_arguments : callable
        ``add_arguments(parser)`` adds the experiment's options.
    run : callable
        For an experiment, ``run(params, out_dir, quiet) -> (results,
        figures)``, writing its figures into ``out_dir``; for a plain command,
        ``run(args) -> int``.
    params : callable, optional
        ``params(args) -> dict``; experiments only.
    summary : callable, optional
        ``summary(record) -> list of str``, printed after the run.
    section : callable, optional
        ``section(record, rel_dir) -> list of str``, Markdown for the README.
    set_name : callable, optional
        ``set_name(params) -> str``, the directory of the result set (default:
        the experiment's name).
    required : tuple of str
        Keys its ``results`` body must have.
    order : int
        Position in the help and in the README (smallest first).
    exit_code : callable, optional
        ``exit_code(results) -> int`` once the set is written (default 0).
    """

    name: str
    doc: str
    add_arguments: Callable
    run: Callable
    params: Callable | None = None
    summary: Callable | None = None
    section: Callable | None = None
    set_name: Callable | None = None
    required: tuple = ()
    exit_code: Callable | None = None
    order: int = 50

    def directory(self, params: dict) -> str:
        """Name of the result set of a run with ``params``."""
        return self.set_name(params) if self.set_name else self.name


#: Every registered experiment and command, by name.
REGISTRY: dict[str, Experiment] = {}


def register(module: str, order: int, required=()) -> Experiment:
    """Register the experiment defined by the functions of ``module``.

    Parameters
    ----------
    module : str
        The module's ``__name__``; its last part is the command name. It defines
        ``add_arguments(parser)`` and ``run``, and for an experiment
        ``params_from(args)``; optionally ``summary``, ``section``,
        ``set_name`` and ``exit_code`` (see :class:`Experiment`).
    order : int
        Position in the help and in the README.
    required : tuple of str, default=()
        Keys the record's ``results`` must have.

    Returns
    -------
    experiment : Experiment
        Also stored in :data:`REGISTRY`.
    """
    mod = sys.modules[module]
    hooks = ("add_arguments", "run", "summary", "section", "set_name", "exit_code")
    experiment = Experiment(
        name=module.rpartition(".")[2],
        doc=mod.__doc__,
        params=getattr(mod, "params_from", None),
        required=tuple(required),
        order=order,
        **{hook: getattr(mod, hook, None) for hook in hooks},
    )
    REGISTRY[experiment.name] = experiment
    return experiment


def parser(experiment: Experiment) -> Parser:
    """Build the parser of one experiment: its options plus ``--out``/``--quiet``."""
    lines = experiment.doc.strip().splitlines()
    p = Parser(
        prog=f"python -m experiments {experiment.name}",
        description=lines[0],
        epilog="\n".join(lines[1:]).strip() or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if experiment.params is not None:
        p.add_argument(
            "--out",
            type=out_dir,
            default=None,
            help="directory of the result set (default: runs/<set>, git-ignored)",
        )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    experiment.add_arguments(p)
    return p


def main(experiment: Experiment, argv: list[str]) -> int:
    """Parse ``argv`` and run ``experiment``; return the exit status."""
    args = parser(experiment).parse_args(argv)
    if experiment.params is None:
        return int(experiment.run(args) or 0)
    params = experiment.params(args)
    out = args.out or _io.RUNS_DIR / experiment.directory(params)
    check_writable(out)
    command = shlex.join(["python", "-m", "experiments", experiment.name, *argv])
    record = run_into(experiment, params, out, command, args.quiet)
    # Without a summary of its own, an experiment prints its README section.
    summary = experiment.summary or (lambda rec: experiment.section(rec, out.name))
    for line in summary(record):
        say(line)
    files = ", ".join(p.name for p in _io.listed_files(out))
    say(f"  wrote {shown(out)}/: {files}")
    return experiment.exit_code(record["results"]) if experiment.exit_code else 0


def run_into(experiment, params: dict, out, command: str, quiet: bool) -> dict:
    """Run ``experiment`` and write its result set to ``out`` as a whole.

    Returns
    -------
    record : dict
        The validated record, also written as ``<set>.json`` in ``out``.
    """
    with _io.result_set(out) as tmp:
        results, figures = experiment.run(params, tmp, quiet)
        public = {k: v for k, v in params.items() if not k.startswith("_")}
        record = _io.make_record(experiment.name, command, public, results, figures)
        _io.validate(record, experiment.name, experiment.required)
        _io.write_json(tmp / f"{experiment.directory(params)}.json", record)
    return record


def shown(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(_io.REPO_ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- option types


def _number_in(kind, noun: str, bound: str, ok: Callable) -> Callable:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {noun} {bound}, got {text}")
        return value

    return parse


def int_in(low: int, high: int | None = None) -> Callable:
    """Return an argparse type: an integer in ``[low, high]`` (no upper bound: None)."""
    bound = f"at least {low}" if high is None else f"in {low}..{high}"
    return _number_in(
        int, "an integer", bound, lambda v: low <= v and (high is None or v <= high)
    )


def float_in(low: float, high: float) -> Callable:
    """Return an argparse type: a float in ``(low, high]``."""
    return _number_in(
        float, "a number", f"in ({low}, {high}]", lambda v: low < v <= high
    )


def _with_message(parse: Callable, message: str) -> Callable:
    def parse_or_explain(text: str):
        try:
            return parse(text)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentTypeError(message.format(exc, text)) from None

    return parse_or_explain


def threads(text: str) -> int:
    """Argparse type of ``--threads``: 1 up to what Numba has here."""
    import numba

    parse = int_in(1, numba.config.NUMBA_NUM_THREADS)
    return _with_message(parse, "{} (the threads Numba has here)")(text)


def n_init(text: str) -> int | str:
    """Argparse type of ``--n-init``: a positive integer or ``auto``."""
    message = "n_init must be a positive integer or 'auto', got {1!r}"
    return text if text == "auto" else _with_message(int_in(1), message)(text)


def out_dir(text: str) -> Path:
    """Argparse type of ``--out``: a non-empty path that is not a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("--out must not be empty")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"--out {text}: exists and is not a directory")
    return path


def check_writable(out: Path) -> None:
    """Check, before any computation, that a result set can be written at ``out``.

    Raises
    ------
    UsageError
        When the parent cannot be created or written.
    """
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=out.parent))
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror})") from None


# -------------------------------------------------------------------- output


def say(*args) -> None:
    """Print a summary line on stdout and flush it."""
    print(*args, flush=True)


class Progress:
    """Count steps of a long task and print ``name i/n: message (elapsed)``.

    A line at most every :attr:`every` seconds and at the end, on stderr;
    ``quiet=True`` prints nothing.
    """

    every = 2.0

    def __init__(self, name: str, total: int, quiet: bool = False):
        self.name, self.total, self.quiet = name, max(total, 1), quiet
        self.done = 0
        self.start = self._last = time.perf_counter()

    def step(self, message: str = "") -> None:
        """Record one finished step and maybe print a line."""
        self.done += 1
        now = time.perf_counter()
        if self.quiet or (now - self._last < self.every and self.done < self.total):
            return
        self._last = now
        print(
            f"{self.name} {self.done}/{self.total}: {message} "
            f"({now - self.start:.1f} s)",
            file=sys.stderr,
            flush=True,
        )
