r"""Seconds per Lloyd iteration: nbkm.dask vs dask-ml on a local cluster vs nbkm.

For every shape (n, k), the data and fixed workload of ``benchmarks/dask_cluster.py``
(``n`` x 16 float32, persisted on each cluster and computed into this process)
are fitted by ``nbkm-dask/<w>`` (:class:`nbkm.dask.KMeans`) and ``dask-ml/<w>``
(:class:`dask_ml.cluster.KMeans`) on ``w`` workers (one cluster per worker count,
all started up front, ``--threads // w`` threads in each worker) and by ``nbkm``
(:class:`nbkm.KMeans`, ``--threads`` threads). Two timings: a whole fit divided
by its ``n_iter_``, and the marginal cost of an iteration once the data is on the
workers, (that fit - a 2-iteration fit) / (``max_iter`` - 2). The fits are timed
interleaved after an untimed warm-up fit each (``experiments/_timing.py``); the
tables give the median over ``--repeats``. Ratios: ``dask-ml / nbkm-dask`` at the
same worker count (target >= 3), ``nbkm-dask/1 / nbkm`` (target <= 1.3 at n=1e7).

Usage::

    python tools/dask_scaling.py                      # the full grid
    python tools/dask_scaling.py --quick              # tiny smoke run
    python tools/dask_scaling.py --n 1e6 1e7 --k 10 --max-iter 5 --repeats 2 \
        --out runs/dask_scaling.json

Prints markdown tables and, with ``--out``, writes JSON (the tables' numbers,
every sample, the thread counts, worker reports, BLAS core type, versions).
"""

import argparse
import contextlib
import importlib
import json
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import dask_cluster as dc  # noqa: E402
from experiments import _timing  # noqa: E402

#: Iterations of the short fit whose time is subtracted for the marginal cost.
SHORT_FIT = 2

QUICK = {"n": [20_000], "k": [10], "workers": [1, 2], "max_iter": 3, "repeats": 1}
FULL = {"n": dc.GRID["n"], "k": dc.GRID["k"], "workers": dc.WORKERS}
FULL |= {"max_iter": dc.MAX_ITER, "repeats": 3}

#: The versions recorded, by module, and the name a module is recorded under.
MODULES = ("nbkm", "numpy", "numba", "sklearn", "dask", "distributed", "dask_ml")
RECORDED_AS = {"sklearn": "scikit-learn", "dask_ml": "dask-ml"}


