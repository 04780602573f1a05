"""Whole ``fit()`` calls against every peer: compare's one engine, and its targets.

``python -m experiments compare`` times, per cell of the grid (data kind x n x d
x k x dtype, ``benchmarks/workloads.py``), a whole fit of every nbkm algorithm
and every peer from the same explicit initial centres (the first k samples),
``n_init=1``. The implementations are timed interleaved (the order rotates every
repeat) after an untimed warm-up fit each on the first samples of the cell; the
median over repeats of the fit's seconds is reported, and of its seconds per
iteration. faiss has no tolerance: it runs as many iterations as scikit-learn's
Lloyd needed on the cell (``niter``), float32 only.

Two workloads share this runner (:data:`RATIOS`):

- ``whole_fit`` (the default): fits to convergence, each implementation's
  default ``tol``, ``max_iter=300``; ratios of *primary* (nbkm's default
  algorithm) over each peer's whole fit, judged by :func:`evaluate_targets`.
- ``fixed`` (``--fixed``): the asv suite's fixed workload, ``tol=0`` and a fixed
  ``max_iter`` on standard normal data (kind ``gaussian``), plus a TF-IDF-like
  CSR case (kind ``tfidf``) and k-means++ of both libraries; ratios of seconds
  per iteration, nbkm's Lloyd and Elkan over scikit-learn's.
"""

from __future__ import annotations

import functools
import time
from functools import partial

import numpy as np
from scipy.stats import gmean

from benchmarks import data, peers, workloads
from experiments import _cli, _memory, _tables, _timing
from experiments._tables import fmt
from experiments._timing import timed_fit

#: The targets of the whole-fit workload: ratios of primary over the peer.
TARGETS = {"geomean_vs_sklearn_lloyd": 0.4, "cell_vs_sklearn": 0.7}
TARGETS |= {"vs_faiss": 0.6, "sparse_vs_best_sklearn": 0.6}
#: The cells of the faiss target: float32, d=16, k=1000.
FAISS_TARGET_CELLS = {"dtype": "float32", "d": 16, "k": 1000}
#: The numerator standing for nbkm's default algorithm in :data:`RATIOS`.
PRIMARY = "primary"
#: Per workload, the ratios of a cell: name -> (numerator, denominator, measure).
RATIOS = {
    "whole_fit": {
        "lloyd": (PRIMARY, "sklearn-lloyd", "fit_seconds"),
        "elkan": (PRIMARY, "sklearn-elkan", "fit_seconds"),
        "sklearnex": (PRIMARY, "sklearnex", "fit_seconds"),
        "faiss": (PRIMARY, "faiss", "fit_seconds"),
    },
    "fixed": {
        "lloyd": ("nbkm-lloyd", "sklearn-lloyd", "seconds_per_iter"),
        "elkan": ("nbkm-elkan", "sklearn-elkan", "seconds_per_iter"),
        "faiss": ("faiss", "sklearn-lloyd", "seconds_per_iter"),
    },
}
#: The order of the ratios in tables and lists.
RATIO_ORDER = ("lloyd", "elkan", "sklearnex", "faiss", "best_sklearn", "kmeans++")
#: The peers of every whole-fit cell, besides nbkm's algorithms.
PEER_IMPLS = ("sklearn-lloyd", "sklearn-elkan", "faiss", "sklearnex")
#: Kinds whose data is a CSR matrix.
SPARSE_KINDS = (*data.SPARSE_KINDS, "tfidf")
#: Rough cost model of the budget: seconds per iteration of scikit-learn's Lloyd
#: = SPI_NKD * n * k * d (0.15 s at 1e5 x 64, k=1000, 2 busy cores) + SPI_N * n +
#: SPI_FIXED, float32 at FLOAT32 of that, times a guess of the iterations per kind
#: (capped by max_iter) and a factor per implementation.
SPI_NKD, SPI_N, SPI_FIXED, FLOAT32 = 0.15 / (1e5 * 64 * 1000), 5e-8, 2e-4, 0.6
#: The sparse kinds: SPI_NNZK * stored values * k * (d / 5000) ** 0.8 instead of
#: the n k d term (0.51 s at 1e5 topic documents, 5,000 words, k=200; the
#: scattered reads of wider centres cost more: 4.4 s at 50,000 words).
SPI_NNZK = 4.7e-10
GUESS_N_ITER = {"separated": 10, "overlapping": 60, "uniform": 120, "digits": 60}
GUESS_N_ITER["documents"] = 30
COST_FACTOR = {"sklearn-lloyd": 1.0, "sklearn-elkan": 1.5, "faiss": 0.7}
COST_FACTOR |= {"sklearnex": 0.8, "nbkm-lloyd": 0.8, "nbkm-elkan": 1.0}
BOUNDED_COST_FACTOR = 0.6  # nbkm's other algorithms


