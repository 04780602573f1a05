import os

# Lets sklearn's estimator checks run their array-API input check (it skips itself
# without this variable); array-api-strict comes with the test extra.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)
