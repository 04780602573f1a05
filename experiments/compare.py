"""Speed grid against scikit-learn (lloyd, elkan) and faiss: seconds per iteration.

The performance grid of design.md section 4 with a fixed workload: standard
normal data (seed 0), an explicit initial-centre array (k distinct samples),
``n_init=1``, ``tol=0`` and a fixed ``max_iter``, so that every implementation
does the same iterations from the same centres. For each shape, nbkm and its
peers are timed interleaved in one process (the order rotates every repeat)
after one untimed warm-up fit each; the median over repeats of
``fit seconds / n_iter_`` is reported, with the nbkm / sklearn ratio for lloyd
and for elkan (below 1: nbkm faster).

Achieved GFLOP/s counts the distance step only, ``2 n k d`` flops an
iteration, and is compared with numpy's GEMM rate measured in the same run:
``gemm_peak_gflops`` from a square 1024^3 product per dtype (the practical
ceiling), and ``gemm_shape_gflops`` from ``X @ C.T`` of the shape itself.

faiss (``faiss.Kmeans``, float32 only, no subsampling) is timed when it can
be imported and skipped otherwise. The whole ``fit`` is timed, so
validation, centring and the final inertia are included and amortised over
the iterations.

A sparse case follows the dense grid: a TF-IDF-like CSR matrix (default
100,000 x 20,000 at 0.5% density, k=20; uniform random values at random
positions, seed 0), the same fixed workload, nbkm and sklearn lloyd and elkan;
its flops count the stored values only (``2 nnz k``). ``--sparse N D DENSITY
K`` sets it, ``--no-sparse`` skips it.

The default grid is modest (n <= 1e5, k <= 100) so that it finishes in a few
minutes on 2 cores; ``--quick`` runs small shapes in seconds; ``--n``, ``--d``,
``--k`` and ``--dtype`` set the grid (design.md uses n in 1e4 1e5 1e6,
d in 16 64, k in 10 100 1000, both dtypes).
"""

from __future__ import annotations

import shlex
import sys
import time

import numpy as np

from experiments import _cli
from experiments._io import base_record, write_json
from experiments._memory import IMPLS as MEMORY_IMPLS
from experiments._memory import fit_peak_memory
from experiments._progress import Progress

DEFAULTS = {
    "n": [10_000, 100_000],
    "d": [16, 64],
    "k": [10, 100],
    "dtype": ["float64", "float32"],
    "max_iter": 10,
    "repeats": 5,
    "n_threads": None,
    "data_seed": 0,
    "gemm_size": 1024,
    "init_repeats": 3,
    "elkan_max_bounds": 200_000_000,
    "init_max_nk": 100_000_000,
    "sparse": {"n": 100_000, "d": 20_000, "density": 0.005, "k": 20},
    "peakmem": None,
}
QUICK = dict(
    DEFAULTS,
    n=[5_000],
    d=[16],
    k=[10, 100],
    max_iter=10,
    repeats=5,
    sparse={"n": 5_000, "d": 2_000, "density": 0.01, "k": 10},
)

#: Ratios reported: name -> (numerator implementation, denominator implementation).
RATIOS = {
    "lloyd": ("nbkm-lloyd", "sklearn-lloyd"),
    "elkan": ("nbkm-elkan", "sklearn-elkan"),
    "faiss": ("faiss", "sklearn-lloyd"),
}
#: Every ratio a row can have: the above, and nbkm / sklearn k-means++ seconds.
RATIO_NAMES = (*RATIOS, "kmeans++")


def faiss_status() -> dict:
    """Whether faiss can be used, and its version.

    Returns
    -------
    status : dict
        ``{"available": bool, "version": str | None, "reason": str | None}``.
    """
    try:
        import faiss
    except Exception as exc:  # noqa: BLE001 - any import failure means skip
        return {"available": False, "version": None, "reason": f"import failed: {exc}"}
    return {
        "available": True,
        "version": getattr(faiss, "__version__", None),
        "reason": None,
    }