def nbkm_algorithms() -> list[str]:
    """Nbkm's algorithms, read from ``nbkm.KMeans`` (new ones appear unedited)."""
    import nbkm

    return workloads.supported_algorithms(nbkm.KMeans)


def primary_algorithm() -> str:
    """Nbkm's default algorithm, the one the targets are about (``auto`` when new)."""
    import nbkm

    return nbkm.KMeans().algorithm


@functools.cache
def accepts_sparse(impl: str) -> bool:
    """Whether ``impl`` fits CSR data (nbkm's algorithms say so in their tags)."""
    if impl.startswith("nbkm-"):
        import nbkm

        est = nbkm.KMeans(algorithm=impl.removeprefix("nbkm-"))
        return bool(est.__sklearn_tags__().input_tags.sparse)
    return impl != "faiss"


def peer_status() -> dict:
    """Availability of faiss and scikit-learn-intelex (see ``benchmarks/peers.py``)."""
    return {name: peers.status(name) for name in peers.PEERS}


def estimate_seconds(cell: dict, impls, repeats: int, max_iter: int) -> float:
    """Rough seconds of one cell: ``repeats`` fits of each of ``impls``.

    See :data:`SPI_NKD`: calibrated on 2 cores; meant to choose cells, not to
    predict.
    """
    kind, n, d, k = (cell[key] for key in ("kind", "n", "d", "k"))
    values = n * d  # the data's stored values
    if kind in SPARSE_KINDS:  # the work goes with the stored values a row
        values = n * min(d * cell.get("density", 1.0), data.DOCUMENT_WORDS)
        spi = SPI_NNZK * values * k * (d / 5000) ** 0.8 + SPI_N * n + SPI_FIXED
    else:
        spi = SPI_NKD * n * k * d + SPI_N * n + SPI_FIXED
    spi *= FLOAT32 if cell["dtype"] == "float32" else 1.0
    n_iter = min(GUESS_N_ITER.get(kind, 100), max_iter)
    factor = sum(COST_FACTOR.get(impl, BOUNDED_COST_FACTOR) for impl in impls)
    return float(factor * spi * n_iter * repeats + 1e-7 * values)


def label(kind, n, d, k, dtype, density=None) -> str:
    """Name of a cell: ``uniform n=100k d=16 k=10 f32`` (``tfidf``: its density)."""
    return f"{kind} {_tables.label(n, d, k, dtype, density)}"


def cells(params: dict) -> list[dict]:
    """Return the cells of the grid (``k <= n``), then the fixed workload's CSR case.

    Each: ``kind``, ``n``, ``d``, ``k``, ``dtype`` (``tfidf``: ``density`` too).
    """
    keys = ("kind", "n", "d", "k", "dtype")
    out = [
        dict(zip(keys, (kind, *shape), strict=True))
        for shape in workloads.shapes(params)
        for kind in params["kind"]
    ]
    if spec := params.get("sparse"):
        out.append({"kind": "tfidf", **spec, "dtype": "float64"})
    return out


def _skip_reason(impl: str, cell: dict, params: dict, available: dict) -> str | None:
    """Why ``impl`` does not run on ``cell``; None: it runs."""
    lib, n, k = impl.split("-")[0], cell["n"], cell["k"]
    if lib in peers.PEERS and not available.get(lib, False):
        return f"{lib} is not installed"
    if cell["kind"] in SPARSE_KINDS and not accepts_sparse(impl):
        return "dense data only"
    if impl == "faiss" and cell["dtype"] != "float32":
        return "faiss clusters float32 only"
    if impl.endswith("-elkan") and n * k > params["elkan_max_bounds"]:
        return f"n x k = {n * k:.3g} above elkan_max_bounds"
    return None


def plan(params: dict, available: dict) -> tuple[list[dict], list[dict]]:
    """Split the grid into cells to run and cells skipped, with the reasons.

    ``available`` maps a peer to whether it can run here. Each cell has those of
    :func:`cells`, ``label``, ``impls`` (those that run), ``skipped_impls``
    (impl -> reason) and ``estimated_seconds``; a skipped cell also has
    ``reason``.
    """
    run, skipped = [], []
    max_iter = params.get("max_iter") or workloads.WHOLE_FIT_MAX_ITER
    for cell in cells(params):
        why = {i: _skip_reason(i, cell, params, available) for i in params["impls"]}
        impls = [impl for impl, reason in why.items() if reason is None]
        shape = (cell[key] for key in ("kind", "n", "d", "k", "dtype"))
        cell |= {"label": label(*shape, cell.get("density")), "impls": impls}
        cell["skipped_impls"] = {i: r for i, r in why.items() if r is not None}
        est = estimate_seconds(cell, impls, params["repeats"] + 1, max_iter)
        cell["estimated_seconds"] = est
        fits = _tables.within_budget(cell, params.get("budget"))
        (run if fits else skipped).append(cell)
    return run, skipped


