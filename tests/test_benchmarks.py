"""The asv suite runs: every benchmark's setup and method, once, on tiny data.

Smoke mode (``NBKM_BENCH_SMOKE=1``) keeps every parameter combination of the suite
but shrinks the datasets, so each benchmark runs exactly the code asv runs. A
benchmark that raises here fails. A combination whose ``setup`` raises
``NotImplementedError`` does not apply here (asv skips it): it is not generated.
Which ones apply is the benchmark's own rule, decided by running its ``setup``
once on the smoke data (``_applies``); ``tests/conftest.py`` asks only for the
tests selected to run, so ``-m "not slow"`` pays nothing for it. No timings are
taken.
"""

import importlib
import inspect
import itertools
import pkgutil
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import benchmarks  # noqa: E402
from benchmarks import common  # noqa: E402

PREFIXES = ("time_", "track_", "peakmem_", "mem_", "timeraw_")


def _modules():
    return [
        importlib.import_module(f"benchmarks.{info.name}")
        for info in pkgutil.iter_modules(benchmarks.__path__)
    ]


def _classes():
    """Benchmark classes the way asv finds them: public, with benchmark methods."""
    found = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isclass(obj):
                continue
            if obj.__module__ != module.__name__:
                continue
            methods = [m for m in dir(obj) if m.startswith(PREFIXES)]
            if methods:
                found[f"{module.__name__.split('.')[-1]}.{name}"] = (obj, methods)
    return found


CLASSES = _classes()


def _cases():
    for label, (cls, methods) in sorted(CLASSES.items()):
        params = getattr(cls, "params", [])
        combos = list(itertools.product(*params)) if params else [()]
        for method in methods:
            for combo in combos:
                cid = "-".join(str(p) for p in combo)
                yield pytest.param(cls, method, combo, id=f"{label}.{method}[{cid}]")


_CACHES = {}


def _setup_cache(cls):
    if cls not in _CACHES:
        _CACHES[cls] = cls().setup_cache()
    return _CACHES[cls]


def _args(cls, combo):
    args = list(combo)
    if hasattr(cls, "setup_cache"):
        args = [_setup_cache(cls), *args]
    return args


_APPLIES = {}


def _applies(cls, method, combo):
    """Whether ``cls``'s ``setup`` accepts ``combo`` here (asv's rule, in smoke mode).

    ``setup`` raising ``NotImplementedError`` is how the suite says a combination
    does not apply (a missing peer or algorithm, faiss and float64, the Dask
    shapes smoke mode leaves out, a fit that records no pruning). Any other
    error keeps the combination, so that its test shows the failure. One
    ``setup`` per class and combination (the methods share it); the result of
    ``setup_cache`` is kept for the tests.
    """
    key = (cls, combo)
    if key not in _APPLIES:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NBKM_BENCH_SMOKE", "1")
            _APPLIES[key] = _setup_accepts(cls, combo)
    return _APPLIES[key]


def _setup_accepts(cls, combo):
    try:
        args = _args(cls, combo)
        bench = cls()
    except Exception:  # noqa: BLE001 - the test shows it
        return True
    try:
        if hasattr(bench, "setup"):
            bench.setup(*args)
    except NotImplementedError:
        return False
    except Exception:  # noqa: BLE001 - the test shows it
        return True
    finally:
        try:
            if hasattr(bench, "teardown"):
                bench.teardown(*args)
        except Exception:  # noqa: BLE001 - the test shows it
            pass
    return True


def _after_applies():
    """Close the Dask clusters ``setup`` started: no idle workers during other tests.

    The Dask benchmarks start them again when they run.
    """
    from benchmarks import dask_cluster

    dask_cluster.close_clients()


@pytest.fixture(autouse=True)
def _smoke(monkeypatch):
    monkeypatch.setenv("NBKM_BENCH_SMOKE", "1")


