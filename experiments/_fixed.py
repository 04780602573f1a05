"""Fixed iterations per fit against scikit-learn and faiss: ``compare --fixed``.

The workloads and the grid are those of the asv suite (``benchmarks/workloads.py``):
standard normal data, the first k samples as initial centres, ``n_init=1``,
``tol=0`` and a fixed ``max_iter``, so that every implementation does the same
iterations from the same centres. Per shape the implementations are timed
interleaved (``_timing.interleaved``), the median of ``fit seconds / n_iter_``
reported, with the nbkm / sklearn ratio of those medians; k-means++ of both too.
A sparse case (a TF-IDF-like CSR matrix) follows the grid, and ``--memory`` the
peak memory of one fit per implementation.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from benchmarks import data, peers, workloads
from experiments import _cli, _memory, _tables, _timing
from experiments._tables import fmt
from experiments._timing import IMPLS, timed_fit

#: Defaults of ``--fixed``.
DEFAULTS = {
    **workloads.FULL_GRID,
    "max_iter": 5,
    "repeats": 5,
    "n_threads": None,
    "gemm_size": 1024,
    "init_repeats": 3,
    "elkan_max_bounds": 200_000_000,
    "init_max_nk": 100_000_000,
    "sparse": dict(workloads.SPARSE),
    "memory": None,
    "algorithms": ["lloyd", "elkan"],
}
#: Ratios reported: name -> (numerator implementation, denominator implementation).
RATIOS = {
    "lloyd": ("nbkm-lloyd", "sklearn-lloyd"),
    "elkan": ("nbkm-elkan", "sklearn-elkan"),
    "faiss": ("faiss", "sklearn-lloyd"),
}
RATIO_NAMES = (*RATIOS, "kmeans++")


def _fit(impl: str, X, max_iter: int, n_threads, k: int):
    """Time one fixed-workload fit: ``(seconds, n_iter, inertia)``."""
    if impl == "faiss":
        init = workloads.initial_centers(X, k)
        return peers.fit_faiss(X, init, max_iter, n_threads)
    lib, algorithm = impl.split("-")
    params = workloads.fixed_workload(X, k, max_iter, algorithm)
    est, seconds = timed_fit(lib, X, n_threads, **params)
    return seconds, int(est.n_iter_), float(est.inertia_)


def time_implementations(impls, X, k: int, params: dict, flops: float):
    """Time ``impls`` on ``X``, interleaved, after one warm-up each.

    ``params`` gives ``max_iter``, ``repeats`` and ``n_threads``; ``flops`` is
    the work of one iteration's distance step. Returns per implementation
    ``seconds`` (all repeats), ``n_iter``, ``inertia``, ``seconds_per_iter``
    (median of seconds / n_iter) and ``gflops``, and the ratios of the medians
    for the pairs of :data:`RATIOS`.
    """
    fit_args = (X, params["max_iter"], params["n_threads"], k)
    fits = {impl: partial(_fit, impl, *fit_args) for impl in impls}
    results = {}
    for impl, runs in _timing.interleaved(fits, params["repeats"]).items():
        seconds, n_iter, inertia = (list(column) for column in zip(*runs, strict=True))
        spi = _timing.median(np.divide(seconds, n_iter))
        results[impl] = {"seconds": seconds, "n_iter": n_iter, "inertia": inertia[-1]}
        results[impl] |= {"seconds_per_iter": spi, "gflops": flops / spi / 1e9}
    return results, ratios_of({k: v["seconds_per_iter"] for k, v in results.items()})


def ratios_of(values: dict) -> dict:
    """Return the ratios of :data:`RATIOS` found in ``values`` (impl -> number)."""
    return {
        name: values[a] / values[b]
        for name, (a, b) in RATIOS.items()
        if a in values and values.get(b)
    }


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


def run_shape(X, k: int, params: dict, faiss_ok: bool, gemm_peak: float) -> dict:
    """Time every implementation on one dense shape; see :func:`time_implementations`.

    The row: shape, ``impls`` (with ``gemm_fraction``), ``ratios``, ``init``
    (:func:`time_init`, or None) and ``skipped`` (reason per skipped algorithm).
    """
    (n, d), dtype = X.shape, str(X.dtype)
    impls, skipped, init = ["nbkm-lloyd", "sklearn-lloyd"], {}, None
    if n * k <= params["elkan_max_bounds"]:
        impls += ["nbkm-elkan", "sklearn-elkan"]
    else:
        skipped["elkan"] = f"n x k = {n * k:.3g} above elkan_max_bounds"
    if faiss_ok and dtype == "float32":
        impls.append("faiss")
    results, ratios = time_implementations(impls, X, k, params, 2.0 * n * k * d)
    for res in results.values():
        res["gemm_fraction"] = res["gflops"] / gemm_peak
    if params["init_repeats"] and n * k <= params["init_max_nk"]:
        init = time_init(X, k, params)
        ratios["kmeans++"] = init["ratio"]
    elif params["init_repeats"]:
        skipped["kmeans++"] = f"n x k = {n * k:.3g} above init_max_nk"
    row = {
        "n": n,
        "d": d,
        "k": k,
        "dtype": dtype,
        "label": _tables.label(n, d, k, dtype),
    }
    return row | {"impls": results, "ratios": ratios, "init": init, "skipped": skipped}


def run_sparse(spec: dict, params: dict) -> dict:
    """Time nbkm and sklearn (lloyd and elkan) on the sparse case of ``spec``."""
    X = data.sparse_tfidf_like(spec["n"], spec["d"], spec["density"])
    flops = 2.0 * X.nnz * spec["k"]
    results, ratios = time_implementations(
        list(_memory.IMPLS), X, spec["k"], params, flops
    )
    label = _tables.label(*(spec[key] for key in "ndk"), "float64", spec["density"])
    row = {**spec, "nnz": int(X.nnz), "dtype": "float64", "impls": results}
    return row | {"ratios": ratios, "label": label}


def summarise(grid: list[dict]) -> dict:
    """Geometric mean, extremes and count at or below 1 of each ratio over shapes."""
    summary = {}
    for name in RATIO_NAMES:
        values = [row["ratios"][name] for row in grid if name in row["ratios"]]
        if values:
            summary[name] = _tables.ratio_stats(values) | {"n_shapes": len(values)}
    return summary


def run(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run the grid, the sparse case and the peak memory; draw the ratios.

    ``results``: ``faiss`` status, ``gemm_peak_gflops`` per dtype, ``grid`` (rows
    of :func:`run_shape`), ``sparse``, ``memory``
    (:func:`experiments._memory.peak_memory`), ``summary`` and ``timings``.
    """
    import numba

    faiss = peers.status("faiss")
    shapes = workloads.shapes(params)
    steps = len(shapes) + bool(params["sparse"]) + bool(params["memory"])
    progress = _cli.Progress("compare", steps, quiet=quiet)
    gemm, grid = _timing.gemm_peaks(params["dtype"], params["gemm_size"]), []
    X = None
    for n, d, k, dtype in shapes:
        if X is None or X.shape != (n, d) or X.dtype != dtype:
            X = None  # free the previous data first
            X = data.draw_gaussian(n, d, dtype)
        grid.append(run_shape(X, k, params, faiss["available"], gemm[dtype]))
        progress.step(f"{grid[-1]['label']}  {_tables.ratios_text(grid[-1]['ratios'])}")
    sparse = None
    if params["sparse"]:
        sparse = run_sparse(params["sparse"], params)
        progress.step(f"{sparse['label']}  {_tables.ratios_text(sparse['ratios'])}")
    if memory := _memory.peak_memory(params):
        progress.step(f"peak memory {memory['label']}")
    timings = {"n_threads": params["n_threads"] or numba.get_num_threads()}
    timings |= {"clock": "time.perf_counter, whole fit() / n_iter_"}
    timings["statistic"] = "median over repeats"
    results = {"faiss": faiss, "gemm_peak_gflops": gemm, "grid": grid}
    results |= {"sparse": sparse, "memory": memory, "summary": summarise(grid)}
    results["timings"] = timings
    return results, {"ratios": plot(results, out / "compare.png")}


