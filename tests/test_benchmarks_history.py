"""``python -m experiments history``: reading asv results, reducing, plotting.

Built on a small fake asv results folder in asv's own format (version 2), so no
benchmark runs here.
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

from experiments import history  # noqa: E402

COLUMNS = ["result", "params", "version", "started_at", "duration"]
LLOYD = "iteration.LloydIteration.time_fit"
DIGITS = "fit.DigitsFit.time_fit"


def _write_results(root: Path, commits, values, version="v1", bench_version="v1"):
    """A fake results/asv: Lloyd over impl x k, Digits over impl."""
    machine = root / "m"
    machine.mkdir(parents=True, exist_ok=True)
    (machine / "machine.json").write_text(json.dumps({"machine": "m", "version": 1}))
    benchmarks = {
        LLOYD: {"version": bench_version, "param_names": ["impl", "k"]},
        DIGITS: {"version": bench_version, "param_names": ["impl"]},
        "version": 2,
    }
    (root / "benchmarks.json").write_text(json.dumps(benchmarks))
    for i, commit in enumerate(commits):
        nb, sk = values[i]
        doc = {
            "commit_hash": commit,
            "env_name": "existing-py",
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
        (machine / f"{commit[:8]}-existing-py.json").write_text(json.dumps(doc))


def test_product_is_asv_order():
    assert history._product([["a", "b"], [1, 2]]) == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("b", 2),
    ]
    assert history._product([]) == [()]


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
    rows, _ = history.load_points(tmp_path, "m")
    series = history.key_series(rows, commits)
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


def test_stored_results_by_commit(tmp_path):
    _write_results(tmp_path, ["a" * 40, "b" * 40], [(1.0, 2.0), (1.0, 2.0)])
    stored = history.stored_results(tmp_path, "m")
    assert sorted(stored) == ["a" * 40, "b" * 40]
    assert history.stored_results(tmp_path, "nope") == {}


def test_list_commits_starts_where_the_library_landed():
    try:
        subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
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
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    dest = history.export_package(head, tmp_path / "src")
    assert (dest / "nbkm" / "__init__.py").is_file()
    assert not (dest / "benchmarks").exists()


def test_plot_only_end_to_end(tmp_path):
    head = history.list_commits("HEAD")[-2:]
    commits = [c["commit"] for c in head]
    _write_results(tmp_path / "asv", commits, [(1.0, 2.0), (0.5, 2.0)][: len(commits)])
    out = tmp_path / "out"
    code = history.main(
        [
            "--plot-only",
            "--branch",
            "HEAD",
            "--machine",
            "m",
            "--results",
            str(tmp_path / "asv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert (out / "history.png").stat().st_size > 10_000
    record = json.loads((out / "history.json").read_text())
    assert record["experiment"] == "history"
    assert [c["commit"] for c in record["commits"]] == commits
    assert record["newest_commit"] == commits[-1]
    assert LLOYD in record["ratios_newest_commit"]


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
        busy = history.busy_cpus(seconds=1.5)
    finally:
        spin.wait()
    assert busy is not None
    assert busy >= 0.5  # one spinning process keeps about one CPU busy
