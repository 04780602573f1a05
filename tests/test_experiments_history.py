"""``python -m experiments history``: reading asv results, reducing, plotting.

Built on a small fake asv results folder in asv's own format (version 2), read
through asv's API as the committed history is, so no benchmark runs here.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from experiments import _io, _timing, history  # noqa: E402
from experiments.__main__ import main as cli  # noqa: E402

COLUMNS = ["result", "params", "version", "started_at", "duration"]
LLOYD = "iteration.LloydIteration.time_fit"
DIGITS = "fit.DigitsFit.time_fit"
TIME = {"type": "time", "unit": "seconds"}


def _write_results(root: Path, commits, values, version="v1", bench_version="v1"):
    """A fake results/asv: Lloyd over impl x k, Digits over impl."""
    machine = root / "m"
    machine.mkdir(parents=True, exist_ok=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "m", "version": 1}))
    benchmarks = {
        LLOYD: {"version": bench_version, "param_names": ["impl", "k"], **TIME},
        DIGITS: {"version": bench_version, "param_names": ["impl"], **TIME},
        "version": 2,
    }
    (root / "benchmarks.json").write_text(json.dumps(benchmarks))
    for i, commit in enumerate(commits):
        nb, sk = values[i]
        doc = {
            "commit_hash": commit,
            "env_name": "existing-py3.11",
            "python": "3.11",
            "params": {"machine": "m", "python": "3.11"},
            "requirements": {},
            "date": 1000 * i,
            "result_columns": COLUMNS,
            "results": {
                # asv order: the last axis varies fastest
                LLOYD: [
                    [nb, 2 * nb, sk, 2 * sk],
                    [["'nbkm'", "'sklearn'"], ["10", "100"]],
                    version,
                    10 + i,
                    1.0,
                ],
                DIGITS: [[nb, None], [["'nbkm'", "'sklearn'"]], version, 10 + i, 1.0],
            },
            "version": 2,
        }
        (machine / f"{commit[:8]}-existing-py3.11.json").write_text(json.dumps(doc))


def test_load_points_and_ratios(tmp_path):
    commits = ["a" * 40, "b" * 40]
    _write_results(tmp_path, commits, [(1.0, 2.0), (0.5, 2.0)])
    rows, info = history.load_points(tmp_path, "m")
    assert info["stale"] == 0
    lloyd = {
        (r["commit"][0], r["params"]["impl"], r["params"]["k"]): r["value"]
        for r in rows
        if r["benchmark"] == LLOYD
    }
    assert lloyd[("a", "nbkm", 100)] == 2.0
    assert lloyd[("a", "sklearn", 10)] == 2.0
    assert lloyd[("b", "sklearn", 100)] == 4.0
    digits = [r for r in rows if r["benchmark"] == DIGITS and r["commit"][0] == "a"]
    assert {r["params"]["impl"]: r["value"] for r in digits} == {
        "nbkm": 1.0,
        "sklearn": None,
    }
    r = history.ratios(rows, "b" * 40)
    assert r[LLOYD]["geomean"] == pytest.approx(0.25)
    assert r[LLOYD]["combinations"] == {"k=10": 0.25, "k=100": 0.25}
    assert DIGITS not in r  # sklearn failed: no ratio


def test_key_series_geomean_per_iteration(tmp_path):
    commits = ["a" * 40, "b" * 40]
    _write_results(tmp_path, commits, [(1.0, 2.0), (0.5, 2.0)])
    rows, info = history.load_points(tmp_path, "m")
    keys = history.key_benchmarks(info["benchmarks"])
    assert [k["name"] for k in keys] == [LLOYD, DIGITS]
    assert [k["unit"] for k in keys] == ["ms per iteration", "ms"]
    series = history.key_series(rows, commits, keys)
    lloyd = {
        (s["position"], s["impl"]): s["value"]
        for s in series
        if s["title"].startswith("Lloyd: geometric")
    }
    scale = 1e3 / history.MAX_ITER
    assert lloyd[(0, "nbkm")] == pytest.approx(math.sqrt(1.0 * 2.0) * scale)
    assert lloyd[(1, "sklearn")] == pytest.approx(math.sqrt(2.0 * 4.0) * scale)
    digits = [s for s in series if s["title"].startswith("Digits")]
    assert {s["impl"] for s in digits} == {"nbkm"}  # the failed side is left out


def test_stale_versions_are_left_out(tmp_path):
    _write_results(tmp_path, ["a" * 40], [(1.0, 2.0)], version="old")
    rows, info = history.load_points(tmp_path, "m")
    assert rows == []
    assert info["stale"] == 2


def test_list_commits_starts_where_the_library_landed():
    commits = history.list_commits("HEAD")
    assert commits, "no commits"
    first = commits[0]["commit"]
    files = subprocess.run(
        ["git", "ls-tree", "--name-only", first, "nbkm/"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "nbkm/__init__.py" in files
    assert all(len(c["short"]) == 8 for c in commits)


def test_export_package(tmp_path):
    head = _io.git("rev-parse", "HEAD").strip()
    dest = history.export_package(head, tmp_path / "src")
    assert (dest / "nbkm" / "__init__.py").is_file()
    assert not (dest / "benchmarks").exists()


def test_history_end_to_end(tmp_path):
    head = history.list_commits("HEAD")[-2:]
    commits = [c["commit"] for c in head]
    _write_results(tmp_path / "asv", commits, [(1.0, 2.0), (0.5, 2.0)][: len(commits)])
    out = tmp_path / "history"
    argv = ["--branch", "HEAD", "--machine", "m", "--results", str(tmp_path / "asv")]
    assert cli(["history", *argv, "--out", str(out), "--quiet"]) == 0
    assert (out / "history.png").stat().st_size > 10_000
    record = _io.read_record(out / "history.json")
    results = record["results"]
    assert [c["commit"] for c in results["commits"]] == commits
    assert results["newest_commit"] == commits[-1]
    assert LLOYD in results["ratios_newest_commit"]


def test_the_committed_history_loads_with_a_stable_environment_name():
    asv = _io.RESULTS_DIR / "asv"
    names = [p.name for p in _io.listed_files(asv / "vm")]
    results = [n for n in names if n != "machine.json"]
    assert len(results) >= 32
    assert all(n.endswith(f"-{history.stable_env_name()}.json") for n in results)
    assert all(str(_io.REPO_ROOT) not in (asv / "vm" / n).read_text() for n in names)
    rows, info = history.load_points(asv, "vm")
    assert info["stale"] == 0  # recorded with the suite's current benchmark code
    assert len({row["commit"] for row in rows}) == len(results)
    newest = _io.read_record(_io.RESULTS_DIR / "history" / "history.json")
    newest = newest["results"]["newest_commit"]
    assert LLOYD in history.ratios(rows, newest)


def test_normalise_result_renames_the_environment():
    doc = {
        "env_name": "existing-py_home_x_.venv_bin_python",
        "python": "/home/x/py",
        "params": {"machine": "m", "python": "/home/x/py"},
        "results": {},
    }
    out = history.normalise_result(doc, "existing-py3.11")
    assert out["env_name"] == "existing-py3.11"
    assert out["python"] == out["params"]["python"] == "3.11"
    assert out["params"]["machine"] == "m"


def test_normalise_result_stores_nan_as_null_for_strict_json():
    doc = {
        "env_name": "e",
        "params": {"machine": "m"},
        "results": {"wholefit.Pruning.track": {"result": [0.5, float("nan")]}},
    }
    out = history.normalise_result(doc, "existing-py3.11")
    assert out["results"]["wholefit.Pruning.track"]["result"] == [0.5, None]
    json.dumps(out, allow_nan=False)  # raises on any NaN left


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_busy_cpus_sees_another_busy_process():
    """The pre-run check measures other work, which the load average cannot."""
    spin = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nt = time.time()\nwhile time.time() - t < 4: pass",
        ]
    )
    try:
        busy = _timing.load_probe(seconds=1.5)["busy_cpus"]
    finally:
        spin.wait()
    assert busy is not None
    assert busy >= 0.5  # one spinning process keeps about one CPU busy


def test_plot_without_key_benchmarks(tmp_path):
    """A results folder holding none of the key benchmarks still gives a figure."""
    assert history.plot_history([], [], tmp_path / "h.png") == "h.png"
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
