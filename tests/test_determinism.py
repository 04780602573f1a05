"""Bitwise determinism across thread counts, and the on-disk kernel cache."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from data import make_blobs_data
from numpy.testing import assert_array_equal

from nbkm import KMeans

# Fits in a fresh process and prints labels, centres and inertia exactly (hex floats).
FIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests_dir!r})
    from data import make_blobs_data
    from nbkm import KMeans
    X = make_blobs_data(np.random.default_rng(5), 6000, 8, 12, std=2.0)
    out = {{}}
    for algorithm in ("lloyd", "elkan"):
        km = KMeans(12, n_init=2, random_state=0, algorithm=algorithm).fit(X)
        out[algorithm] = {{
            "labels": km.labels_.tolist(),
            "centers": [float(v).hex() for v in km.cluster_centers_.ravel()],
            "inertia": float(km.inertia_).hex(),
            "score": float(km.score(X)).hex(),
        }}
    print(json.dumps(out))
    """
)

CACHE_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import nbkm
    from nbkm import _kernels as K
    X = np.random.default_rng(0).normal(size=(600, 4))
    km = nbkm.KMeans(3, n_init=2, random_state=0).fit(X)
    km.predict(X), km.transform(X), km.score(X)
    nbkm.KMeans(3, n_init=1, random_state=0, algorithm="elkan").fit(X)
    stats = {{}}
    for name in K.__all__:
        disp = getattr(K, name)
        if hasattr(disp, "stats"):
            stats[name] = [sum(disp.stats.cache_hits.values()),
                           sum(disp.stats.cache_misses.values())]
    print(json.dumps(stats))
    """
)


def _run(script, **env):
    full_env = {**os.environ, **env}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_results_are_bitwise_equal_with_1_and_2_numba_threads():
    script = FIT_SCRIPT.format(tests_dir=os.path.dirname(__file__))
    one = _run(script, NUMBA_NUM_THREADS="1")
    two = _run(script, NUMBA_NUM_THREADS="2")
    assert one == two


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_n_threads_parameter_does_not_change_results(algorithm):
    X = make_blobs_data(np.random.default_rng(9), 5000, 6, 10, std=2.0)
    fits = [
        KMeans(10, n_init=2, random_state=1, algorithm=algorithm, n_threads=t).fit(X)
        for t in (1, 2)
    ]
    assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    assert fits[0].inertia_ == fits[1].inertia_


@pytest.mark.slow  # two fresh processes, the first compiling every kernel it uses
def test_second_process_loads_kernels_from_the_disk_cache(tmp_path):
    script = CACHE_SCRIPT.format()
    first = _run(script, NUMBA_CACHE_DIR=str(tmp_path))
    assert sum(miss for _, miss in first.values()) > 0  # compiled and stored
    second = _run(script, NUMBA_CACHE_DIR=str(tmp_path))
    used = {name: s for name, s in second.items() if s != [0, 0]}
    assert used, second
    assert all(miss == 0 for _, miss in used.values()), second
    assert all(hit > 0 for hit, _ in used.values()), second


def test_fits_from_several_python_threads_at_once_agree_with_a_lone_fit():
    import threading

    X = make_blobs_data(np.random.default_rng(11), 4000, 5, 8, std=2.0)
    reference = KMeans(8, n_init=2, random_state=3).fit(X)
    results = [None] * 4
    errors = []

    def fit(slot):
        try:
            results[slot] = KMeans(8, n_init=2, random_state=3, n_threads=2).fit(X)
        except Exception as exc:  # reported below; a thread cannot raise into pytest
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for km in results:
        assert_array_equal(km.labels_, reference.labels_)
        assert km.inertia_ == reference.inertia_


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_workqueue_layer_serialises_concurrent_fits_instead_of_aborting():
    # Numba's workqueue layer aborts the process when two Python threads enter a
    # parallel region at once; nbkm holds a lock around its parallel sections then.
    script = textwrap.dedent(
        """
        import json, threading
        import numpy as np
        import numba
        from nbkm import KMeans
        X = np.random.default_rng(0).normal(size=(3000, 4))
        out = []
        def fit():
            out.append(float(KMeans(5, n_init=3, random_state=0).fit(X).inertia_))
        threads = [threading.Thread(target=fit) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(json.dumps({"layer": numba.threading_layer(), "inertia": out}))
        """
    )
    result = _run(script, NUMBA_THREADING_LAYER="workqueue")
    assert result["layer"] == "workqueue"
    assert len(result["inertia"]) == 4
    assert len(set(result["inertia"])) == 1


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_nbkm_inside_an_init_callable_under_the_workqueue_layer_does_not_deadlock():
    script = textwrap.dedent(
        """
        import json
        import numpy as np
        import nbkm
        X = np.random.default_rng(0).normal(size=(500, 3))
        def init(X, k, random_state):
            return nbkm.kmeans_plusplus(X, k, random_state=random_state)[0]
        km = nbkm.KMeans(3, init=init, n_init=2, random_state=0).fit(X)
        print(json.dumps({"n_iter": int(km.n_iter_)}))
        """
    )
    assert _run(script, NUMBA_THREADING_LAYER="workqueue")["n_iter"] >= 1