def cell_data(cell: dict, seed: int):
    """Return the data of ``cell``, deterministic in the cell and ``seed``."""
    n, d, dtype = cell["n"], cell["d"], cell["dtype"]
    if cell["kind"] == "gaussian":
        return data.draw_gaussian(n, d, dtype, seed)
    if cell["kind"] == "tfidf":
        return data.sparse_tfidf_like(n, d, cell["density"], seed).astype(dtype)
    return data.make_data(cell["kind"], n, d, cell["k"], dtype, seed)


def fit_once(impl: str, X, k: int, n_threads, niter: int, overrides=None) -> dict:
    """One whole fit of ``impl`` on ``X`` from its first ``k`` samples.

    ``overrides`` replaces parameters of ``workloads.whole_fit`` (the fixed
    workload: ``tol`` and ``max_iter``). Returns ``seconds``, ``n_iter``,
    ``inertia``, ``tol`` and ``labels`` (both None for faiss) and
    ``distances_computed`` (nbkm's ``distances_computed_``, or None).
    """
    params = workloads.whole_fit(X, k) | (overrides or {})
    if impl == "faiss":
        seconds, n_iter, inertia = peers.fit_faiss(X, params["init"], niter, n_threads)
        fit = {"seconds": seconds, "n_iter": n_iter, "inertia": inertia}
        return fit | dict.fromkeys(("tol", "labels", "distances_computed"))
    lib, _, algorithm = impl.partition("-")  # sklearnex has one algorithm
    params |= {"algorithm": algorithm} if algorithm else {}
    est, seconds = timed_fit(lib, X, n_threads, **params)
    fractions = getattr(est, "distances_computed_", None)
    if fractions is not None:  # JSON has no NaN: what nbkm did not count is null
        fractions = np.asarray(fractions, dtype=np.float64)
        fractions = [float(v) if np.isfinite(v) else None for v in fractions]
    fit = {
        "seconds": seconds,
        "n_iter": int(est.n_iter_),
        "inertia": float(est.inertia_),
    }
    fit |= {"tol": float(est.tol), "labels": np.asarray(est.labels_)}
    return fit | {"distances_computed": fractions}


def time_init(X, k: int, params: dict) -> dict:
    """Time k-means++ of nbkm and sklearn, interleaved, from the same seed.

    Returns per implementation ``seconds`` and ``median_seconds``, the ``ratio``
    of the medians and ``indices_equal`` (both chose the same samples).
    """
    from sklearn.cluster import kmeans_plusplus as sk_plusplus
    from threadpoolctl import threadpool_limits

    import nbkm

    threads = params["n_threads"]
    plusplus = {
        "nbkm": partial(nbkm.kmeans_plusplus, n_threads=threads),
        "sklearn": sk_plusplus,
    }

    def timed(name):
        t0 = time.perf_counter()
        with threadpool_limits(limits=threads if name == "sklearn" else None):
            indices = plusplus[name](X, k, random_state=0)[1]
        return time.perf_counter() - t0, indices

    calls = {name: partial(timed, name) for name in plusplus}
    out, indices = {}, {}
    for name, runs in _timing.interleaved(calls, params["init_repeats"], {}).items():
        seconds = [s for s, _ in runs]
        out[name] = {"seconds": seconds, "median_seconds": _timing.median(seconds)}
        indices[name] = runs[-1][1]
    out["ratio"] = out["nbkm"]["median_seconds"] / out["sklearn"]["median_seconds"]
    out["indices_equal"] = bool(np.array_equal(indices["nbkm"], indices["sklearn"]))
    return out


def _init_timing(X, cell: dict, params: dict) -> tuple[dict | None, dict]:
    """k-means++ of both libraries on a dense cell (``--init-repeats``).

    Returns :func:`time_init`'s timings, or None, and the reason it was
    skipped above ``init_max_nk`` (``{"kmeans++": reason}``, else empty).
    """
    n, k = cell["n"], cell["k"]
    if not params.get("init_repeats") or hasattr(X, "nnz"):
        return None, {}
    if n * k > params["init_max_nk"]:
        return None, {"kmeans++": f"n x k = {n * k:.3g} above init_max_nk"}
    return time_init(X, k, params), {}


