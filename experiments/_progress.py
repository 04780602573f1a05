"""Progress lines on stderr for steps that take more than a few seconds."""

from __future__ import annotations

import sys
import time


class Progress:
    """Count steps of a long task and print ``name i/n: message (elapsed)``.

    On a terminal, the line is rewritten in place; otherwise a line is printed
    at most every ``every`` seconds and at the end. ``quiet=True`` prints
    nothing.

    Parameters
    ----------
    name : str
        Prefix of each line.
    total : int
        Number of steps.
    quiet : bool, default=False
        Print nothing.
    every : float, default=2.0
        Seconds between lines when stderr is not a terminal.
    """

    def __init__(self, name: str, total: int, quiet: bool = False, every=2.0):
        self.name = name
        self.total = max(int(total), 1)
        self.quiet = quiet
        self.every = every
        self.done = 0
        self.start = time.perf_counter()
        self._last = -float("inf")
        self._tty = sys.stderr.isatty()

    def step(self, message: str = "") -> None:
        """Record one finished step and maybe print a line.

        Parameters
        ----------
        message : str, default=""
            What the step was.
        """
        self.done += 1
        if self.quiet:
            return
        now = time.perf_counter()
        last = self.done >= self.total
        if not (self._tty or last or now - self._last >= self.every):
            return
        self._last = now
        line = (
            f"{self.name} {self.done}/{self.total}: {message} "
            f"({now - self.start:.1f} s)"
        )
        if self._tty:
            end = "\n" if last else ""
            sys.stderr.write("\r\033[K" + line + end)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
