"""nbkm.dask.KMeans on a local cluster: bitwise nbkm.KMeans, whatever the chunking.

One ``LocalCluster`` per worker count (1 and 2 worker processes, one thread each),
shared by the module. Every fit is compared with ``nbkm.KMeans`` on the computed
array: labels, centres, inertia and iteration count must be bitwise equal.
"""

import os
import subprocess
import sys
import threading
import time

import dask.array as da
import dask_fixtures
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.datasets import make_blobs

import nbkm
import nbkm.dask as nbkm_dask

# The module's clusters: one of 1 worker, one of 2 (see dask_fixtures).
clients = dask_fixtures.clients
_on = dask_fixtures.on
TIMEOUT = dask_fixtures.TIMEOUT


def _blobs(n=6000, d=4, k=5, dtype=np.float64, seed=0):
    X, _ = make_blobs(n, d, centers=k, cluster_std=2.0, random_state=seed)
    return X.astype(dtype)


CHUNKINGS = {
    "one": lambda n: (n,),
    "uneven": lambda n: (1000, 2500, n - 3500),
    "many": lambda n: (300,) * (n // 300) + ((n % 300,) if n % 300 else ()),
}


def _assert_same_fit(km, ref):
    assert km.n_iter_ == ref.n_iter_
    assert km.inertia_ == ref.inertia_
    assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    assert km.cluster_centers_.dtype == ref.cluster_centers_.dtype
    labels = km.labels_.compute()
    assert labels.dtype == np.int32
    assert_array_equal(labels, ref.labels_)


@pytest.mark.parametrize("n_workers", [1, 2])
@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_bitwise_equal_to_nbkm(clients, n_workers, chunking, dtype, weighted):
    X = _blobs(dtype=dtype)
    n = X.shape[0]
    w = np.random.default_rng(1).uniform(0.5, 3.0, n) if weighted else None
    init = X[[0, 1, 2, 3, 4]].copy()
    ref = nbkm.KMeans(5, init=init, n_init=1, algorithm="lloyd").fit(X, sample_weight=w)
    Xd = da.from_array(X, chunks=(CHUNKINGS[chunking](n), X.shape[1]))
    wd = None if w is None else da.from_array(w, chunks=(Xd.chunks[0],))
    before = X.copy()
    with _on(clients[n_workers]):
        km = nbkm_dask.KMeans(5, init=init, n_init=1).fit(Xd, sample_weight=wd)
        _assert_same_fit(km, ref)
        # predict and transform: lazy, nbkm's bits, on another chunking.
        Xq = da.from_array(X, chunks=(700, X.shape[1]))
        labels = km.predict(Xq)
        assert isinstance(labels, da.Array)
        assert_array_equal(labels.compute(), ref.predict(X))
        # transform: the same bits too, whether this process or a worker
        # compiled the kernel or loaded it from Numba's cache.
        assert_array_equal(km.transform(Xq).compute(), ref.transform(X))
    assert_array_equal(X, before)


@pytest.mark.parametrize("n_workers", [1, 2])
@pytest.mark.parametrize("chunking", ["one", "many"])
def test_empty_cluster_relocation_matches(clients, n_workers, chunking):
    X = _blobs(seed=3)
    init = X[:5].copy()
    init[4] = 1e3  # attracts nothing: relocated in the first iteration
    ref = nbkm.KMeans(5, init=init, n_init=1, algorithm="lloyd").fit(X)
    Xd = da.from_array(X, chunks=(CHUNKINGS[chunking](X.shape[0]), 4))
    with _on(clients[n_workers]):
        km = nbkm_dask.KMeans(5, init=init, n_init=1).fit(Xd)
        _assert_same_fit(km, ref)
    assert np.all(np.abs(km.cluster_centers_) < 100)  # the far centre moved


def test_tol_stop_and_extreme_weights_match(clients):
    # A non-strict stop (tol) and weights scaled by a power of two.
    X = _blobs(n=5000, seed=5)
    w = np.random.default_rng(2).uniform(1, 2, X.shape[0]) * 2.0**40
    init = X[:5].copy()
    ref = nbkm.KMeans(5, init=init, tol=1e-2, n_init=1, algorithm="lloyd").fit(
        X, sample_weight=w
    )
    with _on(clients[2]):
        km = nbkm_dask.KMeans(5, init=init, tol=1e-2, n_init=1).fit(
            da.from_array(X, chunks=(1200, 4)), sample_weight=w
        )
        _assert_same_fit(km, ref)


def test_kmeans_parallel_is_chunking_and_worker_independent(clients):
    X = _blobs(n=8000, k=6, seed=7)
    centers = []
    for n_workers, chunks in [(1, 8000), (2, 1000), (2, 2600)]:
        with _on(clients[n_workers]):
            km = nbkm_dask.KMeans(6, random_state=11, max_iter=1).fit(
                da.from_array(X, chunks=(chunks, 4))
            )
        centers.append(km.cluster_centers_)
    assert_array_equal(centers[0], centers[1])
    assert_array_equal(centers[0], centers[2])


@pytest.mark.slow
def test_kmeans_parallel_inertia_close_to_kmeans_plusplus(clients):
    X = _blobs(n=10000, d=8, k=10, seed=1)
    ours, greedy = [], []
    with _on(clients[2]):
        for seed in range(3):
            ours.append(
                nbkm_dask.KMeans(10, random_state=seed)
                .fit(da.from_array(X, chunks=(2500, 8)))
                .inertia_
            )
            greedy.append(
                nbkm.KMeans(10, init="k-means++", random_state=seed, algorithm="lloyd")
                .fit(X)
                .inertia_
            )
    assert np.mean(ours) <= 1.02 * np.mean(greedy)


@pytest.mark.parametrize("shape", [(20000, 16), (3000, 4)])  # chunked / gathered
def test_kmeans_plusplus_picks_nbkm_centres(clients, shape):
    X = np.random.default_rng(4).normal(size=shape)
    ref = nbkm.KMeans(
        4, init="k-means++", random_state=3, max_iter=1, algorithm="lloyd"
    ).fit(X)
    with _on(clients[2]):
        km = nbkm_dask.KMeans(4, init="k-means++", random_state=3, max_iter=1).fit(
            da.from_array(X, chunks=(shape[0] // 3, shape[1]))
        )
        _assert_same_fit(km, ref)


def test_random_init_and_n_init_match(clients):
    X = _blobs(n=3000, seed=9)
    ref = nbkm.KMeans(
        5, init="random", n_init=3, random_state=2, algorithm="lloyd"
    ).fit(X)
    with _on(clients[2]):
        km = nbkm_dask.KMeans(5, init="random", n_init=3, random_state=2).fit(
            da.from_array(X, chunks=(1000, 4))
        )
        _assert_same_fit(km, ref)


@pytest.mark.slow
def test_killed_worker_does_not_change_the_result(clients):
    X = np.random.default_rng(6).normal(size=(12000, 4))
    init = X[:8].copy()
    ref = nbkm.KMeans(
        8, init=init, n_init=1, tol=0, max_iter=60, algorithm="lloyd"
    ).fit(X)
    assert ref.n_iter_ > 20  # long enough to be interrupted
    client = clients[2]
    result = {}

    def fit():
        with _on(client):
            result["km"] = nbkm_dask.KMeans(8, init=init, tol=0, max_iter=60).fit(
                da.from_array(X, chunks=(3000, 4))
            )

    def iterating(dask_scheduler=None):
        return any(str(key).startswith("lloyd_steps") for key in dask_scheduler.tasks)

    thread = threading.Thread(target=fit)
    thread.start()
    deadline = time.monotonic() + TIMEOUT
    while not client.run_on_scheduler(iterating):
        assert time.monotonic() < deadline, "the fit never started iterating"
        time.sleep(0.01)
    assert thread.is_alive(), "the fit ended before a worker could be killed"
    victim = sorted(client.scheduler_info()["workers"])[0]
    # A task pinned to the victim ends its process; the nanny starts a new one
    # (new address), so the task never runs again.
    killer = client.submit(os._exit, 1, workers=[victim], pure=False)
    deadline = time.monotonic() + TIMEOUT
    while victim in client.scheduler_info()["workers"]:
        assert time.monotonic() < deadline, "the worker was not killed"
        time.sleep(0.05)
    killer.cancel()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    with _on(client):
        _assert_same_fit(result["km"], ref)


def test_bad_input(clients):
    X = _blobs(n=1000)
    with _on(clients[1]):
        km = nbkm_dask.KMeans(3, n_init=1)
        with pytest.raises(ValueError, match="2D"):
            km.fit(da.from_array(X[:, 0], chunks=500))
        sparse = da.from_array(X, chunks=(500, 4)).map_blocks(sp.csr_matrix)
        with pytest.raises(TypeError, match="dense"):
            km.fit(sparse)
        bad = X.copy()
        bad[10, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            km.fit(da.from_array(bad, chunks=(500, 4)))
        with pytest.raises(ValueError, match="sample_weight"):
            km.fit(da.from_array(X, chunks=(500, 4)), sample_weight=np.ones(999))
        with pytest.raises(ValueError, match="Negative"):
            km.fit(da.from_array(X, chunks=(500, 4)), sample_weight=-np.ones(1000))
        with pytest.raises(ValueError, match="n_clusters"):
            nbkm_dask.KMeans(2000).fit(da.from_array(X, chunks=(500, 4)))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        nbkm_dask.KMeans(3).predict(da.from_array(X))


def test_columns_are_merged_and_input_is_untouched(clients):
    X = _blobs(n=2000)
    init = X[:5].copy()
    ref = nbkm.KMeans(5, init=init, n_init=1, algorithm="lloyd").fit(X)
    with _on(clients[1]):
        km = nbkm_dask.KMeans(5, init=init).fit(da.from_array(X, chunks=(700, 2)))
        _assert_same_fit(km, ref)


def test_without_client_is_a_clear_error():
    X = da.from_array(_blobs(n=500), chunks=250)
    with pytest.raises(RuntimeError, match="Client"):
        nbkm_dask.KMeans(3, init=np.asarray(X[:3])).fit(X)


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_import_nbkm_does_not_import_dask():
    code = (
        "import sys, nbkm; print('dask' in sys.modules, 'distributed' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_workers_report_one_thread_and_plugin(clients):
    client = clients[2]
    with _on(client):
        nbkm_dask.KMeans(3, init=_blobs(n=600)[:3]).fit(
            da.from_array(_blobs(n=600), chunks=300)
        )
    names = client.run_on_scheduler(
        lambda dask_scheduler: list(dask_scheduler.worker_plugins)
    )
    assert "nbkm-warm-kernels-float64" in names
    for report in client.run(nbkm_dask._workers.worker_report).values():
        assert report["worker_threads"] == 1
        assert report["threading_layer"] in ("tbb", "omp", "workqueue")
        # The Nanny's env reaches Numba although Numba was imported before it.
        assert report["NUMBA_NUM_THREADS"] == "1"
        assert report["numba_threads"] == 1
        assert report["pool_threads"] in (1, None)

    refused = {"threading_layer": "workqueue", "worker_threads": 2}
    with pytest.raises(RuntimeError, match="workqueue"):
        nbkm_dask._workers.check_report("w", refused)


_SPAWNED_SCRIPT = """
import nbkm.dask  # at the top: each spawned worker imports Numba before its env


def compile_and_count():
    import numba

    numba.njit(lambda x: x + 1)(1)  # rereads the environment, as dask-ml's would
    return numba.get_num_threads()


if __name__ == "__main__":
    import dask.array as da
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        env={"NUMBA_NUM_THREADS": "1"},
    ) as cluster, distributed.Client(cluster) as client:
        X = da.random.random((2000, 4), chunks=500)
        nbkm.dask.KMeans(3, n_init=1, init="random", random_state=0).fit(X)
        counts = [
            client.submit(compile_and_count, workers=[w], pure=False).result()
            for w in sorted(client.scheduler_info()["workers"])
        ]
        print("POOLS", counts)
"""


@pytest.mark.slow
def test_worker_env_sets_numba_pool_when_numba_came_first(tmp_path):
    # A script that imports nbkm at the top is re-imported by every spawned
    # worker before the Nanny applies env=: the pool must still get 1 thread,
    # and a later compilation must not find the environment changed.
    script = tmp_path / "fit_on_cluster.py"
    script.write_text(_SPAWNED_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "POOLS [1, 1]" in done.stdout