def run_cell(X, cell: dict, params: dict) -> dict:
    """Time every implementation of ``cell`` on ``X``, interleaved.

    nbkm's kernels for the cell's dtype are compiled or loaded first, then the
    warm-up fits (untimed, on the first ``max(4k, 2048)`` samples, 2 iterations)
    start thread pools. scikit-learn's Lloyd runs first in the first repeat, so
    that faiss knows how many iterations to run. ``params["fit"]`` overrides the
    fit's parameters (the fixed workload).

    Returns the cell's row: ``impls`` (per implementation ``seconds`` and
    ``n_iter`` of every repeat, medians ``fit_seconds`` and ``seconds_per_iter``,
    ``inertia``, ``tol``, ``distances_computed``), ``ratios`` (:data:`RATIOS`,
    and ``kmeans++``), ``init`` (:func:`time_init`, or None),
    ``relative_per_iter`` (each over sklearn-lloyd), ``agreement``, ``mismatches``.
    """
    k, threads, overrides = cell["k"], params["n_threads"], params.get("fit")
    impls = sorted(cell["impls"], key=lambda impl: impl != "sklearn-lloyd")
    small = X[: max(4 * k, 2048)]
    if any(impl.startswith("nbkm") for impl in impls):
        _timing.load_nbkm_kernels(X.dtype, "csr" if hasattr(X, "nnz") else "dense")
    warm = {"max_iter": 2}
    warm_up = {i: partial(fit_once, i, small, k, threads, 2, warm) for i in impls}
    reference = {}

    def fit(impl):
        niter = reference.get("n_iter", workloads.WHOLE_FIT_MAX_ITER)
        out = fit_once(impl, X, k, threads, niter, overrides)
        if impl == "sklearn-lloyd":
            reference.setdefault("n_iter", out["n_iter"])
        return out

    calls = {impl: partial(fit, impl) for impl in impls}
    runs = _timing.interleaved(calls, params["repeats"], warm_up)
    results, labels = {}, {}
    for impl, fits in runs.items():
        seconds = [f["seconds"] for f in fits]
        n_iter = [f["n_iter"] for f in fits]
        last = fits[-1]
        labels[impl] = last["labels"]
        results[impl] = {"seconds": seconds, "n_iter": n_iter}
        results[impl]["fit_seconds"] = _timing.median(seconds)
        results[impl]["seconds_per_iter"] = _timing.median(np.divide(seconds, n_iter))
        for key in ("inertia", "tol", "distances_computed"):
            results[impl][key] = last[key]
    init, init_skipped = _init_timing(X, cell, params)
    row = {key: cell[key] for key in ("kind", "n", "d", "k", "dtype", "label")}
    row |= {"seed": params["seed"], "skipped": cell["skipped_impls"] | init_skipped}
    if hasattr(X, "nnz"):
        row |= {"nnz": int(X.nnz), "density": cell.get("density")}
    row["ratios"] = cell_ratios(results, ratio_definitions(params))
    if init:
        row["ratios"]["kmeans++"] = init["ratio"]
    row |= {"impls": results, "init": init}
    base = results.get("sklearn-lloyd", {}).get("seconds_per_iter")
    row["relative_per_iter"] = {
        impl: res["seconds_per_iter"] / base for impl, res in results.items() if base
    }
    row["agreement"], row["mismatches"] = agreement(results, labels)
    return row


def ratio_definitions(params: dict) -> dict:
    """:data:`RATIOS` of the run's workload, with the primary algorithm named."""
    return _named(RATIOS[params["mode"]], params["primary"])


def _named(definitions: dict, primary: str) -> dict:
    """``definitions`` with :data:`PRIMARY` replaced by ``primary``."""
    return {
        name: [primary if num == PRIMARY else num, den, measure]
        for name, (num, den, measure) in definitions.items()
    }


def cell_ratios(results: dict, definitions: dict) -> dict:
    """Return the ratios of ``definitions`` (:func:`ratio_definitions`) that ran.

    ``best_sklearn``: over the quicker of sklearn-lloyd and sklearn-elkan,
    where both ran (the sparse kinds' target).
    """
    ratios = {
        name: results[num][measure] / results[den][measure]
        for name, (num, den, measure) in definitions.items()
        if num in results and den in results and results[den][measure]
    }
    lloyd, elkan = definitions.get("lloyd"), definitions.get("elkan")
    if "lloyd" in ratios and "elkan" in ratios and lloyd[0] == elkan[0]:
        ratios["best_sklearn"] = max(ratios["lloyd"], ratios["elkan"])
    return ratios


