"""Run the asv suite over main's commits and draw the nbkm/sklearn timing history.

Stored asv results live in ``--results`` (default ``runs/asv``, git-ignored,
started as a copy of the committed ``results/asv``). ``--run`` benchmarks each
commit of the branch since the library landed (or the last ``--commits N``) that
has no result there yet: its ``nbkm/`` is exported with ``git archive`` (the
working tree is never touched) and the *current* ``benchmarks/`` suite runs
against it in this environment (``asv run --python=same --set-commit-hash``),
stored under a checkout-independent environment name.

Then every stored result is read through asv's API into the set ``history``:
``history.png`` (a panel per key benchmark, nbkm and sklearn on each) and
``history.json`` (the plotted series, the nbkm/sklearn ratio of every benchmark
at the newest commit, each run's duration and machine load). Results of older
benchmark code (another asv ``version``) are left out; ``--force`` reruns. A
commit takes a full suite run, about 5 minutes on a quiet 2-core machine; run it
on a quiet one, since with 2 threads any other process stalls every parallel
region (more than ``BUSY_CPUS`` CPUs busy before a run prints a warning).
To make the runs part of the committed reference:
``python -m experiments reference --asv runs/asv``.
"""

from __future__ import annotations

import ast
import io
import itertools
import json
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

F64 = {"dtype": "float64"}
K100 = {"k": 100, **F64}
#: The key benchmarks drawn, found in asv's ``benchmarks.json`` by
#: ``Class.method``: title, and the parameters selected (the others are reduced by
#: a geometric mean). Name, unit and scale come from asv (:func:`key_benchmarks`).
KEYS = [
    ("LloydIteration.time_fit", "Lloyd: geometric mean over the grid", {}),
    ("ElkanIteration.time_fit", "Elkan: geometric mean over the grid", {}),
    ("LloydIterationLarge.time_fit", "Lloyd: 1e6 x 64, k=10, float64", F64),
    ("DigitsFit.time_fit", "Digits fit, n_init=10", {}),
    (
        "KMeansPlusPlus.time_kmeans_plusplus",
        "k-means++: 1e5 x 16, k=100, float64",
        K100,
    ),
    ("Predict.time_predict", "predict: 1e5 x 64, k=100, float64", K100),
    ("PeakMemoryFit.peakmem_fit", "Peak memory: fit 1e6 x 16, k=100", {}),
    ("Compile.track_compile_cold", "Cold start: empty Numba cache", {}),
    ("Compile.track_first_fit_warm", "First fit, fresh process, warm cache", {}),
]


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

    Each: ``title``, ``name`` (asv's, ``module.Class.method``), ``select``, ``scale``
    and ``unit``.
    """
    keys = []
    for pattern, title, select in KEYS:
        for name in [n for n in benchmarks if n.endswith("." + pattern)][:1]:
            unit, scale = _unit(name, benchmarks[name])
            keys.append(
                dict(title=title, name=name, select=select, scale=scale, unit=unit)
            )
    return keys


def list_commits(branch: str = "main", repo: Path = _io.REPO_ROOT) -> list[dict]:
    """Return the first-parent commits of ``branch`` since ``nbkm/__init__.py`` landed.

    Oldest first: ``commit``, ``short`` (8 characters), ``date``, ``subject``.
    """
    log = _io.git(*FIRST_PARENT, "--format=%H%x09%cI%x09%s", branch, repo=repo)
    if log is None:
        raise _cli.UsageError(f"history: git cannot list branch {branch!r}")
    commits = [
        dict(commit=commit, short=commit[:8], date=date, subject=subject)
        for commit, date, subject in (line.split("\t", 2) for line in log.splitlines())
    ]
    added = ("--diff-filter=A", "--format=%H", branch, "--", "nbkm/__init__.py")
    landed = (_io.git(*FIRST_PARENT, *added, repo=repo) or "").split()[:1]
    hashes = [c["commit"] for c in commits]
    if landed and landed[0] in hashes:
        commits = commits[hashes.index(landed[0]) :]
    return commits


def export_package(commit: str, dest: Path, repo: Path = _io.REPO_ROOT) -> Path:
    """Write the ``nbkm/`` package of ``commit`` under ``dest`` (``git archive``)."""
    cmd = ["git", "archive", "--format=tar", commit, "nbkm"]
    tar = subprocess.run(cmd, cwd=repo, capture_output=True, check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest


def stable_env_name() -> str:
    """Asv environment name of the results, independent of the checkout path.

    (``asv run --python=same`` names it after the interpreter's absolute path.)
    """
    return f"existing-py{sys.version_info.major}.{sys.version_info.minor}"


def normalise_result(doc: dict, env_name: str) -> dict:
    """Return asv result document ``doc`` with its environment named ``env_name``.

    asv's NaN (no statistics, as a ``track_`` benchmark's spread) becomes ``null``,
    which asv reads the same way and strict JSON allows.
    """
    python = env_name.removeprefix("existing-py")
    text = json.dumps(doc)
    doc = json.loads(text, parse_constant=lambda c: None if c == "NaN" else float(c))
    params = dict(doc["params"], python=python)
    return dict(doc, env_name=env_name, python=python, params=params)


def _asv(tmp: Path, results: Path, html: Path | None = None) -> list[str]:
    """Return the asv command of a throw-away config beside a copy of the suite."""
    suite = tmp / "suite" / "benchmarks"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(_io.REPO_ROOT / "benchmarks", suite, ignore=ignore)
    conf = {"version": 1, "project": "nbkm", "repo": str(_io.REPO_ROOT)}
    conf |= {"branches": ["main"], "dvcs": "git", "environment_type": "virtualenv"}
    conf |= {"benchmark_dir": str(suite), "env_dir": str(tmp / "env")}
    conf |= {"results_dir": str(results.resolve())}
    conf |= {"html_dir": str((html or tmp / "html").resolve())}
    conf["launch_method"] = "forkserver"
    path = tmp / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2), encoding="utf-8")
    return [sys.executable, "-m", "asv", "--config", str(path)]


def publish(results: Path, html: Path) -> Path:
    """Build asv's web pages of the stored results (``asv publish``) into ``html``."""
    with tempfile.TemporaryDirectory(prefix="nbkm-publish-") as name:
        asv = _asv(Path(name), results, html)
        subprocess.run([*asv, "publish"], check=True, cwd=name)
    return html


def run_commit(commit: str, machine: str, results: Path, bench=None, quiet=False):
    """Run the suite against one commit; return the result files stored in ``results``.

    Raises ``RuntimeError`` when asv fails for another reason than failing benchmarks.
    """
    with tempfile.TemporaryDirectory(prefix="nbkm-history-") as name:
        tmp = Path(name)
        dropped = ("NBKM_BENCH_SMOKE", "NUMBA_CACHE_DIR", "PYTHONPATH")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["ASV_PYTHONPATH"] = str(export_package(commit, tmp / "src"))
        asv = _asv(tmp, tmp / "results")
        shown = {"env": env, "cwd": tmp}
        log = tmp / "asv.log"
        with open(log, "w", encoding="utf-8") as fh:
            sink = dict(shown, stdout=fh, stderr=subprocess.STDOUT)
            machine_cmd = [*asv, "machine", "--yes", "--machine", machine]
            subprocess.run(machine_cmd, check=True, **sink)
            cmd = [*asv, "run", "--python=same", "--show-stderr", "--machine", machine]
            cmd += ["--set-commit-hash", commit]
            cmd += [arg for regex in bench or [] for arg in ("--bench", regex)]
            rc = subprocess.run(cmd, **(sink if quiet else shown)).returncode
        if rc not in (0, 2):  # 2: some benchmarks failed (null results)
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"asv run failed ({rc}) for {commit}\n{tail}")
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