@pytest.mark.slow
@pytest.mark.applies_if.with_args(_applies, cleanup=_after_applies)
@pytest.mark.parametrize(("cls", "method", "combo"), list(_cases()))
def test_benchmark_runs(cls, method, combo):
    args = _args(cls, combo)
    bench = cls()
    try:
        if hasattr(bench, "setup"):
            try:
                bench.setup(*args)
            except NotImplementedError as exc:
                pytest.fail(f"setup now says this does not apply: {exc}")
        value = getattr(bench, method)(*args)
    finally:
        if hasattr(bench, "teardown"):
            bench.teardown(*args)
    if method.startswith("track_"):
        assert isinstance(value, int | float), value
        assert value == value  # not NaN
        assert getattr(getattr(cls, method), "unit", None), "track_ needs a unit"


def test_suite_is_not_empty():
    names = set(CLASSES)
    for expected in (
        "iteration.LloydIteration",
        "iteration.ElkanIteration",
        "iteration.LloydIterationLarge",
        "iteration.SparseIteration",
        "fit.DigitsFit",
        "fit.PeakMemoryFit",
        "predict.KMeansPlusPlus",
        "predict.Predict",
        "compilation.Compile",
        "wholefit.WholeFit",
        "wholefit.WholeFitTrack",
        "wholefit.Pruning",
        "dask_cluster.DaskIteration",
        "minibatch.MiniBatchStep",
        "minibatch.MiniBatchFit",
    ):
        assert expected in names


@pytest.mark.parametrize("label", sorted(CLASSES))
def test_conventions(label):
    cls, _ = CLASSES[label]
    # impl first, so that one run gives the nbkm/sklearn ratio; the classes of
    # the fixed workloads keep exactly IMPLS (asv's history is keyed on them).
    # The Dask classes compare other runners (nbkm.dask, dask-ml, nbkm on one
    # machine; scikit-learn has no Dask runner): "runner" first, its fixed list.
    if label.startswith("dask_cluster."):
        from benchmarks import dask_cluster

        assert cls.param_names[0] == "runner"
        assert list(cls.params[0]) == dask_cluster.RUNNERS
        assert len(cls.params) == len(cls.param_names)
        assert cls.timer is common.Benchmark.timer
        assert cls.timeout > 0
        return
    assert cls.param_names[0] == "impl"
    if label.startswith("wholefit."):
        assert set(cls.params[0]) <= set(common.ALL_IMPLS)
    else:
        assert list(cls.params[0]) == common.IMPLS
    assert len(cls.params) == len(cls.param_names)
    assert cls.timer is common.Benchmark.timer
    assert cls.timeout > 0


def test_benchmarks_run_with_n_threads():
    """nbkm gets ``n_threads=N_THREADS``; OpenMP and BLAS are capped until teardown."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def threads():
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}

    assert common.make_kmeans("nbkm").n_threads == common.N_THREADS
    with threadpool_limits(limits=1):
        bench = common.Benchmark()
        bench._limit_threads()
        try:
            assert set(threads().values()) == {common.N_THREADS}
        finally:
            bench.teardown()
        assert set(threads().values()) == {1}


def test_one_definition_of_the_workloads():
    """asv's iteration classes take their shapes from ``benchmarks/workloads.py``."""
    from benchmarks import data, iteration, workloads

    assert iteration.LloydIteration.params[1:] == [
        workloads.GRID[key] for key in ("n", "d", "k", "dtype")
    ]
    X = data.draw_gaussian(50, 3, "float64")
    params = workloads.fixed_workload(X, 4, 7)
    assert (params["init"] == X[:4]).all() and params["tol"] == 0
    assert (params["n_init"], params["max_iter"]) == (1, 7)


def test_minibatch_classes_take_their_workloads_from_workloads():
    from benchmarks import minibatch, workloads

    step, fit = (
        dict(zip(cls.param_names, cls.params, strict=True))
        for cls in (minibatch.MiniBatchStep, minibatch.MiniBatchFit)
    )
    assert step["d"] == workloads.MINIBATCH_STEP["d"]
    assert minibatch.MiniBatchStep.k == workloads.MINIBATCH_STEP["k"]
    assert fit["k"] == workloads.MINIBATCH_FIT["k"]
    params = workloads.minibatch_fit(7, 256, 3, random_state=5)
    assert (params["tol"], params["max_no_improvement"]) == (0.0, None)
    assert (params["batch_size"], params["max_iter"], params["random_state"]) == (
        256,
        3,
        5,
    )


