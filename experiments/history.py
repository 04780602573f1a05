"""Run the asv suite over main's commits and draw the nbkm/sklearn timing history.

For each commit of the branch (default ``main``) since the library landed, or the
last ``--commits N`` of them, that has no result yet under ``results/asv/<machine>/``,
the command:

1. exports that commit's ``nbkm/`` with ``git archive`` into a temporary directory
   outside the repository (the working tree, its checkout and its branches are never
   touched);
2. runs the *current* suite of ``benchmarks/`` (copied to the same temporary
   directory) against it in the current environment:
   ``asv run --python=same --set-commit-hash <commit>``, with ``ASV_PYTHONPATH``
   pointing at the exported package, through a temporary ``asv.conf.json`` whose
   results go to the temporary directory;
3. copies asv's result file for that commit (plus ``machine.json`` and
   ``benchmarks.json``) into ``results/asv/``, which is committed.

Then, or alone with ``--plot-only``, it reads every stored result and writes
``results/history/history.png`` (one panel per key benchmark, nbkm and sklearn on
each) and ``results/history/history.json`` (the plotted series, and the
nbkm/sklearn ratio of every benchmark at the newest commit).

Nothing is downloaded: the environment is the current one, so only nbkm changes
from one point to the next. A commit takes a full suite run: about 5 minutes on the
quiet 2-core reference machine, about 9 with other jobs running. Each run's
duration, the machine's load average before and after, and the CPUs other
processes kept busy just before it go to ``results/history/runs.json``; more than
``BUSY_CPUS`` busy prints a warning (the load average cannot tell: it still counts
the previous commit's benchmarks for minutes), since
with 2 threads any other process stalls every parallel region (sklearn's OpenMP
fits were measured 70x slower with one other busy process). Results whose
benchmark code changed since they were recorded (another asv ``version``) are left
out of the figure; ``--force`` reruns.
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from experiments._cli import REPO_ROOT, RESULTS_DIR, parser, say
from experiments._io import base_record, read_json, utc_now, write_json

#: Default folder of the committed asv results (asv's own layout below it).
ASV_RESULTS = RESULTS_DIR / "asv"
#: Iterations of every timed fit of ``benchmarks/iteration.py``.
MAX_ITER = 20
#: CPUs kept busy by other processes (measured just before a commit's run) above
#: which the run warns that its timings will be noisy.
BUSY_CPUS = 0.25
#: Implementations, in plotting order.
IMPLS = ("nbkm", "sklearn")

#: The key benchmarks drawn in the figure: asv name, the parameters selected (the
#: others are reduced by a geometric mean over the combinations where both
#: implementations have a value), a scale applied to asv's value and the unit.
KEY_BENCHMARKS = [
    {
        "title": "Lloyd: geometric mean over the grid",
        "name": "iteration.LloydIteration.time_fit",
        "select": {},
        "scale": 1e3 / MAX_ITER,
        "unit": "ms per iteration",
    },
    {
        "title": "Elkan: geometric mean over the grid",
        "name": "iteration.ElkanIteration.time_fit",
        "select": {},
        "scale": 1e3 / MAX_ITER,
        "unit": "ms per iteration",
    },
    {
        "title": "Lloyd: 1e6 x 64, k=10, float64",
        "name": "iteration.LloydIterationLarge.time_fit",
        "select": {"dtype": "float64"},
        "scale": 1e3 / MAX_ITER,
        "unit": "ms per iteration",
    },
    {
        "title": "Digits fit, n_init=10",
        "name": "fit.DigitsFit.time_fit",
        "select": {},
        "scale": 1e3,
        "unit": "ms",
    },
    {
        "title": "k-means++: 1e5 x 16, k=100, float64",
        "name": "predict.KMeansPlusPlus.time_kmeans_plusplus",
        "select": {"k": 100, "dtype": "float64"},
        "scale": 1e3,
        "unit": "ms",
    },
    {
        "title": "predict: 1e5 x 64, k=100, float64",
        "name": "predict.Predict.time_predict",
        "select": {"k": 100, "dtype": "float64"},
        "scale": 1e3,
        "unit": "ms",
    },
    {
        "title": "Peak memory: fit 1e6 x 16, k=100",
        "name": "fit.PeakMemoryFit.peakmem_fit",
        "select": {},
        "scale": 2.0**-20,
        "unit": "MiB (whole process)",
    },
    {
        "title": "Cold start: empty Numba cache",
        "name": "compilation.Compile.track_compile_cold",
        "select": {},
        "scale": 1.0,
        "unit": "s",
    },
    {
        "title": "First fit, fresh process, warm cache",
        "name": "compilation.Compile.track_first_fit_warm",
        "select": {},
        "scale": 1.0,
        "unit": "s",
    },
]


# --------------------------------------------------------------------------- git


def _git(*args: str, repo: Path = REPO_ROOT) -> str:
    out = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return out.stdout


def list_commits(branch: str = "main", repo: Path = REPO_ROOT) -> list[dict]:
    """Return the first-parent commits of ``branch`` since the library landed.

    The library lands with the first commit that adds ``nbkm/__init__.py``.

    Parameters
    ----------
    branch : str, default="main"
        Branch (or any revision) whose history is listed.
    repo : pathlib.Path
        The git repository.

    Returns
    -------
    commits : list of dict
        Oldest first; each with ``commit`` (full hash), ``short`` (8 characters),
        ``date`` (ISO 8601) and ``subject``.
    """
    lines = _git(
        "log",
        "--first-parent",
        "--reverse",
        "--format=%H%x09%cI%x09%s",
        branch,
        repo=repo,
    ).splitlines()
    commits = []
    for line in lines:
        commit, date, subject = line.split("\t", 2)
        commits.append(
            {"commit": commit, "short": commit[:8], "date": date, "subject": subject}
        )
    landed = _git(
        "log",
        "--first-parent",
        "--reverse",
        "--diff-filter=A",
        "--format=%H",
        branch,
        "--",
        "nbkm/__init__.py",
        repo=repo,
    ).split()
    if landed:
        first = [c["commit"] for c in commits].index(landed[0])
        commits = commits[first:]
    return commits


def export_package(commit: str, dest: Path, repo: Path = REPO_ROOT) -> Path:
    """Write the ``nbkm/`` package of ``commit`` under ``dest`` with ``git archive``.

    Parameters
    ----------
    commit : str
        Commit to export.
    dest : pathlib.Path
        Directory to create; the package lands in ``dest / "nbkm"``.
    repo : pathlib.Path
        The git repository.

    Returns
    -------
    dest : pathlib.Path
        The directory to put on the path.
    """
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


# --------------------------------------------------------------------------- asv


def default_machine() -> str:
    """Return asv's default machine name: the host name."""
    return platform.node() or "unknown"


