"""The measuring scripts under tools/: their workloads, tables and option checks."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.workloads import topic_documents

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_topic_documents_are_normalised_clustered_rows():
    X = topic_documents(2000, 300, 5, words=20, seed=1)
    assert X.shape == (2000, 300) and X.format == "csr"
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)
    assert np.all(X.data > 0) and X.getnnz(axis=1).max() <= 20
    # Documents of one topic share words; most pairs of documents share none.
    overlap = (X[:200] @ X[:200].T).toarray() > 0
    assert 0.05 < overlap.mean() < 0.9


def test_sparse_fits_table_agrees_with_sklearn(capsys):
    tool = _load("sparse_fits")
    argv = ["--n", "1500", "--vocabulary", "200", "--topics", "5", "--k", "3", "8"]
    assert tool.main([*argv, "--repeats", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in lines[1:]] == ["| 3", "| 8"]
    # Lloyd breaks the many exact ties as sklearn's lloyd does (Elkan, either
    # library's, may break them otherwise).
    assert "k=3: nbkm lloyd 0," in out and "k=8: nbkm lloyd 0," in out


@pytest.mark.parametrize("argv", [["--k", "0"], ["--n", "10", "--k", "20"]])
def test_sparse_fits_refuses_bad_options(argv):
    tool = _load("sparse_fits")
    with pytest.raises(SystemExit) as exit_:
        tool.main(argv)
    assert exit_.value.code == 2


def test_dask_scaling_tables_and_ratios():
    tool = _load("dask_scaling")
    median = {"nbkm-dask/1": 0.2, "dask-ml/1": 1.0, "nbkm": 0.16}
    ratios = tool._ratios(median, [1])
    assert ratios == {
        "dask-ml/1 / nbkm-dask/1": pytest.approx(5.0),
        "nbkm-dask/1 / nbkm": pytest.approx(1.25),
    }
    row = {"n": 10**7, "k": 10, "median_s_per_iter": median, "ratios": ratios}
    row |= {"median_marginal_s_per_iter": median, "marginal_ratios": ratios}
    record = {
        "rows": [row],
        "options": {"d": 16, "dtype": "float32", "max_iter": 8, "repeats": 2,
                    "threads": 2},
        "environment": {"blas": [], "versions": {},
                        "workers": {"1": {"n_workers": 1, "threads_per_worker": 2}}},
        "total_s": 1.0,
    }  # fmt: skip
    text = tool.table(record)
    assert "nbkm-dask/1 (ms/iter)" in text and "(marginal ms/iter)" in text
    assert text.count("| 1e+07 | 10 | 200.0 | 1000.0 | 160.0 | 5.00 | 1.25 |") == 2