#: Legend of each ratio: "nbkm lloyd / sklearn lloyd", ...
NAMES = {name: f"{a} / {b}".replace("-", " ") for name, (a, b) in RATIOS.items()}
NAMES["kmeans++"] = "nbkm k-means++ / sklearn k-means++"


def plot(results: dict, path) -> str:
    """Ratios of seconds per iteration, one row per shape, log scale."""
    import pandas as pd

    from experiments._plots import plt, save_figure, sns

    frame = pd.DataFrame(
        [
            {"shape": row["label"], "ratio": value, "comparison": NAMES[name]}
            for row in results["grid"]
            for name, value in row["ratios"].items()
        ]
    )
    present = [NAMES[n] for n in RATIO_NAMES if NAMES[n] in set(frame["comparison"])]
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * len(results["grid"])))
    hue = {"hue": "comparison", "hue_order": present, "dodge": True, "jitter": False}
    sns.stripplot(data=frame, y="shape", x="ratio", **hue, size=9, ax=ax, orient="h")
    ax.axvline(1.0, color="black", lw=1)
    lo = min(0.5, float(frame["ratio"].min()) / 1.2)
    hi = max(2.0, float(frame["ratio"].max()) * 1.2)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8) if lo <= t <= hi]
    ax.set(xscale="log", xlim=(lo, hi), ylabel="")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    faster = "nbkm / faiss" if NAMES["faiss"] in present else "nbkm"
    ax.set_xlabel(
        "seconds per iteration (k-means++: per call), ratio "
        f"(left of 1: {faster} faster)"
    )
    threads = results["timings"]["n_threads"]
    ax.set_title(f"time per iteration relative to scikit-learn ({threads} threads)")
    ax.legend(loc="best", fontsize=8)
    return save_figure(fig, path)


