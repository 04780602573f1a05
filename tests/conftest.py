import fnmatch
import hashlib
import os
import pathlib
import tempfile

# Test settings of Numba:
# - At least two threads, so that thread-count tests compare 1 with 2 threads even
#   on a one-core runner.
os.environ.setdefault("NUMBA_NUM_THREADS", "2")
# - A kernel cache keyed by the kernels' sources. Numba checks only the timestamp
#   of the file that defines a cached function, so an edit to a shared helper
#   (``_rows.py``, ``_config.py``) would otherwise leave stale machine code in use.
_KERNELS = pathlib.Path(__file__).parents[1] / "nbkm" / "_kernels"
_SOURCES = hashlib.sha256(
    b"".join(p.read_bytes() for p in sorted(_KERNELS.glob("*.py")))
).hexdigest()[:16]
os.environ.setdefault(
    "NUMBA_CACHE_DIR",
    os.path.join(tempfile.gettempdir(), f"nbkm-numba-cache-{_SOURCES}"),
)
# - Lets sklearn's estimator checks run their array-API input check (it skips
#   itself without this variable); array-api-strict comes with the test extra.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# pytest has already imported numba (to resolve the NumbaPerformanceWarning filter
# in pyproject.toml), so Numba re-reads the environment for the settings above.
import numba  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

numba.config.reload_config()


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)


# Two audiences: the library's tests, and the tests of the experiments harness, the
# asv benchmarks and the tools (marked ``harness`` here, by their module's file
# name). ``-m "not harness"`` runs the library's tests alone; the default run
# runs both, the library's first.
HARNESS_MODULES = (
    "test_experiments*.py",
    "test_harness_safety.py",
    "test_benchmarks*.py",
    "test_tools.py",
)


def is_harness_module(path):
    """Whether the test module at ``path`` tests the harness, benchmarks or tools."""
    name = pathlib.Path(path).name
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in HARNESS_MODULES)


_NOT_APPLICABLE = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Mark and order the tests before -m and -k select; then drop what does not apply.

    Before the selection (so that ``-m harness`` can select): the harness
    modules' tests get the ``harness`` marker, and the library's tests are put
    first, by a stable sort (each module keeps its order, and its module-scoped
    fixtures are set up once).

    After the selection: the parametrisations whose ``applies_if`` rule says
    they do not apply here are dropped: neither run nor skipped, as if not
    generated. A rule that costs time (the asv suite's runs a benchmark's
    ``setup``) is thus evaluated only for the tests about to run; the marker's
    ``cleanup`` keyword, a function, is called once after its rule's last call.
    The header says how many were left out.
    """
    for item in items:
        if is_harness_module(item.path):
            item.add_marker(pytest.mark.harness)
    items.sort(key=lambda item: is_harness_module(item.path))
    result = yield  # -m and -k select
    kept, cleanups = [], {}
    for item in items:
        marker = item.get_closest_marker("applies_if")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if marker is None or marker.args[0](**params):
            kept.append(item)
        if marker is not None and "cleanup" in marker.kwargs:
            cleanups[marker.kwargs["cleanup"]] = None
    for cleanup in cleanups:  # once each, in order
        cleanup()
    config.stash[_NOT_APPLICABLE] = len(items) - len(kept)
    items[:] = kept
    return result


def pytest_report_collectionfinish(config):
    dropped = config.stash.get(_NOT_APPLICABLE, 0)
    if dropped:
        return (
            f"{dropped} parametrisations do not apply here (applies_if) "
            "and were not generated"
        )
    return None
