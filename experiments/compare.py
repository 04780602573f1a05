"""Speed against scikit-learn, faiss and scikit-learn-intelex: whole fits, targets.

By default, whole fits to convergence of every nbkm algorithm and every peer on
the grid of data kinds x n x d x k x dtype (``WHOLE_FIT_GRID``), with the issue's
targets evaluated; see ``experiments/_wholefit.py``. ``--n``, ``--d``, ``--k``,
``--dtype``, ``--kind``, ``--algorithms`` and ``--peers`` choose a subset;
``--budget S`` skips the cells estimated above S seconds (recorded, with why);
``--estimate`` prints the cells and their estimated seconds and exits;
``--memory [N D K]`` measures the peak extra memory of one fit per algorithm
(default 1e6 x 64, k=1000), each in a fresh process.

``--minibatch`` times whole MiniBatchKMeans fits of nbkm and scikit-learn
instead (result set ``compare_minibatch``), interleaved, on standard normal data
over ``MINIBATCH_GRID`` (n = 1e6, d in {16, 64}, k in {10, 100, 1000},
``--batch-size`` in {1024, 8192}, both dtypes), 2 threads unless ``--threads``.
Both early stops are off (``tol=0``, ``max_no_improvement=None``) and
``--max-iter`` is a fixed number of epochs (default 2), so that both libraries
run the same ``max_iter * n // batch_size`` steps from the same
``random_state`` (``--seed``, also the data's); see
``experiments/_minibatch.py``. ``--n``, ``--d``, ``--k``, ``--dtype`` narrow the
grid; ``--budget`` and ``--estimate`` work as for whole fits. Per cell: seconds
of each, the ratio nbkm / sklearn, ``n_steps_`` of each, whether the labels
agree; the geometric mean and the worst cell close the summary.

``--fixed`` runs the earlier mode instead, fixed iterations per fit:
The workloads and the grid are those of the asv suite, ``benchmarks/workloads.py``
(``FULL_GRID`` by default, ``GRID`` with ``--quick``): standard normal data, the
first k samples as initial centres, ``n_init=1``, ``tol=0`` and a fixed
``max_iter``, so that every implementation does the same iterations from the same
centres. For each shape the implementations are timed interleaved in one process
(the order rotates every repeat) after one untimed warm-up fit each; the median
over repeats of ``fit seconds / n_iter_`` is reported, with the nbkm / sklearn
ratio of those medians (below 1: nbkm faster). k-means++ of both is timed per
shape too (``--init-repeats``), up to ``--init-max-nk``; Elkan is not timed past
``--elkan-max-bounds`` (both hold n x k bounds).

GFLOP/s counts the distance step only, ``2 n k d`` flops an iteration, and is
compared with numpy's GEMM rate measured in the same run (a square 1024^3
product per dtype). faiss (``faiss.Kmeans``, float32) is timed when it can be
imported. A sparse case follows the grid (``SPARSE``: a TF-IDF-like CSR matrix;
flops ``2 nnz k``); ``--sparse N D DENSITY K`` sets it, ``--no-sparse`` skips it.
``--peakmem N D K`` also measures the memory one float64 fit adds to its data,
each implementation in a fresh process.
"""

from __future__ import annotations

import argparse
import time
import timeit
from functools import partial

import numpy as np
from scipy.stats import gmean

from benchmarks import workloads
from experiments import _cli, _io, _minibatch, _wholefit
from experiments._fit import IMPLS, timed_fit
from experiments._memory import IMPLS as DENSE_IMPLS
from experiments._memory import fit_peak_memory

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
    "peakmem": None,
}
#: Defaults of the whole-fit mode (the default mode), beside the shared ones above.
WHOLE_DEFAULTS = {
    **workloads.WHOLE_FIT_GRID,
    "repeats": 3,
    "n_threads": None,
    "gemm_size": 1024,
    "elkan_max_bounds": 200_000_000,
    "seed": 0,
    "budget": None,
    "memory": None,
}
#: Defaults of ``--minibatch``, beside the shared ones above.
MINIBATCH_DEFAULTS = {
    **workloads.MINIBATCH_GRID,
    "max_iter": workloads.MINIBATCH_MAX_ITER,
    "repeats": 3,
    "n_threads": workloads.N_THREADS,
    "seed": 0,
    "budget": None,
}
#: Ratios reported: name -> (numerator implementation, denominator implementation).
RATIOS = {
    "lloyd": ("nbkm-lloyd", "sklearn-lloyd"),
    "elkan": ("nbkm-elkan", "sklearn-elkan"),
    "faiss": ("faiss", "sklearn-lloyd"),
}
RATIO_NAMES = (*RATIOS, "kmeans++")