def make_problem(n: int, d: int, k: int, dtype: str, seed: int = 0):
    """Make the data and initial centres of one grid shape.

    Parameters
    ----------
    n, d, k : int
        Samples, features, clusters.
    dtype : str
        ``"float32"`` or ``"float64"``.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    X : ndarray of shape (n, d)
        Standard normal data.
    init : ndarray of shape (k, d)
        ``k`` distinct rows of ``X``.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    init = X[rng.choice(n, size=k, replace=False)].copy()
    return X, init


def _fit_nbkm(algorithm: str, X, init, max_iter: int, n_threads):
    from nbkm import KMeans

    est = KMeans(
        n_clusters=init.shape[0],
        init=init,
        n_init=1,
        max_iter=max_iter,
        tol=0.0,
        algorithm=algorithm,
        n_threads=n_threads,
    )
    t0 = time.perf_counter()
    est.fit(X)
    return time.perf_counter() - t0, int(est.n_iter_), float(est.inertia_)


def _fit_sklearn(algorithm: str, X, init, max_iter: int, n_threads):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    est = KMeans(
        n_clusters=init.shape[0],
        init=init,
        n_init=1,
        max_iter=max_iter,
        tol=0.0,
        algorithm=algorithm,
    )
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
    return seconds, int(est.n_iter_), float(est.inertia_)


def _fit_faiss(X, init, max_iter: int, n_threads):
    import faiss

    if n_threads:
        faiss.omp_set_num_threads(int(n_threads))
    n, d = X.shape
    k = init.shape[0]
    km = faiss.Kmeans(
        d,
        k,
        niter=max_iter,
        nredo=1,
        verbose=False,
        min_points_per_centroid=1,
        max_points_per_centroid=max(n, 1),
    )
    t0 = time.perf_counter()
    km.train(X, init_centroids=init)
    seconds = time.perf_counter() - t0
    obj = getattr(km, "obj", None)
    inertia = float(obj[-1]) if obj is not None and len(obj) else float("nan")
    return seconds, int(max_iter), inertia


def implementations(dtype: str, faiss_ok: bool, elkan: bool = True) -> list[str]:
    """List the implementations timed for a dtype (faiss: float32, if present)."""
    impls = ["nbkm-lloyd", "sklearn-lloyd"]
    if elkan:
        impls += ["nbkm-elkan", "sklearn-elkan"]
    if faiss_ok and dtype == "float32":
        impls.append("faiss")
    return impls


def _fit(impl: str, X, init, max_iter: int, n_threads):
    if impl == "faiss":
        return _fit_faiss(X, init, max_iter, n_threads)
    lib, algorithm = impl.split("-")
    fit = _fit_nbkm if lib == "nbkm" else _fit_sklearn
    return fit(algorithm, X, init, max_iter, n_threads)


def gemm_gflops(a, b, repeats: int = 5) -> float:
    """Median GFLOP/s of ``a @ b`` with numpy (after one warm-up product).

    Parameters
    ----------
    a : ndarray of shape (m, p)
        Left operand.
    b : ndarray of shape (p, q)
        Right operand.
    repeats : int, default=5
        Timed products.

    Returns
    -------
    gflops : float
        ``2 m p q / median seconds / 1e9``.
    """
    a @ b
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / float(np.median(times)) / 1e9


def peak_gemm(dtype: str, size: int, repeats: int = 5) -> float:
    """Numpy's GEMM GFLOP/s on a square ``size`` product in ``dtype``."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    return gemm_gflops(a, b, repeats)


