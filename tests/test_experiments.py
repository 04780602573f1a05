"""Tests of the experiment harness: mappings, metrics, writing, each experiment."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from experiments import __main__ as cli
from experiments import _io, _wholefit, compare, digits
from experiments import _metrics as M
from experiments._agreement import first_step_ties, init_sequence
from experiments._textbook import find_clusters

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def strict_load(path):
    """Load JSON, refusing NaN/Infinity (json.load accepts them by default)."""

    def reject(token):
        raise ValueError(f"non-finite number {token} in {path}")

    with open(path, encoding="utf-8") as fh:
        return json.load(fh, parse_constant=reject)


def assert_png(path):
    path = Path(path)
    assert path.is_file(), path
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_MAGIC


def load_record(directory, experiment):
    """Read the record of a result set, strictly, and check its header."""
    directory = Path(directory)
    record = strict_load(directory / f"{directory.name}.json")
    _io.validate(record)
    assert record["experiment"] == experiment
    assert record["command"].startswith(f"python -m experiments {experiment}")
    assert record["created_utc"].endswith("+00:00")
    assert record["environment"]["n_threads"] >= 1
    for name in record["figures"].values():
        assert_png(directory / name)
    return record


# --------------------------------------------------------------------------
# mappings and metrics


def test_mode_mapping_basic():
    clusters = [0, 0, 0, 1, 1, 2]
    labels = [3, 3, 1, 0, 0, 2]
    np.testing.assert_array_equal(M.mode_mapping(clusters, labels), [3, 0, 2])


def test_mode_mapping_tie_goes_to_smallest_label():
    # cluster 0 has two 5s and two 2s: scipy.stats.mode picks 2
    np.testing.assert_array_equal(M.mode_mapping([0, 0, 0, 0], [5, 2, 5, 2]), [2])


def test_mode_mapping_empty_cluster_predicts_nothing():
    clusters = [0, 0, 2, 2]  # cluster 1 has no members
    labels = [1, 1, 0, 0]
    mapping = M.mode_mapping(clusters, labels, n_clusters=4)
    np.testing.assert_array_equal(mapping, [1, M.NO_LABEL, 0, M.NO_LABEL])
    # the empty clusters predict nothing, but no sample carries them here
    predicted = M.predict_labels(clusters, mapping)
    assert M.accuracy(labels, predicted) == 1.0
    assert M.cluster_scores(clusters, labels, 4)["n_empty_clusters"] == 2


def test_mode_mapping_more_clusters_than_labels():
    clusters = [0, 1, 2, 3, 3]
    labels = [0, 0, 1, 1, 1]
    mapping = M.mode_mapping(clusters, labels)
    np.testing.assert_array_equal(mapping, [0, 0, 1, 1])  # labels reused


def test_hungarian_mapping_one_to_one():
    clusters = [0, 0, 1, 1, 2, 2, 2]
    labels = [0, 0, 0, 1, 1, 1, 1]
    mapping = M.hungarian_mapping(clusters, labels)
    # 3 clusters, 2 labels: cluster 0 -> 0 (2 right), cluster 2 -> 1 (3 right)
    np.testing.assert_array_equal(mapping, [0, M.NO_LABEL, 1])
    acc = M.accuracy(labels, M.predict_labels(clusters, mapping))
    assert acc == pytest.approx(5 / 7)
    # the mode mapping may reuse labels and gets 6/7 here
    mode = M.mode_mapping(clusters, labels)
    assert M.accuracy(labels, M.predict_labels(clusters, mode)) == pytest.approx(6 / 7)


def test_hungarian_mapping_ties_and_empty_cluster():
    # clusters 0 and 1 are interchangeable; cluster 2 is empty
    clusters = [0, 0, 1, 1]
    labels = [0, 1, 0, 1]
    mapping = M.hungarian_mapping(clusters, labels, n_clusters=3)
    used = mapping[mapping >= 0]
    assert len(set(used.tolist())) == len(used)  # one-to-one
    assert mapping[2] == M.NO_LABEL or sorted(used.tolist()) == [0, 1]
    assert M.accuracy(labels, M.predict_labels(clusters, mapping)) == 0.5


def test_hungarian_beats_or_equals_nothing_and_matches_permutation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=200)
    perm = rng.permutation(5)
    clusters = perm[labels]
    scores = M.cluster_scores(clusters, labels)
    assert scores["accuracy"] == 1.0
    assert scores["hungarian_accuracy"] == 1.0
    assert scores["ari"] == pytest.approx(1.0)
    assert scores["nmi"] == pytest.approx(1.0)
    np.testing.assert_array_equal(
        np.asarray(scores["hungarian_mapping"])[perm], range(5)
    )


def test_accuracy_counts_no_label_as_wrong_and_confusion_skips_it():
    labels = np.array([0, 1, 1, 2])
    predicted = np.array([0, M.NO_LABEL, 1, 0])
    assert M.accuracy(labels, predicted) == 0.5
    cm = M.confusion(labels, predicted, 3)
    assert cm.shape == (3, 3)
    assert cm.sum() == 3
    assert cm[0, 0] == 1 and cm[1, 1] == 1 and cm[2, 0] == 1


def test_cluster_scores_known_values():
    clusters = [0, 0, 1, 1, 2]
    labels = [1, 1, 0, 0, 0]
    s = M.cluster_scores(clusters, labels)
    assert s["accuracy"] == 1.0
    assert s["hungarian_accuracy"] == pytest.approx(0.8)
    assert s["mode_mapping"] == [1, 0, 0]
    assert 0 < s["ari"] < 1 and 0 < s["nmi"] < 1


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        M.mode_mapping([0, 1], [0])
    with pytest.raises(ValueError):
        M.mode_mapping([0, -1], [0, 0])
    with pytest.raises(ValueError):
        M.mode_mapping([0, 3], [0, 0], n_clusters=2)


def test_same_partition_and_summary():
    assert M.same_partition([0, 0, 1, 2], [2, 2, 0, 1])
    assert not M.same_partition([0, 0, 1, 1], [0, 0, 0, 1])
    assert not M.same_partition([0, 1, 1], [0, 0, 0])
    assert not M.same_partition([0, 1], [0, 1, 1])
    assert M.summary([1.0, 2.0, 6.0]) == {"mean": 3.0, "min": 1.0, "max": 6.0, "n": 3}


def test_contingency_keeps_absent_ids():
    table = M.contingency([0, 0, 2], [1, 3, 3], n_clusters=4)
    assert table.shape == (4, 4)
    assert table[0, 1] == table[0, 3] == table[2, 3] == 1
    assert table.sum() == 3


# --------------------------------------------------------------------------
# the one atomic writer and the record schema


def test_write_json_roundtrip_sorted_and_indented(tmp_path):
    path = tmp_path / "sub" / "a.json"
    _io.write_json(path, {"b": 1, "a": [1.5, None]})
    text = path.read_text()
    assert text.index('"a"') < text.index('"b"') and '\n  "a"' in text
    assert strict_load(path) == {"a": [1.5, None], "b": 1}
    assert os.listdir(path.parent) == ["a.json"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_io._umask()  # not mkstemp's


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_write_json_failure_keeps_previous_file(tmp_path, bad):
    path = tmp_path / "r.json"
    _io.write_json(path, {"ok": 1})
    before = path.read_bytes()
    with pytest.raises((ValueError, TypeError)):
        _io.write_json(path, {"ok": 2, "x": [1, 2, bad]})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.json"]


def test_make_record_is_valid_and_json():
    rec = _io.make_record(
        "demo", "python -m experiments demo", {"a": 1}, {"x": [1]}, {}
    )
    assert rec["params"] == {"a": 1} and rec["results"] == {"x": [1]}
    assert set(rec["git"]) == {"commit", "dirty"}
    assert rec["environment"]["cpu_count"] == os.cpu_count()
    json.dumps(rec, allow_nan=False)


def test_git_info_outside_a_checkout(tmp_path):
    assert _io.git_info(repo=tmp_path) == {"commit": None, "dirty": None}


def test_listed_files_skips_hidden_and_temporary(tmp_path):
    for name in ("a.png", ".a.png.123.tmp", "b.json.tmp", ".hidden"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in _io.listed_files(tmp_path)] == ["a.png"]


# --------------------------------------------------------------------------
# references and the agreement helpers


def test_textbook_loop_matches_nbkm_on_blobs():
    from sklearn.datasets import make_blobs

    from nbkm import KMeans

    X, y = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    centers, labels, n_iter = find_clusters(X, 4)
    assert n_iter > 1
    nb = KMeans(n_clusters=4, random_state=0).fit(X)
    assert M.same_partition(labels, nb.labels_)
    assert M.same_partition(labels, y)
    np.testing.assert_allclose(
        np.sort(centers, axis=0), np.sort(nb.cluster_centers_, axis=0), rtol=1e-10
    )


def test_textbook_loop_reports_empty_cluster():
    with pytest.raises(RuntimeError, match="empty"):
        find_clusters(np.zeros((5, 1)), 2, rseed=0)


def test_first_step_ties_counts_exact_ties():
    X = np.array([[0, 0], [2, 0], [1, 0], [5, 5]])
    centers = np.array([[0, 0], [2, 0]])
    assert first_step_ties(X, centers) == 1  # (1, 0) is equidistant
    assert first_step_ties(X, centers + 0.01) == 0


def test_init_sequence_same_indices_as_sklearn():
    from sklearn.datasets import load_digits

    X = load_digits().data[:300]
    inits, equal = init_sequence(X, 5, seed=3, n_runs=3)
    assert equal == [True, True, True]
    assert not np.array_equal(inits[0], inits[1])  # the RandomState is consumed
    for init in inits:
        assert all((X == c).all(axis=1).any() for c in init)


# --------------------------------------------------------------------------
# each experiment through the command line, with tiny settings

DIGITS_TINY = ["--seeds", "2", "--n-init", "2", "auto", "--repeats", "1"]
DIGITS_TINY += ["--n-samples", "300", "--quiet"]
COMPARE_TINY = ["--fixed", "--n", "400", "--d", "3", "--k", "4"]
COMPARE_TINY += ["--dtype", "float64", "float32"]
COMPARE_TINY += ["--repeats", "1", "--max-iter", "3", "--sparse", "300", "50", "0.1"]
COMPARE_TINY += ["4", "--init-repeats", "2", "--peakmem", "300", "3", "4", "--quiet"]
WHOLE_TINY = ["--n", "600", "--d", "4", "--k", "5", "--dtype", "float32", "float64"]
WHOLE_TINY += ["--kind", "separated", "digits", "--repeats", "2", "--quiet"]


@pytest.fixture(scope="module")
def results_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert cli.main(["blobs", "--out", str(root / "blobs")]) == 0
    assert cli.main(["digits", "--out", str(root / "digits"), *DIGITS_TINY]) == 0
    assert cli.main(["compare", "--out", str(root / "compare"), *WHOLE_TINY]) == 0
    # --fixed, in a folder that the report of root does not read
    fixed = ["compare", "--out", str(root / "fixed" / "compare"), *COMPARE_TINY]
    assert cli.main(fixed) == 0
    return root


def test_blobs(results_root):
    rec = load_record(results_root / "blobs", "blobs")
    cmp_ = rec["results"]["comparison"]
    assert cmp_["nbkm_vs_textbook_same_partition"] is True
    assert cmp_["nbkm_vs_sklearn_same_partition"] is True
    assert len(rec["results"]["nbkm"]["labels"]) == 300
    assert rec["figures"] == {"scatter": "blobs.png"}


def test_digits(results_root):
    rec = load_record(results_root / "digits", "digits")
    results = rec["results"]
    assert rec["params"]["seeds"] == [0, 1]
    assert results["dataset"]["n_samples"] == 300
    assert set(results["runs"]) == {"n_init=2", "n_init=auto"}
    assert set(results["minibatch"]) == {"n_init=2", "n_init=auto"}
    target = results["dataset"]["target"]
    for run in [*results["runs"].values(), *results["minibatch"].values()]:
        for impl in ("nbkm", "sklearn"):
            block = run[impl]
            for row in block["per_seed"]:
                assert isinstance(row["labels"], list) and len(row["labels"]) == 300
                scores = M.cluster_scores(row["labels"], target, 10)
                assert scores["accuracy"] == row["accuracy"]  # recomputable
                assert row["deterministic"] is True and len(row["fit_seconds"]) == 1
            assert np.array(block["confusion_matrix"]).shape == (10, 10)
        timing = {impl: run[impl]["timing"]["fit_seconds_median"] for impl in IMPLS}
        # the printed ratio is the ratio of the printed medians
        assert run["comparison"]["time_ratio_nbkm_over_sklearn"] == pytest.approx(
            timing["nbkm"] / timing["sklearn"]
        )
    for run in results["minibatch"].values():
        for nb, sk, same in zip(
            *(run[part]["per_seed"] for part in ("nbkm", "sklearn", "comparison")),
            strict=True,
        ):
            assert nb["n_steps"] > 0 and nb["seed"] == sk["seed"] == same["seed"]
            assert same["n_steps_equal"] == (nb["n_steps"] == sk["n_steps"])
            assert same["labels_equal"] == (nb["labels"] == sk["labels"])
        assert "n_steps" not in results["runs"]["n_init=2"]["nbkm"]["per_seed"][0]
    text = "\n".join(digits.section(rec))
    mb = results["minibatch"]["n_init=auto"]["sklearn"]["metrics"]["accuracy"]
    assert f"| auto | sklearn MiniBatchKMeans | {mb['mean']:.4f} [" in text
    assert "- MiniBatchKMeans n_init=2: identical labels for" in text
    assert results["agreement"]["n_runs"] == 4  # 2 seeds x n_init=2
    assert results["agreement"]["init_indices_equal"] == 4
    assert set(rec["figures"]) == {
        "confusion",
        "centers_nbkm",
        "centers_sklearn",
        "accuracy",
    }


IMPLS = ("nbkm", "sklearn")


def test_compare_fixed(results_root):
    rec = load_record(results_root / "fixed" / "compare", "compare")
    assert "--peakmem 300 3 4" in rec["command"]
    r = rec["results"]
    assert r["mode"] == "fixed" and r["fit"] == {"tol": 0.0, "max_iter": 3}
    assert r["targets"] is None  # the targets are the whole-fit workload's
    dense = [row for row in r["grid"] if row["kind"] == "gaussian"]
    assert len(dense) == 2
    for row in r["grid"]:
        assert {"lloyd", "elkan"} <= set(row["ratios"])
        for res in row["impls"].values():
            assert res["seconds_per_iter"] > 0 and res["n_iter"] == [3]
        # per iteration, each nbkm algorithm over scikit-learn's same algorithm
        for name in ("lloyd", "elkan"):
            nb, sk = row["impls"][f"nbkm-{name}"], row["impls"][f"sklearn-{name}"]
            ratio = nb["seconds_per_iter"] / sk["seconds_per_iter"]
            assert row["ratios"][name] == pytest.approx(ratio)
        assert "best_sklearn" not in row["ratios"]  # two numerators: no such ratio
    for row in dense:
        assert row["init"]["indices_equal"] is True
        assert row["ratios"]["kmeans++"] == pytest.approx(
            row["init"]["nbkm"]["median_seconds"]
            / row["init"]["sklearn"]["median_seconds"]
        )
    assert r["summary"]["gaussian"]["lloyd"]["n_cells"] == 2
    peak = r["memory"]  # --peakmem is --memory, of every mode that times dense fits
    assert set(peak["impls"]) == {
        f"{lib}-{a}" for lib in IMPLS for a in ("lloyd", "elkan")
    }
    assert all(res["data_bytes"] == 300 * 3 * 8 for res in peak["impls"].values())
    (sparse,) = [row for row in r["grid"] if row["kind"] == "tfidf"]
    assert sparse["nnz"] == round(300 * 50 * 0.1) and sparse["init"] is None
    text = "\n".join(compare.section(rec))
    assert "Fixed iterations" in text and "`tol=0`, `max_iter=3`" in text
    assert "nbkm-lloyd / sklearn-lloyd per iteration" in text
    assert "gaussian, kmeans++: geometric mean" in text


def _fixed_params(**changes):
    """Parameters of a tiny fixed-workload run of the engine, without its CSR case."""
    params = dict(compare.FIXED_DEFAULTS, max_iter=2, repeats=1, init_repeats=1)
    params["impls"] = ["nbkm-lloyd", "nbkm-elkan", *compare.FIXED_DEFAULTS["peers"]]
    params |= {"fit": {"tol": 0.0, "max_iter": 2}, "sparse": None}
    return params | changes


def _run_fixed_cell(params, n, d, k, dtype, faiss_available):
    """Plan one Gaussian cell with the engine and time it."""
    params = dict(params, n=[n], d=[d], k=[k], dtype=[dtype])
    (cell,), _ = _wholefit.plan(params, {"faiss": faiss_available})
    return _wholefit.run_cell(_wholefit.cell_data(cell, 0), cell, params)


def test_compare_skips_elkan_and_init_above_their_bounds():
    params = _fixed_params(elkan_max_bounds=300 * 5 - 1, init_max_nk=300 * 5 - 1)
    row = _run_fixed_cell(params, 300, 3, 5, "float64", False)
    assert set(row["impls"]) == {"nbkm-lloyd", "sklearn-lloyd"}
    assert set(row["ratios"]) == {"lloyd"} and row["init"] is None
    assert {"nbkm-elkan", "sklearn-elkan", "kmeans++"} <= set(row["skipped"])


def test_compare_whole_fit_section(results_root):
    rec = load_record(results_root / "compare", "compare")
    r = rec["results"]
    assert r["mode"] == "whole_fit" and len(r["grid"]) == 2 * 2
    assert {row["kind"] for row in r["grid"]} == {"separated", "digits"}
    text = "\n".join(compare.section(rec))
    assert "## Speed against scikit-learn" in text and "all targets:" in text
    assert "nbkm-lloyd s (iters)" in text


@pytest.mark.parametrize("faiss_installed", [True, False])
def test_compare_names_faiss_only_when_run(faiss_installed, monkeypatch):
    """faiss appears in a fixed cell's fits, ratios and figure exactly when it ran."""
    import sys

    from benchmarks import peers
    from experiments import _plots

    if faiss_installed:  # whether or not it is installed here: a stand-in fit
        monkeypatch.setattr(peers, "status", lambda name: {"available": True})
        monkeypatch.setattr(peers, "fit_faiss", lambda X, c, it, t: (1e-3, it, 1.0))
    else:
        monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss fails
    status = peers.status("faiss")
    assert status["available"] is faiss_installed
    row = _run_fixed_cell(
        _fixed_params(init_repeats=0), 200, 3, 4, "float32", status["available"]
    )
    assert ("faiss" in row["impls"]) is faiss_installed
    assert ("faiss" in row["ratios"]) is faiss_installed
    legends = []

    def capture(fig, path, dpi=110):
        legends.extend(t.get_text() for t in fig.axes[0].get_legend().get_texts())
        _plots.plt.close(fig)
        return Path(path).name

    monkeypatch.setattr(_plots, "save_figure", capture)
    _wholefit.plot_ratios({"grid": [row], "timings": {"n_threads": 2}}, Path("x.png"))
    assert ("faiss" in legends) is faiss_installed


