"""Seconds of a fixed number of Lloyd iterations on a local Dask cluster.

Three runners on the same data, ``n`` x 16 float32 standard normal samples drawn
on the workers (``dask.array.random.RandomState(0)``, rows chunked by
:data:`CHUNK_ROWS`) and persisted before any timing:

- ``nbkm-dask``: :class:`nbkm.dask.KMeans`;
- ``dask-ml``: :class:`dask_ml.cluster.KMeans` (Lloyd's ``"full"`` algorithm);
- ``nbkm``: single-machine :class:`nbkm.KMeans` on the computed array, with
  :data:`~benchmarks.workloads.N_THREADS` threads (``n_workers`` does not apply:
  only ``n_workers=1`` runs, the others are skipped).

Every fit is a fixed workload: ``init`` = the first ``k`` samples (an explicit
array, so neither k-means|| nor k-means++ is timed), ``n_init=1``, ``tol=0`` and
``max_iter=MAX_ITER``. dask-ml's ``tol`` is absolute (``shift < tol`` stops), so
``tol=0`` never stops it either; ``setup`` checks once per process that every
runner reports ``n_iter_ == max_iter``. **Seconds per iteration = asv's
``time_fit`` / MAX_ITER**; the whole fit includes each runner's fixed costs
(nbkm.dask: the persisted, validated copy of the data and the final labels;
dask-ml: its NaN/inf pass over the data and the final labels).

The cluster is a ``distributed.LocalCluster(n_workers, threads_per_worker=1,
processes=True)``; each worker gets ``N_THREADS // n_workers`` threads for Numba
(``NUMBA_NUM_THREADS``, as ``docs/dask.md`` recommends) and for OpenMP and BLAS
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``: dask-ml's
distances run in scikit-learn and BLAS), so both Dask runners use the cores the
single machine gets. Starting a cluster costs seconds: one is started per
process and worker count and reused by every ``setup`` of that process.

Skipped (``NotImplementedError`` in ``setup``) when ``distributed``, dask-ml or
``nbkm.dask`` cannot be imported. In smoke mode (``NBKM_BENCH_SMOKE=1``) only the
smallest shape runs (n=1e6 shrunk to 500 samples, k=10, 2 iterations); the other
combinations are skipped, since each starts a cluster.

``tools/dask_scaling.py`` times the same grid with these functions, interleaved,
and prints seconds per iteration and the ratios.
"""

import atexit
import contextlib
import importlib

import numpy as np

from benchmarks.common import (
    N_THREADS,
    Benchmark,
    n_iterations,
    n_samples,
    require,
    smoke,
)

#: The runners compared, in the order of the tables.
RUNNERS = ["nbkm-dask", "dask-ml", "nbkm"]
#: Worker processes of the local cluster (one Dask thread each).
WORKERS = [1, 2]
#: The shape grid: samples, features, clusters and dtype.
GRID = {"n": [1_000_000, 10_000_000], "d": 16, "k": [10, 100], "dtype": "float32"}
#: Iterations of every timed fit.
MAX_ITER = 10
#: Rows of each chunk of the data: 2**19, a multiple of nbkm's power-of-two
#: block sizes up to that, so that nbkm.dask need not rechunk (20 chunks at 1e7).
CHUNK_ROWS = 2**19
#: Seed of the data.
SEED = 0
#: Seconds to wait for a cluster's workers.
START_TIMEOUT = 120

_CLIENTS = {}  # {(n_workers, threads per worker): Client}, one per process
_DATA = {}  # {(n_workers, n, d, dtype): (persisted dask array, first rows)}
_CHECKED = set()


def missing_dask():
    """Return why the Dask runners cannot run here, or None when they can.

    Returns
    -------
    reason : str or None
        The first of ``distributed``, ``dask_ml.cluster`` and ``nbkm.dask`` that
        fails to import.
    """
    for module in ("dask.array", "distributed", "dask_ml.cluster", "nbkm.dask"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} cannot be imported: {exc}"
    return None


def worker_threads(n_workers, total_threads=N_THREADS):
    """Return each worker's share of ``total_threads`` (at least 1)."""
    return max(1, int(total_threads) // int(n_workers))


def worker_env(threads):
    """Return the environment of the workers: ``threads`` for Numba, OpenMP, BLAS."""
    value = str(int(threads))
    return {
        name: value
        for name in (
            "NUMBA_NUM_THREADS",
            "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "MKL_NUM_THREADS",
        )
    }


def get_client(n_workers, threads):
    """Return this process's client of a local cluster, starting it the first time.

    Parameters
    ----------
    n_workers : int
        Worker processes, one Dask thread each.
    threads : int
        Numba, OpenMP and BLAS threads of each worker.

    Returns
    -------
    client : distributed.Client
        Not the default client: use it through :func:`on`.
    """
    key = (int(n_workers), int(threads))
    client = _CLIENTS.get(key)
    if client is not None and client.status == "running":
        return client
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=int(n_workers),
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        env=worker_env(threads),
    )
    client = distributed.Client(cluster, set_as_default=False)
    client.wait_for_workers(int(n_workers), timeout=START_TIMEOUT)
    _CLIENTS[key] = client
    return client


