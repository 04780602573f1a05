"""Speed against scikit-learn, faiss and scikit-learn-intelex: whole fits, targets.

Whole fits (the default; ``experiments/_wholefit.py``): every nbkm algorithm and
peer fits each cell of data kind x n x d x k x dtype (``WHOLE_FIT_GRID`` of
``benchmarks/workloads.py``) to convergence from the same initial centres,
timed interleaved; the issue's targets are evaluated. ``--kind documents`` adds
the sparse kind (CSR topic documents, ``d`` words; not in the default grid;
alone, it runs on ``DOCUMENTS_GRID``),
where dense-only fits are skipped. ``--budget S`` skips cells estimated above S
seconds, ``--estimate`` prints the plan and exits, ``--memory [N D K]`` measures
the peak extra memory of one fit per algorithm in fresh processes.

``--minibatch`` (result set ``compare_minibatch``; ``experiments/_minibatch.py``):
whole MiniBatchKMeans fits of nbkm and scikit-learn over ``MINIBATCH_GRID``,
both early stops off, ``--max-iter`` epochs (default 2) from the same
``random_state`` (``--seed``), 2 threads unless ``--threads``.

``--fixed``: the asv suite's fixed workload, run by the same engine
(``FULL_GRID``, ``GRID`` with ``--quick``): standard normal data, ``tol=0``, a
fixed ``max_iter``; ratios of seconds per iteration, the distance to the GEMM
floor, k-means++ per shape (``--init-repeats``), a TF-IDF-like sparse case
(``--sparse N D DENSITY K``, ``--no-sparse``). Elkan is not timed past
``--elkan-max-bounds`` (n x k bounds), in whole fits and ``--fixed``.
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

from benchmarks import data, workloads
from experiments import _cli, _io, _minibatch, _tables, _wholefit

#: Defaults of the whole-fit mode (the default mode), beside those of ``--fixed``.
WHOLE_DEFAULTS = {**workloads.WHOLE_FIT_GRID, "repeats": 3, "n_threads": None}
WHOLE_DEFAULTS |= {"gemm_size": 1024, "elkan_max_bounds": 200_000_000, "seed": 0}
WHOLE_DEFAULTS |= {"budget": None, "memory": None, "mode": "whole_fit"}
#: Defaults of ``--fixed``: the fixed workload, nbkm's Lloyd and Elkan.
FIXED_DEFAULTS = {**WHOLE_DEFAULTS, **workloads.FULL_GRID, "kind": ["gaussian"]}
FIXED_DEFAULTS |= {"max_iter": 5, "repeats": 5, "init_repeats": 3, "mode": "fixed"}
FIXED_DEFAULTS |= {"init_max_nk": 100_000_000, "sparse": dict(workloads.SPARSE)}
FIXED_DEFAULTS |= {"algorithms": ["lloyd", "elkan"], "primary": "nbkm-lloyd"}
FIXED_DEFAULTS["peers"] = ["sklearn-lloyd", "sklearn-elkan", "faiss"]
#: Defaults of ``--minibatch``, beside those of ``--fixed``.
MINIBATCH_DEFAULTS = {**workloads.MINIBATCH_GRID, "repeats": 3, "seed": 0}
MINIBATCH_DEFAULTS |= {"max_iter": workloads.MINIBATCH_MAX_ITER, "budget": None}
MINIBATCH_DEFAULTS["n_threads"] = workloads.N_THREADS


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
    kinds = [*data.KINDS, *data.SPARSE_KINDS]
    add("--kind", nargs="+", choices=kinds, help="data kinds (sparse: opt-in)")
    add("--algorithms", nargs="+", metavar="ALG", help="nbkm algorithms (default: all)")
    peers = ", ".join(_wholefit.PEER_IMPLS)
    add("--peers", nargs="*", metavar="PEER", help=f"of {peers} (default: all)")
    add(
        "--budget", type=_cli.float_in(0, 1e9), metavar="S", help="skip cells above S s"
    )
    add("--estimate", action="store_true", help="print the cells' estimates and exit")
    seed_help = "seed of the data (--minibatch: and the random_state)"
    add("--seed", type=_cli.int_in(0, 2**31), help=seed_help)
    memory_help = "peak extra memory (--fixed too)"
    add(
        "--memory", "--peakmem", nargs="*", type=size, metavar="N D K", help=memory_help
    )
    fixed = p.add_argument_group("fixed iterations (--fixed)")
    add = fixed.add_argument
    add("--fixed", action="store_true", help="fixed iterations on Gaussian data")
    max_iter_help = (
        "fixed iterations per fit (--minibatch: epochs, default 2, no early stop)"
    )
    add("--max-iter", type=_cli.int_in(1, 1000), help=max_iter_help)
    add("--sparse", nargs=4, metavar=("N", "D", "DENSITY", "K"), help="sparse case")
    add("--no-sparse", action="store_true", help="skip the sparse case")
    add("--init-repeats", type=_cli.int_in(0, 1000), help="k-means++ calls (0: none)")
    add("--init-max-nk", type=_cli.float_in(0, 1e15), help="largest n * k timed")
    minibatch = p.add_argument_group(
        "mini-batch fits (--minibatch; also --n --d --k --dtype --repeats --threads "
        "--max-iter --seed --budget --estimate)"
    )
    minibatch.add_argument(
        "--batch-size", type=size, nargs="+", help="batch sizes of the grid"
    )


class Options(SimpleNamespace):
    """The parsed options of compare (see :func:`add_arguments`); None: not given."""

    def given(self, *names: str) -> dict:
        """Return the options of ``names`` that were given, with their values."""
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


#: The modes, as the user chooses them.
MODE_FLAGS = {"whole_fit": "whole fits (the default)", "fixed": "--fixed"}
MODE_FLAGS["minibatch"] = "--minibatch"
#: Options of some modes only (given in another: a usage error); the others are
#: options of every mode.
MODE_OPTIONS = {
    **dict.fromkeys(("kind", "algorithms", "peers"), ("whole_fit",)),
    **dict.fromkeys(("quick", "elkan_max_bounds", "memory"), ("whole_fit", "fixed")),
    **dict.fromkeys(("sparse", "no_sparse", "init_repeats", "init_max_nk"), ("fixed",)),
    "max_iter": ("fixed", "minibatch"),
    "batch_size": ("minibatch",),
}


def _mode(args: Options) -> str:
    """Return the mode of the options; refuse options of another mode."""
    if args.fixed and args.minibatch:
        raise _cli.UsageError("compare: --fixed and --minibatch exclude each other")
    mode = "fixed" if args.fixed else "minibatch" if args.minibatch else "whole_fit"
    for name, modes in MODE_OPTIONS.items():
        if mode not in modes and getattr(args, name) not in (None, False):
            flag, where = (
                "--" + name.replace("_", "-"),
                " and ".join(MODE_FLAGS[m] for m in modes),
            )
            raise _cli.UsageError(f"compare: {flag} is an option of {where} only")
    return mode


def _grid(params: dict) -> dict:
    if not workloads.shapes(params):
        raise _cli.UsageError("compare: no shape with k <= n in the grid")
    return params


def _memory_spec(args: Options) -> dict | None:
    """``--memory [N D K]`` as ``{"n", "d", "k"}`` (the default size without N D K)."""
    if args.memory is None:
        return None
    if len(args.memory) not in (0, 3):
        raise _cli.UsageError("compare: --memory takes nothing or N D K")
    n, d, k = args.memory or (workloads.MEMORY[key] for key in "ndk")
    if k > n:
        raise _cli.UsageError("compare: --memory needs K <= N")
    return {"n": n, "d": d, "k": k}


def whole_fit_params(args: Options) -> dict:
    """Return the parameters of whole fits, the default mode (checked up front)."""
    params = dict(WHOLE_DEFAULTS, **(workloads.GRID if args.quick else {}))
    if args.kind and set(args.kind) <= set(data.SPARSE_KINDS):
        params |= workloads.DOCUMENTS_GRID  # the sparse kinds' own sizes
    params |= args.given("n", "d", "k", "dtype", "kind", "repeats", "seed", "budget")
    params |= args.given("elkan_max_bounds")
    params["n_threads"] = args.threads
    _grid(params)
    known, peers = _wholefit.nbkm_algorithms(), _wholefit.PEER_IMPLS
    for key, what, chosen, names in (
        ("algorithms", "nbkm has no algorithm", args.algorithms or known, known),
        ("peers", "unknown peer", peers if args.peers is None else args.peers, peers),
    ):
        if unknown := [name for name in chosen if name not in names]:
            raise _cli.UsageError(
                f"compare: {what} {', '.join(unknown)}; one of: {', '.join(names)}"
            )
        params[key] = list(dict.fromkeys(chosen))
    params["primary"] = f"nbkm-{_wholefit.primary_algorithm()}"
    return _engine_params(params, args)


def _engine_params(params: dict, args: Options) -> dict:
    """Complete the parameters of the whole-fit engine; ``--estimate`` exits here."""
    params["impls"] = [f"nbkm-{a}" for a in params["algorithms"]] + params["peers"]
    params["memory"] = _memory_spec(args)
    if args.estimate:
        available = {n: s["available"] for n, s in _wholefit.peer_status().items()}
        _tables.print_estimate(*_wholefit.plan(params, available))
    return params


def minibatch_params(args: Options) -> dict:
    """Return the parameters of ``--minibatch`` (k <= n checked)."""
    import numba

    params = dict(MINIBATCH_DEFAULTS)
    params |= args.given("n", "d", "k", "dtype", "seed", "batch_size", "max_iter")
    params |= args.given("repeats", "budget")
    # 2 threads, or fewer where Numba has fewer
    threads = args.threads or min(workloads.N_THREADS, numba.config.NUMBA_NUM_THREADS)
    params = _grid(params | {"n_threads": threads, "mode": "minibatch"})
    if args.estimate:
        _tables.print_estimate(*_minibatch.plan(params))
    return params


def fixed_params(args: Options) -> dict:
    """Return the parameters of ``--fixed`` (k <= n checked)."""
    params = dict(FIXED_DEFAULTS, **(workloads.GRID if args.quick else {}))
    params |= args.given("n", "d", "k", "dtype", "max_iter", "repeats")
    params |= args.given("init_repeats", "elkan_max_bounds", "init_max_nk")
    params = _grid(params | {"n_threads": args.threads})
    params["fit"] = {"tol": 0.0, "max_iter": params["max_iter"]}
    if args.sparse:
        types = [_cli.int_in(1, 10**8)] * 2 + [_cli.float_in(0, 1), _cli.int_in(1)]
        try:
            n, d, density, k = [t(v) for t, v in zip(types, args.sparse, strict=True)]
        except argparse.ArgumentTypeError as exc:
            raise _cli.UsageError(f"compare: --sparse N D DENSITY K: {exc}") from None
        params["sparse"] = {"n": n, "d": d, "density": density, "k": min(k, n)}
    if args.no_sparse:
        params["sparse"] = None
    return _engine_params(params, args)


#: Each mode: its parameters from the options, and its run.
MODES = {
    "whole_fit": (whole_fit_params, _wholefit.run),
    "fixed": (fixed_params, _wholefit.run),
    "minibatch": (minibatch_params, _minibatch.run),
}


def job(*, quiet: bool, **options) -> _io.Job:
    """Return the run of compare with these options (see :class:`Options`).

    ``--estimate`` prints the plan and exits here.
    """
    args = Options(**options)
    make_params, run = MODES[_mode(args)]
    params = make_params(args)
    return _io.quiet_job("compare", params, run, validate, section, set_name, quiet)


def set_name(params: dict) -> str:
    """Return the result set of a run: ``compare``, or ``compare_minibatch``."""
    return "compare_minibatch" if params.get("mode") == "minibatch" else "compare"


#: Keys of every mode's results (the others: :func:`validate`).
REQUIRED = ("grid", "summary", "timings")


def validate(record: dict, where: str) -> dict:
    """Check a compare record: the keys of its mode; a mini-batch record whole.

    Raises ``RecordError`` naming the file and the first key missing or malformed.
    """
    _io.validate(record, where, REQUIRED, "compare")
    if record["results"].get("mode") == "minibatch":
        _minibatch.check_results(record, where)
    else:
        _io.validate(record, where, ("gemm_peak_gflops", "faiss"))
    return record


def section(record: dict) -> list[str]:
    """Markdown of a compare record: mini-batch fits, or whole and fixed ones."""
    if record["results"].get("mode") == "minibatch":
        return _minibatch.section(record)
    return _wholefit.section(record)
