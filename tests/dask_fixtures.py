"""Local Dask clusters for the ``nbkm.dask`` tests, and a helper to use one.

A test module takes a fixture by assigning it (``clients = dask_fixtures.clients``;
an import would read as unused to the linter); a module-scoped fixture then starts
its clusters once per module that uses it.
"""

import contextlib

import distributed
import pytest

TIMEOUT = 120


@contextlib.contextmanager
def on(client):
    """Make ``client`` the one fits and ``.compute()`` use."""
    import dask

    with client.as_current(), dask.config.set(scheduler=client):
        yield client


@contextlib.contextmanager
def local_clients(*worker_counts):
    """Yield ``{n_workers: Client}``, one ``LocalCluster`` each, closed at the end.

    Worker processes of one thread and one Numba thread, as nbkm.dask wants.
    """
    made = {}
    try:
        for n_workers in worker_counts:
            cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                env={"NUMBA_NUM_THREADS": "1"},
            )
            client = distributed.Client(cluster, set_as_default=False)
            client.wait_for_workers(n_workers, timeout=TIMEOUT)
            made[n_workers] = client
        yield made
    finally:
        for client in made.values():
            cluster = client.cluster
            client.close()
            cluster.close()


@pytest.fixture(scope="module")
def clients():
    """``{n_workers: Client}`` for 1 and 2 workers, closed at the end."""
    with local_clients(1, 2) as made:
        yield made


@pytest.fixture(scope="module")
def client():
    """One client of a 2-worker cluster, closed at the end."""
    with local_clients(2) as made:
        yield made[2]