def agreement(results: dict, labels: dict) -> tuple[dict, list[str]]:
    """Whether each nbkm algorithm gives sklearn-lloyd's labels and iterations.

    Returns per nbkm implementation ``labels_equal``, ``n_labels_differ`` and
    ``n_iter_equal`` (nothing where sklearn-lloyd did not run), and one line per
    disagreement.
    """
    ref = labels.get("sklearn-lloyd")
    out, lines = {}, []
    for impl in results:
        if not impl.startswith("nbkm-") or ref is None:
            continue
        differ = int(np.count_nonzero(labels[impl] != ref))
        n_iter, ref_iter = (results[i]["n_iter"][-1] for i in (impl, "sklearn-lloyd"))
        out[impl] = {"labels_equal": differ == 0, "n_labels_differ": differ}
        out[impl]["n_iter_equal"] = bool(n_iter == ref_iter)
        if differ or n_iter != ref_iter:
            lines.append(
                f"{impl}: {differ} labels differ, n_iter {n_iter} "
                f"vs sklearn-lloyd {ref_iter}"
            )
    return out, lines


def summarise(grid: list[dict]) -> dict:
    """Per data kind and ratio: geometric mean, min, max and number of cells."""
    summary = {}
    for kind in dict.fromkeys(row["kind"] for row in grid):
        rows = [row for row in grid if row["kind"] == kind]
        for name in dict.fromkeys(name for row in rows for name in row["ratios"]):
            values = [row["ratios"][name] for row in rows if name in row["ratios"]]
            stats = _tables.ratio_stats(values) | {"n_cells": len(values)}
            summary.setdefault(kind, {})[name] = stats
    return summary


def _every_cell(grid, name, threshold, **where) -> dict:
    """Whether ``name`` is at most ``threshold`` on every cell matching ``where``."""
    rows = [r for r in grid if all(r[key] == v for key, v in where.items())]
    values = {r["label"]: r["ratios"][name] for r in rows if name in r["ratios"]}
    failing = [lbl for lbl, v in values.items() if v > threshold]
    out = {"threshold": threshold, "n_cells": len(values)}
    out["max_ratio"] = max(values.values()) if values else None
    return out | {"failing": failing, "holds": (not failing) if values else None}


def evaluate_targets(grid: list[dict]) -> dict:
    """Whether each target of the whole-fit workload holds on the cells of ``grid``.

    A target with no cell to judge (its peer was not run) has ``holds`` None.

    ``geomean_vs_sklearn_lloyd`` has per dense kind ``geomean``, ``n_cells``
    and ``holds``; ``every_cell_vs_sklearn_lloyd``, ``..._elkan`` and
    ``..._sklearnex``, ``vs_faiss_float32_d16_k1000`` (dense kinds), and
    ``every_sparse_cell_vs_best_sklearn`` (sparse kinds: primary over the
    quicker of sklearn's two), each ``threshold``, ``n_cells``, ``max_ratio``,
    ``failing`` labels and ``holds``; ``all_hold`` is False if one fails, None
    if none fails but one could not be judged.
    """
    sparse = [row for row in grid if row["kind"] in SPARSE_KINDS]
    grid = [row for row in grid if row["kind"] not in SPARSE_KINDS]
    per_kind, target = {}, TARGETS["geomean_vs_sklearn_lloyd"]
    for kind in dict.fromkeys(row["kind"] for row in grid):
        rows = [r for r in grid if r["kind"] == kind and "lloyd" in r["ratios"]]
        geomean = float(gmean([r["ratios"]["lloyd"] for r in rows])) if rows else None
        holds = None if geomean is None else geomean <= target
        per_kind[kind] = {"geomean": geomean, "n_cells": len(rows), "holds": holds}
    every = {}
    if grid:  # sparse kinds only: the dense targets do not apply
        for peer in ("lloyd", "elkan", "sklearnex"):
            name = peer if peer == "sklearnex" else f"sklearn_{peer}"
            every[f"every_cell_vs_{name}"] = _every_cell(
                grid, peer, TARGETS["cell_vs_sklearn"]
            )
        faiss = _every_cell(grid, "faiss", TARGETS["vs_faiss"], **FAISS_TARGET_CELLS)
        every["vs_faiss_float32_d16_k1000"] = faiss
    if sparse:
        every["every_sparse_cell_vs_best_sklearn"] = _every_cell(
            sparse, "best_sklearn", TARGETS["sparse_vs_best_sklearn"]
        )
    verdicts = [v["holds"] for v in (*per_kind.values(), *every.values())] or [None]
    all_hold = False if False in verdicts else (None if None in verdicts else True)
    return {"geomean_vs_sklearn_lloyd": per_kind, **every, "all_hold": all_hold}


