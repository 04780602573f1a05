"""Worker set-up: kernels compiled once per worker, and a threading-layer check.

Each Dask worker should run one task at a time (``nthreads=1``) with Numba's
threads as the parallelism inside a task (``NUMBA_NUM_THREADS`` = the worker's
share of the cores). Numba's ``workqueue`` layer cannot run parallel regions from
several threads at once; nbkm would then serialise its kernels, so a worker with
more than one thread on that layer is refused.
"""

import os

import numba
from distributed import WorkerPlugin

#: Name prefix of the plugin registered by ``fit`` (one per dtype).
PLUGIN_PREFIX = "nbkm-warm-kernels"


def _layer() -> str | None:
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel region has run in this process yet
        return None


def adopt_worker_environment() -> None:
    """Make Numba take this worker's ``NUMBA_NUM_THREADS`` before it starts threads.

    A Nanny sets its ``env`` once the worker process runs, but the process
    imports Numba earlier (while it unpickles its start-up arguments, or
    re-imports the client's main module), and Numba sizes its thread pool on
    import. Left alone, every worker's pool gets the parent's count, and the
    first compilation that rereads the environment (another library's, say)
    raises "Cannot set NUMBA_NUM_THREADS". Once threads run, nothing can be
    changed, and a late call leaves things as they are (see
    :func:`worker_report`).
    """
    from numba.np.ufunc import parallel

    if parallel._is_initialized:
        return
    numba.config.reload_config()
    # The pool's size, read from the configuration when Numba was imported.
    parallel.NUM_THREADS = int(numba.config.NUMBA_NUM_THREADS)


def _pool_threads() -> int | None:
    """Threads of Numba's pool, or None before it starts (asking starts it)."""
    from numba.np.ufunc import parallel

    return numba.get_num_threads() if parallel._is_initialized else None


def worker_report(dask_worker=None) -> dict:
    """Return what a worker runs nbkm with (for ``client.run``)."""
    nthreads = dask_worker.state.nthreads if dask_worker is not None else 1
    return {
        "threading_layer": _layer(),
        "worker_threads": int(nthreads),
        "numba_threads": int(numba.config.NUMBA_NUM_THREADS),
        "pool_threads": _pool_threads(),
        "NUMBA_NUM_THREADS": os.environ.get("NUMBA_NUM_THREADS"),
    }


def check_report(address, report):
    """Raise ``RuntimeError`` for a worker whose settings nbkm cannot use."""
    if report["threading_layer"] == "workqueue" and report["worker_threads"] > 1:
        raise RuntimeError(
            f"Dask worker {address} runs {report['worker_threads']} threads, but "
            "Numba's threading layer there is 'workqueue', which cannot run "
            "parallel regions from several threads at once. Start the workers "
            "with one thread each (dask worker --nthreads 1, or LocalCluster("
            "threads_per_worker=1)), or install tbb (pip install tbb) so that "
            "Numba uses the 'tbb' layer."
        )


class WarmKernels(WorkerPlugin):
    """Compile (or load from Numba's cache) nbkm's dense kernels on every worker.

    Registered by :meth:`nbkm.dask.KMeans.fit` for the fit's dtype, under the name
    ``"nbkm-warm-kernels-<dtype>"``, once per cluster; workers that join later
    (a restarted worker included) run it when they start. Register it yourself
    to pay the compilation before the first fit::

        client.register_plugin(
            WarmKernels(("float32",)), name="nbkm-warm-kernels-float32"
        )

    Parameters
    ----------
    dtypes : sequence of {"float32", "float64"}, default=("float64", "float32")
        Dtypes to prepare for.

    Raises
    ------
    RuntimeError
        From ``setup``, on a worker with several threads on Numba's ``workqueue``
        threading layer (see :func:`check_report`).
    """

    idempotent = True

    def __init__(self, dtypes=("float64", "float32")):
        self.dtypes = tuple(str(d) for d in dtypes)

    def setup(self, worker):
        """Compile the kernels and check the threading layer."""
        from nbkm._compile import compile_kernels

        adopt_worker_environment()
        compile_kernels(self.dtypes, ("dense",))
        check_report(worker.address, worker_report(worker))


def _plugin_names(dask_scheduler=None) -> list:
    return list(getattr(dask_scheduler, "worker_plugins", {}))


def ensure_workers_ready(client, dtype) -> dict:
    """Register :class:`WarmKernels` for ``dtype`` once, and check every worker.

    Returns
    -------
    reports : dict
        ``{worker address: worker_report(...)}``.
    """
    name = f"{PLUGIN_PREFIX}-{dtype}"
    if name not in client.run_on_scheduler(_plugin_names):
        client.register_plugin(WarmKernels((str(dtype),)), name=name)
    # A worker lost during the check is skipped: its replacement runs the
    # plugin, which checks it, before it takes any task.
    answers = client.run(worker_report, on_error="return")
    reports = {
        address: report
        for address, report in answers.items()
        if not isinstance(report, BaseException)
    }
    if not reports:
        if answers:  # every worker failed the check: say why
            raise next(iter(answers.values()))
        raise RuntimeError("The Dask cluster has no workers.")
    for address, report in reports.items():
        check_report(address, report)
    return reports
