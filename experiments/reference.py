"""Regenerate the committed reference, results/, as a whole.

The one command that changes ``results/``: it runs every experiment of the
reference (:data:`RUNS`) into a staging directory beside ``results/``, writes
their README there, and only when all of them succeeded moves each result set
and the README into ``results/``. An interrupt or a failure leaves ``results/``
as it was. The asv results under ``results/asv/`` are the reference machine's
raw timings: ``--asv DIR`` adds the stored results of DIR (for example
``runs/asv`` after ``python -m experiments history --run``) to a staged copy of
them, which the history figure is drawn from and which is swapped in with the
other sets. Each set it replaces must be a result set of the same experiment
(its hidden marker file says so, see ``experiments/_io.py``), empty or missing.
``--only NAME`` regenerates one set (and the README). The compare set is the
whole-fit grid at n = 1e5 (both d, every k, dtype and data kind, every nbkm
algorithm and peer, cells estimated above 40 s skipped): about 16 minutes on 2
quiet cores. The compare_large set is nbkm's default at n = 1e6 (d = 16 and 64,
k = 10 and 1000, both dtypes, separated and overlapping data, cells estimated
above 120 s skipped) against the same peers: about 20 minutes. The full
whole-fit grid (to n = 1e6) is ``python -m experiments compare --memory``,
many hours on 2 cores (``--estimate`` prints the plan). The compare_documents
set is the sparse kind, CSR topic documents at n = 1e5 (5,000 and 50,000 words,
k = 10, 50 and 200, cells estimated above 400 s skipped) against scikit-learn's
lloyd and elkan: about 5 minutes. The compare_minibatch
set is the MiniBatchKMeans grid at n = 1e6 (``compare --minibatch``): about 16
minutes.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from experiments import _cli, _io, report

#: The reference runs: result set -> command-line arguments of the experiment
#: (``{asv}``: the asv results the history is drawn from).
RUNS = {
    "digits": ["digits"],
    "digits_tsne": ["digits", "--embed", "tsne"],
    "blobs": ["blobs"],
    "compare": "compare --n 100000 --repeats 2 --budget 40 --memory".split(),
    "compare_large": (
        "compare --n 1000000 --d 16 64 --k 10 1000 --kind separated overlapping "
        "--algorithms auto --repeats 1 --budget 120"
    ).split(),
    "compare_documents": (
        "compare --kind documents --n 100000 --d 5000 50000 --k 10 50 200 "
        "--peers sklearn-lloyd sklearn-elkan --repeats 1 --budget 400"
    ).split(),
    "compare_minibatch": "compare --minibatch --repeats 2".split(),
    "history": ["history", "--results", "{asv}"],
}
#: Owner of the set ``asv`` (the asv results), in its marker.
ASV_OWNER = "asv results"


def owners(names: list[str], with_asv: bool = False) -> dict:
    """Return set name -> owner of the sets a reference run replaces.

    Each set of :data:`RUNS` is owned by the experiment that writes it;
    ``with_asv`` adds the asv results (``--asv``), owned by :data:`ASV_OWNER`.
    """
    found = {name: RUNS[name][0] for name in names}
    return found | ({"asv": ASV_OWNER} if with_asv else {})


def regenerate(
    root: Path, names: list[str], quiet: bool, asv: Path | None, make_job: Callable
):
    """Run ``names`` of :data:`RUNS` into a staging folder, then swap into ``root``.

    With ``asv``, the asv results of ``root`` with those of ``asv`` added are
    staged too; the history is drawn from the staged copy, which is swapped in
    with the other sets. ``make_job(argv)`` parses an experiment's command line
    into ``(job, out)`` (``experiments.__main__.parse_job``).
    """
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    stored = root / "asv"
    try:
        if asv is not None:
            stored = staging / "asv"
            if (root / "asv").is_dir():
                shutil.copytree(root / "asv", stored)
            shutil.copytree(asv, stored, dirs_exist_ok=True)
        for name in names:
            argv = [arg.format(asv=stored) for arg in RUNS[name]]
            job, _ = make_job(argv + ["--quiet"] * quiet)
            # the record names where the asv results go, not where they are staged
            staged = _cli.shown(stored)
            job.params = {
                k: _cli.shown(root / "asv") if v == staged else v
                for k, v in job.params.items()
            }
            shown = [arg.format(asv=_cli.shown(root / "asv")) for arg in RUNS[name]]
            command = shlex.join(["python", "-m", "experiments", *shown])
            _cli.say(f"reference: {command}")
            _io.write_set(job, staging / name, command, replaced=root / name)
        for name, owner in owners(names, asv is not None).items():
            _io.install(staging / name, root / name, owner)
    except _io.SetError:
        raise  # the sets not swapped in yet stay in staging, as the message says
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rmdir()


def command(
    *,
    only: list[str] | None,
    asv: Path | None,
    root: Path,
    quiet: bool,
    make_job: Callable,
) -> int:
    """Regenerate the reference; see the module docstring and :func:`regenerate`."""
    names = only or list(RUNS)
    if asv is not None and not (asv / "benchmarks.json").is_file():
        raise _cli.UsageError(f"reference: --asv {asv} holds no asv results")
    _cli.check_dir_writable(root, f"--root {root}")
    for name, owner in owners(names, asv is not None).items():
        _cli.check_set_dir(root / name, owner, "--root")
    regenerate(root, names, quiet, asv, make_job)
    report.write(root)
    _cli.say(f"reference: {', '.join(names)} and README.md rewritten in {root}")
    return 0


def add_arguments(p) -> None:
    """Add the options of reference to ``p``."""
    add = p.add_argument
    add("--only", nargs="+", choices=list(RUNS), metavar="SET", help="these sets")
    add("--asv", type=_cli.out_dir, metavar="DIR", help="asv results to add first")
    add("--root", type=_cli.out_dir, default=_io.RESULTS_DIR, help="reference root")
