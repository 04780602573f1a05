"""How everything here is timed: fits, interleaving, warm-ups, medians, the machine.

One place for the mechanics that every timing of the harness and of ``tools/``
shares: :func:`timed_fit` (one estimator, its threads limited), :func:`interleaved`
(the order of the implementations rotates every repeat, after an untimed warm-up
each), :func:`gemm_gflops` (numpy's GEMM rate, the roofline's peak), and what a
record says about the machine: :func:`environment`, :func:`blas_info` (the BLAS
and OpenMP libraries with threadpoolctl's core type) and :func:`load_probe`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
import timeit

import numpy as np

from benchmarks import data, peers

#: The two implementations compared everywhere.
IMPLS = ("nbkm", "sklearn")


def kmeans(lib: str, n_threads: int | None = None, estimator: str = "KMeans", **params):
    """Return an unfitted ``estimator(**params)`` of ``lib``.

    ``estimator`` names the class in ``nbkm`` and ``sklearn.cluster`` (``KMeans``
    or ``MiniBatchKMeans``). nbkm and scikit-learn-intelex (``sklearnex``,
    KMeans only) take ``n_threads`` themselves; sklearn's threads are set by
    :func:`timed_fit`.
    """
    if lib == "sklearnex":
        return peers.sklearnex_kmeans(n_threads, **params)
    if lib == "nbkm":
        import nbkm

        return getattr(nbkm, estimator)(n_threads=n_threads, **params)
    import sklearn.cluster

    return getattr(sklearn.cluster, estimator)(**params)


def timed_fit(
    lib: str, X, n_threads: int | None = None, estimator: str = "KMeans", **params
):
    """Fit :func:`kmeans` on ``X``, sklearn's OpenMP and both BLAS at ``n_threads``.

    BLAS is limited for both libraries: scikit-learn's k-means++ (mini-batch fits
    start with it) and anything of nbkm's that calls NumPy's products. Returns
    the fitted estimator and the wall-clock seconds of ``fit``.
    """
    from threadpoolctl import threadpool_limits

    est = kmeans(lib, n_threads, estimator, **params)
    limit = n_threads if lib == "sklearn" else None
    with (
        threadpool_limits(limits=n_threads, user_api="blas"),
        threadpool_limits(limits=limit, user_api="openmp"),
    ):
        t0 = time.perf_counter()
        est.fit(X)
        return est, time.perf_counter() - t0


def interleaved(calls: dict, repeats: int, warm_up: dict | None = None) -> dict:
    """Call each of ``calls`` ``repeats`` times, the order rotating every repeat.

    Load on the machine then hits every implementation alike. ``calls`` and
    ``warm_up`` map a name to a callable without arguments; each warm-up (JIT,
    page faults, thread pools; by default the call itself, ``{}``: none) runs
    once before any timed call. Returns name -> what its calls returned.
    """
    for call in (calls if warm_up is None else warm_up).values():
        call()
    names, out = list(calls), {name: [] for name in calls}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out[name].append(calls[name]())
    return out


def median(values) -> float:
    """Median of a list of numbers, as a float."""
    return float(np.median(values))


def gemm_gflops(a, b, repeats: int = 5) -> float:
    """Median GFLOP/s of ``a @ b`` with numpy (after one warm-up product)."""
    seconds = timeit.repeat(lambda: a @ b, number=1, repeat=repeats + 1)[1:]
    return 2.0 * a.shape[0] * a.shape[1] * b.shape[1] / median(seconds) / 1e9


def gemm_peaks(dtypes, size: int = 1024) -> dict:
    """Return :func:`gemm_gflops` of a square ``size`` product per dtype."""
    peaks = {}
    for dtype in dtypes:
        square = data.draw_gaussian(size, size, dtype, seed=1)
        peaks[dtype] = gemm_gflops(square, square.T.copy())
    return peaks


_KERNELS_LOADED: set = set()


def load_nbkm_kernels(dtype, layout="dense") -> None:
    """Compile or load every nbkm kernel for ``dtype`` and ``layout``, once a process.

    A two-iteration warm-up fit does not reach the bounded sweep (runs start with
    Lloyd's sweep until the labels settle), so without this the first timed
    Hamerly or Yinyang fit of a dtype included the kernel's compilation.
    """
    name = np.dtype(dtype).name
    if (name, layout) not in _KERNELS_LOADED:
        import nbkm

        nbkm.compile_kernels(dtypes=[name], layouts=[layout])
        _KERNELS_LOADED.add((name, layout))


# ----------------------------------------------------------------- the machine


def blas_info() -> list[dict]:
    """Return the BLAS and OpenMP libraries loaded: core type, version, threads."""
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "prefix", "version", "architecture")
    keys += ("threading_layer", "num_threads")
    return [{key: lib.get(key) for key in keys} for lib in threadpool_info()]


def threading_layer() -> str | None:
    """Numba's threading layer; None before any parallel region ran here."""
    import numba

    with contextlib.suppress(ValueError):
        return numba.threading_layer()
    return None


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or None


def load_probe(seconds: float = 0.0) -> dict:
    """How busy the machine is: ``loadavg`` (1, 5, 15 min, or None), ``busy_cpus``.

    ``busy_cpus`` (busy CPU-seconds per second) is sampled from ``/proc/stat``
    over ``seconds`` while this process sleeps (0: not sampled, None). Unlike
    the load average, which still counts work that ended minutes ago, it
    measures other work now.
    """
    try:
        loadavg = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        loadavg = None
    return {"loadavg": loadavg, "busy_cpus": _busy_cpus(seconds) if seconds else None}


def _busy_cpus(seconds: float) -> float | None:
    def sample():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return 0.0
    busy = 1 - (idle1 - idle0) / (total1 - total0)
    return round((os.cpu_count() or 1) * busy, 2)


def environment() -> dict:
    """Describe the software and hardware a result came from.

    Versions (``python``, ``numpy``, ``numba``, ``sklearn``, ``scipy``,
    ``nbkm``), ``threading_layer``, ``n_threads``, ``cpu_count``, ``cpu``,
    ``platform`` and ``load_average_1m``.
    """
    import numba
    import scipy
    import sklearn

    try:
        import nbkm

        nbkm_version = nbkm.__version__
    except Exception:  # noqa: BLE001 - recorded as unknown
        nbkm_version = None
    loadavg = load_probe()["loadavg"]
    env = {"python": platform.python_version(), "nbkm": nbkm_version}
    env |= {m.__name__: m.__version__ for m in (np, numba, sklearn, scipy)}
    env |= {
        "threading_layer": threading_layer(),
        "n_threads": int(numba.get_num_threads()),
    }
    env |= {"cpu_count": os.cpu_count(), "cpu": _cpu_model()}
    env |= {"platform": platform.platform()}
    return env | {"load_average_1m": loadavg[0] if loadavg else None}


def timings(n_threads: int, clock: str, repeats: int) -> dict:
    """Return the ``timings`` of a compare record: threads, clock, statistic, BLAS."""
    statistic = f"median over {repeats} interleaved repeats"
    out = {"n_threads": n_threads, "clock": clock, "statistic": statistic}
    return out | {
        "libraries": blas_info(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