def stored_results(results: Path, machine: str) -> dict[str, list[Path]]:
    """Map each commit hash to its asv result files under ``results/<machine>``.

    Parameters
    ----------
    results : pathlib.Path
        Folder in asv's results layout.
    machine : str
        asv machine name.

    Returns
    -------
    files : dict of str to list of pathlib.Path
        Full commit hash to result files (one per asv environment).
    """
    files: dict[str, list[Path]] = {}
    folder = results / machine
    if not folder.is_dir():
        return files
    for path in sorted(folder.glob("*.json")):
        if path.name == "machine.json":
            continue
        try:
            commit = read_json(path)["commit_hash"]
        except (OSError, ValueError, KeyError):
            continue
        files.setdefault(commit, []).append(path)
    return files


def _asv_config(
    tmp: Path, branch: str, results: Path | None = None, html: Path | None = None
) -> Path:
    """Write a throw-away asv.conf.json whose outputs live in ``tmp`` by default.

    The suite is copied next to it, so that the directory above the benchmarks
    holds no ``nbkm`` package and the run uses the benchmarks as they were when
    it started.
    """
    suite = tmp / "suite" / "benchmarks"
    shutil.copytree(
        REPO_ROOT / "benchmarks", suite, ignore=shutil.ignore_patterns("__pycache__")
    )
    conf = {
        "version": 1,
        "project": "nbkm",
        "repo": str(REPO_ROOT),
        "branches": [branch],
        "dvcs": "git",
        "environment_type": "virtualenv",  # unused: --python=same
        "benchmark_dir": str(suite),
        "env_dir": str(tmp / "env"),
        "results_dir": str((results or tmp / "results").resolve()),
        "html_dir": str((html or tmp / "html").resolve()),
        "launch_method": "forkserver",
    }
    path = tmp / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=2), encoding="utf-8")
    return path