@pytest.mark.slow
def test_fit_peak_memory_sees_elkans_bounds_and_not_lloyds():
    """Elkan holds n x k lower bounds; Lloyd holds chunks: the child must see it."""
    from experiments._memory import fit_peak_memory

    n, d, k = 200_000, 2, 100  # n x k float64: 153 MiB, data 3 MiB
    elkan = fit_peak_memory("nbkm-elkan", n, d, k, max_iter=1, n_threads=2)
    lloyd = fit_peak_memory("nbkm-lloyd", n, d, k, max_iter=1, n_threads=2)
    assert elkan["fit_peak_bytes"] >= 0.9 * elkan["n_by_k_bytes"]
    assert lloyd["fit_peak_bytes"] < 0.25 * lloyd["n_by_k_bytes"]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["hamerly", "yinyang"])
def test_fit_peak_memory_of_bounded_fits_has_no_n_by_k_array(algorithm):
    """Bounds start after Lloyd's sweeps; once they run, still nothing n x k."""
    from experiments._memory import fit_peak_memory

    n, d, k = 200_000, 2, 100  # n x k float64: 153 MiB, data 3 MiB
    result = fit_peak_memory(f"nbkm-{algorithm}", n, d, k, max_iter=30, n_threads=2)
    assert result["bounded_iterations"] >= 1
    assert result["fit_peak_bytes"] < 0.25 * result["n_by_k_bytes"]