def run(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run the grid (and ``--memory``); draw the ratios and the pruning.

    ``results``: ``mode`` (the workload), ``fit`` (what it overrides),
    ``primary``, ``ratio_of`` (:func:`ratio_definitions`), ``algorithms``,
    ``peers`` (availability), ``faiss``, ``gemm_peak_gflops``, ``grid`` (rows of
    :func:`run_cell`), ``skipped_cells``, ``summary``, ``roofline``,
    ``targets`` (None for the fixed workload), ``mismatches``, ``memory``,
    ``timings``. Figures: ``ratios`` and, when a fit recorded it, ``pruning``.
    """
    import numba

    status = peer_status()
    available = {name: s["available"] for name, s in status.items()}
    todo, skipped = plan(params, available)
    progress = _cli.Progress("compare", len(todo) + bool(params["memory"]), quiet=quiet)
    gemm = _timing.gemm_peaks(params["dtype"], params["gemm_size"])
    grid, X = [], None
    for cell in todo:
        X = None  # free the previous data first
        X = cell_data(cell, params["seed"])
        grid.append(run_cell(X, cell, params))
        progress.step(f"{cell['label']}  {_tables.ratios_text(grid[-1]['ratios'])}")
    del X
    if memory := _memory.peak_memory(params):
        progress.step(f"peak memory {memory['label']}")
    whole = params["mode"] == "whole_fit"
    results = {
        "mode": params["mode"],
        "fit": params.get("fit") or {},
        "primary": params["primary"],
        "ratio_of": ratio_definitions(params),
        "algorithms": params["algorithms"],
        "peers": status,
        "faiss": status["faiss"],
        "gemm_peak_gflops": gemm,
        "grid": grid,
        "skipped_cells": [
            {key: c[key] for key in ("label", "kind", "n", "d", "k", "dtype", "reason")}
            | {"estimated_seconds": c["estimated_seconds"]}
            for c in skipped
        ],
        "summary": summarise(grid),
        "roofline": roofline(grid, gemm, params["primary"]),
        "targets": evaluate_targets(grid) if whole else None,
        "mismatches": [
            f"{row['label']}: {m}" for row in grid for m in row["mismatches"]
        ],
        "memory": memory,
        "timings": _timing.timings(
            params["n_threads"] or numba.get_num_threads(),
            "time.perf_counter, whole fit() (faiss: train())",
            params["repeats"],
        ),
    }
    figures = {}
    if grid:
        figures["ratios"] = plot_ratios(results, out / "compare.png")
    impls = [r for row in grid for r in row["impls"].values()]
    if any(v is not None for r in impls for v in r["distances_computed"] or []):
        figures["pruning"] = plot_pruning(results, out / "compare_pruning.png")
    return results, figures


#: Implementations whose distance to the floor the roofline table gives.
ROOFLINE_IMPLS = ("sklearn-lloyd", "faiss", "sklearnex")


def roofline(grid: list[dict], gemm: dict, primary: str) -> list[dict]:
    """Each cell's floor and how far each fit is from it.

    The floor of a whole fit is the arithmetic of scikit-learn lloyd's
    iterations, ``2 n k d`` flops each, at the GEMM peak measured at the start
    of the run (per dtype, same threads); a fit's distance to it is its time
    over the floor (bounded algorithms skip arithmetic, so they may go below).

    Each row: ``label``, ``floor_seconds`` and ``over_floor`` (implementation
    -> ratio).
    """
    rows = []
    for row in grid:
        reference = row["impls"].get("sklearn-lloyd")
        if reference is None or "nnz" in row:  # sparse: no GEMM floor
            continue
        flops = reference["n_iter"][-1] * 2.0 * row["n"] * row["k"] * row["d"]
        floor = flops / (gemm[row["dtype"]] * 1e9)
        over = {
            i: r["fit_seconds"] / floor
            for i, r in row["impls"].items()
            if i in (primary, *ROOFLINE_IMPLS)
        }
        rows.append({"label": row["label"], "floor_seconds": floor, "over_floor": over})
    return rows


def roofline_lines(results: dict) -> list[str]:
    """Markdown table of :func:`roofline` (empty for records without one)."""
    rows = results.get("roofline") or []
    if not rows:
        return []
    impls = [results["primary"], *ROOFLINE_IMPLS]
    gemm = ", ".join(f"{k} {v:.0f}" for k, v in results["gemm_peak_gflops"].items())
    lines = [
        "",
        "### Distance to the floor",
        "",
        "Floor: scikit-learn lloyd's iterations at `2 n k d` flops each, at this "
        f"run's measured GEMM peak (GFLOP/s: {gemm}). Each fit's time over it "
        "(below 1: a bounded algorithm skipped arithmetic).",
        "",
        "| cell | floor s | " + " | ".join(f"{i} / floor" for i in impls) + " |",
        "|" + "---|" * (2 + len(impls)),
    ]
    for row in rows:
        ratios = [fmt(row["over_floor"].get(i), ".1f") for i in impls]
        cells = [row["label"], f"{row['floor_seconds']:.3g}", *ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def plot_ratios(results: dict, path) -> str:
    """Seconds per iteration of every implementation over sklearn-lloyd's, per cell."""
    import pandas as pd

    from experiments._plots import plt, save_figure, sns

    frame = pd.DataFrame(
        [
            {"cell": row["label"], "ratio": value, "implementation": impl}
            for row in results["grid"]
            for impl, value in row["relative_per_iter"].items()
            if impl != "sklearn-lloyd"
        ]
    )
    rows = max(1, len(results["grid"]))
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.3 * rows))
    if len(frame):
        order = [
            i for i in results["grid"][0]["impls"] if i in set(frame["implementation"])
        ]
        order += sorted(set(frame["implementation"]) - set(order))
        kw = {"hue": "implementation", "hue_order": order, "jitter": False, "size": 6}
        sns.stripplot(data=frame, y="cell", x="ratio", **kw, ax=ax, orient="h")
        ax.set_xscale("log")
        ax.legend(loc="best", fontsize=7)
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(TARGETS["geomean_vs_sklearn_lloyd"], color="grey", lw=1, ls="--")
    ax.set(ylabel="")
    ax.set_xlabel(
        "seconds per iteration over scikit-learn lloyd's (left of 1: faster; "
        f"dashed: {TARGETS['geomean_vs_sklearn_lloyd']})"
    )
    threads = results["timings"]["n_threads"]
    what = "fixed iterations" if results.get("mode") == "fixed" else "whole fits"
    ax.set_title(f"{what}, {threads} threads")
    return save_figure(fig, path)