def _count(n: int) -> str:
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % div == 0:
            return f"{n // div}{suffix}"
    return str(n)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def time_implementations(impls, X, init, params, flops_per_iter):
    """Time implementations on one problem, interleaved, after one warm-up each.

    Parameters
    ----------
    impls : list of str
        Implementations (see :func:`implementations`).
    X : ndarray or sparse matrix
        The data.
    init : ndarray
        Initial centres.
    params : dict
        ``max_iter``, ``repeats``, ``n_threads``.
    flops_per_iter : float
        Flops of one iteration's distance step, for GFLOP/s.

    Returns
    -------
    results : dict
        Per implementation ``seconds`` (all repeats), ``n_iter``, ``inertia``,
        ``seconds_per_iter`` (median of seconds / n_iter) and ``gflops``.
    ratios : dict
        nbkm / peer seconds per iteration, for the pairs of :data:`RATIOS`.
    """
    max_iter, threads = params["max_iter"], params["n_threads"]
    results = {impl: {"seconds": [], "n_iter": [], "inertia": None} for impl in impls}
    for impl in impls:  # warm-up: JIT, page faults, thread pools; not timed
        _fit(impl, X, init, max_iter, threads)
    for r in range(params["repeats"]):
        shift = r % len(impls)  # rotate the order so that no one always goes first
        for impl in impls[shift:] + impls[:shift]:
            seconds, n_iter, inertia = _fit(impl, X, init, max_iter, threads)
            results[impl]["seconds"].append(seconds)
            results[impl]["n_iter"].append(n_iter)
            results[impl]["inertia"] = _finite(inertia)
    for res in results.values():
        spi = float(np.median(np.array(res["seconds"]) / np.array(res["n_iter"])))
        res["seconds_per_iter"] = spi
        res["gflops"] = flops_per_iter / spi / 1e9
    ratios = {
        name: results[a]["seconds_per_iter"] / results[b]["seconds_per_iter"]
        for name, (a, b) in RATIOS.items()
        if a in results and b in results
    }
    return results, ratios


def time_init(X, k: int, params: dict) -> dict | None:
    """Time k-means++ of nbkm and sklearn on the same data and seed, interleaved.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The data.
    k : int
        Centres to choose.
    params : dict
        ``init_repeats`` (0: not timed, None returned), ``n_threads``,
        ``data_seed`` (the ``random_state`` of both).

    Returns
    -------
    init : dict or None
        Per implementation ``seconds`` (all repeats) and ``median_seconds``;
        ``ratio`` nbkm / sklearn of the medians; ``indices_equal``, whether both
        chose the same samples (they consume the random state alike).
    """
    from sklearn.cluster import kmeans_plusplus as sk_plusplus
    from threadpoolctl import threadpool_limits

    import nbkm

    repeats, threads = params["init_repeats"], params["n_threads"]
    if not repeats:
        return None

    def run_nbkm():
        return nbkm.kmeans_plusplus(
            X, k, random_state=params["data_seed"], n_threads=threads
        )[1]

    def run_sklearn():
        with threadpool_limits(limits=threads):
            return sk_plusplus(X, k, random_state=params["data_seed"])[1]

    runs = {"nbkm": run_nbkm, "sklearn": run_sklearn}
    seconds = {name: [] for name in runs}
    indices = {}
    for r in range(repeats):
        for name in list(runs)[r % 2 :] + list(runs)[: r % 2]:
            t0 = time.perf_counter()
            indices[name] = runs[name]()
            seconds[name].append(time.perf_counter() - t0)
    out = {
        name: {"seconds": s, "median_seconds": float(np.median(s))}
        for name, s in seconds.items()
    }
    out["ratio"] = out["nbkm"]["median_seconds"] / out["sklearn"]["median_seconds"]
    out["indices_equal"] = bool(np.array_equal(indices["nbkm"], indices["sklearn"]))
    return out


