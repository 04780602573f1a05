"""Seconds to the first results in a fresh process: nbkm's JIT cost, never hidden.

``setup_cache`` runs the same small workload in fresh Python processes (imports are
done before the clock starts): first with an empty ``NUMBA_CACHE_DIR`` (cold: every
kernel the workload needs is compiled), then again with that cache (warm: the
kernels are loaded from disk). The workload is a k-means++ fit of 500 x 8 float64
samples (the *first fit*), then Lloyd and Elkan fits plus ``predict`` in float64 and
float32 (the *workload*, which covers every kernel a session normally uses).
scikit-learn runs the same workload in the same way as the reference (it has
nothing to compile, so its cold and warm figures only differ by noise).
"""

import json
import os
import subprocess
import sys
import tempfile

from benchmarks.common import IMPLS, N_THREADS, Benchmark, nbkm, require, smoke

_WORKLOAD = r"""
import json, sys, time
impl, n_threads = sys.argv[1], int(sys.argv[2])
import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.cluster import KMeans as SKKMeans
if impl == "nbkm":
    import nbkm
    def make(**kw):
        return nbkm.KMeans(n_threads=n_threads, **kw)
else:
    def make(**kw):
        return SKKMeans(**kw)
X64 = np.random.default_rng(0).standard_normal((500, 8))
with threadpool_limits(n_threads):
    t0 = time.perf_counter()
    make(n_clusters=4, n_init=1, random_state=0).fit(X64)
    first_fit = time.perf_counter() - t0
    for dtype in ("float64", "float32"):
        X = X64.astype(dtype)
        for algorithm in ("lloyd", "elkan"):
            make(n_clusters=4, n_init=1, random_state=0, algorithm=algorithm).fit(
                X
            ).predict(X)
    workload = time.perf_counter() - t0
print(json.dumps({"first_fit": first_fit, "workload": workload}))
"""


def _run_workload(impl, cache_dir, timeout):
    """Run the workload of ``impl`` in a fresh process; return its two timings."""
    env = dict(os.environ)
    if impl == "nbkm":
        # The nbkm this process benchmarks, whatever put it on sys.path (asv's
        # ASV_PYTHONPATH, an editable install, a wheel).
        root = os.path.dirname(os.path.dirname(os.path.abspath(nbkm.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, env.get("PYTHONPATH")) if p
        )
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    proc = subprocess.run(
        [sys.executable, "-c", _WORKLOAD, impl, str(N_THREADS)],
        env=env,
        cwd=tempfile.gettempdir(),  # never the repository: `import nbkm` as installed
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} workload failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Compile(Benchmark):
    """Cold compile and warm first fit, each in a fresh process (seconds)."""

    param_names = ["impl"]
    params = [IMPLS]
    timeout = 900

    def setup_cache(self):
        timings = {}
        for impl in IMPLS:
            try:
                require(impl)
            except NotImplementedError:
                continue
            with tempfile.TemporaryDirectory(prefix="nbkm-numba-cache-") as cache:
                # Smoke mode: the default (already warm) cache, to stay quick.
                cache_dir = None if smoke() else cache
                cold = _run_workload(impl, cache_dir, self.timeout / 2)
                warm = _run_workload(impl, cache_dir, self.timeout / 4)
            timings[impl] = {"cold": cold, "warm": warm}
        return timings

    def setup(self, timings, impl):
        require(impl)
        if impl not in timings:
            raise NotImplementedError(f"no timings for {impl}")

    def track_compile_cold(self, timings, impl):
        return timings[impl]["cold"]["workload"]

    track_compile_cold.unit = "seconds"

    def track_first_fit_cold(self, timings, impl):
        return timings[impl]["cold"]["first_fit"]

    track_first_fit_cold.unit = "seconds"

    def track_first_fit_warm(self, timings, impl):
        return timings[impl]["warm"]["first_fit"]

    track_first_fit_warm.unit = "seconds"

    def track_workload_warm(self, timings, impl):
        return timings[impl]["warm"]["workload"]

    track_workload_warm.unit = "seconds"
