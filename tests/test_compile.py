"""Cold start: the compile notice, ahead-of-time compiling and where the cache lives.

Each test runs fresh interpreters on an empty Numba cache of its own, so each
compiles for real (seconds of CPU): they are marked slow.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nbkm

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]

# Fits dense float64 data (the Lloyd path only, to compile little), with the
# `nbkm` logger captured; prints the log lines and the kernels' cache statistics.
FIT_SCRIPT = textwrap.dedent(
    """
    import json, logging
    import numpy as np
    records = []
    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    logging.getLogger("nbkm").addHandler(Keep())
    logging.getLogger("nbkm").setLevel(logging.INFO)
    import nbkm
    from nbkm import _kernels as K
    X = np.random.default_rng(0).normal(size=(300, 3)).astype({dtype!r})
    for _ in range(2):
        km = nbkm.KMeans(3, init="random", n_init=1, random_state=0).fit(X)
        km.predict(X)
    stats = {{"hits": 0, "misses": 0}}
    for name in K.__all__:
        disp = getattr(K, name)
        if hasattr(disp, "stats"):
            stats["hits"] += sum(disp.stats.cache_hits.values())
            stats["misses"] += sum(disp.stats.cache_misses.values())
    print(json.dumps({{"log": records, "file": nbkm.__file__, **stats}}))
    """
)


def _env(**changes):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update({k: str(v) for k, v in changes.items() if v is not None})
    return env


def _python(args, env, cwd=None):
    proc = subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _fit(env, dtype="float64", cwd=None):
    proc = _python(["-c", FIT_SCRIPT.format(dtype=dtype)], env, cwd)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _notices(log, dtype):
    return [line for line in log if line == nbkm._compile.NOTICE.format(dtype=dtype)]


def test_notice_once_on_a_cold_cache_and_never_on_a_warm_one(tmp_path):
    env = _env(NUMBA_CACHE_DIR=tmp_path / "cache")
    cold = _fit(env, "float32")
    assert len(_notices(cold["log"], "float32")) == 1, cold["log"]
    assert cold["misses"] > 0
    warm = _fit(env, "float32")
    assert warm["log"] == []
    assert warm["misses"] == 0 and warm["hits"] > 0


def test_compile_command_prepares_every_later_fit(tmp_path):
    env = _env(NUMBA_CACHE_DIR=tmp_path / "cache")
    args = ["-m", "nbkm", "compile", "--dtype", "float64", "--layout", "dense"]
    first = _python(args, env)
    assert "compiling nbkm kernels for float64" in first.stderr
    assert "lloyd_step_dense" in first.stdout
    assert "kernels compiled; float64; dense)" in first.stdout
    again = _python(args, env)
    assert "all cached" in again.stdout
    assert "compiling" not in again.stderr
    fit = _fit(env)
    assert fit["log"] == [] and fit["misses"] == 0


# A Hamerly fit long enough to leave Lloyd's first sweeps; prints whether it ran
# with bounds and the cache misses of every kernel module.
BOUNDED_FIT_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import nbkm
    from nbkm._kernels import _bounded, _blocks, _centers, _dense, _distances
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)) + rng.integers(0, 40, size=(3000, 1))
    km = nbkm.KMeans(60, algorithm="hamerly", n_init=1, random_state=0).fit(X)
    misses = 0
    for module in (_bounded, _blocks, _centers, _dense, _distances):
        for value in vars(module).values():
            if hasattr(value, "stats"):
                misses += sum(value.stats.cache_misses.values())
    bounded = int(np.sum(km.distances_computed_ < 1))
    print(json.dumps({"misses": misses, "bounded_iterations": bounded}))
    """
)


def test_compile_command_prepares_bounded_fits(tmp_path):
    env = _env(NUMBA_CACHE_DIR=tmp_path / "cache")
    _python(["-m", "nbkm", "compile", "--dtype", "float64", "--layout", "dense"], env)
    proc = _python(["-c", BOUNDED_FIT_SCRIPT], env)
    fit = json.loads(proc.stdout.strip().splitlines()[-1])
    assert fit["bounded_iterations"] >= 1  # the bounded kernel ran
    assert fit["misses"] == 0


def test_experiments_print_nbkm_notices(monkeypatch, capsys):
    from experiments import __main__ as cli

    def fake_run(experiment, argv):
        logging.getLogger("nbkm").info(nbkm._compile.NOTICE.format(dtype="float64"))
        return 0

    monkeypatch.setattr(cli, "run_experiment", fake_run)
    assert cli.main(["digits"]) == 0
    assert "compiling nbkm kernels for float64" in capsys.readouterr().err