def plot_pruning(results: dict, path) -> str:
    """Mean fraction of distances computed per iteration, one panel per data kind."""
    import pandas as pd

    from experiments._plots import plt, save_figure, sns

    frame = pd.DataFrame(
        [
            {"kind": row["kind"], "impl": impl, "iteration": i + 1, "fraction": v}
            for row in results["grid"]
            for impl, res in row["impls"].items()
            for i, v in enumerate(res["distances_computed"] or [])
            if v is not None
        ]
    )
    kinds = list(dict.fromkeys(frame["kind"]))
    size = (3.2 * len(kinds), 3)
    fig, axes = plt.subplots(1, len(kinds), figsize=size, squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        part = frame[frame["kind"] == kind]
        kw = {"x": "iteration", "y": "fraction", "hue": "impl", "errorbar": None}
        sns.lineplot(data=part, **kw, ax=ax)
        ax.set(title=kind, ylim=(0, 1.05), ylabel="distances computed (of n x k)")
        ax.legend(fontsize=7)
    fig.suptitle("pruning per iteration (mean over the cells of each kind)")
    return save_figure(fig, path)


def _verdict(holds) -> str:
    return {True: "holds", False: "FAILS", None: "not judged"}[holds]


#: The every-cell targets as lines say them (older records' names included).
TARGET_NAMES = {
    "every_cell_vs_sklearn_lloyd": "every cell vs sklearn-lloyd (<=",
    "every_cell_vs_sklearn_elkan": "every cell vs sklearn-elkan (<=",
    "every_cell_vs_sklearnex": "every cell vs sklearnex (<=",
    "vs_faiss_float32_d16_k1000": "float32 d=16 k=1000 vs faiss (<=",
    "faster_than_faiss_per_iter_float32": "every float32 cell vs faiss per iter (<",
    "every_sparse_cell_vs_best_sklearn": "every sparse cell vs the quicker sklearn (<=",
}


def target_lines(results: dict) -> list[str]:
    """One line per target: value, threshold and verdict (none without targets)."""
    if not (t := results.get("targets")):
        return []
    lines = [
        f"geomean {results['primary']} / sklearn-lloyd on {kind}: "
        f"{fmt(v['geomean'])} over {v['n_cells']} cells (target <= "
        f"{TARGETS['geomean_vs_sklearn_lloyd']}): {_verdict(v['holds'])}"
        for kind, v in t["geomean_vs_sklearn_lloyd"].items()
    ]
    for key, text in TARGET_NAMES.items():
        if key not in t:  # a record from before or after the target existed
            continue
        v = t[key]
        failing = f"; failing: {', '.join(v['failing'])}" if v["failing"] else ""
        lines.append(
            f"{text} {v['threshold']}): max {fmt(v['max_ratio'])} over "
            f"{v['n_cells']} cells: {_verdict(v['holds'])}{failing}"
        )
    lines.append(f"all targets: {_verdict(t['all_hold'])}")
    return lines


def summary_lines(results: dict) -> list[str]:
    """Per kind and ratio: geometric mean, extremes, cells at or below 1."""
    return [
        f"{kind}, {name}: geometric mean {s['geomean_ratio']:.2f} (min "
        f"{s['min_ratio']:.2f}, max {s['max_ratio']:.2f}); "
        f"{s['n_at_or_below_1']}/{s['n_cells']} cells at or below 1"
        for kind, ratios in results["summary"].items()
        for name, s in sorted(ratios.items(), key=lambda item: _order(item[0]))
    ]


def _order(name: str) -> int:
    """Position of a ratio in tables and lists (records keep their keys sorted)."""
    return RATIO_ORDER.index(name) if name in RATIO_ORDER else len(RATIO_ORDER)


def footer(results: dict) -> list[str]:
    """Targets (or the summary), skipped peers and cells, mismatches, memory, BLAS."""
    lines = target_lines(results) or summary_lines(results)
    for name, s in results["peers"].items():
        if not s["available"]:
            lines.append(f"{name} was skipped: {s['reason']}")
    lines += [f"skipped {c['label']}: {c['reason']}" for c in results["skipped_cells"]]
    # Peers not installed and faiss on float64 are said once above, not per cell.
    lines += [
        f"{row['label']}: {impl} not timed ({why})"
        for row in results["grid"]
        for impl, why in row["skipped"].items()
        if "not installed" not in why and "float32 only" not in why
    ]
    if any(row["dtype"] != "float32" for row in results["grid"]):
        lines.append("faiss clusters float32 only: not timed on the float64 cells")
    lines += [f"mismatch {m}" for m in results["mismatches"]]
    lines += _memory.memory_lines(results["memory"])
    lines.append(_tables.blas_line(results["timings"]["libraries"]))
    return lines


#: The ratios of records made before they said what they divide.
OLD_RATIOS = {
    "lloyd": [PRIMARY, "sklearn-lloyd", "fit_seconds"],
    "elkan": [PRIMARY, "sklearn-elkan", "fit_seconds"],
    "faiss": [PRIMARY, "faiss", "seconds_per_iter"],
}


def _ratio_columns(results: dict) -> tuple[list[str], list[str]]:
    """Return the ratio columns of a record's table: names and headers."""
    definitions = results.get("ratio_of") or _named(OLD_RATIOS, results["primary"])
    present = {name for row in results["grid"] for name in row["ratios"]}
    names = [name for name in RATIO_ORDER if name in definitions and name in present]
    heads = [
        f"{num} / {den}" + (" per iteration" if measure == "seconds_per_iter" else "")
        for num, den, measure in (definitions[name] for name in names)
    ]
    for name, head in (
        ("best_sklearn", f"{results['primary']} / quicker sklearn"),
        ("kmeans++", "k-means++ nbkm / sklearn"),
    ):
        if name in present:
            names.append(name)
            heads.append(head)
    return names, heads


def _workload_text(params: dict, results: dict) -> str:
    """Return the first sentence of a record's section: what each fit did."""
    kinds = ", ".join(params["kind"]) + (", tfidf" if params.get("sparse") else "")
    if results.get("mode") == "fixed":
        return (
            f"Fixed iterations (`benchmarks/workloads.py`, data kinds {kinds}): the "
            "first k samples as initial centres, `n_init=1`, `tol=0`, "
            f"`max_iter={results['fit']['max_iter']}`"
        )
    return (
        f"Whole fits to convergence (`benchmarks/workloads.py`, data kinds {kinds}): "
        "the first k samples as initial centres, `n_init=1`, default `tol`, "
        f"`max_iter={workloads.WHOLE_FIT_MAX_ITER}`"
    )


def section(record: dict) -> list[str]:
    """Markdown of a compare record (whole or fixed fits): table, targets, floor."""
    p, r = record["params"], record["results"]
    ran = {i for row in r["grid"] for i in row["impls"]}
    impls = [i for i in p.get("impls", sorted(ran)) if i in ran]
    names, ratio_heads = _ratio_columns(r)
    head = ["cell", *(f"{i} s (iters)" for i in impls), *ratio_heads]
    rows = []
    for row in r["grid"]:
        cells = [row["label"]]
        for res in (row["impls"].get(impl) for impl in impls):
            fit = f"{res['fit_seconds']:.3g} ({res['n_iter'][-1]})" if res else "-"
            cells.append(fit)
        rows.append(cells + [fmt(row["ratios"].get(name)) for name in names])
    intro = (
        f"{_workload_text(p, r)}; median of {p['repeats']} interleaved repeats, "
        f"{r['timings']['n_threads']} threads. faiss runs sklearn-lloyd's "
        "iteration count (float32 only). Below 1: the numerator is faster."
    )
    title = "Speed against scikit-learn, faiss and scikit-learn-intelex"
    lines = _tables.speed_section(title, intro, head, rows, footer(r), record)
    return lines + roofline_lines(r)
