"""Atomic JSON writing, environment capture and the common record schema.

Every experiment writes one JSON document per run with this schema
(``SCHEMA_VERSION = 1``):

``schema_version`` : int
    Version of this layout; bumped on any incompatible change.
``experiment`` : str
    Name of the experiment (``"digits"``, ``"blobs"``, ``"compare"``, ...).
``created_utc`` : str
    ISO 8601 time of the run, UTC (``2025-01-31T12:00:00+00:00``).
``git`` : dict
    ``{"commit": str | None, "dirty": bool | None}`` of the checkout that ran it.
``environment`` : dict
    Versions (python, numpy, numba, sklearn, scipy), Numba threading layer,
    ``n_threads``, ``cpu_count``, CPU model and platform; see :func:`environment`.
``params`` : dict
    The parameters the experiment ran with (enough to rerun it).

and then experiment-specific keys (raw labels, metrics, timings, ``figures``
as paths relative to the JSON file). Files are written atomically, never with
NaN or infinity, with sorted keys and an indent of 2.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_REPO_ROOT = Path(__file__).resolve().parent.parent


def file_mode() -> int:
    """Permission bits a plainly created file gets (``0o666`` less the umask).

    ``tempfile.mkstemp`` creates files readable by the owner only; the atomic
    writers give the final file these ordinary permissions instead.
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically.

    The document goes to a temporary file in the same directory, is flushed and
    fsynced, then renamed over ``path`` with :func:`os.replace`. On any failure
    (including a value JSON cannot encode, or NaN/infinity) the previous file
    at ``path`` is left intact and the temporary file is removed.

    Parameters
    ----------
    path : str or path-like
        Destination. Missing parent directories are created.
    obj : object
        JSON-serialisable object; dumped with ``allow_nan=False``,
        ``sort_keys=True`` and ``indent=2``.

    Raises
    ------
    ValueError
        If ``obj`` holds NaN or infinity.
    TypeError
        If ``obj`` holds a value JSON cannot encode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, allow_nan=False, sort_keys=True, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path : str or path-like
        Destination. Missing parent directories are created.
    text : str
        Content, written as UTF-8.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON document written by :func:`write_json`.

    Parameters
    ----------
    path : str or path-like
        File to read.

    Returns
    -------
    obj : object
        The decoded document.
    """
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _threading_layer() -> str | None:
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        pass
    # No parallel region has run yet: run a tiny parallel nbkm fit to pick one.
    try:
        import numpy as np

        from nbkm import KMeans

        X = np.arange(40, dtype=np.float64).reshape(20, 2)
        KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
        return numba.threading_layer()
    except Exception:  # noqa: BLE001 - environment capture must never fail
        return None


def nbkm_source_hash() -> str | None:
    """Hash the source of the imported nbkm package.

    The version string does not change with every edit, but labels at exact
    ties can; this fingerprint tells ``check`` whether the results were made by
    the same nbkm code.

    Returns
    -------
    digest : str or None
        First 16 hex digits of the SHA-256 of every ``*.py`` file of the
        package (relative path and content, in sorted order); None when nbkm
        cannot be imported.
    """
    import hashlib

    try:
        import nbkm
    except Exception:  # noqa: BLE001
        return None
    root = Path(nbkm.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def environment() -> dict:
    """Describe the software and hardware a result came from.

    Returns
    -------
    env : dict
        Keys ``python``, ``numpy``, ``numba``, ``sklearn``, ``scipy``, ``nbkm``
        (version strings), ``nbkm_source_sha256`` (see
        :func:`nbkm_source_hash`), ``threading_layer`` (Numba's layer, or None),
        ``n_threads`` (``numba.get_num_threads()``), ``cpu_count``
        (``os.cpu_count()``), ``cpu`` (model name or None) and ``platform``.
    """
    import numba
    import numpy
    import scipy
    import sklearn

    try:
        import nbkm

        nbkm_version = nbkm.__version__
    except Exception:  # noqa: BLE001
        nbkm_version = None
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "sklearn": sklearn.__version__,
        "scipy": scipy.__version__,
        "nbkm": nbkm_version,
        "nbkm_source_sha256": nbkm_source_hash(),
        "threading_layer": _threading_layer(),
        "n_threads": int(numba.get_num_threads()),
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "executable": Path(sys.executable).name,
        "load_average_1m": _load_average(),
    }


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=_REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def git_info() -> dict:
    """Return the commit and dirty flag of the repository holding the harness.

    Returns
    -------
    info : dict
        ``{"commit": str | None, "dirty": bool | None}``; both None when not in
        a git checkout or git is unavailable.
    """
    head = _git("rev-parse", "HEAD")
    if head is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain")
    return {
        "commit": head.strip() or None,
        "dirty": None if status is None else bool(status.strip()),
    }


def utc_now() -> str:
    """Return the current UTC time in ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def base_record(experiment: str, params: dict) -> dict:
    """Start a result document with the fields common to every experiment.

    Parameters
    ----------
    experiment : str
        Experiment name.
    params : dict
        Parameters of the run (JSON-serialisable).

    Returns
    -------
    record : dict
        ``schema_version``, ``experiment``, ``created_utc``, ``git``,
        ``environment`` and ``params``; the experiment adds the rest.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment,
        "created_utc": utc_now(),
        "git": git_info(),
        "environment": environment(),
        "params": dict(params),
    }
