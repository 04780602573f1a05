"""What every command shares: usage errors, option types, checks of paths, output.

User errors exit with status 2 and one line on stderr (:class:`UsageError`,
raised also by the option types and :class:`Parser`); the commands themselves
are built in ``experiments/__main__.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from experiments import _io


class UsageError(Exception):
    """A mistake of the user: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message):  # noqa: D102 - argparse's hook
        raise UsageError(f"{self.prog}: {message}")


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

    Raises :class:`UsageError`, naming ``option``, when the parent cannot be
    created or written, when ``out`` exists and cannot be written, or when it
    is neither empty nor an earlier set of ``owner`` (:func:`_io.refusal`).
    """
    check_dir_writable(out.parent, f"{option} {out}", create=True)
    if (reason := _io.refusal(out, owner)) is not None:
        raise UsageError(f"{option} {out}: {reason}")
    if out.exists():
        check_dir_writable(out, f"{option} {out}")  # the old set is moved, then removed


def check_dir_writable(directory: Path, where: str, create: bool = False) -> None:
    """Check that files can be made and removed in ``directory``.

    ``create`` makes it (and its parents) when missing. Raises
    :class:`UsageError`, starting with ``where`` (the option and its value),
    when it is missing (without ``create``), cannot be created or written.
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
