"""Peak memory of one fit, measured in a fresh process.

The parent runs ``python -m experiments._memory '<JSON of _child's arguments>'``
once per implementation. The child builds the fixed workload of
``benchmarks/workloads.py``, runs one tiny fit (loads compiled code, starts
thread pools), resets the kernel's peak record (``/proc/self/clear_refs``), reads
its resident set size, fits, and prints one JSON line with the resident set size
before the fit and the peak after it (``VmHWM``). The peak *added by the fit* is the
difference: what the implementation allocated on top of the caller's data,
whatever allocator it used (Numba's, OpenMP's, BLAS's), which ``tracemalloc``
would not see. Where the peak cannot be reset (``peak_reset`` false in the
result), the process's lifetime peak is used, which can only overstate.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import numpy as np

from experiments._io import REPO_ROOT
from experiments._tables import label
from experiments._timing import timed_fit

#: Iterations of the peak-memory fit of a bounded algorithm (and of "auto"):
#: enough for its Lloyd phase to end on Gaussian data at 1e6 x 64, k=1000.
MAX_ITER_BOUNDED = 20


def _vm_bytes() -> dict:
    """Return the ``Vm*`` sizes of ``/proc/self/status`` in bytes ({} without it)."""
    try:
        with open("/proc/self/status") as f:
            fields = [line.split() for line in f if line.startswith("Vm")]
    except OSError:
        return {}
    return {name.rstrip(":"): int(kib) * 1024 for name, kib, *_ in fields}


def _child(impl: str, n: int, d: int, k: int, dtype: str, max_iter: int, threads):
    from benchmarks.data import draw_gaussian
    from benchmarks.workloads import fixed_workload

    lib, algorithm = impl.split("-")
    X = draw_gaussian(n, d, dtype)
    params = fixed_workload(X, k, max_iter, algorithm)
    # One tiny fit first loads the compiled code and starts the thread pools, so
    # that the peak measured is the fit's own.
    m = min(3, k)
    tiny = dict(params, n_clusters=m, init=params["init"][:m], max_iter=1)
    timed_fit(lib, X[:64], threads, **tiny)
    try:  # reset the kernel's record of the peak resident set size (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    before = _vm_bytes()["VmRSS"]
    est = timed_fit(lib, X, threads, **params)[0]
    lifetime_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = _vm_bytes().get("VmHWM", lifetime_peak)
    # Bounded algorithms start with Lloyd's sweeps and allocate their bounds
    # later: the peak is theirs only if some iteration ran with bounds.
    computed = getattr(est, "distances_computed_", None)
    bounded = None if computed is None else int(np.sum(np.asarray(computed) < 1))
    out = {"impl": impl, "peak_reset": peak_reset, "rss_before_fit_bytes": before}
    out |= {"peak_bytes": peak, "data_bytes": int(X.nbytes)}
    return out | {"n_iter": int(est.n_iter_), "bounded_iterations": bounded}


def fit_peak_memory(
    impl, n, d, k, dtype="float64", max_iter=2, n_threads=None, timeout=1800.0
) -> dict:
    """Measure the memory one fit adds on top of its data, in a fresh process.

    ``impl`` is ``sklearn-lloyd``, ``sklearn-elkan`` or ``nbkm-<algorithm>``
    (else ``ValueError``); the fit runs ``max_iter`` fixed iterations (``tol=0``)
    on ``n`` x ``d`` Gaussian data of ``dtype``, ``k`` clusters. Returns the
    child's record (``bounded_iterations``: nbkm's iterations that skipped
    distances) with ``fit_peak_bytes`` (peak minus the resident set before the
    fit) and ``n_by_k_bytes`` (one ``n x k`` matrix, for scale). Raises
    ``RuntimeError`` when the child fails or runs past ``timeout`` seconds.
    """
    lib, _, algorithm = impl.partition("-")
    # nbkm's algorithms come from nbkm itself: the child fails on an unknown one.
    sklearn = ["sklearn-elkan", "sklearn-lloyd"]
    if impl not in sklearn and not (lib == "nbkm" and algorithm):
        raise ValueError(f"impl must be one of {sklearn} or nbkm-<algorithm>")
    args = {"impl": impl, "n": n, "d": d, "k": k, "dtype": dtype}
    args |= {"max_iter": max_iter, "threads": n_threads}
    cmd = [sys.executable, "-m", "experiments._memory", json.dumps(args)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{impl}: peak-memory child timed out") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"{impl}: peak-memory child failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    added = result["peak_bytes"] - result["rss_before_fit_bytes"]
    result["fit_peak_bytes"] = max(0, added)
    result["n_by_k_bytes"] = int(n) * int(k) * np.dtype(dtype).itemsize
    return result


def bounds_come_later(impl: str) -> bool:
    """Whether ``impl`` starts with Lloyd's sweeps and sets bounds later."""
    return impl.startswith("nbkm-") and not impl.endswith(("-lloyd", "-elkan"))