def test_compile_command_rejects_an_unknown_dtype():
    proc = subprocess.run(
        [sys.executable, "-m", "nbkm", "compile", "--dtype", "float16"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "invalid choice: 'float16'" in proc.stderr
    with pytest.raises(ValueError, match="Unknown dtype or layout"):
        nbkm.compile_kernels(dtypes=["float16"])


@pytest.fixture
def installed(tmp_path):
    """nbkm installed as a user would (`pip install .`, no editable link)."""
    site = tmp_path / "site"
    _python(
        [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(REPO),
        ],
        _env(),
    )
    return site


def test_cache_of_a_regular_install_is_written_beside_it(installed, tmp_path):
    env = _env(PYTHONPATH=installed, HOME=tmp_path / "home")
    cold = _fit(env, cwd=tmp_path)
    assert cold["file"].startswith(str(installed))
    assert cold["misses"] > 0
    assert list((installed / "nbkm" / "_kernels" / "__pycache__").glob("*.nbi"))
    warm = _fit(env, cwd=tmp_path)
    assert warm["misses"] == 0 and warm["log"] == []


def test_unwritable_package_directory_falls_back_to_the_user_cache(installed, tmp_path):
    # Root can write anywhere, so "cannot write beside the package" is made real
    # by a file where Numba's __pycache__ directory would go.
    pycache = installed / "nbkm" / "_kernels" / "__pycache__"
    shutil.rmtree(pycache, ignore_errors=True)
    pycache.write_text("not a directory")
    home = tmp_path / "home"
    env = _env(PYTHONPATH=installed, HOME=home, XDG_CACHE_HOME=home / ".cache")
    cold = _fit(env, cwd=tmp_path)
    assert cold["misses"] > 0
    assert list(home.rglob("*.nbi")), "no index in the user's cache directory"
    warm = _fit(env, cwd=tmp_path)
    assert warm["misses"] == 0 and warm["hits"] > 0 and warm["log"] == []


# Read-only input of every kind a user meets (a read-only memmap from np.load, a
# joblib memmap, an array with writeable=False) through every algorithm and
# method; prints the cache misses of every kernel.
READ_ONLY_FIT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import joblib
    import numpy as np
    import nbkm
    from nbkm import _kernels as K
    tmp = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)) + rng.integers(0, 40, size=(3000, 1))
    np.save(tmp + "/x.npy", X)
    joblib.dump(X, tmp + "/x.joblib")
    frozen = X.copy()
    frozen.setflags(write=False)
    w = np.ones(len(X))
    w.setflags(write=False)
    for data in (
        np.load(tmp + "/x.npy", mmap_mode="r"),
        joblib.load(tmp + "/x.joblib", mmap_mode="r"),
        frozen,
    ):
        for algorithm in ("lloyd", "elkan", "hamerly", "yinyang"):
            km = nbkm.KMeans(60, algorithm=algorithm, n_init=1, random_state=0)
            km.fit(data, sample_weight=w)
            km.predict(data), km.transform(data), km.score(data, sample_weight=w)
        nbkm.kmeans_plusplus(data, 5, sample_weight=w, random_state=0)
    misses = 0
    for module in vars(K).values():
        for value in vars(module).values() if hasattr(module, "__file__") else ():
            if hasattr(value, "stats"):
                misses += sum(value.stats.cache_misses.values())
    print(json.dumps({"misses": misses}))
    """
)


def test_compile_command_prepares_read_only_input(tmp_path):
    env = _env(NUMBA_CACHE_DIR=tmp_path / "cache")
    _python(["-m", "nbkm", "compile", "--dtype", "float64", "--layout", "dense"], env)
    proc = _python(["-c", READ_ONLY_FIT_SCRIPT, str(tmp_path)], env)
    assert json.loads(proc.stdout.strip().splitlines()[-1])["misses"] == 0


@pytest.mark.parametrize("damaged", ["*.nbi", "*.nbc"])
def test_damaged_cache_files_are_discarded_and_recompiled(tmp_path, damaged):
    # A process killed while Numba wrote its cache leaves files cut short; every
    # later fit raised UnpicklingError. Now the kernel recompiles, says so, and
    # the cache it writes serves the next run.
    cache = tmp_path / "cache"
    env = _env(NUMBA_CACHE_DIR=cache)
    _fit(env)
    files = sorted(cache.rglob(damaged))
    assert files
    for path in files:
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    repaired = _fit(env)
    warnings = [line for line in repaired["log"] if "could not be read" in line]
    assert warnings and "discarded and the kernel compiled afresh" in warnings[0]
    assert repaired["misses"] > 0
    again = _fit(env)
    assert again["log"] == [] and again["misses"] == 0 and again["hits"] > 0