@pytest.mark.parametrize("impl", common.IMPLS)
def test_minibatch_fixed_workload_runs_every_step(impl):
    """No early stop: n_steps_ is max_iter epochs of steps, as the docs promise."""
    from threadpoolctl import threadpool_limits

    from benchmarks import data, workloads

    X = data.draw_gaussian(3000, 4, "float64")
    params = workloads.minibatch_fit(5, 256, 2)
    with threadpool_limits(common.N_THREADS):
        fitted = common.make_kmeans(impl, "MiniBatchKMeans", **params).fit(X)
    assert fitted.n_steps_ == workloads.minibatch_n_steps(3000, 256, 2) == 23
    assert workloads.minibatch_n_steps(100, 256, 2) == 2  # batch_size capped at n


def test_minibatch_classes_skip_an_nbkm_without_minibatchkmeans(monkeypatch):
    from benchmarks import minibatch

    monkeypatch.delattr(common.nbkm, "MiniBatchKMeans")
    with pytest.raises(NotImplementedError, match="MiniBatchKMeans does not exist"):
        minibatch.MiniBatchStep().setup("nbkm", 16, "float64")
    with pytest.raises(NotImplementedError, match="MiniBatchKMeans does not exist"):
        minibatch.MiniBatchFit().setup("nbkm", 10, "float64")
    minibatch.MiniBatchStep().setup("sklearn", 16, "float64")  # sklearn still runs


def test_whole_fit_classes_cover_every_algorithm_and_peer():
    from benchmarks import data, peers, wholefit, workloads

    names, values = wholefit.WholeFit.param_names, wholefit.WholeFit.params
    params = dict(zip(names, values, strict=True))
    assert params["impl"] == common.IMPLS + list(peers.PEERS)
    assert params["algorithm"] == list(workloads.ALGORITHMS)
    assert params["kind"] == list(data.KINDS)


def test_peers_skip_cleanly_when_not_importable(monkeypatch):
    from benchmarks import peers, wholefit

    for name in peers.PEERS:
        monkeypatch.setitem(sys.modules, peers.MODULES[name], None)
        found = peers.status(name)
        assert found["available"] is False and "not installed" in found["reason"]
        with pytest.raises(NotImplementedError, match=name):
            wholefit.WholeFit().setup(name, "lloyd", "uniform", "float32")


def test_unknown_nbkm_algorithm_is_skipped_not_failed():
    from benchmarks import wholefit

    with pytest.raises(NotImplementedError, match="no algorithm"):
        wholefit.WholeFit().setup("nbkm", "no-such-algorithm", "uniform", "float64")
    with pytest.raises(NotImplementedError, match="float32 only"):
        wholefit.WholeFit().setup("faiss", "lloyd", "uniform", "float64")


def test_mode_accuracy():
    clusters = [0, 0, 1, 1, 1, 2]
    labels = [5, 5, 3, 3, 4, 9]
    assert common.mode_accuracy(clusters, labels) == pytest.approx(5 / 6)


def test_smoke_shrinks_data(monkeypatch):
    X = common.gaussian(100_000, 16, "float32")
    assert X.shape == (common.SMOKE_MAX_SAMPLES, 16)
    assert X.dtype == "float32"
    monkeypatch.setenv("NBKM_BENCH_SMOKE", "0")
    assert common.n_samples(100_000) == 100_000
    assert common.n_iterations(20) == 20


def test_asv_discovers_the_suite():
    from asv_runner import discovery

    found = {b.name for b in discovery.disc_benchmarks(str(REPO_ROOT / "benchmarks"))}
    assert "iteration.LloydIteration.time_fit" in found
    assert "compilation.Compile.track_compile_cold" in found
    expected = {
        f"{label}.{method}"
        for label, (_, methods) in CLASSES.items()
        for method in methods
    }
    assert expected <= found