def test_report(results_root):
    assert cli.main(["report", "--root", str(results_root)]) == 0
    text = (results_root / "README.md").read_text()
    assert "| 2 | nbkm |" in text and "| auto | sklearn |" in text
    assert "## Blobs" in text and "## Speed against scikit-learn" in text
    for rel in (
        "digits/digits_confusion.png",
        "blobs/blobs.png",
        "compare/compare.png",
    ):
        assert f"]({rel})" in text
    assert "## Environment" in text


def test_report_lists_only_real_outputs(results_root, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(results_root / "blobs", root / "blobs")
    (root / "blobs" / ".blobs.png.123.tmp").write_bytes(b"x")
    (root / ".blobs.456.tmp").mkdir()
    (root / "blobs" / "blobs.png").unlink()  # named by the record, but missing
    assert cli.main(["report", "--root", str(root)]) == 0
    text = (root / "README.md").read_text()
    assert ".tmp" not in text and "blobs.png" not in text


def test_report_without_results(tmp_path):
    assert cli.main(["report", "--root", str(tmp_path)]) == 2
    assert not (tmp_path / "README.md").exists()


@pytest.mark.slow  # a whole `check` run (end to end)
def test_check_passes_then_fails_on_tampering(results_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "ref"
    shutil.copytree(results_root / "digits", root / "digits")
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "reference made at commit" in out and "nbkm source" in out

    path = root / "digits" / "digits.json"
    rec = strict_load(path)
    row = rec["results"]["runs"]["n_init=2"]["nbkm"]["per_seed"][1]
    row["labels"][0] = (row["labels"][0] + 1) % 10
    _io.write_json(path, rec)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    # other nbkm code: labels may differ at exact ties, mean accuracy counts
    rec["nbkm_source_sha256"] = "0" * 16
    _io.write_json(path, rec)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 0
    assert cli.main(["check", "--reference", str(root), "--quiet", "--strict"]) == 1
    rec["results"]["runs"]["n_init=auto"]["sklearn"]["metrics"]["accuracy"]["mean"] -= 1
    _io.write_json(path, rec)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1


@pytest.mark.slow  # a whole `check` run (end to end)
def test_check_compares_minibatch_exactly(results_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "ref"
    shutil.copytree(results_root / "digits", root / "digits")
    path = root / "digits" / "digits.json"
    rec = strict_load(path)
    row = rec["results"]["minibatch"]["n_init=auto"]["sklearn"]["per_seed"][0]
    row["labels"][0] = (row["labels"][0] + 1) % 10
    row["n_steps"] += 1
    _io.write_json(path, rec)
    capsys.readouterr()
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "MiniBatchKMeans n_init=auto sklearn seed 0: labels differ" in out
    assert "MiniBatchKMeans n_init=auto sklearn seed 0: n_steps" in out
    # other nbkm code: the mean accuracies count, MiniBatchKMeans's too
    rec["nbkm_source_sha256"] = "0" * 16
    mean = rec["results"]["minibatch"]["n_init=2"]["nbkm"]["metrics"]["accuracy"]
    mean["mean"] -= 1
    _io.write_json(path, rec)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    assert "MiniBatchKMeans n_init=2 nbkm: mean accuracy" in capsys.readouterr().out


@pytest.mark.slow  # a whole `check` run (end to end)
def test_check_of_a_reference_from_before_minibatch_says_so(
    results_root, tmp_path, capsys
):
    """An older reference: KMeans is compared, then one clear line, no traceback."""
    import shutil

    root = tmp_path / "ref"
    shutil.copytree(results_root / "digits", root / "digits")
    path = root / "digits" / "digits.json"
    rec = strict_load(path)
    del rec["results"]["minibatch"]
    _io.write_json(path, rec)
    digits.validate(rec, "old.json")  # an older record is valid
    text = "\n".join(digits.section(rec))
    assert "MiniBatchKMeans" not in text  # and renders as it did
    capsys.readouterr()
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "comparison: exact" in captured.out and "Traceback" not in captured.err
    [line] = [ln for ln in captured.out.splitlines() if "MISMATCH" in ln]
    assert "the reference has no MiniBatchKMeans results" in line
    assert "python -m experiments reference --only digits digits_tsne" in line


def test_check_without_reference(tmp_path):
    assert cli.main(["check", "--reference", str(tmp_path)]) == 2


def test_check_tutorial_band():
    from experiments import check

    def results(nb, sk):
        run = {
            i: {"metrics": {"accuracy": {"mean": v}}}
            for i, v in zip(IMPLS, (nb, sk), strict=True)
        }
        return {"runs": {"n_init=10": run}}

    assert check.tutorial_band({}, results(0.79, 0.80)) == []
    assert len(check.tutorial_band({}, results(0.70, 0.80))) == 1
    assert check.tutorial_band({"n_samples": 300}, results(0.70, 0.70)) == []


def test_cli_help_lists_every_experiment(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("blobs", "digits", "compare", "report", "check", "history"):
        assert f"  {name} " in out
    assert cli.main([]) == 2


@pytest.mark.slow
def test_digits_tsne(tmp_path):
    out = tmp_path / "digits_tsne"
    args = ["--embed", "tsne", "--seeds", "1", "--n-init", "auto", "--repeats", "1"]
    args += ["--n-samples", "200", "--no-agreement", "--quiet", "--out", str(out)]
    assert cli.main(["digits", *args]) == 0
    rec = load_record(out, "digits")
    assert rec["results"]["dataset"]["embed"] == "tsne"
    assert rec["results"]["dataset"]["n_features"] == 2
    assert rec["results"]["agreement"] is None
    assert "embedding" in rec["figures"]