def close_clients():
    """Close every client and cluster this process started."""
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        cluster = client.cluster
        client.close()
        cluster.close()
    _DATA.clear()


atexit.register(close_clients)


@contextlib.contextmanager
def on(client):
    """Make ``client`` the one fits and ``.compute()`` calls use, in a ``with``."""
    import dask

    with client.as_current(), dask.config.set(scheduler=client):
        yield client


def dask_data(n, d, dtype, seed=SEED):
    """Return the lazy dask array of the benchmark's data (``n`` as given).

    Standard normal, drawn in float64 per chunk by
    ``dask.array.random.RandomState(seed)`` and cast: the same values on any
    scheduler.
    """
    import dask.array as da

    rng = da.random.RandomState(seed)
    X = rng.standard_normal(size=(int(n), int(d)), chunks=(CHUNK_ROWS, int(d)))
    return X.astype(dtype)


def persisted_data(client, n, d, dtype):
    """Return the data persisted on ``client``'s workers, and its first 128 rows.

    One array per cluster is kept (the previous one is released).
    """
    key = (id(client), int(n), int(d), dtype)
    if key not in _DATA:
        for old in [k for k in _DATA if k[0] == id(client)]:
            del _DATA[old]
        from distributed import wait

        with on(client):
            X = client.persist(dask_data(n, d, dtype))
            wait(X)
            head = client.compute(X[:128]).result()
        _DATA[key] = (X, np.ascontiguousarray(head))
    return _DATA[key]


def make_runner(runner, k, init, max_iter, threads=N_THREADS):
    """Return the estimator of ``runner`` for a fixed workload.

    Parameters
    ----------
    runner : str
        One of :data:`RUNNERS`.
    k : int
        Clusters.
    init : ndarray of shape (k, d)
        Initial centres.
    max_iter : int
        Iterations (``tol=0``).
    threads : int, default=N_THREADS
        Threads of the single-machine ``nbkm`` runner.

    Returns
    -------
    estimator : object
        With ``fit(X)`` and ``n_iter_``.
    """
    params = {"n_clusters": int(k), "init": init, "max_iter": int(max_iter)}
    if runner == "nbkm-dask":
        import nbkm.dask

        return nbkm.dask.KMeans(n_init=1, tol=0.0, **params)
    if runner == "dask-ml":
        from dask_ml.cluster import KMeans

        return KMeans(n_init=1, tol=0.0, **params)
    if runner == "nbkm":
        import nbkm

        return nbkm.KMeans(
            n_init=1, tol=0.0, algorithm="lloyd", n_threads=int(threads), **params
        )
    raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")


class DaskIteration(Benchmark):
    """Lloyd's algorithm, ``MAX_ITER`` iterations, nbkm.dask vs dask-ml vs nbkm."""

    param_names = ["runner", "n_workers", "n", "k"]
    params = [RUNNERS, WORKERS, GRID["n"], GRID["k"]]
    d, dtype = GRID["d"], GRID["dtype"]
    timeout = 900  # dask-ml at 1e7 x 16, k=100: tens of seconds a fit
    repeat = (3, 5, 30.0)
    warmup_time = 0  # setup runs an untimed fit (outside smoke mode)

    def setup(self, runner, n_workers, n, k):
        if smoke() and (n != min(GRID["n"]) or k != min(GRID["k"])):
            raise NotImplementedError("smoke mode: the smallest shape only")
        if runner == "nbkm" and n_workers != 1:
            raise NotImplementedError("single machine: n_workers does not apply")
        if runner != "dask-ml":
            require("nbkm")
        if runner != "nbkm":
            reason = missing_dask()
            if reason is not None:
                raise NotImplementedError(reason)
        max_iter = n_iterations(MAX_ITER)
        n_rows = n_samples(n)
        self.client = None
        if runner == "nbkm":
            self._limit_threads()
            self.X = _local_data(n_rows, self.d, self.dtype)
            init = self.X[:k].copy()
        else:
            self.client = get_client(n_workers, worker_threads(n_workers))
            self.X, head = persisted_data(self.client, n_rows, self.d, self.dtype)
            init = head[:k].copy()
        self.estimator = make_runner(runner, k, init, max_iter)
        key = (runner, n_workers, n, k)
        if not smoke() and key not in _CHECKED:
            # One untimed fit: compiles on the workers, first touch, and the proof
            # that the timed fits run exactly max_iter iterations.
            n_iter = self._fit().n_iter_
            if n_iter != max_iter:
                raise RuntimeError(
                    f"{key}: the fit ran {n_iter} != {max_iter} iterations; "
                    "the workload is not fixed"
                )
            _CHECKED.add(key)

    def _fit(self):
        if self.client is None:
            return self.estimator.fit(self.X)
        with on(self.client):
            return self.estimator.fit(self.X)

    def time_fit(self, runner, n_workers, n, k):
        self._fit()


_LOCAL = {}


def _local_data(n, d, dtype):
    """The benchmark's data computed in this process (threads), one array kept."""
    key = (int(n), int(d), dtype)
    if key not in _LOCAL:
        _LOCAL.clear()
        X = dask_data(n, d, dtype).compute(scheduler="threads")
        _LOCAL[key] = np.ascontiguousarray(X)
    return _LOCAL[key]
