"""Regenerate the committed reference, results/, as a whole.

The one command that changes ``results/``: it runs every set of :data:`RUNS` (or
``--only`` these) into a staging directory beside it and, only when all succeeded,
moves each set into ``results/`` and rewrites its README; an interrupt or a failure
leaves ``results/`` as it was. Each set replaced must be a result set of the same
experiment (its hidden marker file says so, see ``experiments/_io.py``), empty or
missing. ``results/asv/`` holds the reference machine's raw asv timings: ``--asv
DIR`` (say ``runs/asv`` after ``python -m experiments history --run``) adds the
results of DIR to a staged copy of them, which the history figure is drawn from and
which is swapped in with the other sets.

Times on 2 quiet cores (cells estimated above the ``--budget`` skipped): compare,
the whole-fit grid at n = 1e5 (both d, every k, dtype and data kind, every nbkm
algorithm and peer; budget 40 s), about 16 minutes; compare_large, nbkm's default
at n = 1e6 (d = 16 and 64, k = 10 and 1000, both dtypes, separated and overlapping
data; 120 s) against the same peers, about 20 minutes; compare_documents, the
sparse kind, CSR topic documents at n = 1e5 (5,000 and 50,000 words, k = 10, 50
and 200; 400 s) against scikit-learn's lloyd and elkan, about 5 minutes;
compare_minibatch, the MiniBatchKMeans grid at n = 1e6 (``compare --minibatch``),
about 16 minutes. The full whole-fit grid (to n = 1e6) is ``python -m experiments
compare --memory``, many hours on 2 cores (``--estimate`` prints the plan).
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
    """Return set name -> owner (its experiment) of the sets a run replaces.

    ``with_asv`` adds the asv results (``--asv``), owned by :data:`ASV_OWNER`.
    """
    found = {name: RUNS[name][0] for name in names}
    return found | ({"asv": ASV_OWNER} if with_asv else {})


def command(
    *,
    only: list[str] | None,
    asv: Path | None,
    root: Path,
    quiet: bool,
    make_job: Callable,
) -> int:
    """Regenerate the reference; see the module docstring.

    Every place is checked before any run. With ``asv``, the asv results of
    ``root`` with those of ``asv`` added are staged too and the history is drawn
    from them. ``make_job(argv)`` parses an experiment's command line into
    ``(job, out)`` (``experiments.__main__.parse_job``).
    """
    names = only or list(RUNS)
    if asv is not None and not (asv / "benchmarks.json").is_file():
        raise _cli.UsageError(f"reference: --asv {asv} holds no asv results")
    _cli.check_dir_writable(root, f"--root {root}")
    sets = owners(names, asv is not None)
    for name, owner in sets.items():
        _cli.check_set_dir(root / name, owner, "--root")
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    stored = root / "asv" if asv is None else staging / "asv"
    # records name where the asv results go, not where they are staged
    final, staged = _cli.shown(root / "asv"), _cli.shown(stored)
    try:
        if asv is not None:
            if (root / "asv").is_dir():
                shutil.copytree(root / "asv", stored)
            shutil.copytree(asv, stored, dirs_exist_ok=True)
        for name in names:
            argv = [arg.format(asv=stored) for arg in RUNS[name]]
            job, _ = make_job(argv + ["--quiet"] * quiet)
            job.params = {k: final if v == staged else v for k, v in job.params.items()}
            shown = [arg.format(asv=final) for arg in RUNS[name]]
            command = shlex.join(["python", "-m", "experiments", *shown])
            _cli.say(f"reference: {command}")
            _io.write_set(job, staging / name, command, replaced=root / name)
        for name, owner in sets.items():
            _io.install(staging / name, root / name, owner)
    except BaseException as exc:
        # after a SetError the sets not swapped in yet stay in staging, as it says
        if not isinstance(exc, _io.SetError):
            shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rmdir()
    report.write(root)
    _cli.say(f"reference: {', '.join(names)} and README.md rewritten in {root}")
    return 0


def add_arguments(p) -> None:
    """Add the options of reference to ``p``."""
    add = p.add_argument
    add("--only", nargs="+", choices=list(RUNS), metavar="SET", help="these sets")
    add("--asv", type=_cli.out_dir, metavar="DIR", help="asv results to add first")
    add("--root", type=_cli.out_dir, default=_io.RESULTS_DIR, help="reference root")
