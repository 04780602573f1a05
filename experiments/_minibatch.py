"""Whole MiniBatchKMeans fits, nbkm against scikit-learn: ``compare --minibatch``.

Per cell of the grid (n x d x k x batch_size x dtype, ``MINIBATCH_GRID`` of
``benchmarks/workloads.py``), both libraries fit the same standard normal data
(seed ``--seed``) with the same parameters (``workloads.minibatch_fit``):
``random_state`` = the seed, k-means++ on the default ``init_size`` samples
(``n_init=1``), ``max_iter`` epochs and both early stops off (``tol=0``,
``max_no_improvement=None``), so that each runs exactly
``max_iter * n // batch_size`` steps, drawing the same batches. The fits are
timed interleaved (the order rotates every repeat) after an untimed warm-up fit
each on the first samples of the cell (``_timing.interleaved``,
``_timing.timed_fit``); the ratio is nbkm / sklearn of the
median seconds of the whole ``fit``, which includes the init and the final
labels of every sample.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from benchmarks import data, workloads
from experiments import _cli, _io, _tables, _timing
from experiments import _wholefit as W
from experiments._timing import IMPLS, timed_fit

ESTIMATOR = "MiniBatchKMeans"
#: Rough cost model of the budget, per fit: the distances of ``max_iter + 1``
#: passes over the data at the whole-fit mode's rate (``_wholefit.SPI_NKD``: the
#: epochs' steps, then the labels of every sample), k-means++ on ``init_size``
#: samples, and a fixed cost per step; scikit-learn's steps also draw their batch
#: through a scan of all n sample weights (``RandomState.choice`` with ``p``: 8 ms
#: at n = 1e6 on the 2-core reference machine), which nbkm does once a fit.
STEP_FIXED, SAMPLE_N = 3.5e-4, 8e-9


def init_size(n: int, k: int, batch_size: int) -> int:
    """Return scikit-learn's default ``init_size``: the samples of k-means++."""
    size = 3 * min(batch_size, n)
    return min(3 * k if size < k else size, n)


def estimate_seconds(n, d, k, batch_size, dtype, repeats, max_iter) -> float:
    """Rough seconds of one cell: ``repeats`` fits of each library (see above)."""
    # k-means++ computes 2 + log(k) candidates' distances to init_size samples
    init = init_size(n, k, batch_size) * (2 + math.log(k))
    distances = W.SPI_NKD * k * d * ((max_iter + 1) * n + init)
    distances *= W.FLOAT32 if dtype == "float32" else 1.0
    steps = workloads.minibatch_n_steps(n, batch_size, max_iter)
    per_fit = distances + W.SPI_N * n * (max_iter + 1) + steps * STEP_FIXED
    sklearn_draws = steps * SAMPLE_N * n
    return float(repeats * (len(IMPLS) * per_fit + sklearn_draws) + 1e-7 * n * d)


def label(n, d, k, batch_size, dtype) -> str:
    """Name of a cell: ``n=1M d=16 k=10 batch=1024 f32``."""
    shape = _tables.label(n, d, k, dtype)
    head, _, dtype_text = shape.rpartition(" ")
    return f"{head} batch={batch_size} {dtype_text}"


def plan(params: dict) -> tuple[list[dict], list[dict]]:
    """Split the grid into cells to run and cells skipped by the budget.

    Each cell has ``n``, ``d``, ``k``, ``batch_size``, ``dtype``, ``label`` and
    ``estimated_seconds``; a skipped cell also has ``reason``.
    """
    run, skipped = [], []
    for shape in workloads.minibatch_cells(params):
        est = estimate_seconds(*shape, params["repeats"], params["max_iter"])
        cell = dict(zip(("n", "d", "k", "batch_size", "dtype"), shape, strict=True))
        cell |= {"label": label(*shape), "estimated_seconds": est}
        fits = _tables.within_budget(cell, params.get("budget"))
        (run if fits else skipped).append(cell)
    return run, skipped


def fit_once(lib: str, X, fit_params: dict, n_threads) -> dict:
    """One timed ``MiniBatchKMeans(**fit_params).fit(X)`` of ``lib``.

    Returns ``seconds``, ``n_steps``, ``n_iter``, ``inertia`` and ``labels``.
    """
    est, seconds = timed_fit(lib, X, n_threads, estimator=ESTIMATOR, **fit_params)
    fit = {"seconds": seconds, "n_steps": int(est.n_steps_), "n_iter": int(est.n_iter_)}
    return fit | {"inertia": float(est.inertia_), "labels": np.asarray(est.labels_)}