def _check_package_location(src: Path, env: dict, cwd: Path) -> None:
    """Check that asv's way of putting ``src`` first on the path finds its nbkm.

    asv's runner inserts ``ASV_PYTHONPATH`` at the front of ``sys.path``; an
    editable install of the working tree must not win over it.
    """
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.util as u; print(u.find_spec('nbkm').origin)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(src)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(src.resolve()):
        raise RuntimeError(f"nbkm resolves to {out}, not to the exported {src}")


def publish(results: Path, html: Path, branch: str = "main") -> Path:
    """Build asv's web pages of the stored results (``asv publish``) into ``html``.

    Parameters
    ----------
    results : pathlib.Path
        Folder in asv's results layout (``results/asv``); only read.
    html : pathlib.Path
        Output folder (default of the command line: the git-ignored ``.asv/html``).
    branch : str, default="main"
        Branch whose commits order the graphs.

    Returns
    -------
    html : pathlib.Path
        View it with ``asv preview --html-dir`` or any static web server.
    """
    with tempfile.TemporaryDirectory(prefix="nbkm-publish-") as name:
        conf = _asv_config(Path(name), branch, results=results, html=html)
        subprocess.run(
            [sys.executable, "-m", "asv", "--config", str(conf), "publish"],
            check=True,
            cwd=name,
        )
    return html


def _run(cmd: list[str], env: dict, quiet: bool, log: Path) -> int:
    """Run ``cmd``; stream its output, or keep it in ``log`` when quiet."""
    if not quiet:
        return subprocess.run(cmd, env=env, cwd=log.parent).returncode
    with open(log, "w", encoding="utf-8") as fh:
        return subprocess.run(
            cmd, env=env, cwd=log.parent, stdout=fh, stderr=subprocess.STDOUT
        ).returncode


def run_commit(
    commit: str,
    *,
    machine: str,
    results: Path,
    branch: str = "main",
    bench: list[str] | None = None,
    quiet: bool = False,
) -> list[Path]:
    """Run the suite against one commit and store asv's result under ``results``.

    Parameters
    ----------
    commit : str
        Full hash of the commit whose ``nbkm/`` is benchmarked.
    machine : str
        asv machine name (created with ``asv machine --yes`` if new).
    results : pathlib.Path
        Committed asv results folder (``results/asv``).
    branch : str, default="main"
        Branch named in the temporary asv configuration.
    bench : list of str, optional
        asv ``--bench`` regular expressions; the whole suite when None.
    quiet : bool, default=False
        Keep asv's output in a log instead of streaming it.

    Returns
    -------
    copied : list of pathlib.Path
        The result files written under ``results``.

    Raises
    ------
    RuntimeError
        If asv fails for another reason than failing benchmarks.
    """
    with tempfile.TemporaryDirectory(prefix="nbkm-history-") as name:
        tmp = Path(name)
        src = export_package(commit, tmp / "src")
        conf = _asv_config(tmp, branch)
        env = dict(os.environ)
        for var in ("NBKM_BENCH_SMOKE", "NUMBA_CACHE_DIR", "PYTHONPATH"):
            env.pop(var, None)
        env["ASV_PYTHONPATH"] = str(src)
        _check_package_location(src, env, tmp)
        asv = [sys.executable, "-m", "asv", "--config", str(conf)]
        log = tmp / "asv.log"
        rc = _run([*asv, "machine", "--yes", "--machine", machine], env, True, log)
        if rc != 0:
            raise RuntimeError(f"asv machine failed:\n{log.read_text()[-3000:]}")
        cmd = [
            *asv,
            "run",
            "--python=same",
            "--set-commit-hash",
            commit,
            "--machine",
            machine,
            "--show-stderr",
        ]
        for regex in bench or []:
            cmd += ["--bench", regex]
        rc = _run(cmd, env, quiet, log)
        # asv: 0 = all ran, 2 = some benchmarks failed (their results are null).
        if rc not in (0, 2):
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"asv run failed with code {rc} for {commit}\n{tail}")
        out = results / machine
        out.mkdir(parents=True, exist_ok=True)
        copied = []
        for path in sorted((tmp / "results" / machine).glob(f"{commit[:8]}-*.json")):
            shutil.copyfile(path, out / path.name)
            copied.append(out / path.name)
        for path, dest in (
            (tmp / "results" / machine / "machine.json", out / "machine.json"),
            (tmp / "results" / "benchmarks.json", results / "benchmarks.json"),
        ):
            if path.exists():
                shutil.copyfile(path, dest)
        if not copied:
            raise RuntimeError(f"asv wrote no result for {commit}")
        return copied


