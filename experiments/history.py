"""Run the asv suite over main's commits and draw the nbkm/sklearn timing history.

The stored asv results live in ``--results`` (default ``runs/asv``, git-ignored,
started as a copy of the committed ``results/asv``). With ``--run``, for each
commit of the branch since the library landed (or the last ``--commits N``)
that has no result there yet, the command exports that commit's ``nbkm/`` with
``git archive`` into a temporary directory (the working tree is never touched),
runs the *current* suite of ``benchmarks/`` against it in the current
environment (``asv run --python=same --set-commit-hash <commit>``, with
``ASV_PYTHONPATH`` pointing at the export), and stores asv's result file under a
checkout-independent environment name (:func:`stable_env_name`).

Then it reads every stored result through asv's own API (``asv.results``) and
writes the result set ``history``: ``history.png`` (one panel per key benchmark,
nbkm and sklearn on each) and ``history.json`` (the plotted series, the
nbkm/sklearn ratio of every benchmark at the newest commit, and each run's
duration and machine load). Results recorded with older benchmark code (another
asv ``version``) are left out; ``--force`` reruns. A commit takes a full suite
run, about 5 minutes on a quiet 2-core machine; run it on a quiet machine, since
with 2 threads any other process stalls every parallel region (more than
``BUSY_CPUS`` CPUs busy before a run prints a warning). To make the runs part of
the committed reference: ``python -m experiments reference --asv runs/asv``.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from benchmarks.workloads import MAX_ITER, N_THREADS
from experiments import _cli, _io, _timing
from experiments._timing import IMPLS

#: Default folder of the stored asv results (asv's own layout below it).
ASV_RUNS = _io.RUNS_DIR / "asv"
#: The committed asv results, the starting point of ``ASV_RUNS``.
ASV_REFERENCE = _io.RESULTS_DIR / "asv"
#: Owner of the asv web pages (``--publish``) in their marker.
PUBLISH_OWNER = "asv publish"
#: CPUs busy with other work, measured just before a run, above which it warns.
BUSY_CPUS = 0.25
FIRST_PARENT = ("log", "--first-parent", "--reverse")


#: The key benchmarks drawn, found in asv's ``benchmarks.json`` by
#: ``Class.method``: title, and the parameters selected (the others are reduced by
#: a geometric mean). Name, unit and scale come from asv (:func:`key_benchmarks`).
KEYS = [
    ("LloydIteration.time_fit", "Lloyd: geometric mean over the grid", {}),
    ("ElkanIteration.time_fit", "Elkan: geometric mean over the grid", {}),
    ("LloydIterationLarge.time_fit", "Lloyd: 1e6 x 64, k=10, float64",
     {"dtype": "float64"}),
    ("DigitsFit.time_fit", "Digits fit, n_init=10", {}),
    ("KMeansPlusPlus.time_kmeans_plusplus", "k-means++: 1e5 x 16, k=100, float64",
     {"k": 100, "dtype": "float64"}),
    ("Predict.time_predict", "predict: 1e5 x 64, k=100, float64",
     {"k": 100, "dtype": "float64"}),
    ("PeakMemoryFit.peakmem_fit", "Peak memory: fit 1e6 x 16, k=100", {}),
    ("Compile.track_compile_cold", "Cold start: empty Numba cache", {}),
    ("Compile.track_first_fit_warm", "First fit, fresh process, warm cache", {}),
]  # fmt: skip


def _unit(name: str, meta: dict) -> tuple[str, float]:
    """Return the unit and scale of asv's value (``iteration`` ones: per iteration)."""
    if meta.get("type") == "peakmemory":
        return "MiB (whole process)", 2.0**-20
    if meta.get("type") != "time":
        return "s", 1.0  # track_ benchmarks in seconds
    if name.startswith("iteration."):  # fixed workloads of MAX_ITER iterations
        return "ms per iteration", 1e3 / MAX_ITER
    return "ms", 1e3


def key_benchmarks(benchmarks: dict) -> list[dict]:
    """Resolve :data:`KEYS` in asv's benchmark list; those it lacks are left out.

    Each key: ``title``, ``name`` (asv's ``module.Class.method``), ``select``,
    ``scale`` and ``unit``.
    """
    keys = []
    for pattern, title, select in KEYS:
        for name in [n for n in benchmarks if n.endswith("." + pattern)][:1]:
            unit, scale = _unit(name, benchmarks[name])
            keys.append(
                dict(title=title, name=name, select=select, scale=scale, unit=unit)
            )
    return keys