def _table_rows(results: dict) -> list[list[str]]:
    """One row of cells per shape (dense grid, then sparse) for the tables."""
    rows = []
    for row in results["grid"] + [results["sparse"]] * bool(results["sparse"]):
        i, r, init = row["impls"], row["ratios"], row.get("init") or {}
        ms = [
            fmt(i.get(impl, {}).get("seconds_per_iter"), ".1f", 1e3)
            for impl in _memory.IMPLS
        ]
        init_s = [fmt(init.get(lib, {}).get("median_seconds"), ".3g") for lib in IMPLS]
        cells = [*ms[:2], fmt(r.get("lloyd")), *ms[2:], fmt(r.get("elkan")), *init_s]
        cells += [fmt(r.get("kmeans++")), fmt(i["nbkm-lloyd"]["gflops"], ".1f")]
        rows.append(
            [row["label"], *cells, fmt(i["nbkm-lloyd"].get("gemm_fraction"), ".0%")]
        )
    return rows


def _footer(results: dict) -> list[str]:
    lines = [
        f"{name}: geometric mean ratio {s['geomean_ratio']:.2f} (min "
        f"{s['min_ratio']:.2f}, max {s['max_ratio']:.2f}); "
        f"{s['n_at_or_below_1']}/{s['n_shapes']} shapes at or below 1"
        for name, s in results["summary"].items()
    ]
    lines += [
        f"{row['label']}: {alg} not timed ({why})"
        for row in results["grid"]
        for alg, why in row["skipped"].items()
    ]
    lines += _memory.memory_lines(results["memory"])
    if not results["faiss"]["available"]:
        lines.append("faiss was not installed, so it was skipped")
    return lines


COLUMNS = (
    "shape | nbkm lloyd ms/it | sklearn lloyd ms/it | ratio | nbkm elkan ms/it | "
    "sklearn elkan ms/it | ratio | k-means++ nbkm s | sklearn s | ratio | "
    "nbkm GFLOP/s | of GEMM"
).split(" | ")


def section(record: dict) -> list[str]:
    """Markdown of a ``--fixed`` record: the workload, the table, the summary."""
    p, r = record["params"], record["results"]
    gemm = ", ".join(f"{k} {v:.0f}" for k, v in r["gemm_peak_gflops"].items())
    intro = (
        "Fixed workload (`benchmarks/workloads.py`): standard normal data, explicit "
        f"initial centres, `n_init=1`, `tol=0`, `max_iter={p['max_iter']}`; median "
        f"of {p['repeats']} interleaved repeats, {r['timings']['n_threads']} threads."
        " Ratio = nbkm / sklearn of the median seconds per iteration (below 1: "
        "nbkm faster). GFLOP/s counts the distance step (2 n k d per iteration); "
        f"numpy's GEMM in the same run: {gemm} GFLOP/s."
    )
    rows, title = _table_rows(r), "Speed against scikit-learn"
    return _tables.speed_section(title, intro, COLUMNS, rows, _footer(r), record)
