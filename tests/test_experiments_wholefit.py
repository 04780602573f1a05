"""The whole-fit comparison: data kinds, peers, targets, and a tiny run end to end."""

import json
import sys

import numpy as np
import pytest

from benchmarks import data, peers, workloads
from experiments import __main__ as cli
from experiments import _wholefit as W

# ---------------------------------------------------------------- data kinds


@pytest.mark.parametrize("kind", data.KINDS)
@pytest.mark.parametrize("d", [16, 64])
def test_kinds_shape_dtype_and_determinism(kind, d):
    X64 = data.make_data(kind, 3000, d, 10, "float64", seed=1)
    X32 = data.make_data(kind, 3000, d, 10, "float32", seed=1)
    assert X64.shape == X32.shape == (3000, d)
    assert X64.dtype == np.float64 and X32.dtype == np.float32
    assert X64.flags.c_contiguous and np.isfinite(X64).all()
    # float32 data is the float64 data rounded, so both dtypes cluster the same
    np.testing.assert_array_equal(X32, X64.astype(np.float32))
    np.testing.assert_array_equal(X64, data.make_data(kind, 3000, d, 10, "float64", 1))
    assert not np.array_equal(X64, data.make_data(kind, 3000, d, 10, "float64", 2))
    assert len(np.unique(X64[:10], axis=0)) == 10  # distinct initial centres


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        data.make_data("gaussian", 10, 2, 2, "float64")


