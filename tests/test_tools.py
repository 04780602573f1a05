"""The measuring scripts under tools/: their workloads, tables and option checks."""

import importlib.util
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


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