def _positive_int(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != int(value) or value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(value)


def parse_args(argv=None):
    """Parse and check the options (``sys.argv[1:]`` when None); usage errors exit 2."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    for flag, nargs, text in (
        ("--n", "+", "sample counts (1e6 allowed; default: 1e6 1e7)"),
        ("--k", "+", "cluster counts (default: 10 100; at most 128)"),
        ("--workers", "+", "worker counts (default: 1 2)"),
        ("--max-iter", None, f"iterations per fit (default: {dc.MAX_ITER})"),
        ("--repeats", None, "timed fits per implementation (default: 3)"),
    ):
        add(flag, nargs=nargs, type=_positive_int, help=text)
    add(
        "--threads",
        type=_positive_int,
        default=os.cpu_count(),
        help="threads of single-machine nbkm, split among the workers "
        "(default: the CPU count)",
    )
    add(
        "--quick",
        action="store_true",
        help="a tiny smoke run (n=20000, k=10, 3 iterations, 1 repeat) "
        "unless other options say otherwise",
    )
    add("--out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    errors = []
    if max(args.k) > 128:
        errors.append("--k: at most 128 (the initial centres are the first rows)")
    if any(k > n for k in args.k for n in args.n):
        errors.append("--k: every k must be <= every n")
    if args.threads < max(args.workers):
        errors.append("--threads: at least one thread per worker")
    if args.out is not None and not args.out.parent.is_dir():
        errors.append(f"--out: no directory {args.out.parent}")
    if (reason := dc.missing_dask()) is not None:
        errors = errors or [reason]
    if errors:
        parser.exit(2, f"{parser.prog}: error: {'; '.join(errors)}\n")
    return args


def _worker_info(dask_worker=None):
    """Run on each worker (self-contained: it may not import ``experiments``)."""
    import os

    import numba
    import threadpoolctl

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region ran in the worker yet
        layer = None
    return {
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),
        "threading_layer": layer,
        "dask_threads": int(dask_worker.state.nthreads) if dask_worker else None,
        "threadpools": threadpoolctl.threadpool_info(),
    }


def _environment(args, clients):
    versions = {
        RECORDED_AS.get(module, module): getattr(
            importlib.import_module(module), "__version__", None
        )
        for module in MODULES
    }
    workers = {
        str(w): {
            "n_workers": w,
            "threads_per_worker": dc.worker_threads(w, args.threads),
            "reports": list(client.run(_worker_info).values()),
        }
        for w, client in clients.items()
    }
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "versions": versions,
        "threads_single_machine": args.threads,
        "numba_threading_layer_client": _timing.threading_layer(),
        "blas": [lib for lib in _timing.blas_info() if lib["user_api"] == "blas"],
        "workers": workers,
    }


def _ratios(median, workers):
    """Return the target ratios of one shape's medians (seconds per iteration)."""
    pairs = [(f"dask-ml/{w}", f"nbkm-dask/{w}") for w in workers]
    if 1 in workers:
        pairs.append(("nbkm-dask/1", "nbkm"))
    return {f"{a} / {b}": median[a] / median[b] for a, b in pairs}


def _fit(args, clients, data, local, k, name, max_iter):
    """Seconds of one fixed-workload fit of ``name`` (``nbkm-dask/2``, ``nbkm``)."""
    runner, _, w = name.partition("/")
    est = dc.make_runner(runner, k, local[:k].copy(), max_iter, args.threads)
    X = local if runner == "nbkm" else data[int(w)][0]
    with contextlib.nullcontext() if runner == "nbkm" else dc.on(clients[int(w)]):
        start = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - start
    if est.n_iter_ != max_iter:
        raise RuntimeError(
            f"{name} n={len(local)} k={k}: {est.n_iter_} != {max_iter} "
            "iterations; the workload is not fixed"
        )
    return seconds


def _per_iteration(fit, max_iter):
    """Whole-fit and marginal seconds per iteration (None: ``max_iter`` too small)."""
    whole = fit(max_iter)
    if max_iter <= SHORT_FIT:
        return whole / max_iter, None
    return whole / max_iter, (whole - fit(SHORT_FIT)) / (max_iter - SHORT_FIT)


def run(args, log=print):
    """Time the grid, logging progress with ``log``; return the record.

    The record has ``options``, ``environment``, ``rows`` (one per shape:
    medians, samples, ratios) and ``total_s``; see the module docstring.
    """
    import numpy as np

    t0 = time.perf_counter()
    clients = {
        w: dc.get_client(w, dc.worker_threads(w, args.threads)) for w in args.workers
    }
    log(f"# clusters started in {time.perf_counter() - t0:.1f} s")
    names = [f"{lib}/{w}" for w in args.workers for lib in ("nbkm-dask", "dask-ml")]
    names.append("nbkm")
    timings = {"": 0, "marginal_": 1} if args.max_iter > SHORT_FIT else {"": 0}
    rows = []
    for n in args.n:
        data = {
            w: dc.persisted_data(client, n, dc.GRID["d"], dc.GRID["dtype"])
            for w, client in clients.items()
        }
        with dc.on(clients[args.workers[0]]):
            local = np.ascontiguousarray(data[args.workers[0]][0].compute())
        for k in args.k:
            fit = partial(_fit, args, clients, data, local, k)
            # warm-up: compilation, first touch
            warm_up = {name: partial(fit, name, args.max_iter) for name in names}
            calls = {
                name: partial(_per_iteration, partial(fit, name), args.max_iter)
                for name in names
            }
            runs = _timing.interleaved(calls, args.repeats, warm_up)
            row = {"n": n, "k": k}
            for prefix, i in timings.items():
                samples = {name: [r[i] for r in rs] for name, rs in runs.items()}
                median = {name: _timing.median(s) for name, s in samples.items()}
                row[f"median_{prefix}s_per_iter"] = median
                row[f"samples_{prefix}s_per_iter"] = samples
                row[f"{prefix}ratios"] = _ratios(median, args.workers)
            rows.append(row)
            log(f"# n={n} k={k} done at {time.perf_counter() - t0:.1f} s")
        del local, data
    environment = _environment(args, clients)
    dc.close_clients()
    options = {key: getattr(args, key) for key in (*FULL, "threads", "quick")}
    options.update(d=dc.GRID["d"], dtype=dc.GRID["dtype"])
    record = {"options": options, "environment": environment, "rows": rows}
    return record | {"total_s": time.perf_counter() - t0}


def _table_lines(rows, medians, ratios, unit):
    names, ratio_names = list(rows[0][medians]), list(rows[0][ratios])
    head = ["n", "k", *(f"{m} ({unit})" for m in names), *ratio_names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"{row['n']:.0e}", str(row["k"])]
        cells += [f"{1e3 * row[medians][m]:.1f}" for m in names]
        cells += [f"{row[ratios][r]:.2f}" for r in ratio_names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def table(record):
    """Return the markdown tables of a record: ms per iteration and the ratios.

    The first table divides whole fits by their iterations; the second, when
    the record has it, gives the marginal cost of an iteration.
    """
    rows = record["rows"]
    lines = _table_lines(rows, "median_s_per_iter", "ratios", "ms/iter")
    if "median_marginal_s_per_iter" in rows[0]:
        lines.append("")
        lines += _table_lines(
            rows, "median_marginal_s_per_iter", "marginal_ratios", "marginal ms/iter"
        )
    opts, env = record["options"], record["environment"]
    blas = ", ".join(
        f"{b['internal_api']} {b['version']} {b['architecture']}" for b in env["blas"]
    )
    workers = ", ".join(
        f"{w['n_workers']} x {w['threads_per_worker']} threads"
        for w in env["workers"].values()
    )
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines += [
        "",
        f"d={opts['d']}, {opts['dtype']}, max_iter={opts['max_iter']}, tol=0, "
        f"median of {opts['repeats']}; single machine: {opts['threads']} threads; "
        f"workers: {workers}; BLAS: {blas or 'none loaded'}; "
        f"{versions}; total {record['total_s']:.0f} s.",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Run the tool; return the exit status."""
    args = parse_args(argv)
    record = run(args, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(record))
    if args.out is not None:
        args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
