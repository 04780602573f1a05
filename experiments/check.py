"""Rerun digits with the committed settings and compare with results/digits/.

For every ``digits*.json`` under ``<results>/digits`` (default ``results/``),
the digits experiment is rerun with the parameters stored in the file (one
timing repeat, no figures, nothing written) and compared with it:

* Same library versions (python, numpy, scipy, scikit-learn, numba, nbkm)
  and the same nbkm source (``nbkm_source_sha256``) as recorded: **exact**.
  For every n_init setting, implementation and seed, the labels, ``n_iter``,
  accuracy, Hungarian accuracy, ARI and NMI must be equal, inertia equal to a
  relative 1e-6 (the t-SNE embedding is float32, and its inertia moves in the
  last bits between processes while every label stays the same), and the counts
  of the agreement study equal.
* Different versions or nbkm source: exact equality is not expected
  (tie-breaking at exact ties follows floating-point rounding, see
  ``experiments.agreement``). The differences are listed, and the check passes
  when the mean accuracy of each setting and implementation is within
  ``--atol`` (default 0.01) of the committed one. ``--strict`` demands the
  exact comparison anyway.
* For the raw digits run with ``n_init=10`` on all samples, the fresh mean
  accuracy of both implementations must also lie in the tutorial's band
  [0.78, 0.81].

Timings are never compared. The exit status is 0 when everything passes, 1 on
a mismatch, 2 when there is nothing to check.
"""

from __future__ import annotations

from pathlib import Path

from experiments import _cli
from experiments._io import SCHEMA_VERSION, read_json

VERSION_KEYS = (
    "python",
    "numpy",
    "scipy",
    "sklearn",
    "numba",
    "nbkm",
    "nbkm_source_sha256",
)
EXACT_KEYS = ("labels", "n_iter", "accuracy", "hungarian_accuracy", "ari", "nmi")
AGREEMENT_KEYS = ("labels_equal", "n_iter_equal")
TUTORIAL_BAND = (0.78, 0.81)


def version_differences(recorded: dict, current: dict) -> dict:
    """Library versions that differ between two environments.

    Parameters
    ----------
    recorded, current : dict
        ``environment`` blocks.

    Returns
    -------
    diffs : dict
        ``{name: [recorded, current]}`` for each differing version.
    """
    return {
        k: [recorded.get(k), current.get(k)]
        for k in VERSION_KEYS
        if recorded.get(k) != current.get(k)
    }


def compare_exact(committed: dict, fresh: dict) -> list[str]:
    """List every exact mismatch between two digits records.

    Parameters
    ----------
    committed, fresh : dict
        Digits records (``runs`` and ``agreement``).

    Returns
    -------
    problems : list of str
        Empty when labels, n_iter, scores and agreement counts are all equal
        and inertias agree to a relative 1e-6.
    """
    problems = []
    if set(committed["runs"]) != set(fresh["runs"]):
        return [
            f"settings differ: {sorted(committed['runs'])} vs {sorted(fresh['runs'])}"
        ]
    for key, run in committed["runs"].items():
        for impl in ("nbkm", "sklearn"):
            old_rows = run[impl]["per_seed"]
            new_rows = fresh["runs"][key][impl]["per_seed"]
            if [r["seed"] for r in old_rows] != [r["seed"] for r in new_rows]:
                problems.append(f"{key} {impl}: seeds differ")
                continue
            for old, new in zip(old_rows, new_rows, strict=True):
                where = f"{key} {impl} seed {old['seed']}"
                for field in EXACT_KEYS:
                    if old[field] != new[field]:
                        shown = (
                            "differ"
                            if field == "labels"
                            else f"{old[field]!r} != {new[field]!r}"
                        )
                        problems.append(f"{where}: {field} {shown}")
                rel = abs(old["inertia"] - new["inertia"]) / max(
                    abs(old["inertia"]), 1e-300
                )
                if rel > 1e-6:
                    problems.append(f"{where}: inertia relative difference {rel:.2e}")
    old_ag, new_ag = committed.get("agreement"), fresh.get("agreement")
    if (old_ag is None) != (new_ag is None):
        problems.append("agreement study present in only one record")
    elif old_ag is not None:
        for pair in (
            "nbkm_vs_sklearn_lloyd",
            "sklearn_lloyd_vs_elkan",
            "jittered_nbkm_vs_sklearn_lloyd",
        ):
            for field in AGREEMENT_KEYS:
                if old_ag[pair][field] != new_ag[pair][field]:
                    problems.append(
                        f"agreement {pair} {field}: {old_ag[pair][field]} != "
                        f"{new_ag[pair][field]}"
                    )
        for field in ("init_indices_equal", "runs_with_ties"):
            if old_ag[field] != new_ag[field]:
                problems.append(
                    f"agreement {field}: {old_ag[field]} != {new_ag[field]}"
                )
    return problems


def compare_tolerant(committed: dict, fresh: dict, atol: float) -> list[str]:
    """List mean accuracies that moved by more than ``atol``.

    Parameters
    ----------
    committed, fresh : dict
        Digits records.
    atol : float
        Allowed absolute difference of mean accuracy.

    Returns
    -------
    problems : list of str
        One entry per setting and implementation out of tolerance.
    """
    problems = []
    for key, run in committed["runs"].items():
        if key not in fresh["runs"]:
            problems.append(f"{key}: missing from the fresh run")
            continue
        for impl in ("nbkm", "sklearn"):
            old = run[impl]["metrics"]["accuracy"]["mean"]
            new = fresh["runs"][key][impl]["metrics"]["accuracy"]["mean"]
            if abs(old - new) > atol:
                problems.append(
                    f"{key} {impl}: mean accuracy {new:.4f} vs committed {old:.4f} "
                    f"(atol {atol})"
                )
    return problems