def load_points(results: Path, machine: str) -> tuple[list[dict], dict]:
    """Read every stored result of ``machine`` through ``asv.results``.

    Returns ``rows``, one per value (the newest per commit, benchmark and
    parameters): ``commit``, ``benchmark``, ``params`` (dict), ``value`` (None for
    a failure); and ``info``: ``stale`` (results of another benchmark ``version``,
    left out), ``machine`` (asv's description), ``benchmarks`` (``benchmarks.json``).
    """
    from asv import results as asv_results
    from asv import util

    described = results / machine / "machine.json"
    if not described.exists():
        return [], {"stale": 0, "machine": None, "benchmarks": {}}
    bench = results / "benchmarks.json"
    benchmarks = util.load_json(bench, api_version=2) if bench.exists() else {}
    benchmarks.pop("version", None)
    info = {"stale": 0, "machine": _io.read_json(described), "benchmarks": benchmarks}
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
        params, value = dict(row["params"]), row["value"]
        impl = params.pop("impl", None)
        selected = all(params.get(k) == v for k, v in select.items())
        if row["benchmark"] == name and impl in IMPLS and value and selected:
            combos = table.setdefault(row["commit"], {})
            combos.setdefault(json.dumps(params, sort_keys=True), {})[impl] = value
    return table