# --------------------------------------------------------------------------- read


def _value(text):
    """Turn asv's repr of a parameter value back into the value."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def load_points(results: Path, machine: str) -> tuple[list[dict], dict]:
    """Read every stored result into one row per benchmark, parameters and commit.

    Parameters
    ----------
    results : pathlib.Path
        Folder in asv's results layout.
    machine : str
        asv machine name.

    Returns
    -------
    rows : list of dict
        ``commit``, ``benchmark``, ``params`` (dict), ``value`` (float or None for
        a failure) and ``started_at`` (ms since the epoch).
    info : dict
        ``stale``: results left out because their benchmark ``version`` is not
        the current one (from ``results/benchmarks.json``); ``machine``: asv's
        machine description.
    """
    current = {}
    bench_file = results / "benchmarks.json"
    if bench_file.exists():
        current = {
            name: meta
            for name, meta in read_json(bench_file).items()
            if isinstance(meta, dict) and "version" in meta
        }
    machine_file = results / machine / "machine.json"
    info = {
        "stale": 0,
        "machine": read_json(machine_file) if machine_file.exists() else None,
    }
    latest: dict[tuple, dict] = {}
    for commit, paths in stored_results(results, machine).items():
        for path in paths:
            doc = read_json(path)
            columns = doc.get("result_columns", [])
            for name, entry in doc.get("results", {}).items():
                entry = dict(zip(columns, entry, strict=False))
                meta = current.get(name)
                if meta is not None and entry.get("version") != meta["version"]:
                    info["stale"] += 1
                    continue
                values = entry.get("result")
                if values is None:
                    continue
                names = (meta or {}).get("param_names") or [
                    f"param{i + 1}" for i in range(len(entry.get("params", [])))
                ]
                grid = [[_value(v) for v in axis] for axis in entry.get("params", [])]
                combos = _product(grid)
                if not isinstance(values, list):
                    values = [values]
                for combo, value in zip(combos, values, strict=False):
                    row = {
                        "commit": commit,
                        "benchmark": name,
                        "params": dict(zip(names, combo, strict=False)),
                        "value": None if value is None else float(value),
                        "started_at": entry.get("started_at") or 0,
                    }
                    key = (commit, name, json.dumps(row["params"], sort_keys=True))
                    if (
                        key not in latest
                        or row["started_at"] >= latest[key]["started_at"]
                    ):
                        latest[key] = row
    return list(latest.values()), info


def _product(grid):
    """All parameter combinations in asv's order (the last axis varies fastest)."""
    combos = [()]
    for axis in grid:
        combos = [(*c, v) for c in combos for v in axis]
    return combos


def _geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def key_series(rows: list[dict], order: list[str]) -> list[dict]:
    """Reduce the rows to the key benchmarks: one value per panel, commit and impl.

    Parameters
    ----------
    rows : list of dict
        From :func:`load_points`.
    order : list of str
        Commit hashes in plotting order; others are ignored.

    Returns
    -------
    series : list of dict
        ``title``, ``unit``, ``commit``, ``position``, ``impl``, ``value`` and
        ``combinations`` (how many parameter combinations the geometric mean
        covers).
    """
    position = {c: i for i, c in enumerate(order)}
    series = []
    for key in KEY_BENCHMARKS:
        by_commit: dict[str, dict[str, dict[str, float]]] = {}
        for row in rows:
            if row["benchmark"] != key["name"] or row["commit"] not in position:
                continue
            params = dict(row["params"])
            impl = params.pop("impl", None)
            if any(params.get(k) != v for k, v in key["select"].items()):
                continue
            if impl is None or row["value"] is None or row["value"] <= 0:
                continue
            combo = json.dumps(params, sort_keys=True)
            by_commit.setdefault(row["commit"], {}).setdefault(combo, {})[impl] = row[
                "value"
            ]
        for commit, combos in by_commit.items():
            both = [c for c in combos.values() if all(i in c for i in IMPLS)]
            for impl in IMPLS:
                # The geometric mean over combinations both have keeps the two
                # comparable; a commit where one side failed shows that side alone.
                values = [c[impl] for c in both] or [
                    c[impl] for c in combos.values() if impl in c
                ]
                if not values:
                    continue
                series.append(
                    {
                        "title": key["title"],
                        "unit": key["unit"],
                        "commit": commit,
                        "position": position[commit],
                        "impl": impl,
                        "value": _geomean(values) * key["scale"],
                        "combinations": len(values),
                    }
                )
    return series