def run_shape(n, d, k, dtype, params, faiss_ok: bool, gemm_peak: float) -> dict:
    """Time every implementation on one shape.

    Parameters
    ----------
    n, d, k : int
        Shape.
    dtype : str
        ``"float32"`` or ``"float64"``.
    params : dict
        ``max_iter``, ``repeats``, ``n_threads``, ``data_seed``,
        ``init_repeats``, ``elkan_max_bounds`` (Elkan is not timed when
        ``n * k`` exceeds it: both implementations hold ``n x k`` lower bounds)
        and ``init_max_nk`` (k-means++ is not timed past it: its work grows as
        ``n k log k``, minutes a call at n=1e6, k=1000).
    faiss_ok : bool
        Whether to time faiss.
    gemm_peak : float
        Peak GEMM GFLOP/s of the dtype.

    Returns
    -------
    row : dict
        Shape, per implementation ``seconds`` (all repeats), ``n_iter``,
        ``inertia``, ``seconds_per_iter`` (median), ``gflops`` and
        ``gemm_fraction``; ``ratios`` nbkm / peer; ``init`` (k-means++ timing,
        see :func:`time_init`); ``skipped``, the reason per skipped algorithm.
    """
    X, init = make_problem(n, d, k, dtype, params["data_seed"])
    elkan = n * k <= params["elkan_max_bounds"]
    skipped = {}
    if not elkan:
        gib = n * k * np.dtype(dtype).itemsize / 2**30
        skipped["elkan"] = (
            f"n x k = {n * k:.3g} above elkan_max_bounds: {gib:.1f} GiB of lower "
            "bounds per implementation"
        )
    results, ratios = time_implementations(
        implementations(dtype, faiss_ok, elkan), X, init, params, 2.0 * n * k * d
    )
    for res in results.values():
        res["gemm_fraction"] = res["gflops"] / gemm_peak
    shape_gemm = gemm_gflops(X, np.ascontiguousarray(init.T))
    init_timing = None
    if n * k <= params["init_max_nk"]:
        init_timing = time_init(X, k, params)
    elif params["init_repeats"]:
        skipped["kmeans++"] = f"n x k = {n * k:.3g} above init_max_nk"
    if init_timing is not None:
        ratios["kmeans++"] = init_timing["ratio"]
    return {
        "n": int(n),
        "d": int(d),
        "k": int(k),
        "dtype": dtype,
        "label": f"n={_count(n)} d={d} k={k} {dtype.replace('float', 'f')}",
        "impls": results,
        "ratios": ratios,
        "n_iter_equal": len({tuple(res["n_iter"]) for res in results.values()}) == 1,
        "gemm_shape_gflops": shape_gemm,
        "init": init_timing,
        "skipped": skipped,
    }


def make_sparse_problem(n: int, d: int, density: float, k: int, seed: int = 0):
    """Make a TF-IDF-like CSR matrix and ``k`` of its rows, densified, as centres.

    Parameters
    ----------
    n, d : int
        Samples and features.
    density : float
        Fraction of stored values.
    k : int
        Clusters.
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n, d), float64
        Uniform [0, 1) values at uniformly random positions.
    init : ndarray of shape (k, d)
        ``k`` distinct rows of ``X``.
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=rng)
    init = X[rng.choice(n, size=k, replace=False)].toarray()
    return X, init


def run_sparse(spec: dict, params: dict) -> dict:
    """Time nbkm and sklearn (lloyd and elkan) on the sparse case.

    Parameters
    ----------
    spec : dict
        ``n``, ``d``, ``density``, ``k``.
    params : dict
        ``max_iter``, ``repeats``, ``n_threads``, ``data_seed``.

    Returns
    -------
    row : dict
        As :func:`run_shape`, with ``nnz`` and ``density``; GFLOP/s count
        ``2 nnz k`` an iteration and have no GEMM fraction.
    """
    X, init = make_sparse_problem(
        spec["n"], spec["d"], spec["density"], spec["k"], params["data_seed"]
    )
    results, ratios = time_implementations(
        implementations("float64", faiss_ok=False),
        X,
        init,
        params,
        2.0 * X.nnz * spec["k"],
    )
    return {
        **{key: spec[key] for key in ("n", "d", "density", "k")},
        "nnz": int(X.nnz),
        "dtype": "float64",
        "label": f"CSR n={_count(spec['n'])} d={_count(spec['d'])} "
        f"{100 * spec['density']:g}% k={spec['k']}",
        "impls": results,
        "ratios": ratios,
        "n_iter_equal": len({tuple(res["n_iter"]) for res in results.values()}) == 1,
    }


def run_peak_memory(spec: dict, n_threads) -> dict:
    """Peak memory a fit adds to its data, per implementation, in fresh processes.

    Parameters
    ----------
    spec : dict
        ``n``, ``d``, ``k``, ``dtype``, ``max_iter`` and ``impls`` (names of
        :data:`experiments._memory.IMPLS`).
    n_threads : int or None
        Threads of each fit.

    Returns
    -------
    row : dict
        The spec, a ``label``, ``impls`` (per implementation the result of
        :func:`experiments._memory.fit_peak_memory`), ``n_by_k_bytes`` and
        ``ratios`` nbkm / sklearn of the fit's added peak, per algorithm.
    """
    impls = {
        impl: fit_peak_memory(
            impl,
            spec["n"],
            spec["d"],
            spec["k"],
            spec["dtype"],
            spec["max_iter"],
            n_threads,
        )
        for impl in spec["impls"]
    }
    ratios = {}
    for algorithm in ("lloyd", "elkan"):
        a, b = impls.get(f"nbkm-{algorithm}"), impls.get(f"sklearn-{algorithm}")
        if a and b and b["fit_peak_bytes"] > 0:
            ratios[algorithm] = a["fit_peak_bytes"] / b["fit_peak_bytes"]
    return {
        **spec,
        "label": f"n={_count(spec['n'])} d={spec['d']} k={spec['k']} "
        f"{spec['dtype'].replace('float', 'f')}",
        "impls": impls,
        "n_by_k_bytes": spec["n"] * spec["k"] * np.dtype(spec["dtype"]).itemsize,
        "ratios": ratios,
    }


def geomean(values) -> float | None:
    """Geometric mean of positive numbers (None when empty)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return float(np.exp(np.mean(np.log(values))))


