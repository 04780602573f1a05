"""Regenerate the committed reference, results/, as a whole.

The one command that changes ``results/``: it runs every experiment of the
reference (:data:`RUNS`) into a staging directory beside ``results/``, writes
their README there, and only when all of them succeeded moves each result set
and the README into ``results/``. An interrupt or a failure leaves ``results/``
as it was. The asv results under ``results/asv/`` are the reference machine's
raw timings: ``--asv DIR`` first copies the stored results of DIR (for example
``runs/asv`` after ``python -m experiments history --run``) into them; the
history figure is then drawn from ``results/asv/``. ``--only NAME`` regenerates
one set (and the README). The compare set is the whole-fit grid at n = 1e5 (both
d, every k, dtype and data kind, every nbkm algorithm and peer, cells estimated
above 40 s skipped): about 16 minutes on 2 quiet cores. The issue's full target
grid (to n = 1e6) is ``python -m experiments compare --memory``, many hours on 2
cores (``--estimate`` prints the plan).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from experiments import _cli, _io

#: The reference runs: result set -> command-line arguments of the experiment.
RUNS = {
    "digits": ["digits"],
    "digits_tsne": ["digits", "--embed", "tsne"],
    "blobs": ["blobs"],
    "compare": "compare --n 100000 --repeats 2 --budget 40 --memory".split(),
    "history": ["history", "--results", "{root}/asv"],
}


def regenerate(root: Path, names: list[str], quiet: bool) -> None:
    """Run ``names`` of :data:`RUNS` into a staging folder, then swap into ``root``."""
    import shlex

    from experiments.__main__ import load_all

    registry = load_all()
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        for name in names:
            argv = [arg.format(root=root) for arg in RUNS[name]]
            experiment = registry[argv[0]]
            out = ["--out", str(root / name)] + ["--quiet"] * quiet
            params = experiment.params(
                _cli.parser(experiment).parse_args(argv[1:] + out)
            )
            shown = [arg.format(root=_cli.shown(root)) for arg in RUNS[name]]
            command = shlex.join(["python", "-m", "experiments", *shown])
            _cli.say(f"reference: {command}")
            _cli.run_into(experiment, params, staging / name, command, quiet)
        for name in names:
            with _io.result_set(root / name) as tmp:
                os.rmdir(tmp)
                os.replace(staging / name, tmp)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(args) -> int:
    """Regenerate the reference; see the module docstring."""
    root = args.root
    names = args.only or list(RUNS)
    if args.asv is not None:
        target = root / "asv"
        if not (args.asv / "benchmarks.json").is_file():
            raise _cli.UsageError(f"reference: {args.asv} holds no asv results")
        shutil.copytree(args.asv, target, dirs_exist_ok=True)
    regenerate(root, names, args.quiet)
    from experiments import report

    report.write(root)
    _cli.say(f"reference: {', '.join(names)} and README.md rewritten in {root}")
    return 0


def add_arguments(p) -> None:
    """Add the options of reference to ``p``."""
    add = p.add_argument
    add("--only", nargs="+", choices=list(RUNS), metavar="SET", help="these sets")
    add("--asv", type=_cli.out_dir, metavar="DIR", help="asv results to add first")
    add("--root", type=_cli.out_dir, default=_io.RESULTS_DIR, help="reference root")


EXPERIMENT = _cli.register(__name__, 80)