def faiss_status() -> dict:
    """``{"available", "version", "reason"}`` of faiss in this environment."""
    try:
        import faiss
    except Exception as exc:  # noqa: BLE001 - any import failure means skip
        return {"available": False, "version": None, "reason": f"import failed: {exc}"}
    return {
        "available": True,
        "version": getattr(faiss, "__version__", None),
        "reason": None,
    }


def _fit(impl: str, X, max_iter: int, n_threads, k: int):
    """Time one fixed-workload fit: ``(seconds, n_iter, inertia)``."""
    if impl == "faiss":
        return _fit_faiss(X, k, max_iter, n_threads)
    lib, algorithm = impl.split("-")
    params = workloads.fixed_workload(X, k, max_iter, algorithm)
    est, seconds = timed_fit(lib, X, n_threads, **params)
    return seconds, int(est.n_iter_), float(est.inertia_)


def _fit_faiss(X, k: int, max_iter: int, n_threads):
    import faiss

    if n_threads:
        faiss.omp_set_num_threads(int(n_threads))
    km = faiss.Kmeans(
        X.shape[1],
        k,
        niter=max_iter,
        nredo=1,
        verbose=False,
        min_points_per_centroid=1,
        max_points_per_centroid=len(X),
    )
    t0 = time.perf_counter()
    km.train(X, init_centroids=workloads.initial_centers(X, k))
    seconds = time.perf_counter() - t0
    obj = getattr(km, "obj", None)
    return (
        seconds,
        int(max_iter),
        float(obj[-1]) if obj is not None and len(obj) else None,
    )


def gemm_gflops(a, b, repeats: int = 5) -> float:
    """Median GFLOP/s of ``a @ b`` with numpy (after one warm-up product)."""
    seconds = timeit.repeat(lambda: a @ b, number=1, repeat=repeats + 1)[1:]
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / float(np.median(seconds)) / 1e9


def interleaved(calls: dict, repeats: int) -> dict:
    """Call each of ``calls`` ``repeats`` times, the order rotating every repeat.

    Returns
    -------
    returned : dict
        Name to the list of what its call returned, repeat by repeat.
    """
    names, out = list(calls), {name: [] for name in calls}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out[name].append(calls[name]())
    return out


def time_implementations(impls, X, k: int, params: dict, flops: float):
    """Time implementations on one problem, interleaved, after one warm-up each.

    Parameters
    ----------
    impls : list of str
        Implementations (``nbkm-lloyd``, ``sklearn-elkan``, ``faiss``, ...).
    X : ndarray or sparse matrix
        The data.
    k : int
        Clusters.
    params : dict
        ``max_iter``, ``repeats``, ``n_threads``.
    flops : float
        Flops of one iteration's distance step, for GFLOP/s.

    Returns
    -------
    results : dict
        Per implementation ``seconds`` (all repeats), ``n_iter``, ``inertia``,
        ``seconds_per_iter`` (median of seconds / n_iter) and ``gflops``.
    ratios : dict
        Ratios of the medians, for the pairs of :data:`RATIOS`.
    """
    fit_args = (X, params["max_iter"], params["n_threads"], k)
    fits = {impl: partial(_fit, impl, *fit_args) for impl in impls}
    for fit in fits.values():  # warm-up: JIT, page faults, thread pools; not timed
        fit()
    results = {}
    for impl, runs in interleaved(fits, params["repeats"]).items():
        seconds, n_iter, inertia = (list(column) for column in zip(*runs, strict=True))
        spi = float(np.median(np.divide(seconds, n_iter)))
        results[impl] = {
            "seconds": seconds,
            "n_iter": n_iter,
            "inertia": inertia[-1],
            "seconds_per_iter": spi,
            "gflops": flops / spi / 1e9,
        }
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

    Returns
    -------
    init : dict
        Per implementation ``seconds`` and ``median_seconds``; ``ratio`` of the
        medians; ``indices_equal``, whether both chose the same samples.
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
    for name, runs in interleaved(calls, params["init_repeats"]).items():
        seconds = [s for s, _ in runs]
        out[name] = {"seconds": seconds, "median_seconds": float(np.median(seconds))}
        indices[name] = runs[-1][1]
    out["ratio"] = out["nbkm"]["median_seconds"] / out["sklearn"]["median_seconds"]
    out["indices_equal"] = bool(np.array_equal(indices["nbkm"], indices["sklearn"]))
    return out


