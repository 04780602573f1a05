"""Tests of the experiment harness: mappings, metrics, atomic writes, each main."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from experiments import __main__ as cli
from experiments import _io
from experiments import _metrics as M
from experiments.agreement import first_step_ties, init_sequence
from experiments.textbook import find_clusters

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


def assert_common_schema(record, experiment):
    assert record["schema_version"] == _io.SCHEMA_VERSION
    assert record["experiment"] == experiment
    assert record["created_utc"].endswith("+00:00")
    assert set(record["git"]) == {"commit", "dirty"}
    env = record["environment"]
    for key in ("python", "numpy", "numba", "sklearn", "threading_layer", "n_threads"):
        assert key in env
    assert env["n_threads"] >= 1
    assert isinstance(record["params"], dict)


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


def test_same_partition_and_label_codec():
    assert M.same_partition([0, 0, 1, 2], [2, 2, 0, 1])
    assert not M.same_partition([0, 0, 1, 1], [0, 0, 0, 1])
    assert not M.same_partition([0, 1, 1], [0, 0, 0])
    assert not M.same_partition([0, 1], [0, 1, 1])
    labels = np.array([3, 0, 11, 7])
    assert M.encode_labels(labels) == "3 0 11 7"
    np.testing.assert_array_equal(M.decode_labels(M.encode_labels(labels)), labels)
    assert M.summary([1.0, 2.0, 6.0]) == {"mean": 3.0, "min": 1.0, "max": 6.0, "n": 3}


# --------------------------------------------------------------------------
# atomic writing and the record header


def test_write_json_roundtrip_sorted_and_indented(tmp_path):
    path = tmp_path / "sub" / "a.json"
    _io.write_json(path, {"b": 1, "a": [1.5, None]})
    text = path.read_text()
    assert text.index('"a"') < text.index('"b"')
    assert '\n  "a"' in text
    assert strict_load(path) == {"a": [1.5, None], "b": 1}
    assert os.listdir(path.parent) == ["a.json"]
    assert (path.stat().st_mode & 0o777) == _io.file_mode()  # not mkstemp's 0600


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_write_json_failure_keeps_previous_file(tmp_path, bad):
    path = tmp_path / "r.json"
    _io.write_json(path, {"ok": 1})
    before = path.read_bytes()
    with pytest.raises((ValueError, TypeError)):
        _io.write_json(path, {"ok": 2, "x": [1, 2, bad]})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.json"]  # temporary file removed


def test_write_json_failure_mid_write_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    _io.write_json(path, {"ok": 1})
    before = path.read_bytes()

    def half_dump(obj, fh, **kwargs):
        fh.write('{"ok": 2, "trunc')
        raise OSError("disk full")

    monkeypatch.setattr(_io.json, "dump", half_dump)
    with pytest.raises(OSError, match="disk full"):
        _io.write_json(path, {"ok": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.json"]


def test_write_json_failure_at_rename_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    _io.write_json(path, {"ok": 1})
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(_io.os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        _io.write_json(path, {"ok": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.json"]


def test_write_text_atomic(tmp_path, monkeypatch):
    path = tmp_path / "README.md"
    _io.write_text(path, "one\n")

    def boom(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(_io.os, "replace", boom)
    with pytest.raises(OSError):
        _io.write_text(path, "two\n")
    assert path.read_text() == "one\n"
    assert os.listdir(tmp_path) == ["README.md"]


def test_save_figure_atomic(tmp_path, monkeypatch):
    from experiments import _plots

    fig, ax = _plots.plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = _plots.save_figure(fig, tmp_path / "f.png")
    assert_png(path)
    before = path.read_bytes()
    fig, ax = _plots.plt.subplots()

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(fig, "savefig", boom)
    with pytest.raises(RuntimeError):
        _plots.save_figure(fig, tmp_path / "f.png")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["f.png"]


def test_base_record_and_environment():
    rec = _io.base_record("demo", {"a": 1})
    assert_common_schema(rec, "demo")
    assert rec["params"] == {"a": 1}
    env = _io.environment()
    assert env["cpu_count"] == os.cpu_count()
    json.dumps(rec, allow_nan=False)
    info = _io.git_info()
    assert set(info) == {"commit", "dirty"}
    if info["commit"] is not None:
        assert len(info["commit"]) == 40


def test_git_info_outside_a_checkout(monkeypatch, tmp_path):
    monkeypatch.setattr(_io, "_REPO_ROOT", tmp_path)
    assert _io.git_info() == {"commit": None, "dirty": None}


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
    X = np.zeros((5, 1))  # any two initial centres coincide: one stays empty
    with pytest.raises(RuntimeError, match="empty"):
        find_clusters(X, 2, rseed=0)


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
    assert len(inits) == 3
    assert not np.array_equal(inits[0], inits[1])  # the RandomState is consumed
    # every centre is a sample row
    for init in inits:
        assert all((X == c).all(axis=1).any() for c in init)


# --------------------------------------------------------------------------
# each experiment's main, with tiny settings


@pytest.fixture(scope="module")
def results_root(tmp_path_factory):
    from experiments import blobs, compare, digits

    root = tmp_path_factory.mktemp("results")
    assert blobs.main(["--out", str(root / "blobs"), "--quiet"]) == 0
    assert (
        digits.main(
            [
                "--out",
                str(root / "digits"),
                "--quiet",
                "--seeds",
                "2",
                "--n-init",
                "2",
                "auto",
                "--repeats",
                "1",
                "--n-samples",
                "300",
            ]
        )
        == 0
    )
    assert (
        compare.main(
            [
                "--out",
                str(root / "compare"),
                "--quiet",
                "--n",
                "400",
                "--d",
                "3",
                "--k",
                "4",
                "--dtype",
                "float64",
                "float32",
                "--repeats",
                "1",
                "--max-iter",
                "3",
                "--sparse",
                "300",
                "50",
                "0.1",
                "4",
                "--init-repeats",
                "2",
                "--peakmem",
                "300",
                "3",
                "4",
                "--peakmem-impls",
                "nbkm-lloyd",
                "sklearn-lloyd",
            ]
        )
        == 0
    )
    return root


def test_blobs_main(results_root):
    rec = strict_load(results_root / "blobs" / "blobs.json")
    assert_common_schema(rec, "blobs")
    cmp_ = rec["results"]["comparison"]
    assert cmp_["nbkm_vs_textbook_same_partition"] is True
    assert cmp_["nbkm_vs_sklearn_same_partition"] is True
    assert len(M.decode_labels(rec["results"]["nbkm"]["labels"])) == 300
    assert_png(results_root / "blobs" / rec["figures"]["scatter"])


def test_digits_main(results_root):
    rec = strict_load(results_root / "digits" / "digits.json")
    assert_common_schema(rec, "digits")
    assert rec["params"]["seeds"] == [0, 1]
    assert rec["dataset"]["n_samples"] == 300
    assert set(rec["runs"]) == {"n_init=2", "n_init=auto"}
    target = M.decode_labels(rec["dataset"]["target"])
    for run in rec["runs"].values():
        for impl in ("nbkm", "sklearn"):
            block = run[impl]
            assert len(block["per_seed"]) == 2
            for row in block["per_seed"]:
                labels = M.decode_labels(row["labels"])
                assert labels.shape == (300,)
                # stored metrics are recomputable from the raw labels
                scores = M.cluster_scores(labels, target, 10)
                assert scores["accuracy"] == row["accuracy"]
                assert scores["nmi"] == row["nmi"]
                assert row["deterministic"] is True
                assert len(row["fit_seconds"]) == 1
            acc = block["metrics"]["accuracy"]
            assert acc["min"] <= acc["mean"] <= acc["max"]
            assert 0.5 < acc["mean"] <= 1.0
            cm = np.array(block["confusion_matrix"])
            assert cm.shape == (10, 10)
        assert run["comparison"]["n_seeds"] == 2
    ag = rec["agreement"]
    assert ag["n_runs"] == 4  # 2 seeds x n_init=2
    assert ag["init_indices_equal"] == 4
    assert rec["timings"]["first_call_seconds"]["nbkm"] > 0
    for name in rec["figures"].values():
        assert_png(results_root / "digits" / name)
    assert {"confusion", "centers_nbkm", "centers_sklearn", "accuracy"} <= set(
        rec["figures"]
    )


def test_compare_main(results_root):
    rec = strict_load(results_root / "compare" / "compare.json")
    assert_common_schema(rec, "compare")
    assert rec["command"].startswith("python -m experiments compare --out ")
    assert "--peakmem 300 3 4" in rec["command"]
    assert len(rec["grid"]) == 2
    for row in rec["grid"]:
        assert {"lloyd", "elkan"} <= set(row["ratios"])
        for res in row["impls"].values():
            assert res["seconds_per_iter"] > 0
            assert res["n_iter"] == [3]
        assert row["skipped"] == {}
        # k-means++ timed for both, same samples chosen from the same seed
        init = row["init"]
        assert init["indices_equal"] is True
        assert len(init["nbkm"]["seconds"]) == len(init["sklearn"]["seconds"]) == 2
        assert row["ratios"]["kmeans++"] == pytest.approx(
            init["nbkm"]["median_seconds"] / init["sklearn"]["median_seconds"]
        )
    assert rec["summary"]["kmeans++"]["n_shapes"] == 2
    peak = rec["peak_memory"]
    assert (peak["n"], peak["d"], peak["k"]) == (300, 3, 4)
    assert set(peak["impls"]) == {"nbkm-lloyd", "sklearn-lloyd"}
    assert peak["n_by_k_bytes"] == 300 * 4 * 8
    for res in peak["impls"].values():
        assert res["n_iter"] == 2
        assert res["data_bytes"] == 300 * 3 * 8
    assert set(rec["gemm_peak_gflops"]) == {"float64", "float32"}
    sparse = rec["sparse"]
    assert (sparse["n"], sparse["d"], sparse["k"]) == (300, 50, 4)
    assert sparse["nnz"] == round(300 * 50 * 0.1)
    assert {"lloyd", "elkan"} <= set(sparse["ratios"])
    assert all(res["n_iter"] == [3] for res in sparse["impls"].values())
    if not rec["faiss"]["available"]:
        assert all("faiss" not in row["impls"] for row in rec["grid"])
    assert_png(results_root / "compare" / rec["figures"]["ratios"])


def test_run_shape_skips_elkan_and_init_above_their_bounds():
    from experiments import compare

    params = dict(
        compare.DEFAULTS,
        max_iter=2,
        repeats=1,
        init_repeats=1,
        elkan_max_bounds=300 * 5 - 1,
        init_max_nk=300 * 5 - 1,
    )
    row = compare.run_shape(300, 3, 5, "float64", params, False, 1.0)
    assert set(row["impls"]) == {"nbkm-lloyd", "sklearn-lloyd"}
    assert set(row["ratios"]) == {"lloyd"}
    assert set(row["skipped"]) == {"elkan", "kmeans++"}
    assert row["init"] is None
    params["elkan_max_bounds"] = params["init_max_nk"] = 300 * 5
    row = compare.run_shape(300, 3, 5, "float64", params, False, 1.0)
    assert {"nbkm-elkan", "sklearn-elkan"} <= set(row["impls"])
    assert {"lloyd", "elkan", "kmeans++"} == set(row["ratios"])
    assert row["skipped"] == {}


def test_fit_peak_memory_sees_elkans_bounds_and_not_lloyds():
    """Elkan holds n x k lower bounds; Lloyd holds chunks: the child must see it."""
    from experiments._memory import fit_peak_memory

    n, d, k = 200_000, 2, 100  # n x k float64: 153 MiB, data 3 MiB
    elkan = fit_peak_memory("nbkm-elkan", n, d, k, max_iter=1, n_threads=2)
    lloyd = fit_peak_memory("nbkm-lloyd", n, d, k, max_iter=1, n_threads=2)
    assert elkan["n_by_k_bytes"] == lloyd["n_by_k_bytes"] == n * k * 8
    assert elkan["fit_peak_bytes"] >= 0.9 * elkan["n_by_k_bytes"]
    assert lloyd["fit_peak_bytes"] < 0.25 * lloyd["n_by_k_bytes"]
    assert elkan["n_iter"] == lloyd["n_iter"] == 1


def test_fit_peak_memory_rejects_unknown_impl():
    from experiments._memory import fit_peak_memory

    with pytest.raises(ValueError, match="impl must be one of"):
        fit_peak_memory("faiss", 10, 2, 2)


def test_report_main(results_root):
    from experiments import report

    assert report.main(["--out", str(results_root)]) == 0
    text = (results_root / "README.md").read_text()
    assert "| 2 | nbkm |" in text and "| auto | sklearn |" in text
    assert "## Blobs" in text and "## Speed against scikit-learn" in text
    for rel in (
        "digits/digits_confusion.png",
        "blobs/blobs.png",
        "compare/compare.png",
    ):
        assert f"]({rel})" in text
        assert (results_root / rel).is_file()
    assert "## Environment" in text


def test_report_without_results(tmp_path):
    from experiments import report

    assert report.main(["--out", str(tmp_path)]) == 2
    assert not (tmp_path / "README.md").exists()


def test_check_main_passes_then_fails_on_tampering(results_root, tmp_path):
    import shutil

    from experiments import check

    root = tmp_path / "copy"
    shutil.copytree(results_root / "digits", root / "digits")
    assert check.main(["--out", str(root), "--quiet"]) == 0

    path = root / "digits" / "digits.json"
    rec = strict_load(path)
    row = rec["runs"]["n_init=2"]["nbkm"]["per_seed"][1]
    labels = M.decode_labels(row["labels"])
    labels[0] = (labels[0] + 1) % 10
    row["labels"] = M.encode_labels(labels)
    _io.write_json(path, rec)
    assert check.main(["--out", str(root), "--quiet"]) == 1

    # other nbkm code or library versions: labels may differ at exact ties,
    # mean accuracy is what counts
    rec["environment"]["nbkm_source_sha256"] = "0" * 16
    _io.write_json(path, rec)
    assert check.main(["--out", str(root), "--quiet"]) == 0
    rec["environment"]["sklearn"] = "0.0.0"
    _io.write_json(path, rec)
    assert check.main(["--out", str(root), "--quiet"]) == 0
    assert check.main(["--out", str(root), "--quiet", "--strict"]) == 1
    rec["runs"]["n_init=auto"]["sklearn"]["metrics"]["accuracy"]["mean"] -= 0.05
    _io.write_json(path, rec)
    assert check.main(["--out", str(root), "--quiet"]) == 1


def test_check_without_results(tmp_path):
    from experiments import check

    assert check.main(["--out", str(tmp_path)]) == 2


def test_check_tutorial_band():
    from experiments import check

    def record(nb, sk, **params):
        run = {
            impl: {"metrics": {"accuracy": {"mean": v}}}
            for impl, v in (("nbkm", nb), ("sklearn", sk))
        }
        return {
            "params": {"embed": None, "n_samples": None, **params},
            "runs": {"n_init=10": run},
        }

    assert check.tutorial_band(record(0.79, 0.80)) == []
    assert len(check.tutorial_band(record(0.70, 0.80))) == 1
    assert check.tutorial_band(record(0.70, 0.70, n_samples=300)) == []


# --------------------------------------------------------------------------
# the command line


def test_cli_help_lists_every_experiment(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("blobs", "digits", "compare", "report", "check", "history"):
        assert f"  {name} " in out
    assert "textbook E-M" in out  # blobs' one-line help
    assert cli.main([]) == 2


def test_cli_unknown_and_missing_experiment(capsys, monkeypatch):
    assert cli.main(["nope"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    monkeypatch.setitem(cli.EXPERIMENTS, "ghost", "experiments.ghost_module")
    assert cli.main(["ghost"]) == 2
    assert "not available" in capsys.readouterr().err


def test_cli_dispatches_to_main(tmp_path, capsys):
    assert cli.main(["blobs", "--out", str(tmp_path), "--quiet"]) == 0
    assert "same partition as textbook E-M: True" in capsys.readouterr().out
    assert (tmp_path / "blobs.json").is_file()


def test_digits_main_tsne(tmp_path):
    from experiments import digits

    args = ["--out", str(tmp_path), "--quiet", "--embed", "tsne", "--seeds", "1"]
    args += ["--n-init", "auto", "--repeats", "1", "--n-samples", "200"]
    assert digits.main(args + ["--no-agreement"]) == 0
    rec = strict_load(tmp_path / "digits_tsne.json")
    assert_common_schema(rec, "digits")
    assert rec["dataset"]["embed"] == "tsne"
    assert rec["dataset"]["n_features"] == 2
    assert rec["dataset"]["n_pixels"] == 64
    assert rec["agreement"] is None
    assert rec["timings"]["embed_seconds"] > 0
    assert "embedding" in rec["figures"]
    for name in rec["figures"].values():
        assert_png(tmp_path / name)
    assert not (tmp_path / "digits.json").exists()