def run(params: dict, quiet: bool = False) -> dict:
    """Run the whole grid (no files written).

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULTS`.
    quiet : bool, default=False
        No progress lines.

    Returns
    -------
    results : dict
        ``faiss`` status, ``gemm_peak_gflops`` per dtype, ``grid`` (one row
        per shape, see :func:`run_shape`), ``sparse`` (see :func:`run_sparse`),
        ``peak_memory`` (see :func:`run_peak_memory`) and ``summary``
        (geometric mean, max and count of ratios at or below 1, per ratio name).
    """
    import numba

    from nbkm import KMeans, kmeans_plusplus

    faiss = faiss_status()
    dtypes = list(params["dtype"])
    # Compile/load nbkm's kernels for every dtype and algorithm before timing.
    for dtype in dtypes:
        Xw, iw = make_problem(64, 4, 3, dtype)
        kmeans_plusplus(Xw, 3, random_state=0)
        for algorithm in ("lloyd", "elkan"):
            KMeans(3, init=iw, n_init=1, max_iter=2, algorithm=algorithm).fit(Xw)
    gemm = {dt: peak_gemm(dt, params["gemm_size"]) for dt in dtypes}
    shapes = [
        (n, d, k, dt)
        for dt in dtypes
        for n in params["n"]
        for d in params["d"]
        for k in params["k"]
        if k <= n
    ]
    progress = Progress(
        "compare",
        len(shapes) + bool(params.get("sparse")) + bool(params.get("peakmem")),
        quiet=quiet,
    )
    grid = []
    for n, d, k, dt in shapes:
        row = run_shape(n, d, k, dt, params, faiss["available"], gemm[dt])
        grid.append(row)
        progress.step(
            row["label"]
            + "  "
            + " ".join(f"{name} {v:.2f}" for name, v in row["ratios"].items())
        )
    sparse = None
    if params.get("sparse"):
        sparse = run_sparse(params["sparse"], params)
        progress.step(
            sparse["label"]
            + "  "
            + " ".join(f"{name} {v:.2f}" for name, v in sparse["ratios"].items())
        )
    peakmem = None
    if params.get("peakmem"):
        peakmem = run_peak_memory(params["peakmem"], params["n_threads"])
        progress.step(
            f"peak memory {peakmem['label']}  "
            + " ".join(f"{name} {v:.2f}" for name, v in peakmem["ratios"].items())
        )
    summary = {}
    for name in RATIO_NAMES:
        vals = [row["ratios"][name] for row in grid if name in row["ratios"]]
        if vals:
            summary[name] = {
                "geomean_ratio": geomean(vals),
                "max_ratio": float(max(vals)),
                "min_ratio": float(min(vals)),
                "n_shapes": len(vals),
                "n_at_or_below_1": int(sum(v <= 1.0 for v in vals)),
            }
    return {
        "faiss": faiss,
        "gemm_peak_gflops": gemm,
        "grid": grid,
        "sparse": sparse,
        "peak_memory": peakmem,
        "summary": summary,
        "timings": {
            "n_threads": params["n_threads"] or int(numba.get_num_threads()),
            "clock": "time.perf_counter, whole fit() call divided by n_iter_",
            "statistic": "median over repeats",
        },
    }