def tutorial_band(fresh: dict) -> list[str]:
    """Check the tutorial's accuracy band on a raw, full digits run.

    Parameters
    ----------
    fresh : dict
        Digits record.

    Returns
    -------
    problems : list of str
        Empty when not applicable (embedding, subsample, no ``n_init=10``) or
        when both implementations' mean accuracy lies in :data:`TUTORIAL_BAND`.
    """
    params = fresh["params"]
    if (
        params.get("embed")
        or params.get("n_samples")
        or "n_init=10" not in fresh["runs"]
    ):
        return []
    lo, hi = TUTORIAL_BAND
    problems = []
    for impl in ("nbkm", "sklearn"):
        mean = fresh["runs"]["n_init=10"][impl]["metrics"]["accuracy"]["mean"]
        if not lo <= mean <= hi:
            problems.append(
                f"n_init=10 {impl}: mean accuracy {mean:.4f} outside [{lo}, {hi}]"
            )
    return problems


def check_file(path: Path, strict: bool, atol: float, quiet: bool) -> bool:
    """Rerun one committed digits record and report the comparison.

    Parameters
    ----------
    path : pathlib.Path
        Committed ``digits*.json``.
    strict : bool
        Exact comparison even when versions differ.
    atol : float
        Tolerance on mean accuracy when versions differ.
    quiet : bool
        No progress lines.

    Returns
    -------
    ok : bool
        Whether the check passed.
    """
    from experiments.digits import build_record

    committed = read_json(path)
    if committed.get("schema_version") != SCHEMA_VERSION:
        _cli.say(
            f"check {path.name}: schema_version {committed.get('schema_version')} "
            f"!= {SCHEMA_VERSION}: FAIL"
        )
        return False
    params = dict(committed["params"], repeats=1)
    _cli.say(f"check {path.name}: rerunning digits with the committed settings")
    fresh = build_record(params, out=None, quiet=quiet)
    diffs = version_differences(committed["environment"], fresh["environment"])
    exact = strict or not diffs
    problems = compare_exact(committed, fresh)
    if "nbkm_source_sha256" in diffs:
        _cli.say(
            "  note: nbkm's source differs from the one that made these results "
            f"(commit {str((committed.get('git') or {}).get('commit'))[:10]}); "
            "regenerate results/ (see results/README.md) to compare exactly"
        )
    for key in ("n_threads", "cpu", "threading_layer"):
        old, new = committed["environment"].get(key), fresh["environment"].get(key)
        if old != new:
            _cli.say(f"  note: {key} was {old!r}, now {new!r}")
    if exact:
        mode = "exact (same versions)" if not diffs else "exact (--strict)"
        failures = problems
    else:
        mode = f"tolerant (versions differ: {diffs}); atol {atol} on mean accuracy"
        failures = compare_tolerant(committed, fresh, atol)
        for p in problems:
            _cli.say(f"  differs (allowed across versions): {p}")
    failures = failures + tutorial_band(fresh)
    _cli.say(f"  comparison: {mode}")
    for key, run in fresh["runs"].items():
        for impl in ("nbkm", "sklearn"):
            m = run[impl]["metrics"]["accuracy"]
            old = committed["runs"].get(key, {}).get(impl, {})
            old_mean = old.get("metrics", {}).get("accuracy", {}).get("mean")
            shown = "missing" if old_mean is None else f"{old_mean:.4f}"
            _cli.say(
                f"  {key:<12} {impl:<8} accuracy mean {m['mean']:.4f} "
                f"(committed {shown})"
            )
    for f in failures:
        _cli.say(f"  MISMATCH: {f}")
    _cli.say(f"  {path.name}: {'FAIL' if failures else 'OK'}")
    return not failures


def main(argv: list[str] | None = None) -> int:
    """Run the check from the command line.

    Parameters
    ----------
    argv : list of str or None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 pass, 1 mismatch, 2 nothing to check.
    """
    p = _cli.parser(
        "check",
        __doc__,
        out_default=_cli.RESULTS_DIR,
        out_help="results root holding digits/ (default: results)",
    )
    p.add_argument(
        "--strict", action="store_true", help="exact even when versions differ"
    )
    p.add_argument(
        "--atol",
        type=float,
        default=0.01,
        help="mean-accuracy tolerance across versions (default 0.01)",
    )
    p.add_argument(
        "--files", nargs="+", type=Path, help="records to check (default: all)"
    )
    args = p.parse_args(argv)
    files = args.files or sorted((args.out / "digits").glob("digits*.json"))
    if not files:
        _cli.say(f"check: no digits*.json under {args.out / 'digits'}")
        return 2
    ok = [check_file(f, args.strict, args.atol, args.quiet) for f in files]
    _cli.say(
        f"check: {'passed' if all(ok) else 'FAILED'} ({sum(ok)}/{len(ok)} records)"
    )
    return 0 if all(ok) else 1
