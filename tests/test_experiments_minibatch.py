"""``compare --minibatch``: MiniBatchKMeans fits of nbkm and scikit-learn, timed."""

import json

import numpy as np
import pytest

from benchmarks import workloads
from experiments import __main__ as cli
from experiments import _io, compare
from experiments import _minibatch as MB

TINY = ["compare", "--minibatch", "--n", "400", "--d", "3", "--k", "4"]
TINY += ["--batch-size", "64", "--dtype", "float64", "--repeats", "2"]
TINY += ["--max-iter", "2", "--seed", "3", "--quiet"]


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "compare_minibatch"
    assert cli.main([*TINY, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        _io.MARKER,
        "compare_minibatch.json",
    ]
    return json.loads((out / "compare_minibatch.json").read_text())


def test_one_cell_end_to_end(record):
    assert record["experiment"] == "compare"
    p, r = record["params"], record["results"]
    assert p["mode"] == r["mode"] == "minibatch" and p["n_threads"] == 2
    assert r["fit_params"] == {
        "max_iter": 2,
        "tol": 0.0,
        "max_no_improvement": None,
        "n_init": 1,
        "random_state": 3,
        "init": "k-means++",
    }
    [row] = r["grid"]
    assert (row["n"], row["d"], row["k"], row["batch_size"]) == (400, 3, 4, 64)
    assert row["label"] == "n=400 d=3 k=4 batch=64 f64"
    expected = workloads.minibatch_n_steps(400, 64, 2)
    assert row["n_steps_expected"] == expected == 12
    for lib in ("nbkm", "sklearn"):
        res = row["impls"][lib]
        assert len(res["seconds"]) == 2 and all(s > 0 for s in res["seconds"])
        assert res["fit_seconds"] == pytest.approx(np.median(res["seconds"]))
        assert res["n_steps"] == [expected, expected]  # no early stop, every repeat
        assert res["n_iter"] == 2 and res["inertia"] > 0
    # the ratio is that of the recorded seconds' medians
    assert row["ratio"] == pytest.approx(
        np.median(row["impls"]["nbkm"]["seconds"])
        / np.median(row["impls"]["sklearn"]["seconds"])
    )
    # the same random_state: the same batches, steps and labels
    assert row["n_steps_equal"] is True
    assert row["labels_equal"] is True and row["n_labels_differ"] == 0
    assert row["mismatches"] == [] and r["mismatches"] == []
    s = r["summary"]
    assert s["geomean_ratio"] == pytest.approx(row["ratio"])
    assert s["worst_cell"] == row["label"] and s["n_cells"] == 1
    assert (s["n_labels_equal"], s["n_steps_equal"]) == (1, 1)
    libraries = r["timings"]["libraries"]
    assert any(lib["user_api"] == "blas" and lib["architecture"] for lib in libraries)


def test_record_validates_and_renders(record):
    compare.validate(record, "compare_minibatch.json")
    text = "\n".join(compare.section(record))
    assert "## Mini-batch k-means against scikit-learn" in text
    row = record["results"]["grid"][0]
    assert f"| {row['label']} |" in text and f"| {row['ratio']:.2f} | yes |" in text
    assert "geometric mean" in text and f"worst cell {row['label']}" in text
    assert "`max_no_improvement=None`" in text and "BLAS: " in text


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r["grid"][0].pop("ratio"),
        lambda r: r["grid"][0]["impls"].pop("sklearn"),
        lambda r: r["grid"][0]["impls"]["nbkm"].update(n_steps=12),
        lambda r: r.pop("fit_params"),
    ],
    ids=["ratio missing", "sklearn missing", "n_steps not a list", "no fit_params"],
)
def test_a_damaged_minibatch_record_is_refused(record, damage):
    damaged = json.loads(json.dumps(record))
    damage(damaged["results"])
    with pytest.raises(_io.RecordError, match="x.json: results"):
        compare.validate(damaged, "x.json")


def test_the_other_modes_still_need_their_keys(record):
    whole = json.loads(json.dumps(record))
    whole["results"]["mode"] = "whole_fit"  # no gemm_peak_gflops nor faiss
    with pytest.raises(_io.RecordError, match="results.gemm_peak_gflops"):
        compare.validate(whole, "x.json")


def test_default_grid_and_workload_come_from_workloads():
    params = cli.parse_job(["compare", "--minibatch"])[0].params
    for key in ("n", "d", "k", "batch_size", "dtype"):
        assert params[key] == workloads.MINIBATCH_GRID[key]
    assert params["max_iter"] == workloads.MINIBATCH_MAX_ITER
    assert params["n_threads"] == workloads.N_THREADS
    assert compare.set_name(params) == "compare_minibatch"
    argv = ["compare", "--minibatch", "--k", "10", "--batch-size", "8192"]
    narrowed = cli.parse_job(argv)[0].params
    assert (narrowed["k"], narrowed["batch_size"]) == ([10], [8192])
    assert len(MB.plan(narrowed)[0]) == 1 * 2 * 1 * 1 * 2  # n, d, k, batch, dtype


def test_plan_skips_cells_over_the_budget_and_the_estimate_grows():
    params = {"n": [10_000, 1_000_000], "d": [16], "k": [10], "batch_size": [1024]}
    params |= {"dtype": ["float64"], "repeats": 3, "max_iter": 2, "budget": None}
    todo, skipped = MB.plan(params)
    assert [c["n"] for c in todo] == [10_000, 1_000_000] and not skipped
    small, large = (c["estimated_seconds"] for c in todo)
    assert 0 < small < large
    todo, skipped = MB.plan(dict(params, budget=(small + large) / 2))
    assert [c["n"] for c in todo] == [10_000] and [c["n"] for c in skipped] == [
        1_000_000
    ]
    assert "above the budget" in skipped[0]["reason"]


def test_estimate_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    argv = ["compare", "--minibatch", "--k", "10", "1000", "--d", "64"]
    argv += ["--dtype", "float64", "--budget", "60", "--estimate"]
    argv += ["--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "n=1M d=64 k=10 batch=8192 f64" in out
    assert "skipped    n=1M d=64 k=1000 batch=1024 f64: estimated" in out
    assert not (tmp_path / "x").exists()


def test_summary_names_the_worst_cell():
    rows = [
        {"label": "a", "ratio": 0.5, "labels_equal": True, "n_steps_equal": True},
        {"label": "b", "ratio": 2.0, "labels_equal": False, "n_steps_equal": True},
    ]
    s = MB.summarise(rows)
    assert s["geomean_ratio"] == pytest.approx(1.0)
    assert (s["worst_cell"], s["max_ratio"], s["min_ratio"]) == ("b", 2.0, 0.5)
    assert (s["n_at_or_below_1"], s["n_labels_equal"], s["n_steps_equal"]) == (1, 1, 2)
    assert MB.summarise([]) == {"n_cells": 0}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--minibatch", "--fixed"], "exclude each other"),
        (["--minibatch", "--kind", "uniform"], "--kind is an option of whole fits"),
        (["--minibatch", "--quick"], "--quick is an option of"),
        (["--batch-size", "64"], "--batch-size is an option of --minibatch only"),
        (["--fixed", "--batch-size", "64"], "--batch-size is an option of"),
        (["--minibatch", "--n", "5", "--k", "10"], "no shape with k <= n"),
    ],
)
def test_options_of_another_mode_are_refused(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(_io, "write_set", None)  # nothing may start
    assert cli.main(["compare", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
