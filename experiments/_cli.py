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
    check_results : callable, optional
        ``check_results(record, where)`` raises :class:`~experiments._io.RecordError`
        where the body is not what ``section`` and the other readers expect.
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
    check_results: Callable | None = None
    order: int = 50

    def directory(self, params: dict) -> str:
        """Name of the result set of a run with ``params``."""
        return self.set_name(params) if self.set_name else self.name

    def validate_record(self, record: dict, where: str) -> dict:
        """Validate ``record`` as one of this experiment's; return it unchanged.

        Raises
        ------
        experiments._io.RecordError
            When the header, the required keys or the body are not this
            experiment's (see :func:`experiments._io.validate`).
        """
        _io.validate(record, where, self.required)
        if record["experiment"] != self.name:
            raise _io.RecordError(
                f"{where}: a record of {record['experiment']!r}, not of {self.name!r}"
            )
        if self.check_results is not None:
            self.check_results(record, where)
        return record


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
        ``set_name``, ``exit_code`` and ``check_results`` (see
        :class:`Experiment`).
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
    hooks += ("check_results",)
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
            help="directory of the result set (default: runs/<set>, git-ignored); "
            "new, empty, or an earlier set of this experiment",
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
    check_set_dir(out, experiment.name)
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
    with _io.result_set(out, experiment.name) as tmp:
        results, figures = experiment.run(params, tmp, quiet)
        public = {k: v for k, v in params.items() if not k.startswith("_")}
        record = _io.make_record(experiment.name, command, public, results, figures)
        experiment.validate_record(record, experiment.name)
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
    """Argparse type of a directory option: a non-empty path that is not a file.

    Messages leave out the option: argparse names it (``argument --root: ...``).
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: exists and is not a directory")
    return path


def check_set_dir(out: Path, owner: str, option: str = "--out") -> None:
    """Check, before any computation, that a set of ``owner`` can replace ``out``.

    Parameters
    ----------
    out : pathlib.Path
        Directory of the result set.
    owner : str
        Experiment (or other writer) of the set (see :func:`_io.refusal`).
    option : str, default="--out"
        The option that named ``out``, for messages.

    Raises
    ------
    UsageError
        When the parent cannot be created or written, when ``out`` exists and
        cannot be written, or when it is not an earlier set of ``owner`` nor
        empty.
    """
    check_dir_writable(out.parent, f"{option} {out}", create=True)
    if (reason := _io.refusal(out, owner)) is not None:
        raise UsageError(f"{option} {out}: {reason}")
    if out.exists():
        check_dir_writable(out, f"{option} {out}")  # the old set is moved, then removed


def check_dir_writable(directory: Path, where: str, create: bool = False) -> None:
    """Check that files can be made and removed in ``directory``.

    Parameters
    ----------
    directory : pathlib.Path
        The directory.
    where : str
        The option and its value, first in messages.
    create : bool, default=False
        Create ``directory`` (and its parents) when missing; otherwise a
        missing directory is an error.

    Raises
    ------
    UsageError
        When ``directory`` is missing (without ``create``), cannot be created,
        or cannot be written.
    """
    try:
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        elif not directory.is_dir():
            raise UsageError(f"{where}: no such directory")
    except OSError as exc:
        raise UsageError(f"{where}: cannot write there ({exc.strerror})") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: cannot write there (permission denied)")


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