def _blob_purity(kind):
    X, blob = data.blobs(4000, 16, 20, "float64", 0, data.BLOB_STD[kind])
    means = np.array([X[blob == b].mean(0) for b in range(20)])
    nearest = ((X[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
    return float((nearest == blob).mean())


def test_separated_blobs_are_apart_and_overlapping_ones_touch():
    assert _blob_purity("separated") == 1.0  # every sample nearest its own blob
    assert 0.6 < _blob_purity("overlapping") < 0.999  # neighbours overlap


def test_uniform_fills_the_unit_cube():
    X = data.make_data("uniform", 20_000, 16, 10, "float64")
    assert X.min() >= 0 and X.max() < 1
    assert abs(X.mean() - 0.5) < 0.01


def test_nudge_matches_sklearns_rbm_example():
    """Each shifted copy is the example's convolution of the original image."""
    from scipy.ndimage import convolve
    from sklearn.datasets import load_digits

    images = load_digits().data[:40]
    weights = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, w):
        return convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()

    expected = np.concatenate(
        [images] + [np.apply_along_axis(shift, 1, images, np.array(w)) for w in weights]
    )
    nudged = data.nudge(images)
    np.testing.assert_array_equal(nudged, expected)
    # a one-pixel move: the up-shifted image's rows are the original's rows 1..7
    up = nudged[40].reshape(8, 8)
    np.testing.assert_array_equal(up[:7], images[0].reshape(8, 8)[1:])
    assert (up[7] == 0).all()


def test_digits_like_is_shifted_digits_plus_small_noise():
    from sklearn.datasets import load_digits

    exact = data.digits_like(20_000, 64, "float64", seed=0, noise=0.0)
    nudged = data.nudge(load_digits().data)
    known = {row.tobytes() for row in nudged}
    assert all(row.tobytes() in known for row in exact)  # every sample a shift
    assert len({row.tobytes() for row in exact}) == len(known)  # all 8985 used
    noisy = data.digits_like(20_000, 64, "float64", seed=0)
    # same images, same order; only the noise differs
    residual = noisy - exact
    assert abs(residual.std() - data.DIGITS_NOISE) < 0.01
    assert abs(residual.mean()) < 0.01
    assert data.make_data("digits", 100, 16, 5, "float32").shape == (100, 16)


def test_supported_algorithms_follow_the_estimators_constraints():
    from sklearn.utils._param_validation import StrOptions

    class Fake:
        _parameter_constraints = {
            "algorithm": [StrOptions({"elkan", "lloyd", "zeta", "auto", "hamerly"})]
        }

    names = workloads.supported_algorithms(Fake)
    assert names == ["auto", "lloyd", "elkan", "hamerly", "zeta"]
    assert W.nbkm_algorithms()[:2] in (["auto", "lloyd"], ["lloyd", "elkan"])


# -------------------------------------------------------------------- peers


@pytest.mark.parametrize("name", peers.PEERS)
def test_peer_not_importable_is_a_clean_skip(name, monkeypatch):
    monkeypatch.setitem(sys.modules, peers.MODULES[name], None)
    status = peers.status(name)
    assert status == {
        "available": False,
        "version": None,
        "reason": status["reason"],
    }
    assert "not installed" in status["reason"]
    params = {**W_PARAMS, "impls": ["nbkm-lloyd", "sklearn-lloyd", name]}
    run, skipped = W.plan(params, {p: p != name for p in peers.PEERS})
    assert not skipped
    assert all(name not in cell["impls"] for cell in run)
    assert all("not installed" in cell["skipped_impls"][name] for cell in run)


def test_plan_skips_faiss_on_float64_elkan_above_its_bound_and_over_budget():
    params = {**W_PARAMS, "elkan_max_bounds": 1000}
    params |= {"impls": ["nbkm-lloyd", "sklearn-elkan", "faiss"]}
    run, _ = W.plan(params, {"faiss": True, "sklearnex": True})
    by_dtype = {cell["dtype"]: cell for cell in run}
    assert by_dtype["float32"]["impls"] == ["nbkm-lloyd", "faiss"]
    assert by_dtype["float64"]["impls"] == ["nbkm-lloyd"]
    assert "elkan_max_bounds" in by_dtype["float64"]["skipped_impls"]["sklearn-elkan"]
    cheap = min(cell["estimated_seconds"] for cell in run)
    run, skipped = W.plan(dict(params, budget=cheap), {"faiss": True})
    assert len(run) == 1 and len(skipped) == 1
    assert "above the budget" in skipped[0]["reason"]


W_PARAMS = {
    "n": [300],
    "d": [3],
    "k": [4],
    "dtype": ["float32", "float64"],
    "kind": ["uniform"],
    "repeats": 1,
    "budget": None,
    "elkan_max_bounds": 1e9,
}


# ------------------------------------------------------------------ targets


def _row(kind, dtype, lloyd, elkan=None, faiss=None, label=None, d=16, k=1000):
    ratios = {"lloyd": lloyd}
    if elkan is not None:
        ratios["elkan"] = elkan
    if faiss is not None:
        ratios["faiss"] = faiss
    row = {"kind": kind, "dtype": dtype, "label": label or kind, "ratios": ratios}
    return row | {"d": d, "k": k}


def test_targets_hold_on_a_synthetic_record():
    grid = [
        _row("uniform", "float32", 0.3, 0.5, 0.55, "u32"),
        _row("uniform", "float64", 0.5, 0.6, None, "u64"),  # geomean 0.387
        _row("digits", "float32", 0.2, 0.3, 0.5, "d32"),
        _row("digits", "float32", 0.2, 0.3, 0.9, "d32 k10", k=10),  # not judged
    ]
    grid[0]["ratios"]["sklearnex"] = 0.7  # at the threshold: holds
    t = W.evaluate_targets(grid)
    assert t["geomean_vs_sklearn_lloyd"]["uniform"]["geomean"] == pytest.approx(
        np.sqrt(0.3 * 0.5)
    )
    assert all(v["holds"] for v in t["geomean_vs_sklearn_lloyd"].values())
    assert t["every_cell_vs_sklearn_lloyd"]["holds"] is True
    assert t["every_cell_vs_sklearnex"]["n_cells"] == 1
    # faiss is judged on float32, d=16, k=1000 only
    assert t["vs_faiss_float32_d16_k1000"]["n_cells"] == 2
    assert t["all_hold"] is True


def test_targets_fail_and_name_the_cells():
    grid = [
        _row("uniform", "float32", 0.3, 0.75, 0.61, "u32"),  # elkan > 0.7, faiss > 0.6
        _row("uniform", "float64", 0.8, 0.6, None, "u64"),  # geomean 0.49 > 0.4
        _row("digits", "float64", 0.71, 0.5, None, "d64"),  # lloyd cell > 0.7
    ]
    grid[1]["ratios"]["sklearnex"] = 0.9
    t = W.evaluate_targets(grid)
    assert t["geomean_vs_sklearn_lloyd"]["uniform"]["holds"] is False
    assert t["every_cell_vs_sklearn_lloyd"]["failing"] == ["u64", "d64"]
    assert t["every_cell_vs_sklearn_elkan"]["failing"] == ["u32"]
    assert t["every_cell_vs_sklearnex"]["failing"] == ["u64"]
    assert t["vs_faiss_float32_d16_k1000"]["failing"] == ["u32"]
    assert t["all_hold"] is False
    lines = W.target_lines({"targets": t, "primary": "nbkm-auto"})
    # uniform and digits geomeans, four every-cell targets, and "all targets"
    assert sum("FAILS" in line for line in lines) == 7


def test_targets_not_judged_without_the_peer():
    t = W.evaluate_targets([_row("uniform", "float64", 0.3)])
    assert t["every_cell_vs_sklearn_elkan"]["holds"] is None
    assert t["vs_faiss_float32_d16_k1000"]["n_cells"] == 0
    assert t["all_hold"] is None


def test_agreement_records_mismatches():
    results = {
        "sklearn-lloyd": {"n_iter": [7]},
        "nbkm-lloyd": {"n_iter": [7]},
        "nbkm-elkan": {"n_iter": [8]},
        "faiss": {"n_iter": [7]},
    }
    labels = {
        "sklearn-lloyd": np.array([0, 1, 1]),
        "nbkm-lloyd": np.array([0, 1, 1]),
        "nbkm-elkan": np.array([0, 1, 0]),
        "faiss": None,
    }
    agree, lines = W.agreement(results, labels)
    assert set(agree) == {"nbkm-lloyd", "nbkm-elkan"}
    assert agree["nbkm-lloyd"] == {
        "labels_equal": True,
        "n_labels_differ": 0,
        "n_iter_equal": True,
    }
    assert agree["nbkm-elkan"]["n_labels_differ"] == 1
    assert lines == ["nbkm-elkan: 1 labels differ, n_iter 8 vs sklearn-lloyd 7"]


# --------------------------------------------------------------- end to end


def test_whole_fit_compare_end_to_end(tmp_path, monkeypatch):
    """A tiny run, one peer made absent, nbkm's pruning record stood in for."""
    from experiments import _timing

    monkeypatch.setitem(sys.modules, "sklearnex.cluster", None)
    real = _timing.timed_fit

    def with_pruning(lib, X, n_threads=None, **params):
        est, seconds = real(lib, X, n_threads, **params)
        if lib == "nbkm" and params["algorithm"] == "elkan":
            est.distances_computed_ = np.linspace(1.0, 0.1, est.n_iter_)
        return est, seconds

    monkeypatch.setattr(W, "timed_fit", with_pruning)
    out = tmp_path / "compare"
    argv = ["compare", "--n", "500", "--d", "3", "--k", "4", "--kind", "overlapping"]
    argv += ["uniform", "--repeats", "2", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0
    rec = json.loads((out / "compare.json").read_text())
    r = rec["results"]
    assert r["mode"] == "whole_fit" and r["primary"] == rec["params"]["primary"]
    assert r["peers"]["sklearnex"]["available"] is False
    assert set(rec["figures"]) == {"ratios", "pruning"}
    assert len(r["grid"]) == 2 * 2  # kinds x dtypes
    for row in r["grid"]:
        assert "sklearnex" not in row["impls"] and "sklearnex" in row["skipped"]
        assert ("faiss" in row["impls"]) == (
            row["dtype"] == "float32" and r["peers"]["faiss"]["available"]
        )
        ref = row["impls"]["sklearn-lloyd"]
        for impl, res in row["impls"].items():
            assert len(res["seconds"]) == len(res["n_iter"]) == 2
            assert res["seconds_per_iter"] > 0
            if impl.startswith("nbkm-"):
                assert res["n_iter"] == ref["n_iter"]
                assert row["agreement"][impl]["labels_equal"] is True
        assert row["impls"].get("faiss", ref)["n_iter"] == ref["n_iter"]
        fractions = row["impls"]["nbkm-elkan"]["distances_computed"]
        assert len(fractions) == ref["n_iter"][-1] and fractions[-1] == 0.1
        lloyd = row["impls"]["nbkm-lloyd"]["distances_computed"]
        assert lloyd is None or set(lloyd) == {1.0}  # Lloyd computes them all
        assert row["ratios"]["lloyd"] == pytest.approx(
            row["impls"][r["primary"]]["fit_seconds"] / ref["fit_seconds"]
        )
    assert r["mismatches"] == []
    assert set(r["summary"]) == {"overlapping", "uniform"}
    assert r["targets"]["all_hold"] in (True, False)
    assert any(lib["user_api"] == "blas" for lib in r["timings"]["libraries"])
    assert all("architecture" in lib for lib in r["timings"]["libraries"])
    text = "\n".join(W.section(rec))
    assert "sklearnex was skipped: not installed" in text
    assert "all targets:" in text


def test_topic_documents_are_normalised_clustered_rows():
    X = data.topic_documents(2000, 300, 5, words=20, seed=1)
    assert X.shape == (2000, 300) and X.format == "csr"
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)
    assert np.all(X.data > 0) and X.getnnz(axis=1).max() <= 20
    # Documents of one topic share words; most pairs of documents share none.
    overlap = (X[:200] @ X[:200].T).toarray() > 0
    assert 0.05 < overlap.mean() < 0.9


def test_documents_kind_is_csr_of_its_dtype_and_deterministic():
    X64 = data.make_data("documents", 800, 200, 5, "float64", seed=1)
    X32 = data.make_data("documents", 800, 200, 5, "float32", seed=1)
    assert X64.format == X32.format == "csr" and X64.shape == (800, 200)
    assert X32.dtype == np.float32
    np.testing.assert_array_equal(X32.toarray(), X64.toarray().astype(np.float32))
    again = data.make_data("documents", 800, 200, 5, "float64", seed=1)
    assert (X64 != again).nnz == 0
    assert "documents" not in workloads.WHOLE_FIT_GRID["kind"]  # opt-in


def test_documents_compare_agrees_with_sklearn(tmp_path):
    """The sparse kind through compare's whole-fit runner: dense-only fits skipped."""
    out = tmp_path / "compare"
    argv = ["compare", "--kind", "documents", "--n", "1500", "--d", "200"]
    argv += ["--k", "3", "8", "--dtype", "float64", "--repeats", "1"]
    argv += ["--threads", "1", "--algorithms", "auto", "lloyd", "elkan", "hamerly"]
    argv += ["--peers", "sklearn-lloyd", "sklearn-elkan", "faiss", "--quiet"]
    argv += ["--out", str(out)]
    assert cli.main(argv) == 0
    rec = json.loads((out / "compare.json").read_text())
    grid = rec["results"]["grid"]
    assert [row["k"] for row in grid] == [3, 8]
    for row in grid:
        assert set(row["impls"]) == {
            "nbkm-auto",
            "nbkm-lloyd",
            "nbkm-elkan",
            "nbkm-hamerly",
            "sklearn-lloyd",
            "sklearn-elkan",
        }
        assert row["skipped"] == {"faiss": "dense data only"}
        assert row["nnz"] > 0
        # Lloyd, and Hamerly bit for bit as Lloyd, break the many exact ties as
        # sklearn's lloyd does.
        for impl in ("nbkm-lloyd", "nbkm-hamerly"):
            assert row["agreement"][impl]["n_labels_differ"] == 0
        ratios = row["ratios"]
        assert ratios["best_sklearn"] == max(ratios["lloyd"], ratios["elkan"])
    assert rec["results"]["roofline"] == []  # no GEMM floor for CSR
    targets = rec["results"]["targets"]
    assert "every_cell_vs_sklearn_lloyd" not in targets  # dense targets only
    sparse = targets["every_sparse_cell_vs_best_sklearn"]
    assert sparse["n_cells"] == 2 and sparse["threshold"] == 0.6
    text = "\n".join(W.section(rec))
    assert "| documents n=1500 d=200 k=3 f64 |" in text
    assert "every sparse cell vs the quicker sklearn" in text


def test_estimate_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    argv = ["compare", "--n", "10000", "1000000", "--k", "1000", "--d", "64"]
    argv += ["--dtype", "float64", "--kind", "uniform", "--budget", "60"]
    argv += ["--estimate", "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "uniform n=10k d=64 k=1000 f64" in out
    assert "skipped    uniform n=1M d=64 k=1000 f64: estimated" in out
    assert not (tmp_path / "x").exists()


@pytest.mark.slow  # one fresh process per algorithm
def test_whole_fit_memory_per_algorithm(tmp_path):
    out = tmp_path / "compare"
    argv = ["compare", "--n", "300", "--d", "3", "--k", "4", "--dtype", "float64"]
    argv += ["--kind", "uniform", "--repeats", "1", "--peers", "sklearn-lloyd"]
    argv += ["--memory", "400", "3", "4", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0
    rec = json.loads((out / "compare.json").read_text())
    memory = rec["results"]["memory"]
    expected = {f"nbkm-{a}" for a in W.nbkm_algorithms()}
    assert set(memory["impls"]) == expected | {"sklearn-lloyd", "sklearn-elkan"}
    assert all(res["data_bytes"] == 400 * 3 * 8 for res in memory["impls"].values())
    assert all(res["fit_peak_bytes"] >= 0 for res in memory["impls"].values())
    assert set(rec["results"]["grid"][0]["impls"]) == expected | {"sklearn-lloyd"}


def test_nbkm_kernels_are_loaded_once_per_dtype_before_any_timing(monkeypatch):
    import nbkm
    from experiments import _timing

    calls = []
    monkeypatch.setattr(nbkm, "compile_kernels", lambda **kw: calls.append(kw))
    monkeypatch.setattr(_timing, "_KERNELS_LOADED", set())
    for dtype in (np.float32, np.float32, np.float64):
        _timing.load_nbkm_kernels(dtype)
    _timing.load_nbkm_kernels(np.float64, "csr")
    assert calls == [
        {"dtypes": ["float32"], "layouts": ["dense"]},
        {"dtypes": ["float64"], "layouts": ["dense"]},
        {"dtypes": ["float64"], "layouts": ["csr"]},
    ]