def key_series(rows: list[dict], order: list[str], keys: list[dict]) -> list[dict]:
    """Reduce the rows to the key benchmarks: one value per panel, commit and impl.

    The geometric mean runs over the parameter combinations both implementations
    have (so the two stay comparable); where one side failed, the other is shown
    alone. ``order``: the commits plotted, oldest first.
    """
    from scipy.stats import gmean

    position = {c: i for i, c in enumerate(order)}
    series = []
    for key in keys:
        for commit, combos in _by_commit(rows, key["name"], key["select"]).items():
            if commit not in position:
                continue
            both = [c for c in combos.values() if len(c) == len(IMPLS)]
            for impl in IMPLS:
                values = [c[impl] for c in both or combos.values() if impl in c]
                if values:
                    point = {"title": key["title"], "unit": key["unit"]}
                    point |= {"commit": commit, "position": position[commit]}
                    point |= {"impl": impl, "combinations": len(values)}
                    point["value"] = float(gmean(values)) * key["scale"]
                    series.append(point)
    return series


def ratios(rows: list[dict], commit: str) -> dict:
    """nbkm/sklearn ratio of every benchmark at ``commit``.

    Benchmark name to ``geomean``, ``max`` and ``combinations`` (label -> ratio,
    the label joining the parameters other than ``impl``).
    """
    from scipy.stats import gmean

    out = {}
    for name in sorted({row["benchmark"] for row in rows}):
        pairs = {}
        for params, v in _by_commit(rows, name, {}).get(commit, {}).items():
            if len(v) == 2:
                label = " ".join(f"{k}={x}" for k, x in json.loads(params).items())
                pairs[label or "-"] = v["nbkm"] / v["sklearn"]
        if pairs:
            r = list(pairs.values())
            out[name] = dict(geomean=float(gmean(r)), max=max(r), combinations=pairs)
    return out


def plot_history(series: list[dict], commits: list[dict], path: Path) -> str:
    """One facet per key benchmark, nbkm and sklearn as two lines on each."""
    import pandas as pd

    from experiments._plots import plt, save_figure, sns, sparse_ticks

    frame = pd.DataFrame(series, columns=["title", "position", "value", "impl"])
    if frame.empty:  # seaborn cannot facet nothing
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.text(0.5, 0.5, "no results of the key benchmarks", ha="center")
        ax.set_axis_off()
        return save_figure(fig, path)
    units = {s["title"]: s["unit"] for s in series}
    lines = {"hue": "impl", "style": "impl", "hue_order": list(IMPLS)}
    lines |= {"kind": "line", "markers": True, "dashes": False, "palette": "colorblind"}
    facets = {"col": "title", "col_order": list(units), "col_wrap": 3, "height": 3.4}
    facets |= {"aspect": 1.5, "facet_kws": {"sharey": False, "sharex": True}}
    grid = sns.relplot(data=frame, x="position", y="value", **lines, **facets)
    labels = [c["short"][:7] for c in commits]
    for title, ax in grid.axes_dict.items():
        part = frame[frame["title"] == title]
        newest = part[part["position"] == part["position"].max()]
        v = dict(zip(newest["impl"], newest["value"], strict=True))
        ax.set(ylabel=units[title], xlabel="commit (oldest to newest)", ylim=(0, None))
        if len(v) == 2:
            title += f"\nnewest: nbkm/sklearn = {v['nbkm'] / v['sklearn']:.2f}"
        ax.set_title(title, fontsize=10)
        sparse_ticks(ax, labels)
    grid.figure.suptitle(
        "nbkm vs scikit-learn across commits (asv, same machine, same threads)", y=1.02
    )
    plt.setp(grid.axes, xlim=(-0.5, max(len(labels) - 0.5, 0.5)))
    return save_figure(grid.figure, path)


