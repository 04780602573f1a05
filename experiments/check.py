"""Rerun digits with the reference's settings and compare with the reference.

Every digits record of the committed reference (``results/digits/`` and
``results/digits_tsne/``, or ``--reference DIR``) is validated before the first
rerun, then rerun with the parameters it stores (one timing repeat, nothing
written) and compared with it, after a line naming the commit and nbkm source that
made it and whether the nbkm that runs now is the same. Timings are never compared.

* Same library versions and nbkm source: **exact**. For every estimator (KMeans,
  MiniBatchKMeans), n_init setting, implementation and seed, labels, ``n_iter``
  (and MiniBatchKMeans's ``n_steps``) and the scores must be equal, inertia equal
  to a relative 1e-6, and the agreement counts equal.
* Other versions or nbkm source: labels may differ at exact distance ties (see
  ``experiments/_agreement.py``); the differences are listed and the check passes
  when each mean accuracy is within ``--atol`` of the reference. ``--strict``
  demands the exact comparison anyway.
* The raw digits run with ``n_init=10`` on all samples must also have a mean
  accuracy in the tutorial's band [0.78, 0.81] (KMeans).
* A reference made before digits ran MiniBatchKMeans (no ``minibatch`` in its
  results) is compared on KMeans, then fails with a line saying how to regenerate it.

Exit status 0 when everything passes, 1 on a mismatch or a malformed record (say
one with fewer seeds than its parameters list), 2 when there is no reference.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from experiments import _cli, _io, _timing, digits
from experiments._agreement import PAIRS
from experiments._timing import IMPLS

VERSION_KEYS = ("python", "numpy", "scipy", "sklearn", "numba", "nbkm")
EXACT_KEYS = ("labels", "n_iter", "accuracy", "hungarian_accuracy", "ari", "nmi")
#: The estimators of a digits record: part of ``results`` -> (name in messages,
#: keys compared exactly beyond :data:`EXACT_KEYS`).
PARTS = {"runs": ("", ()), "minibatch": ("MiniBatchKMeans ", ("n_steps",))}
REGENERATE = "python -m experiments reference --only digits digits_tsne"
AGREEMENT_COUNTS = ("init_indices_equal", "runs_with_ties")
TUTORIAL_BAND = (0.78, 0.81)


def differences(reference: dict, fresh: dict) -> dict:
    """Versions and nbkm source that differ: ``{name: [reference, now]}``."""
    pairs = {
        k: [r["environment"].get(k) for r in (reference, fresh)] for k in VERSION_KEYS
    }
    pairs["nbkm_source_sha256"] = [r["nbkm_source_sha256"] for r in (reference, fresh)]
    return {k: v for k, v in pairs.items() if v[0] != v[1]}


def missing_parts(reference: dict) -> list[str]:
    """Name the estimators an older digits ``results`` body lacks (not compared)."""
    return [
        f"the reference has no {name.strip()} results (made before digits ran it); "
        f"regenerate it: {REGENERATE}"
        for part, (name, _) in PARTS.items()
        if part not in reference
    ]


def compare_exact(reference: dict, fresh: dict) -> list[str]:
    """List every exact mismatch between two digits ``results`` bodies."""
    problems = []
    for part, (name, extra) in PARTS.items():
        if part in reference:
            problems += _compare_runs(reference[part], fresh.get(part, {}), name, extra)
    old_ag, new_ag = (_agreement_counts(r["agreement"]) for r in (reference, fresh))
    if (old_ag is None) != (new_ag is None):
        return problems + ["agreement study present in only one record"]
    return problems + [
        f"agreement {name}: {old_ag[name]} != {new_ag[name]}"
        for name in old_ag or {}
        if old_ag[name] != new_ag[name]
    ]


def _compare_runs(old_runs: dict, new_runs: dict, name: str, extra) -> list[str]:
    """Exact mismatches of one estimator's runs; ``name`` starts each message."""
    if set(old_runs) != set(new_runs):
        return [f"{name}settings differ: {sorted(old_runs)} vs {sorted(new_runs)}"]
    problems = []
    for key, impl in itertools.product(old_runs, IMPLS):
        seeds = [runs[key][impl]["per_seed"] for runs in (old_runs, new_runs)]
        if len(seeds[0]) != len(seeds[1]):  # a pass needs every seed compared
            counts = " vs ".join(str(len(rows)) for rows in seeds)
            problems.append(f"{name}{key} {impl}: {counts} seeds")
            continue
        for old, new in zip(*seeds, strict=True):
            where = f"{name}{key} {impl} seed {old['seed']}"
            for f in ("seed", *EXACT_KEYS, *extra):
                if old[f] != new[f]:
                    shown = "differ" if f == "labels" else f"{old[f]!r} != {new[f]!r}"
                    problems.append(f"{where}: {f} {shown}")
            rel = abs(old["inertia"] - new["inertia"]) / abs(old["inertia"])
            if rel > 1e-6:
                problems.append(f"{where}: inertia relative difference {rel:.2e}")
    return problems


