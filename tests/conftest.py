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
