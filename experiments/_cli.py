"""What every command shares: usage errors, option types, checks of paths, output.

User errors exit with status 2 and one line on stderr (:class:`UsageError`,
raised also by the option types and :class:`Parser`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from argparse import ArgumentTypeError
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


def _number_in(kind, noun: str, bound: str, ok: Callable) -> Callable:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not ok(value):
            raise ArgumentTypeError(f"expected {noun} {bound}, got {text}")
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
    bound = f"in ({low}, {high}]"
    return _number_in(float, "a number", bound, lambda v: low < v <= high)


def threads(text: str) -> int:
    """Argparse type of ``--threads``: 1 up to what Numba has here."""
    import numba

    try:
        return int_in(1, numba.config.NUMBA_NUM_THREADS)(text)
    except ArgumentTypeError as exc:
        raise ArgumentTypeError(f"{exc} (the threads Numba has here)") from None


def n_init(text: str) -> int | str:
    """Argparse type of ``--n-init``: a positive integer or ``auto``."""
    try:
        return text if text == "auto" else int_in(1)(text)
    except ArgumentTypeError:
        message = f"n_init must be a positive integer or 'auto', got {text!r}"
        raise ArgumentTypeError(message) from None


def out_dir(text: str) -> Path:
    """Argparse type of a directory option: a non-empty path that is not a file.

    Messages leave out the option: argparse names it (``argument --root: ...``).
    """
    if not text.strip():
        raise ArgumentTypeError("must not be empty")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ArgumentTypeError(f"{text}: exists and is not a directory")
    return path


def check_set_dir(out: Path, owner: str, option: str = "--out") -> None:
    """Check, before any work, that a result set of ``owner`` can replace ``out``.

    Raises :class:`UsageError`, naming ``option``, when ``out`` or its parent
    cannot be written or :func:`_io.refusal` refuses ``out``.
    """
    check_dir_writable(out.parent, f"{option} {out}", create=True)
    if (reason := _io.refusal(out, owner)) is not None:
        raise UsageError(f"{option} {out}: {reason}")
    if out.exists():
        check_dir_writable(out, f"{option} {out}")  # the old set is moved, then removed


def check_dir_writable(directory: Path, where: str, create: bool = False) -> None:
    """Check that files can be made and removed in ``directory``, else UsageError.

    ``create`` makes it when missing; messages start with ``where``.
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


def say(*args) -> None:
    """Print a summary line on stdout and flush it."""
    print(*args, flush=True)


class Progress:
    """Count the steps of a long task; print ``name i/n: message (elapsed)``.

    On stderr, at most every :attr:`every` seconds and at the end, unless quiet.
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
        elapsed = f"({now - self.start:.1f} s)"
        line = f"{self.name} {self.done}/{self.total}: {message} {elapsed}"
        print(line, file=sys.stderr, flush=True)