# ------------------------------------------------------------------- commits


def list_commits(branch: str = "main", repo: Path = _io.REPO_ROOT) -> list[dict]:
    """Return the first-parent commits of ``branch`` since ``nbkm/__init__.py`` landed.

    Oldest first, each with ``commit`` (full hash), ``short`` (8 characters),
    ``date`` and ``subject``.
    """
    log = _io.git(*FIRST_PARENT, "--format=%H%x09%cI%x09%s", branch, repo=repo)
    if log is None:
        raise _cli.UsageError(f"history: git cannot list branch {branch!r}")
    commits = []
    for line in log.splitlines():
        commit, date, subject = line.split("\t", 2)
        commits.append(
            dict(commit=commit, short=commit[:8], date=date, subject=subject)
        )
    added = ("--diff-filter=A", "--format=%H", branch, "--", "nbkm/__init__.py")
    landed = (_io.git(*FIRST_PARENT, *added, repo=repo) or "").split()[:1]
    hashes = [c["commit"] for c in commits]
    if landed and landed[0] in hashes:
        commits = commits[hashes.index(landed[0]) :]
    return commits


def export_package(commit: str, dest: Path, repo: Path = _io.REPO_ROOT) -> Path:
    """Write the ``nbkm/`` package of ``commit`` under ``dest`` (``git archive``)."""
    tar = subprocess.run(
        ["git", "archive", "--format=tar", commit, "nbkm"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest


# ----------------------------------------------------------------------- asv


def stable_env_name() -> str:
    """Asv environment name of the results, independent of the checkout path.

    ``asv run --python=same`` names the environment after the interpreter's
    absolute path; the stored results are renamed to ``existing-py<X.Y>``.
    """
    return f"existing-py{sys.version_info.major}.{sys.version_info.minor}"


def _nan_to_null(value):
    """``value`` with every float NaN, at any depth, replaced by ``None``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list):
        return [_nan_to_null(v) for v in value]
    if isinstance(value, dict):
        return {k: _nan_to_null(v) for k, v in value.items()}
    return value


def normalise_result(doc: dict, env_name: str) -> dict:
    """Return asv result document ``doc`` with its environment named ``env_name``.

    asv writes NaN where a parameter combination has no statistics (a ``track_``
    benchmark's spread, say); the stored copy says ``null`` there, which asv
    reads the same way and strict JSON allows.
    """
    python = env_name.removeprefix("existing-py")
    doc = _nan_to_null(doc)
    params = dict(doc["params"], python=python)
    return dict(doc, env_name=env_name, python=python, params=params)


def _asv_config(tmp: Path, results: Path, html: Path | None = None) -> Path:
    """Write a throw-away asv.conf.json next to a copy of the suite."""
    suite = tmp / "suite" / "benchmarks"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(_io.REPO_ROOT / "benchmarks", suite, ignore=ignore)
    conf = {
        "version": 1,
        "project": "nbkm",
        "repo": str(_io.REPO_ROOT),
        "branches": ["main"],
        "dvcs": "git",
        "environment_type": "virtualenv",
        "benchmark_dir": str(suite),
        "env_dir": str(tmp / "env"),
        "results_dir": str(results.resolve()),
        "html_dir": str((html or tmp / "html").resolve()),
        "launch_method": "forkserver",
    }
    path = tmp / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2), encoding="utf-8")
    return path


def publish(results: Path, html: Path) -> Path:
    """Build asv's web pages of the stored results (``asv publish``) into ``html``."""
    with tempfile.TemporaryDirectory(prefix="nbkm-publish-") as name:
        conf = _asv_config(Path(name), results, html)
        cmd = [sys.executable, "-m", "asv", "--config", str(conf), "publish"]
        subprocess.run(cmd, check=True, cwd=name)
    return html


def run_commit(commit: str, machine: str, results: Path, bench=None, quiet=False):
    """Run the suite against one commit; store asv's result under ``results``.

    Returns the result files written (named after :func:`stable_env_name`);
    raises ``RuntimeError`` when asv fails for another reason than failing
    benchmarks.
    """
    with tempfile.TemporaryDirectory(prefix="nbkm-history-") as name:
        tmp = Path(name)
        dropped = ("NBKM_BENCH_SMOKE", "NUMBA_CACHE_DIR", "PYTHONPATH")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["ASV_PYTHONPATH"] = str(export_package(commit, tmp / "src"))
        conf = _asv_config(tmp, tmp / "results")
        asv = [sys.executable, "-m", "asv", "--config", str(conf)]
        log = tmp / "asv.log"
        with open(log, "w", encoding="utf-8") as fh:
            sink = {"stdout": fh, "stderr": subprocess.STDOUT, "env": env, "cwd": tmp}
            machine_cmd = [*asv, "machine", "--yes", "--machine", machine]
            subprocess.run(machine_cmd, check=True, **sink)
            cmd = [*asv, "run", "--python=same", "--show-stderr", "--machine", machine]
            cmd += ["--set-commit-hash", commit]
            cmd += [arg for regex in bench or [] for arg in ("--bench", regex)]
            shown = {"env": env, "cwd": tmp} if not quiet else sink
            rc = subprocess.run(cmd, **shown)
        if rc.returncode not in (0, 2):  # 2: some benchmarks failed (null results)
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"asv run failed ({rc.returncode}) for {commit}\n{tail}")
        return _store(tmp / "results", results, machine, commit)


def _store(source: Path, results: Path, machine: str, commit: str) -> list[Path]:
    """Copy asv's files for ``commit`` into ``results``, renaming the environment."""
    out = results / machine
    stored = []
    for path in _io.listed_files(source / machine, f"{commit[:8]}-*.json"):
        doc = normalise_result(_io.read_json(path), stable_env_name())
        stored.append(_io.write_json(out / f"{commit[:8]}-{doc['env_name']}.json", doc))
    for name in ("machine.json", "../benchmarks.json"):
        if (source / machine / name).exists():
            shutil.copyfile(source / machine / name, out / name)
    if not stored:
        raise RuntimeError(f"asv wrote no result for {commit}")
    return stored


# ---------------------------------------------------------------------- read


def load_points(results: Path, machine: str) -> tuple[list[dict], dict]:
    """Read every stored result of ``machine`` through ``asv.results``.

    Returns
    -------
    rows : list of dict
        One per value: ``commit``, ``benchmark``, ``params`` (dict), ``value``
        (None for a failure); the newest per commit, benchmark and parameters.
    info : dict
        ``stale`` (results of another benchmark ``version``, left out),
        ``machine`` (asv's description) and ``benchmarks`` (``benchmarks.json``).
    """
    from asv import results as asv_results
    from asv import util

    info = {"stale": 0, "machine": None, "benchmarks": {}}
    if not (results / machine / "machine.json").exists():
        return [], info
    info["machine"] = _io.read_json(results / machine / "machine.json")
    bench_file = results / "benchmarks.json"
    benchmarks = {}
    if bench_file.exists():
        benchmarks = util.load_json(bench_file, api_version=2)
    benchmarks.pop("version", None)
    info["benchmarks"] = benchmarks
    latest = {}
    for res in asv_results.iter_results_for_machine(str(results), machine):
        current = res.get_result_keys(benchmarks)
        info["stale"] += len(set(res.get_all_result_keys()) & set(benchmarks) - current)
        for name in current:
            grid = res.get_result_params(name)
            values = res.get_result_value(name, grid)
            combos = itertools.product(*[map(_value, axis) for axis in grid])
            for combo, value in zip(combos, values if grid else [values], strict=True):
                params = dict(zip(benchmarks[name]["param_names"], combo, strict=True))
                key = (res.commit_hash, name, json.dumps(params, sort_keys=True))
                started = res.started_at.get(name) or 0
                if key not in latest or started >= latest[key][0]:
                    value = None if value is None else float(value)
                    row = {"commit": res.commit_hash, "benchmark": name}
                    latest[key] = (started, dict(row, params=params, value=value))
    return [row for _, row in latest.values()], info


def _value(text: str):
    """Turn asv's repr of a parameter value back into the value."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _by_commit(rows, name, select):
    """Return ``{commit: {other params: {impl: value}}}`` of one benchmark."""
    table = {}
    for row in rows:
        params = dict(row["params"])
        impl = params.pop("impl", None)
        if (
            row["benchmark"] != name
            or impl not in IMPLS
            or not row["value"]
            or any(params.get(k) != v for k, v in select.items())
        ):
            continue
        combos = table.setdefault(row["commit"], {})
        combos.setdefault(json.dumps(params, sort_keys=True), {})[impl] = row["value"]
    return table


def key_series(rows: list[dict], order: list[str], keys: list[dict]) -> list[dict]:
    """Reduce the rows to the key benchmarks: one value per panel, commit and impl.

    The geometric mean runs over the parameter combinations both implementations
    have (so the two stay comparable); where one side failed, the other is shown
    alone. Each point: ``title``, ``unit``, ``commit``, ``position``, ``impl``,
    ``value`` and ``combinations``.
    """
    from scipy.stats import gmean

    position = {c: i for i, c in enumerate(order)}
    series = []
    for key in keys:
        table = _by_commit(rows, key["name"], key["select"])
        for commit, combos in table.items():
            if commit not in position:
                continue
            both = [c for c in combos.values() if len(c) == len(IMPLS)]
            for impl in IMPLS:
                values = [c[impl] for c in both or combos.values() if impl in c]
                if values:
                    point = {"title": key["title"], "unit": key["unit"]}
                    point |= {"commit": commit, "position": position[commit]}
                    point |= {"impl": impl, "combinations": len(values)}
                    series.append(
                        point | {"value": float(gmean(values)) * key["scale"]}
                    )
    return series


def ratios(rows: list[dict], commit: str) -> dict:
    """nbkm/sklearn ratio of every benchmark at ``commit``.

    Benchmark name to ``geomean``, ``max`` and ``combinations`` (label -> ratio,
    the label joining the parameters other than ``impl``).
    """
    from scipy.stats import gmean

    out = {}
    for name in sorted({row["benchmark"] for row in rows}):
        combos = _by_commit(rows, name, {}).get(commit, {})
        pairs = {
            " ".join(f"{k}={v}" for k, v in json.loads(label).items()) or "-": v["nbkm"]
            / v["sklearn"]
            for label, v in combos.items()
            if len(v) == 2
        }
        if pairs:
            out[name] = {
                "geomean": float(gmean(list(pairs.values()))),
                "max": max(pairs.values()),
                "combinations": pairs,
            }
    return out


# ---------------------------------------------------------------------- plot


def plot_history(series: list[dict], commits: list[dict], path: Path) -> str:
    """One facet per key benchmark, nbkm and sklearn as two lines on each."""
    import pandas as pd

    from experiments._plots import plt, save_figure, sns, sparse_ticks

    titles = list(dict.fromkeys(s["title"] for s in series))
    frame = pd.DataFrame(series, columns=["title", "position", "value", "impl"])
    if frame.empty:  # seaborn cannot facet nothing
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "no results of the key benchmarks", ha="center")
        ax.set_axis_off()
        return save_figure(fig, path)
    lines = {"hue": "impl", "style": "impl", "hue_order": list(IMPLS)}
    lines |= {"kind": "line", "markers": True, "dashes": False, "palette": "colorblind"}
    facets = {"col": "title", "col_order": titles, "col_wrap": 3, "height": 3.4}
    facets |= {"aspect": 1.5, "facet_kws": {"sharey": False, "sharex": True}}
    grid = sns.relplot(data=frame, x="position", y="value", **lines, **facets)
    units = {s["title"]: s["unit"] for s in series}
    labels = [c["short"][:7] for c in commits]
    for title, ax in grid.axes_dict.items():
        part = frame[frame["title"] == title]
        newest = part[part["position"] == part["position"].max()]
        value = dict(zip(newest["impl"], newest["value"], strict=True))
        if len(value) == 2:
            title += f"\nnewest: nbkm/sklearn = {value['nbkm'] / value['sklearn']:.2f}"
        ax.set_title(title, fontsize=10)
        ax.set(ylabel=units[title.split("\n")[0]], xlabel="commit (oldest to newest)")
        ax.set_ylim(bottom=0)
        sparse_ticks(ax, labels)
    grid.figure.suptitle(
        "nbkm vs scikit-learn across commits (asv, same machine, same threads)", y=1.02
    )
    plt.setp(grid.axes, xlim=(-0.5, max(len(labels) - 0.5, 0.5)))
    return save_figure(grid.figure, path)


# ---------------------------------------------------------------------- main


def _prepare(args: SimpleNamespace) -> tuple[list[dict], list[dict]]:
    """Select the commits (all, ``--commits N``, ``--commit REV``) and those to run."""
    commits = list_commits(args.branch)
    if args.commits is not None:
        commits = commits[-args.commits :]
    if args.commit:
        wanted = {
            (_io.git("rev-parse", f"{r}^{{commit}}") or r).strip() for r in args.commit
        }
        commits = [c for c in commits if c["commit"] in wanted]
        if len(commits) != len(wanted):
            raise _cli.UsageError(
                f"history: not all of {args.commit} are on {args.branch}"
            )
    if not args.results.exists() and args.results == ASV_RUNS:
        shutil.copytree(ASV_REFERENCE, args.results)  # start from the reference
    from asv.results import iter_results_for_machine

    stored = set()
    if (args.results / args.machine / "machine.json").exists():
        stored = {
            r.commit_hash
            for r in iter_results_for_machine(str(args.results), args.machine)
        }
    return commits, [c for c in commits if args.force or c["commit"] not in stored]


def _run_all(args: SimpleNamespace, todo: list[dict]) -> tuple[dict, list[str]]:
    """Benchmark each commit of ``todo``; return the run log and the failures."""
    log, failed = {}, []
    for i, c in enumerate(todo, 1):
        _cli.say(f"[{i}/{len(todo)}] {c['short']} {c['subject']}")
        probe = _timing.load_probe(seconds=2.0)
        if (probe["busy_cpus"] or 0.0) > BUSY_CPUS:
            print(
                f"history: warning: other processes keep {probe['busy_cpus']} CPUs "
                f"busy; with {N_THREADS} threads per benchmark these timings will "
                "be noisy",
                file=sys.stderr,
            )
        run = {"started_utc": _io.utc_now(), "loadavg_before": probe["loadavg"]}
        run |= {"busy_cpus_before": probe["busy_cpus"], "machine": args.machine}
        run["bench"] = args.bench
        start = time.perf_counter()
        try:
            run_commit(c["commit"], args.machine, args.results, args.bench, args.quiet)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"history: {c['short']}: {exc}", file=sys.stderr)
            failed.append(c["short"])
        run["ok"] = c["short"] not in failed
        run["seconds"] = round(time.perf_counter() - start, 1)
        run["loadavg_after"] = _timing.load_probe()["loadavg"]
        log[c["commit"]] = run
    return log, failed


def _previous_runs(out: Path) -> dict:
    """Return the run log of the last history record (this set, else the reference)."""
    for path in (out / "history.json", _io.RESULTS_DIR / "history" / "history.json"):
        if path.is_file():
            return _io.read_record(path)["results"].get("runs", {})
    return {}


def run(args: SimpleNamespace, out: Path, replaced: Path) -> tuple[dict, dict]:
    """Benchmark the missing commits (with ``--run``), then draw the history.

    The log of earlier runs comes from ``replaced``, the set this one replaces
    (else the committed one); the figure is drawn into ``out``. ``results``: the
    commits plotted, missing and failed, the key benchmarks' series, the ratios
    at the newest commit and ``runs`` (each commit's run: duration, machine load).
    """
    commits, todo = _prepare(args)
    runs, failed = _previous_runs(replaced), []
    if args.benchmark:
        _cli.say(
            f"{len(todo)} of {len(commits)} commits to run on machine "
            f"{args.machine!r}; results go to {args.results}"
        )
        log, failed = _run_all(args, todo)
        runs.update(log)
    rows, info = load_points(args.results, args.machine)
    keys = key_benchmarks(info["benchmarks"])
    done = {row["commit"] for row in rows}
    plotted = [c for c in commits if c["commit"] in done]
    newest = plotted[-1]["commit"] if plotted else None
    if args.publish is not None:  # asv empties its folder: ours, staged and swapped
        with _io.result_set(args.publish, PUBLISH_OWNER) as html:
            publish(args.results, html)
        _cli.say(f"history: asv web pages -> {args.publish}")
    results = {
        "asv_machine": info["machine"],
        "n_threads": N_THREADS,
        "commits": plotted,
        "missing_commits": [c["short"] for c in commits if c["commit"] not in done],
        "failed_commits": failed,
        "stale_results_left_out": info["stale"],
        "key_benchmarks": keys,
        "series": key_series(rows, [c["commit"] for c in plotted], keys),
        "newest_commit": newest,
        "ratios_newest_commit": ratios(rows, newest) if newest else {},
        "runs": runs,
    }
    figure = plot_history(results["series"], plotted, out / "history.png")
    return results, {"history": figure}


def section(record: dict) -> list[str]:
    """Markdown of the history record: what is drawn, and the newest ratios."""
    r = record["results"]
    lines = [
        "## Timing history",
        "",
        f"asv results of {len(r['commits'])} commits of main on machine "
        f"`{record['params']['machine']}` ({r['n_threads']} threads for both "
        f"implementations), read from `{record['params']['results']}/`; "
        f"{r['stale_results_left_out']} results of older benchmark code left out. "
        "One panel per key benchmark; below, nbkm/sklearn at the newest commit "
        f"({(r['newest_commit'] or 'none')[:8]}; below 1: nbkm faster or smaller).",
        "",
        "| benchmark | geometric mean | worst |",
        "|---|---|---|",
        *(
            f"| `{name}` | {v['geomean']:.3f} | {v['max']:.3f} |"
            for name, v in r["ratios_newest_commit"].items()
        ),
    ]
    if r["failed_commits"]:
        lines += ["", f"Failed commits: {' '.join(r['failed_commits'])}."]
    return lines


def add_arguments(p) -> None:
    """Add the options of history to ``p``."""
    add = p.add_argument
    add(
        "--run", dest="benchmark", action="store_true", help="benchmark missing commits"
    )
    add("--commits", type=_cli.int_in(1), metavar="N", help="only the last N commits")
    add("--branch", default="main", help="branch to walk (default: main)")
    add("--commit", action="append", metavar="REV", help="only this commit")
    add("--machine", default=platform.node() or "unknown", help="asv machine name")
    add("--results", type=_cli.out_dir, default=ASV_RUNS, help="stored asv results")
    add("--bench", action="append", metavar="REGEX", help="asv --bench")
    add("--force", action="store_true", help="with --run: rerun stored commits")
    add(
        "--publish",
        type=_cli.out_dir,
        nargs="?",
        metavar="HTML_DIR",
        const=_io.REPO_ROOT / ".asv" / "html",
        help="asv's web pages (.asv/html): new, empty, or pages published before",
    )
    add(
        "--list",
        dest="list_only",
        action="store_true",
        help="list commits: stored or not",
    )


def job(*, list_only: bool, **options) -> _io.Job:
    """Return the run of history with these options (see :func:`add_arguments`).

    ``--list`` prints the commits and exits here. A ``--publish`` folder is
    checked here, before any work: it may only be missing, empty, or pages
    published here before.
    """
    args = SimpleNamespace(**options)
    if list_only:
        commits, todo = _prepare(args)
        missing = {c["commit"] for c in todo}
        for c in commits:
            mark = "missing" if c["commit"] in missing else "stored"
            _cli.say(f"{c['short']}  {mark:<7}  {c['date'][:10]}  {c['subject']}")
        raise SystemExit(0)
    if args.publish is not None:
        _cli.check_set_dir(args.publish, PUBLISH_OWNER, "--publish")
    params = {
        "branch": args.branch,
        "machine": args.machine,
        "run": args.benchmark,
        "results": _cli.shown(args.results),
        "bench": args.bench,
        "max_iter": MAX_ITER,
    }
    return _io.Job(
        experiment="history",
        set_name="history",
        params=params,
        run=lambda folder, replaced: run(args, folder, replaced),
        validate=validate,
        summary=section,
        exit_code=exit_code,
    )


def exit_code(results: dict) -> int:
    """Return 1 when a commit could not be benchmarked."""
    return 1 if results["failed_commits"] else 0


def validate(record: dict, where: str) -> dict:
    """Check the header and the keys of a history record; return it."""
    required = ("commits", "series", "ratios_newest_commit", "runs")
    return _io.validate(record, where, required, "history")