def label(n: int, d: int, k: int, dtype: str, density: float | None = None) -> str:
    """Short name of a shape: ``n=100k d=16 k=10 f64`` or ``CSR n=100k d=20k ...``."""

    def count(v):
        for div, suffix in ((1_000_000, "M"), (1_000, "k")):
            if v >= div and v % div == 0:
                return f"{v // div}{suffix}"
        return str(v)

    if density is not None:
        return f"CSR n={count(n)} d={count(d)} {100 * density:g}% k={k}"
    return f"n={count(n)} d={d} k={k} {dtype.replace('float', 'f')}"


def run_shape(X, k: int, params: dict, faiss_ok: bool, gemm_peak: float) -> dict:
    """Time every implementation on one dense shape; see :func:`time_implementations`.

    Returns
    -------
    row : dict
        Shape, ``impls`` (with ``gemm_fraction``), ``ratios``, ``init``
        (k-means++, see :func:`time_init`, or None) and ``skipped`` (reason per
        skipped algorithm).
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
    return {
        "n": n,
        "d": d,
        "k": k,
        "dtype": dtype,
        "label": label(n, d, k, dtype),
        "impls": results,
        "ratios": ratios,
        "init": init,
        "skipped": skipped,
    }


def run_sparse(spec: dict, params: dict) -> dict:
    """Time nbkm and sklearn (lloyd and elkan) on the sparse case of ``spec``."""
    X = workloads.sparse_tfidf_like(spec["n"], spec["d"], spec["density"])
    results, ratios = time_implementations(
        list(DENSE_IMPLS), X, spec["k"], params, 2.0 * X.nnz * spec["k"]
    )
    return {
        **spec,
        "nnz": int(X.nnz),
        "dtype": "float64",
        "impls": results,
        "ratios": ratios,
        "label": label(*(spec[key] for key in "ndk"), "float64", spec["density"]),
    }


def run_peak_memory(spec: dict, n_threads) -> dict:
    """Peak memory one fit adds to its data, per implementation, fresh processes."""
    impls = {
        impl: fit_peak_memory(
            impl, spec["n"], spec["d"], spec["k"], "float64", 2, n_threads
        )
        for impl in spec["impls"]
    }
    return {
        **spec,
        "dtype": "float64",
        "max_iter": 2,
        "impls": impls,
        "label": label(spec["n"], spec["d"], spec["k"], "float64"),
        "n_by_k_bytes": spec["n"] * spec["k"] * 8,
        "ratios": ratios_of({k: v["fit_peak_bytes"] for k, v in impls.items()}),
    }


def summarise(grid: list[dict]) -> dict:
    """Geometric mean, extremes and count at or below 1 of each ratio over shapes."""
    summary = {}
    for name in RATIO_NAMES:
        values = [row["ratios"][name] for row in grid if name in row["ratios"]]
        if values:
            summary[name] = {
                "geomean_ratio": float(gmean(values)),
                "min_ratio": min(values),
                "max_ratio": max(values),
                "n_shapes": len(values),
                "n_at_or_below_1": sum(v <= 1.0 for v in values),
            }
    return summary


def run(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run whole fits (default), fixed ones or mini-batch ones, by ``params["mode"]``.

    Returns
    -------
    results, figures : dict
        See :func:`experiments._wholefit.run`, :func:`run_fixed` and
        :func:`experiments._minibatch.run`.
    """
    if params["mode"] == "whole_fit":
        return _wholefit.run(params, out, quiet)
    if params["mode"] == "minibatch":
        return _minibatch.run(params, out, quiet)
    return run_fixed(params, out, quiet)