def run_cell(X, cell: dict, params: dict) -> dict:
    """Time both libraries on ``cell`` (data ``X``), interleaved.

    A warm-up fit of each, untimed (one epoch on the first
    ``max(4k, 2 batch_size, 2048)`` samples), compiles or loads nbkm's kernels and
    starts the thread pools.

    Returns the cell's row: ``impls`` (per library ``seconds`` and ``n_steps``
    of every repeat, the median ``fit_seconds``, ``n_iter`` and ``inertia`` of
    the last), ``ratio`` (nbkm / sklearn of the ``fit_seconds``),
    ``n_steps_expected``, ``labels_equal``, ``n_labels_differ``,
    ``n_steps_equal`` and ``mismatches``.
    """
    k, batch_size, threads = cell["k"], cell["batch_size"], params["n_threads"]
    fit_params = workloads.minibatch_fit(
        k, batch_size, params["max_iter"], params["seed"]
    )
    small, warm = X[: max(4 * k, 2 * batch_size, 2048)], {**fit_params, "max_iter": 1}
    warm_up = {lib: partial(fit_once, lib, small, warm, threads) for lib in IMPLS}
    calls = {lib: partial(fit_once, lib, X, fit_params, threads) for lib in IMPLS}
    results, labels = {}, {}
    for lib, fits in _timing.interleaved(calls, params["repeats"], warm_up).items():
        seconds = [f["seconds"] for f in fits]
        labels[lib] = fits[-1]["labels"]
        results[lib] = {"seconds": seconds, "n_steps": [f["n_steps"] for f in fits]}
        results[lib]["fit_seconds"] = _timing.median(seconds)
        results[lib] |= {key: fits[-1][key] for key in ("n_iter", "inertia")}
    nb, sk = results["nbkm"], results["sklearn"]
    expected = workloads.minibatch_n_steps(len(X), batch_size, params["max_iter"])
    differ = int(np.count_nonzero(labels["nbkm"] != labels["sklearn"]))
    row = {key: cell[key] for key in ("n", "d", "k", "batch_size", "dtype", "label")}
    row |= {"impls": results, "ratio": nb["fit_seconds"] / sk["fit_seconds"]}
    row |= {"n_steps_expected": expected, "labels_equal": differ == 0}
    row |= {"n_labels_differ": differ, "n_steps_equal": nb["n_steps"] == sk["n_steps"]}
    row["mismatches"] = [
        f"{lib}: {steps} steps, expected {expected}"
        for lib, res in results.items()
        for steps in sorted(set(res["n_steps"]) - {expected})
    ]
    if differ:
        row["mismatches"].append(f"{differ} labels differ")
    return row


def summarise(grid: list[dict]) -> dict:
    """Geometric mean, extremes and worst cell of the ratio, agreement counts."""
    if not grid:
        return {"n_cells": 0}
    worst = max(grid, key=lambda row: row["ratio"])
    return _tables.ratio_stats([row["ratio"] for row in grid]) | {
        "worst_cell": worst["label"],
        "n_cells": len(grid),
        "n_labels_equal": sum(row["labels_equal"] for row in grid),
        "n_steps_equal": sum(row["n_steps_equal"] for row in grid),
    }