def _agreement_counts(agreement: dict | None) -> dict | None:
    if agreement is None:
        return None
    fields = ("labels_equal", "n_iter_equal")
    counts = {f"{p} {f}": agreement[p][f] for p in PAIRS for f in fields}
    return counts | {name: agreement[name] for name in AGREEMENT_COUNTS}


def compare_tolerant(reference: dict, fresh: dict, atol: float) -> list[str]:
    """List the mean accuracies that moved by more than ``atol``."""
    problems = []
    for part, (name, _) in PARTS.items():
        for key, impl in itertools.product(reference.get(part, {}), IMPLS):
            old = reference[part][key][impl]["metrics"]["accuracy"]["mean"]
            new = fresh.get(part, {}).get(key, {}).get(impl, {})
            new = new.get("metrics", {}).get("accuracy", {}).get("mean")
            if new is None or abs(old - new) > atol:
                problems.append(f"{name}{key} {impl}: mean accuracy {new} vs {old:.4f}")
    return problems


def tutorial_band(params: dict, fresh: dict) -> list[str]:
    """Check the tutorial's accuracy band on a raw, full, ``n_init=10`` run."""
    run = fresh["runs"].get("n_init=10")
    if params.get("embed") or params.get("n_samples") or run is None:
        return []
    lo, hi = TUTORIAL_BAND
    means = {impl: run[impl]["metrics"]["accuracy"]["mean"] for impl in IMPLS}
    return [
        f"n_init=10 {impl}: mean accuracy {m:.4f} outside [{lo}, {hi}]"
        for impl, m in means.items()
        if not lo <= m <= hi
    ]


def check_record(
    path: Path, reference: dict, strict: bool, atol: float, quiet: bool
) -> bool:
    """Rerun one reference digits record, print the comparison, return whether OK."""
    params = dict(reference["params"], repeats=1)
    git = reference["git"]
    _cli.say(
        f"check {path.parent.name}/{path.name}: reference made at commit "
        f"{(git['commit'] or 'unknown')[:10]}{' (dirty)' if git['dirty'] else ''} "
        f"with nbkm source {reference['nbkm_source_sha256']}"
    )
    results, _ = digits.run(params, None, quiet)
    source = _io.nbkm_source_hash()
    fresh = {"environment": _timing.environment(), "nbkm_source_sha256": source}
    diffs = differences(reference, fresh)
    same = "same" if "nbkm_source_sha256" not in diffs else "differs"
    _cli.say(f"  nbkm source now: {source} ({same})")
    problems = compare_exact(reference["results"], results)
    if strict or not diffs:
        mode, failures = "exact", problems
    else:
        mode = f"tolerant, atol {atol} on mean accuracy (differs: {diffs})"
        failures = compare_tolerant(reference["results"], results, atol)
        for p in problems:
            _cli.say(f"  differs (allowed across versions): {p}")
    failures += tutorial_band(params, results) + missing_parts(reference["results"])
    _cli.say(f"  comparison: {mode}")
    for f in failures:
        _cli.say(f"  MISMATCH: {f}")
    _cli.say(f"  {path.name}: {'FAIL' if failures else 'OK'}")
    return not failures


def command(*, reference: Path, strict: bool, atol: float, quiet: bool) -> int:
    """Check every digits record under ``reference``; see the module docstring."""
    dirs = sorted(reference.glob("digits*"))
    files = [p for d in dirs for p in _io.listed_files(d, "digits*.json")]
    if not files:
        raise _cli.UsageError(f"check: no digits record under {reference}")
    # every record is validated before the first rerun
    records = [digits.validate(_io.read_record(f), str(f)) for f in files]
    pairs = zip(files, records, strict=True)
    ok = [check_record(f, ref, strict, atol, quiet) for f, ref in pairs]
    _cli.say(f"check: {'passed' if all(ok) else 'FAILED'} ({sum(ok)}/{len(ok)})")
    return 0 if all(ok) else 1


def add_arguments(p) -> None:
    """Add the options of check to ``p``."""
    add = p.add_argument
    add("--reference", type=_cli.out_dir, default=_io.RESULTS_DIR, help="root")
    add("--strict", action="store_true", help="exact even when versions differ")
    add("--atol", type=_cli.float_in(0, 1), default=0.01, help="accuracy tolerance")