def ratios(rows: list[dict], commit: str) -> dict:
    """Return nbkm/sklearn ratios of every benchmark at one commit.

    Parameters
    ----------
    rows : list of dict
        From :func:`load_points`.
    commit : str
        Full hash.

    Returns
    -------
    ratios : dict
        Benchmark name to ``{"geomean": float, "combinations": {label: ratio}}``,
        where a label joins the parameters other than ``impl``.
    """
    table: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        if row["commit"] != commit or row["value"] is None:
            continue
        params = dict(row["params"])
        impl = params.pop("impl", None)
        if impl not in IMPLS:
            continue
        label = " ".join(f"{k}={v}" for k, v in params.items()) or "-"
        table.setdefault(row["benchmark"], {}).setdefault(label, {})[impl] = row[
            "value"
        ]
    out = {}
    for name, combos in sorted(table.items()):
        pairs = {
            label: v["nbkm"] / v["sklearn"]
            for label, v in combos.items()
            if v.get("nbkm", 0) > 0 and v.get("sklearn", 0) > 0
        }
        if pairs:
            out[name] = {
                "geomean": _geomean(list(pairs.values())),
                "max": max(pairs.values()),
                "combinations": pairs,
            }
    return out


# --------------------------------------------------------------------------- plot


def plot_history(series: list[dict], commits: list[dict], path: Path) -> Path:
    """Draw one panel per key benchmark, nbkm and sklearn as two lines on each.

    Parameters
    ----------
    series : list of dict
        From :func:`key_series`.
    commits : list of dict
        The commits in plotting order (``short`` labels the x axis).
    path : pathlib.Path
        PNG to write (atomically).

    Returns
    -------
    path : pathlib.Path
    """
    import pandas as pd
    import seaborn as sns

    from experiments._plots import plt, save_figure

    titles = [k["title"] for k in KEY_BENCHMARKS]
    units = {k["title"]: k["unit"] for k in KEY_BENCHMARKS}
    ncols = 3
    nrows = math.ceil(len(titles) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.2 * ncols, 3.4 * nrows), squeeze=False
    )
    frame = pd.DataFrame(series)
    palette = dict(zip(IMPLS, sns.color_palette("colorblind", 2), strict=True))
    ticks = list(range(len(commits)))
    labels = [c["short"][:7] for c in commits]
    handles = None
    for ax, title in zip(axes.flat, titles, strict=False):
        part = frame[frame["title"] == title] if len(frame) else frame
        heading = title
        if len(part):
            sns.lineplot(
                data=part,
                x="position",
                y="value",
                hue="impl",
                style="impl",
                hue_order=list(IMPLS),
                style_order=list(IMPLS),
                palette=palette,
                markers=True,
                dashes=False,
                ax=ax,
            )
            ax.set_ylim(bottom=0)
            newest = part[part["position"] == part["position"].max()]
            by_impl = dict(zip(newest["impl"], newest["value"], strict=True))
            if all(by_impl.get(i, 0) > 0 for i in IMPLS):
                ratio = by_impl["nbkm"] / by_impl["sklearn"]
                heading = f"{title}\nnewest: nbkm/sklearn = {ratio:.2f}"
            legend = ax.get_legend()
            if legend is not None:
                if handles is None:
                    handles = ax.get_legend_handles_labels()
                legend.remove()
        else:
            ax.text(
                0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes
            )
        ax.set_title(heading, fontsize=10)
        ax.set_ylabel(units[title])
        ax.set_xlabel("commit (oldest to newest)")
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        if len(ticks) == 1:
            ax.set_xlim(-0.5, 0.5)
    for ax in list(axes.flat)[len(titles) :]:
        ax.set_visible(False)
    fig.suptitle(
        "nbkm vs scikit-learn across commits (asv, same machine, same threads)",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    if handles is not None:
        fig.legend(*handles, loc="upper right", ncols=2, frameon=False)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- main


def _loadavg() -> list[float] | None:
    """Return the 1, 5 and 15 minute load averages (None where unavailable)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def busy_cpus(seconds: float = 2.0) -> float | None:
    """Return how many CPUs other processes kept busy over the next ``seconds``.

    Read from ``/proc/stat`` while this process sleeps, so, unlike the load
    average (which still counts the previous commit's benchmarks for minutes), it
    measures the other work on the machine now. None where ``/proc/stat`` is
    unavailable.

    Parameters
    ----------
    seconds : float, default=2.0
        Sampling window.

    Returns
    -------
    busy : float or None
        Busy CPU-seconds per second: 0 on an idle machine, up to the CPU count.
    """

    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return 0.0
    n_cpus = os.cpu_count() or 1
    return round(n_cpus * (1 - (idle1 - idle0) / (total1 - total0)), 2)


def _log_run(path: Path, commit: str, run: dict) -> None:
    """Record how a commit's run went (duration, machine load) in ``runs.json``.

    The load average tells how much other work shared the machine: with 2
    threads, any other process stalls every parallel region.
    """
    runs = read_json(path) if path.exists() else {}
    runs[commit] = run
    write_json(path, runs)


def _summarise(args, commits: list[dict], rows: list[dict], info: dict) -> dict:
    done = {r["commit"] for r in rows}
    plotted = [c for c in commits if c["commit"] in done]
    series = key_series(rows, [c["commit"] for c in plotted])
    figure = args.out / "history.png"
    plot_history(series, plotted, figure)
    runs_file = args.out / "runs.json"
    runs = read_json(runs_file) if runs_file.exists() else {}
    newest = plotted[-1]["commit"] if plotted else None
    record = base_record(
        "history",
        {
            "branch": args.branch,
            "machine": args.machine,
            "results": _relative(args.results),
            "bench": args.bench,
            "max_iter": MAX_ITER,
        },
    )
    record.update(
        {
            "asv_machine": info["machine"],
            "n_threads": _n_threads(),
            "commits": plotted,
            "missing_commits": [c["short"] for c in commits if c["commit"] not in done],
            "stale_results_left_out": info["stale"],
            "key_benchmarks": KEY_BENCHMARKS,
            "series": series,
            "newest_commit": newest,
            "ratios_newest_commit": ratios(rows, newest) if newest else {},
            "runs": {c["commit"]: runs.get(c["commit"]) for c in plotted},
            "figures": {"history": figure.name},
        }
    )
    write_json(args.out / "history.json", record)
    return record


def _n_threads() -> int | None:
    """Return the suite's thread count, read from benchmarks/common.py."""
    try:
        text = (REPO_ROOT / "benchmarks" / "common.py").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^N_THREADS = (\d+)", text, flags=re.MULTILINE)
    return int(match.group(1)) if match else None


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _print_ratios(record: dict) -> None:
    newest = record["newest_commit"]
    if not newest:
        return
    say(
        f"nbkm/sklearn at {newest[:8]} ({record['n_threads']} threads each; "
        "< 1 means nbkm is faster or smaller):"
    )
    for name, r in record["ratios_newest_commit"].items():
        say(
            f"  {name:<48} geomean {r['geomean']:6.3f}   worst {r['max']:6.3f}"
            f"   ({len(r['combinations'])} combinations)"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the suite over the missing commits, then redraw the history figure.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments (``sys.argv[1:]`` when None); see ``--help``.

    Returns
    -------
    code : int
        0 on success, 1 when a commit could not be benchmarked.
    """
    p = parser("history", __doc__)
    p.add_argument(
        "--commits",
        type=int,
        default=None,
        metavar="N",
        help="only the last N commits (default: all since the library landed)",
    )
    p.add_argument("--branch", default="main", help="branch to walk (default: main)")
    p.add_argument(
        "--commit",
        action="append",
        default=None,
        metavar="REV",
        help="only this commit of the branch (repeatable; with --force to rerun it)",
    )
    p.add_argument(
        "--machine",
        default=default_machine(),
        help="asv machine name (default: the host name, as asv's)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=ASV_RESULTS,
        help="committed asv results (default: results/asv)",
    )
    p.add_argument(
        "--bench",
        action="append",
        default=None,
        metavar="REGEX",
        help="only benchmarks matching REGEX (asv --bench; repeatable)",
    )
    p.add_argument(
        "--force", action="store_true", help="rerun commits that already have results"
    )
    p.add_argument(
        "--plot-only",
        action="store_true",
        help="run nothing; redraw the figure and JSON from the results",
    )
    p.add_argument(
        "--publish",
        type=Path,
        nargs="?",
        const=REPO_ROOT / ".asv" / "html",
        default=None,
        metavar="HTML_DIR",
        help="also build asv's web pages of the stored results (default folder: "
        ".asv/html; view with `asv preview`)",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the commits and whether they have results, then stop",
    )
    args = p.parse_args(argv)
    if args.commits is not None and args.commits < 1:
        p.error("--commits must be at least 1")

    commits = list_commits(args.branch)
    if args.commits is not None:
        commits = commits[-args.commits :]
    if args.commit:
        try:
            wanted = {_git("rev-parse", f"{r}^{{commit}}").strip() for r in args.commit}
        except subprocess.CalledProcessError:
            p.error(f"--commit: unknown revision in {args.commit}")
        commits = [c for c in commits if c["commit"] in wanted]
        if len(commits) != len(wanted):
            p.error(f"--commit: not all of {args.commit} are on {args.branch}")
    stored = stored_results(args.results, args.machine)
    todo = [c for c in commits if args.force or c["commit"] not in stored]
    if args.list:
        for c in commits:
            mark = "stored" if c["commit"] in stored else "missing"
            say(f"{c['short']}  {mark:<7}  {c['date'][:10]}  {c['subject']}")
        return 0

    failed = []
    if not args.plot_only:
        say(
            f"{len(todo)} of {len(commits)} commits to run on machine "
            f"{args.machine!r}; results go to {_relative(args.results)}"
        )
        for i, c in enumerate(todo, 1):
            say(f"[{i}/{len(todo)}] {c['short']} {c['subject']}")
            run = {
                "started_utc": utc_now(),
                "loadavg_before": _loadavg(),
                "busy_cpus_before": busy_cpus(),
            }
            busy = run["busy_cpus_before"] or 0.0
            if busy > BUSY_CPUS:
                print(
                    f"history: warning: other processes keep {busy:.2f} CPUs busy; "
                    f"with {_n_threads()} threads per benchmark, they stall every "
                    "parallel region and these timings will be noisy",
                    file=sys.stderr,
                )
            start = time.perf_counter()
            try:
                run_commit(
                    c["commit"],
                    machine=args.machine,
                    results=args.results,
                    branch=args.branch,
                    bench=args.bench,
                    quiet=args.quiet,
                )
                run["ok"] = True
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"history: {c['short']}: {exc}", file=sys.stderr)
                failed.append(c["short"])
                run["ok"] = False
            run.update(
                {
                    "seconds": round(time.perf_counter() - start, 1),
                    "loadavg_after": _loadavg(),
                    "machine": args.machine,
                    "bench": args.bench,
                }
            )
            _log_run(args.out / "runs.json", c["commit"], run)

    rows, info = load_points(args.results, args.machine)
    record = _summarise(args, commits, rows, info)
    if args.publish is not None:
        publish(args.results, args.publish, args.branch)
        say(f"history: asv web pages -> {_relative(args.publish)}")
    say(
        f"history: {len(record['commits'])} commits plotted -> "
        f"{_relative(args.out / 'history.png')}"
    )
    if info["stale"]:
        say(
            f"history: {info['stale']} stored results were recorded with older "
            "benchmark code and left out (rerun them with --force)"
        )
    _print_ratios(record)
    if failed:
        print(f"history: failed commits: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