def plot(results: dict, path) -> None:
    """Bar chart of the nbkm / peer time-per-iteration ratios, one bar per shape.

    Parameters
    ----------
    results : dict
        As returned by :func:`run`.
    path : path-like
        PNG destination.
    """
    import pandas as pd

    from experiments._plots import plt, save_figure, sns

    rows = [
        {"shape": row["label"], "ratio": value, "comparison": name}
        for row in results["grid"]
        for name, value in row["ratios"].items()
    ]
    frame = pd.DataFrame(rows)
    names = {
        "lloyd": "nbkm lloyd / sklearn lloyd",
        "elkan": "nbkm elkan / sklearn elkan",
        "faiss": "faiss / sklearn lloyd",
        "kmeans++": "nbkm k-means++ / sklearn k-means++",
    }
    frame["comparison"] = frame["comparison"].map(names)
    n_shapes = len(results["grid"])
    fig, ax = plt.subplots(figsize=(8, 1.4 + 0.45 * n_shapes))
    sns.stripplot(
        data=frame,
        y="shape",
        x="ratio",
        hue="comparison",
        hue_order=[
            names[n] for n in RATIO_NAMES if names[n] in set(frame["comparison"])
        ],
        dodge=True,
        jitter=False,
        size=9,
        ax=ax,
        orient="h",
    )
    ax.axvline(1.0, color="black", lw=1)
    ax.set_xscale("log")
    lo = min(0.5, float(frame["ratio"].min()) / 1.2)
    hi = max(2.0, float(frame["ratio"].max()) * 1.2)
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 8) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel(
        "seconds per iteration (k-means++: per call), ratio "
        "(left of 1: nbkm / faiss faster)"
    )
    ax.set_ylabel("")
    threads = results["timings"]["n_threads"]
    ax.set_title(f"time per iteration relative to scikit-learn ({threads} threads)")
    ax.legend(loc="best", fontsize=8)
    save_figure(fig, path)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def summary_lines(record: dict) -> list[str]:
    """Short human summary of a compare record.

    Parameters
    ----------
    record : dict
        A compare JSON record.

    Returns
    -------
    lines : list of str
        Lines to print.
    """
    gemm = ", ".join(f"{k} {v:.0f}" for k, v in record["gemm_peak_gflops"].items())
    lines = [
        f"compare: {len(record['grid'])} shapes, {record['timings']['n_threads']} "
        f"threads; numpy GEMM GFLOP/s: {gemm}"
    ]
    if not record["faiss"]["available"]:
        lines.append("  faiss skipped: not installed")
    lines.append(
        f"  {'shape':<28} {'ms/iter nbkm':>12} {'sklearn':>8} {'ratio':>6}"
        f" {'elkan ratio':>11} {'k-means++':>9} {'GEMM frac':>9}"
    )
    rows = list(record["grid"])
    if record.get("sparse"):
        rows.append(record["sparse"])
    for row in rows:
        nb, sk = row["impls"]["nbkm-lloyd"], row["impls"]["sklearn-lloyd"]
        ratios = row["ratios"]
        frac = nb.get("gemm_fraction")
        lines.append(
            f"  {row['label']:<28} {1e3 * nb['seconds_per_iter']:>12.3f} "
            f"{1e3 * sk['seconds_per_iter']:>8.3f} {ratios['lloyd']:>6.2f} "
            f"{_fmt(ratios.get('elkan')):>11} {_fmt(ratios.get('kmeans++')):>9} "
            f"{_fmt(frac):>9}"
        )
    peak = record.get("peak_memory")
    if peak:
        mib = ", ".join(
            f"{impl} {res['fit_peak_bytes'] / 2**20:.0f}"
            for impl, res in peak["impls"].items()
        )
        lines.append(
            f"  peak memory added by a fit, {peak['label']} (MiB): {mib}; one n x k "
            f"matrix would be {peak['n_by_k_bytes'] / 2**20:.0f}"
        )
    for name in RATIO_NAMES:
        s = record["summary"].get(name)
        if s is None:
            continue
        lines.append(
            f"  {name}: geometric mean ratio {s['geomean_ratio']:.2f}, max "
            f"{s['max_ratio']:.2f}, {s['n_at_or_below_1']}/{s['n_shapes']} shapes <= 1"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the compare experiment from the command line.

    Parameters
    ----------
    argv : list of str or None
        Arguments; ``sys.argv[1:]`` when None. See ``--help``.

    Returns
    -------
    code : int
        0 once the record is written (ratios are reported, not judged).
    """
    p = _cli.parser("compare", __doc__)
    p.add_argument("--quick", action="store_true", help="small shapes only")
    p.add_argument("--n", type=int, nargs="+", help="sample counts")
    p.add_argument("--d", type=int, nargs="+", help="feature counts")
    p.add_argument("--k", type=int, nargs="+", help="cluster counts")
    p.add_argument("--dtype", nargs="+", choices=["float32", "float64"], help="dtypes")
    p.add_argument("--max-iter", type=int, help="fixed iterations per fit")
    p.add_argument("--repeats", type=int, help="timed fits per implementation")
    p.add_argument("--threads", type=int, help="threads (default: all)")
    p.add_argument(
        "--sparse",
        nargs=4,
        metavar=("N", "D", "DENSITY", "K"),
        help="the sparse case (default 100000 20000 0.005 20)",
    )
    p.add_argument("--no-sparse", action="store_true", help="skip the sparse case")
    p.add_argument(
        "--init-repeats",
        type=int,
        help="timed k-means++ calls per implementation and shape (0: none)",
    )
    p.add_argument(
        "--elkan-max-bounds",
        type=float,
        help="largest n * k timed with elkan (default 2e8)",
    )
    p.add_argument(
        "--init-max-nk",
        type=float,
        help="largest n * k whose k-means++ is timed (default 1e8)",
    )
    p.add_argument(
        "--peakmem",
        nargs=3,
        type=int,
        metavar=("N", "D", "K"),
        help="also measure the peak memory of one float64 fit of this shape, "
        "per implementation, in fresh processes (e.g. 1000000 64 1000)",
    )
    p.add_argument(
        "--peakmem-impls",
        nargs="+",
        choices=list(MEMORY_IMPLS),
        default=list(MEMORY_IMPLS),
        help="implementations measured by --peakmem (default: all four)",
    )
    args = p.parse_args(argv)
    params = dict(QUICK if args.quick else DEFAULTS)
    for key, value in (
        ("n", args.n),
        ("d", args.d),
        ("k", args.k),
        ("dtype", args.dtype),
        ("max_iter", args.max_iter),
        ("repeats", args.repeats),
        ("n_threads", args.threads),
        ("init_repeats", args.init_repeats),
        ("elkan_max_bounds", args.elkan_max_bounds),
        ("init_max_nk", args.init_max_nk),
    ):
        if value is not None:
            params[key] = value
    if args.sparse is not None:
        n, d, density, k = args.sparse
        params["sparse"] = {
            "n": int(n),
            "d": int(d),
            "density": float(density),
            "k": int(k),
        }
    if args.no_sparse:
        params["sparse"] = None
    if args.peakmem is not None:
        n, d, k = args.peakmem
        params["peakmem"] = {
            "n": n,
            "d": d,
            "k": k,
            "dtype": "float64",
            "max_iter": 2,
            "impls": list(args.peakmem_impls),
        }
    params["quick"] = bool(args.quick)
    results = run(params, quiet=args.quiet)
    record = base_record("compare", params)
    record["command"] = shlex.join(
        ["python", "-m", "experiments", "compare"]
        + list(sys.argv[1:] if argv is None else argv)
    )
    record.update(results)
    plot(results, args.out / "compare.png")
    record["figures"] = {"ratios": "compare.png"}
    write_json(args.out / "compare.json", record)
    for line in summary_lines(record):
        _cli.say(line)
    _cli.say(f"  wrote {args.out / 'compare.json'} and {args.out / 'compare.png'}")
    return 0