def run_fixed(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run the grid, the sparse case and the peak memory; draw the ratios.

    Returns
    -------
    results : dict
        ``faiss`` status, ``gemm_peak_gflops`` per dtype, ``grid`` (one row per
        shape, see :func:`run_shape`), ``sparse``, ``peak_memory``, ``summary``
        (see :func:`summarise`) and ``timings``.
    figures : dict
        ``{"ratios": "compare.png"}``.
    """
    import numba

    faiss = faiss_status()
    shapes = workloads.shapes(params)
    steps = len(shapes) + bool(params["sparse"]) + bool(params["peakmem"])
    progress = _cli.Progress("compare", steps, quiet=quiet)
    gemm, grid = {}, []
    for dtype in params["dtype"]:
        square = workloads.draw_gaussian(
            params["gemm_size"], params["gemm_size"], dtype, seed=1
        )
        gemm[dtype] = gemm_gflops(square, square.T.copy())
    X = None
    for n, d, k, dtype in shapes:
        if X is None or X.shape != (n, d) or X.dtype != dtype:
            X = None  # free the previous data first
            X = workloads.draw_gaussian(n, d, dtype)
        grid.append(run_shape(X, k, params, faiss["available"], gemm[dtype]))
        progress.step(f"{grid[-1]['label']}  {_ratios_text(grid[-1])}")
    sparse = peak = None
    if params["sparse"]:
        sparse = run_sparse(params["sparse"], params)
        progress.step(f"{sparse['label']}  {_ratios_text(sparse)}")
    if params["peakmem"]:
        peak = run_peak_memory(params["peakmem"], params["n_threads"])
        progress.step(f"peak memory {peak['label']}  {_ratios_text(peak)}")
    results = {
        "faiss": faiss,
        "gemm_peak_gflops": gemm,
        "grid": grid,
        "sparse": sparse,
        "peak_memory": peak,
        "summary": summarise(grid),
        "timings": {
            "n_threads": params["n_threads"] or numba.get_num_threads(),
            "clock": "time.perf_counter, whole fit() / n_iter_",
            "statistic": "median over repeats",
        },
    }
    return results, {"ratios": plot(results, out / "compare.png")}


def _ratios_text(row: dict) -> str:
    return " ".join(f"{name} {v:.2f}" for name, v in row["ratios"].items())


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
    sns.stripplot(
        data=frame,
        y="shape",
        x="ratio",
        hue="comparison",
        hue_order=present,
        dodge=True,
        jitter=False,
        size=9,
        ax=ax,
        orient="h",
    )
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

    def fmt(value, spec=".2f", scale=1.0):
        return "-" if value is None else f"{scale * value:{spec}}"

    rows = []
    for row in results["grid"] + [results["sparse"]] * bool(results["sparse"]):
        i, r, init = row["impls"], row["ratios"], row.get("init") or {}
        ms = [
            fmt(i.get(impl, {}).get("seconds_per_iter"), ".1f", 1e3)
            for impl in DENSE_IMPLS
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
    peak = results["peak_memory"]
    if peak:
        mib = ", ".join(
            f"{impl} {res['fit_peak_bytes'] / 2**20:,.0f}"
            for impl, res in peak["impls"].items()
        )
        lines.append(
            f"peak memory added by one fit, {peak['label']} (MiB): {mib}; "
            f"one n x k matrix: {peak['n_by_k_bytes'] / 2**20:,.0f}"
        )
    if not results["faiss"]["available"]:
        lines.append("faiss was not installed, so it was skipped")
    return lines


COLUMNS = (
    "shape | nbkm lloyd ms/it | sklearn lloyd ms/it | ratio | nbkm elkan ms/it | "
    "sklearn elkan ms/it | ratio | k-means++ nbkm s | sklearn s | ratio | "
    "nbkm GFLOP/s | of GEMM"
).split(" | ")


def section(record: dict, rel_dir: str) -> list[str]:
    """Markdown of the compare record: the workload, the table, the summary.

    Whole-fit records (``results["mode"] == "whole_fit"``) are rendered by
    :func:`experiments._wholefit.section`, mini-batch ones (``"minibatch"``) by
    :func:`experiments._minibatch.section`; earlier records (no ``mode``) and
    ``--fixed`` ones as before.
    """
    mode = record["results"].get("mode")
    if mode == "whole_fit":
        return _wholefit.section(record, rel_dir)
    if mode == "minibatch":
        return _minibatch.section(record, rel_dir)
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
    return _wholefit.speed_section(
        "Speed against scikit-learn",
        intro,
        COLUMNS,
        _table_rows(r),
        _footer(r),
        record,
    )


def add_arguments(p) -> None:
    """Add the options of compare to ``p``."""
    add, size = p.add_argument, _cli.int_in(1, 10**8)
    add("--quick", action="store_true", help="the asv suite's smaller grid")
    add("--minibatch", action="store_true", help="MiniBatchKMeans fits, see below")
    for name in ("--n", "--d", "--k"):
        add(name, type=size, nargs="+", help="sizes of the grid")
    add("--dtype", nargs="+", choices=["float32", "float64"])
    add("--repeats", type=_cli.int_in(1, 1000), help="timed fits per cell")
    add("--threads", type=_cli.threads, help="threads (default: all; --minibatch: 2)")
    add("--elkan-max-bounds", type=_cli.float_in(0, 1e15), help="largest n * k timed")
    whole = p.add_argument_group("whole fits (the default mode)")
    add = whole.add_argument
    add("--kind", nargs="+", choices=list(workloads.KINDS), help="data kinds")
    add("--algorithms", nargs="+", metavar="ALG", help="nbkm algorithms (default: all)")
    peers = ", ".join(_wholefit.PEER_IMPLS)
    add("--peers", nargs="*", metavar="PEER", help=f"of {peers} (default: all)")
    add(
        "--budget", type=_cli.float_in(0, 1e9), metavar="S", help="skip cells above S s"
    )
    add("--estimate", action="store_true", help="print the cells' estimates and exit")
    add(
        "--seed",
        type=_cli.int_in(0, 2**31),
        help="seed of the data (--minibatch: and the random_state)",
    )
    add("--memory", nargs="*", type=size, metavar="N D K", help="peak extra memory")
    fixed = p.add_argument_group("fixed iterations (--fixed)")
    add = fixed.add_argument
    add("--fixed", action="store_true", help="fixed iterations on Gaussian data")
    add(
        "--max-iter",
        type=_cli.int_in(1, 1000),
        help="fixed iterations per fit (--minibatch: epochs, default 2, no early stop)",
    )
    add("--sparse", nargs=4, metavar=("N", "D", "DENSITY", "K"), help="sparse case")
    add("--no-sparse", action="store_true", help="skip the sparse case")
    add("--init-repeats", type=_cli.int_in(0, 1000), help="k-means++ calls (0: none)")
    add("--init-max-nk", type=_cli.float_in(0, 1e15), help="largest n * k timed")
    add("--peakmem", nargs=3, type=size, metavar=("N", "D", "K"), help="peak memory")
    add(
        "--peakmem-impls",
        nargs="+",
        choices=list(DENSE_IMPLS),
        help="measured by --peakmem (default: all)",
    )
    minibatch = p.add_argument_group(
        "mini-batch fits (--minibatch; also --n --d --k --dtype --repeats --threads "
        "--max-iter --seed --budget --estimate)"
    )
    minibatch.add_argument(
        "--batch-size", type=size, nargs="+", help="batch sizes of the grid"
    )


#: Options that, when given, replace their value in :data:`DEFAULTS` (--threads too).
OPTIONS = ("n", "d", "k", "dtype", "max_iter", "repeats", "init_repeats")
OPTIONS += ("elkan_max_bounds", "init_max_nk")
#: The modes, as the user chooses them.
MODE_FLAGS = {
    "whole_fit": "whole fits (the default)",
    "fixed": "--fixed",
    "minibatch": "--minibatch",
}
#: Options of some modes only (given in another: a usage error); the others are
#: options of every mode.
MODE_OPTIONS = dict.fromkeys(("kind", "algorithms", "peers", "memory"), ("whole_fit",))
MODE_OPTIONS |= dict.fromkeys(
    ("budget", "seed", "estimate"), ("whole_fit", "minibatch")
)
MODE_OPTIONS |= dict.fromkeys(("quick", "elkan_max_bounds"), ("whole_fit", "fixed"))
MODE_OPTIONS |= dict.fromkeys(
    ("sparse", "no_sparse", "init_repeats", "init_max_nk", "peakmem", "peakmem_impls"),
    ("fixed",),
)
MODE_OPTIONS |= {"max_iter": ("fixed", "minibatch"), "batch_size": ("minibatch",)}


def _given(args, names) -> list[str]:
    flags = [n for n in names if getattr(args, n) not in (None, False)]
    return ["--" + n.replace("_", "-") for n in flags]


def _mode(args) -> str:
    """Return the mode of the options; refuse options of another mode."""
    if args.fixed and args.minibatch:
        raise _cli.UsageError("compare: --fixed and --minibatch exclude each other")
    mode = "fixed" if args.fixed else "minibatch" if args.minibatch else "whole_fit"
    for name, modes in MODE_OPTIONS.items():
        if mode not in modes and (wrong := _given(args, [name])):
            where = " and ".join(MODE_FLAGS[m] for m in modes)
            raise _cli.UsageError(f"compare: {wrong[0]} is an option of {where} only")
    return mode


def params_from(args) -> dict:
    """Return the run's parameters from the parsed options (checked up front)."""
    mode = _mode(args)
    if mode == "fixed":
        return fixed_params_from(args)
    if mode == "minibatch":
        return minibatch_params_from(args)
    params = dict(WHOLE_DEFAULTS, **(workloads.GRID if args.quick else {}))
    options = {key: getattr(args, key) for key in ("n", "d", "k", "dtype", "kind")}
    options |= {key: getattr(args, key) for key in ("repeats", "seed", "budget")}
    options |= {"elkan_max_bounds": args.elkan_max_bounds, "n_threads": args.threads}
    params.update({key: value for key, value in options.items() if value is not None})
    if not workloads.shapes(params):
        raise _cli.UsageError("compare: no shape with k <= n in the grid")
    known = _wholefit.nbkm_algorithms()
    algorithms = args.algorithms or known
    if unknown := [a for a in algorithms if a not in known]:
        raise _cli.UsageError(
            f"compare: nbkm has no algorithm {', '.join(unknown)}; one of: "
            f"{', '.join(known)}"
        )
    chosen = _wholefit.PEER_IMPLS if args.peers is None else args.peers
    if unknown := [peer for peer in chosen if peer not in _wholefit.PEER_IMPLS]:
        raise _cli.UsageError(
            f"compare: unknown peer {', '.join(unknown)}; one of: "
            f"{', '.join(_wholefit.PEER_IMPLS)}"
        )
    params["algorithms"] = list(dict.fromkeys(algorithms))
    params["peers"] = list(dict.fromkeys(chosen))
    params["impls"] = [f"nbkm-{a}" for a in params["algorithms"]] + params["peers"]
    primary = _wholefit.primary_algorithm()
    params["primary"] = f"nbkm-{primary}"
    if args.memory is not None:
        if len(args.memory) not in (0, 3):
            raise _cli.UsageError("compare: --memory takes nothing or N D K")
        n, d, k = args.memory or (workloads.MEMORY[key] for key in "ndk")
        if k > n:
            raise _cli.UsageError("compare: --memory needs K <= N")
        params["memory"] = {"n": n, "d": d, "k": k}
    params["mode"] = "whole_fit"
    if args.estimate:
        available = {n: s["available"] for n, s in _wholefit.peer_status().items()}
        _print_estimate(*_wholefit.plan(params, available))
    return params


def minibatch_params_from(args) -> dict:
    """Return the parameters of ``--minibatch`` (k <= n checked)."""
    import numba

    params = dict(MINIBATCH_DEFAULTS)
    options = {key: getattr(args, key) for key in ("n", "d", "k", "dtype", "seed")}
    options |= {key: getattr(args, key) for key in ("batch_size", "max_iter")}
    options |= {"repeats": args.repeats, "budget": args.budget}
    # 2 threads, or fewer where Numba has fewer
    threads = args.threads or min(workloads.N_THREADS, numba.config.NUMBA_NUM_THREADS)
    params.update({key: value for key, value in options.items() if value is not None})
    params |= {"n_threads": threads, "mode": "minibatch"}
    if not workloads.shapes(params):
        raise _cli.UsageError("compare: no shape with k <= n in the grid")
    if args.estimate:
        _print_estimate(*_minibatch.plan(params))
    return params


def _print_estimate(todo: list[dict], skipped: list[dict]) -> None:
    """Print the cells of a plan with their estimated seconds; exit with status 0."""
    for cell in todo:
        _cli.say(f"{cell['estimated_seconds']:9.1f} s  {cell['label']}")
    for cell in skipped:
        _cli.say(f"  skipped    {cell['label']}: {cell['reason']}")
    total = sum(cell["estimated_seconds"] for cell in todo)
    _cli.say(
        f"compare: {len(todo)} cells, about {total / 60:.0f} min "
        f"({len(skipped)} skipped); a rough model, calibrated on 2 busy cores"
    )
    raise SystemExit(0)


def fixed_params_from(args) -> dict:
    """Return the parameters of ``--fixed`` (k <= n checked)."""
    params = dict(DEFAULTS, **(workloads.GRID if args.quick else {}))
    options = {key: getattr(args, key) for key in OPTIONS} | {"n_threads": args.threads}
    params.update({key: value for key, value in options.items() if value is not None})
    params["mode"] = "fixed"
    if not workloads.shapes(params):
        raise _cli.UsageError("compare: no shape with k <= n in the grid")
    if args.sparse:
        types = [_cli.int_in(1, 10**8)] * 2 + [_cli.float_in(0, 1), _cli.int_in(1)]
        try:
            n, d, density, k = [t(v) for t, v in zip(types, args.sparse, strict=True)]
        except argparse.ArgumentTypeError as exc:
            raise _cli.UsageError(f"compare: --sparse N D DENSITY K: {exc}") from None
        params["sparse"] = {"n": n, "d": d, "density": density, "k": min(k, n)}
    if args.no_sparse:
        params["sparse"] = None
    if args.peakmem:
        n, d, k = args.peakmem
        if k > n:
            raise _cli.UsageError("compare: --peakmem needs K <= N")
        impls = args.peakmem_impls or list(DENSE_IMPLS)
        params["peakmem"] = {"n": n, "d": d, "k": k, "impls": impls}
    return params


def set_name(params: dict) -> str:
    """Return the result set of a run: ``compare``, or ``compare_minibatch``."""
    return "compare_minibatch" if params.get("mode") == "minibatch" else "compare"


def check_results(record: dict, where: str) -> None:
    """Check the keys of the record's mode; a mini-batch record whole.

    Raises
    ------
    experiments._io.RecordError
        Naming the file and the first key that is missing or malformed.
    """
    if record["results"].get("mode") == "minibatch":
        _minibatch.check_results(record, where)
    else:
        _io.validate(record, where, ("gemm_peak_gflops", "faiss"))


#: Keys of every mode's results (the others: :func:`check_results`).
REQUIRED = ("grid", "summary", "timings")
EXPERIMENT = _cli.register(__name__, 30, REQUIRED)