def _prepare(args: SimpleNamespace) -> tuple[list[dict], list[dict]]:
    """Select the commits (all, ``--commits N``, ``--commit REV``) and those to run."""
    from asv.results import iter_results_for_machine

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
    stored = set()
    if (args.results / args.machine / "machine.json").exists():
        found = iter_results_for_machine(str(args.results), args.machine)
        stored = {r.commit_hash for r in found}
    return commits, [c for c in commits if args.force or c["commit"] not in stored]


def _run_all(args: SimpleNamespace, todo: list[dict]) -> tuple[dict, list[str]]:
    """Benchmark each commit of ``todo``; return the run log and the failures."""
    log, failed = {}, []
    for i, c in enumerate(todo, 1):
        _cli.say(f"[{i}/{len(todo)}] {c['short']} {c['subject']}")
        probe = _timing.load_probe(seconds=2.0)
        if (probe["busy_cpus"] or 0.0) > BUSY_CPUS:
            warning = f"other processes keep {probe['busy_cpus']} CPUs busy; with "
            warning += f"{N_THREADS} threads per benchmark these timings will be noisy"
            print(f"history: warning: {warning}", file=sys.stderr)
        run = {"started_utc": _io.utc_now(), "loadavg_before": probe["loadavg"]}
        run |= {"busy_cpus_before": probe["busy_cpus"], "machine": args.machine}
        run |= {"bench": args.bench, "ok": True}
        start = time.perf_counter()
        try:
            run_commit(c["commit"], args.machine, args.results, args.bench, args.quiet)
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"history: {c['short']}: {exc}", file=sys.stderr)
            failed.append(c["short"])
            run["ok"] = False
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
    """Benchmark the missing commits (with ``--run``), then draw the history in ``out``.

    The log of earlier runs (``runs``: each commit's duration and machine load)
    comes from ``replaced``, the set this one replaces, else the committed one.
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

    ``--list`` prints the commits and exits here. A ``--publish`` folder is checked
    before any work: it may only be missing, empty, or pages published here before.
    """
    args = SimpleNamespace(**options)
    if list_only:
        commits, todo = _prepare(args)
        for c in commits:
            mark = "missing" if c in todo else "stored"
            _cli.say(f"{c['short']}  {mark:<7}  {c['date'][:10]}  {c['subject']}")
        raise SystemExit(0)
    if args.publish is not None:
        _cli.check_set_dir(args.publish, PUBLISH_OWNER, "--publish")
    params = dict(branch=args.branch, machine=args.machine, run=args.benchmark)
    params |= dict(
        results=_cli.shown(args.results), bench=args.bench, max_iter=MAX_ITER
    )
    return _io.Job(
        experiment="history",
        set_name="history",
        params=params,
        run=lambda folder, replaced: run(args, folder, replaced),
        validate=validate,
        summary=section,
        exit_code=lambda results: 1 if results["failed_commits"] else 0,
    )


def validate(record: dict, where: str) -> dict:
    """Check the header and the keys of a history record; return it."""
    required = ("commits", "series", "ratios_newest_commit", "runs")
    return _io.validate(record, where, required, "history")