def run(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run the mini-batch grid; see the module docstring. No figures.

    ``results``: ``mode`` ("minibatch"), ``fit_params`` (shared by every fit but
    ``k`` and ``batch_size``), ``grid`` (rows of :func:`run_cell`),
    ``skipped_cells``, ``summary``, ``mismatches`` and ``timings``.
    """
    todo, skipped = plan(params)
    progress = _cli.Progress("compare", len(todo), quiet=quiet)
    grid, X = [], None
    for cell in todo:
        shape = (cell["n"], cell["d"])
        if X is None or X.shape != shape or X.dtype != cell["dtype"]:
            X = None  # free the previous data first
            X = data.draw_gaussian(*shape, cell["dtype"], params["seed"])
        grid.append(run_cell(X, cell, params))
        progress.step(f"{cell['label']}  ratio {grid[-1]['ratio']:.2f}")
    fit_params = workloads.minibatch_fit(1, 1, params["max_iter"], params["seed"])
    del fit_params["n_clusters"], fit_params["batch_size"]
    results = {
        "mode": "minibatch",
        "fit_params": fit_params | {"init": "k-means++"},
        "grid": grid,
        "skipped_cells": [
            {key: c[key] for key in ("label", "reason", "estimated_seconds")}
            for c in skipped
        ],
        "summary": summarise(grid),
        "mismatches": [
            f"{row['label']}: {m}" for row in grid for m in row["mismatches"]
        ],
        "timings": _timing.timings(
            params["n_threads"], "time.perf_counter, whole fit()", params["repeats"]
        ),
    }
    return results, {}


NUMBER = _io.NUMBER
_LIB = {"seconds": [NUMBER], "n_steps": [int], "fit_seconds": NUMBER, "n_iter": int}
_CELL = {"label": str, "impls": dict.fromkeys(IMPLS, _LIB | {"inertia": NUMBER})}
_CELL |= {"ratio": NUMBER, "labels_equal": bool, "n_steps_equal": bool}
_CELL |= dict.fromkeys(("n_steps_expected", "n_labels_differ"), int)
#: What :func:`section` reads of a record (shapes of :func:`_io.check_shape`).
RESULTS_SHAPE = {
    "fit_params": {"max_iter": int, "random_state": int},
    "grid": [_CELL],
    "skipped_cells": [{"label": str, "reason": str}],
    "summary": {"n_cells": int},
    "mismatches": [str],
    "timings": {"n_threads": int, "libraries": [dict]},
}


def check_results(record: dict, where: str) -> None:
    """Check what :func:`section` reads of a mini-batch record (``RecordError``)."""
    _io.check_shape(record["results"], RESULTS_SHAPE, where, "results")


def _lib_cell(res: dict) -> str:
    return f"{res['fit_seconds']:.3g} ({res['n_steps'][-1]})"


def footer(results: dict) -> list[str]:
    """Summary, skipped cells, mismatches and the BLAS libraries."""
    s, lines = results["summary"], []
    if s["n_cells"]:
        lines.append(
            f"nbkm / sklearn: geometric mean {s['geomean_ratio']:.2f} over "
            f"{s['n_cells']} cells (min {s['min_ratio']:.2f}, max "
            f"{s['max_ratio']:.2f}); worst cell {s['worst_cell']}; "
            f"{s['n_at_or_below_1']}/{s['n_cells']} cells at or below 1"
        )
        lines.append(
            f"identical labels in {s['n_labels_equal']}/{s['n_cells']} cells, the "
            f"same n_steps_ in {s['n_steps_equal']}/{s['n_cells']}"
        )
    lines += [f"skipped {c['label']}: {c['reason']}" for c in results["skipped_cells"]]
    lines += [f"mismatch {m}" for m in results["mismatches"]]
    lines.append(_tables.blas_line(results["timings"]["libraries"]))
    return lines


def section(record: dict) -> list[str]:
    """Markdown of a mini-batch record: the workload, a table per cell, a summary."""
    p, r = record["params"], record["results"]
    head = ["cell", *(f"{lib} s (steps)" for lib in IMPLS), "nbkm / sklearn"]
    head += ["same labels"]
    rows = []
    for row in r["grid"]:
        fits = [_lib_cell(row["impls"][lib]) for lib in IMPLS]
        same = "yes" if row["labels_equal"] else f"no ({row['n_labels_differ']} differ)"
        rows.append([row["label"], *fits, f"{row['ratio']:.2f}", same])
    fp = r["fit_params"]
    intro = (
        "Whole `MiniBatchKMeans` fits (`benchmarks/workloads.py`: `minibatch_fit`) "
        f"on standard normal data: `random_state={fp['random_state']}`, k-means++ "
        f"on the default `init_size`, `n_init=1`, `max_iter={fp['max_iter']}` "
        "epochs with both early stops off (`tol=0`, `max_no_improvement=None`), so "
        "both libraries run the same steps on the same batches; median of "
        f"{p['repeats']} interleaved repeats, {r['timings']['n_threads']} threads. "
        "Ratio = nbkm / sklearn of the median seconds of `fit` (below 1: nbkm "
        "faster)."
    )
    title = "Mini-batch k-means against scikit-learn"
    return _tables.speed_section(title, intro, head, rows, footer(r), record)