def bounded_note(result: dict) -> str:
    """Say how many iterations of a memory fit ran with bounds (nbkm's only)."""
    bounded = result.get("bounded_iterations")
    if bounded is None or not bounds_come_later(result["impl"]):
        return ""
    return f" (bounds in {bounded} of {result['n_iter']} iterations)"


def peak_memory(params: dict) -> dict | None:
    """Peak memory one fit adds to its data, per nbkm algorithm and sklearn's two.

    ``params``: the run's ``memory`` (``n``, ``d``, ``k``; None: nothing is
    measured), ``algorithms`` (nbkm's), ``n_threads`` and ``elkan_max_bounds``
    (Elkan above it is skipped: its n x k bounds). Each fit is one
    :func:`fit_peak_memory` on float64 data, of 2 iterations (Lloyd and Elkan
    allocate every buffer in the first) or up to :data:`MAX_ITER_BOUNDED` where
    :func:`bounds_come_later`. Returns ``params["memory"]`` with ``dtype``,
    ``max_iter`` and ``impls`` (per implementation), ``label``, ``skipped``
    (reasons), ``n_by_k_bytes`` and ``data_bytes``.
    """
    if not (spec := params["memory"]):
        return None
    n, d, k, n_threads = spec["n"], spec["d"], spec["k"], params["n_threads"]
    impls, skipped = {}, {}
    nbkm = [f"nbkm-{a}" for a in params["algorithms"]]
    for impl in nbkm + ["sklearn-lloyd", "sklearn-elkan"]:
        if impl.endswith("-elkan") and n * k > params["elkan_max_bounds"]:
            skipped[impl] = f"n x k = {n * k:.3g} above elkan_max_bounds"
            continue
        max_iter = MAX_ITER_BOUNDED if bounds_come_later(impl) else 2
        impls[impl] = fit_peak_memory(impl, n, d, k, "float64", max_iter, n_threads)
    max_iter = {impl: res["n_iter"] for impl, res in impls.items()}
    memory = {**spec, "dtype": "float64", "max_iter": max_iter, "impls": impls}
    memory |= {"label": f"gaussian {label(n, d, k, 'float64')}", "skipped": skipped}
    return memory | {"n_by_k_bytes": n * k * 8, "data_bytes": n * d * 8}


def memory_lines(memory: dict | None) -> list[str]:
    """Return the lines of a record's peak memory (see :func:`peak_memory`)."""
    if not memory:
        return []
    mib = ", ".join(
        f"{impl} {res['fit_peak_bytes'] / 2**20:,.0f}" + bounded_note(res)
        for impl, res in memory["impls"].items()
    )
    skipped = memory.get("skipped", {}).items()
    return [
        f"peak memory added by one fit, {memory['label']} (MiB): {mib}; "
        f"one n x k float64 matrix: {memory['n_by_k_bytes'] / 2**20:,.0f}",
        *(f"memory: {impl} skipped ({why})" for impl, why in skipped),
    ]


if __name__ == "__main__":
    print(json.dumps(_child(**json.loads(sys.argv[1]))))
