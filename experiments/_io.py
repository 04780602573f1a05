"""Records, result sets, and the facts a record keeps about where it came from.

Every run writes one record, a JSON object (sorted keys, no NaN) checked by
:func:`validate` when written and read. Its header (:data:`HEADER`):
``schema_version`` (bumped on any incompatible change), ``experiment``,
``command`` (the command line), ``created_utc`` (ISO 8601), ``git`` (``commit``,
``dirty``), ``nbkm_source_sha256``, ``environment``, ``params`` (enough to rerun
it), ``results`` (the experiment's body, checked with :func:`check_shape`) and
``figures`` (name -> file beside the JSON). An experiment's files form a
*result set*: one directory written whole by :func:`write_set`, whose hidden
:data:`MARKER` names the experiment; it replaces only an earlier set of the
same experiment or an empty directory (:func:`refusal`).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experiments import _timing

try:
    import fcntl
except ImportError:  # not POSIX: result sets are swapped in without a lock
    fcntl = None

SCHEMA_VERSION = 2
REPO_ROOT = Path(__file__).resolve().parent.parent
#: The committed reference results; changed only by ``python -m experiments reference``.
RESULTS_DIR = REPO_ROOT / "results"
#: Where everyday runs go (git-ignored).
RUNS_DIR = REPO_ROOT / "runs"
#: Hidden file in every result set, naming its owner: what may replace it.
MARKER = ".nbkm-result-set"

#: Header keys and their types (``None`` allowed where listed).
HEADER = dict.fromkeys(("schema_version",), (int,))
HEADER |= dict.fromkeys(("experiment", "command", "created_utc"), (str,))
HEADER |= {"git": (dict,), "nbkm_source_sha256": (str, type(None))}
HEADER |= dict.fromkeys(("environment", "params", "results", "figures"), (dict,))
ENVIRONMENT_KEYS = ("python", "numpy", "numba", "sklearn", "scipy", "nbkm", "n_threads")
#: Keys whose values change from run to run with the same inputs.
VOLATILE_KEYS = ("created_utc", "load_average_1m", "git", "command")
#: Shape of a number in :func:`check_shape` (a bool is not one).
NUMBER = (int, float)


class RecordError(ValueError):
    """A record that does not follow the schema."""


class SetError(Exception):
    """A directory that a result set may not replace."""


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON, sorted and indented; ValueError on NaN or infinity."""
    text = json.dumps(obj, allow_nan=False, sort_keys=True, indent=2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON document."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def refusal(out: str | os.PathLike, owner: str) -> str | None:
    """Why a result set of ``owner`` may not replace ``out``; None when it may.

    Only an empty directory or one whose :data:`MARKER` names ``owner`` may go.
    """
    out = Path(out)
    if not out.exists():
        return None
    if not out.is_dir():
        return "exists and is not a directory"
    try:
        if not any(out.iterdir()):
            return None
        found = (out / MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        found = None
    if found == owner:
        return None
    keep = "choose a new or empty directory"
    if found:
        return f"a result set of {found}, not of {owner}; {keep}"
    return f"not a result set (no {MARKER} in it), not replacing it; {keep}"


@contextlib.contextmanager
def result_set(out: str | os.PathLike, owner: str):
    """Yield a temporary directory beside ``out``, then :func:`install` it there.

    Raises :class:`SetError` first when :func:`refusal` refuses ``out``. On any
    exception (``KeyboardInterrupt`` too) it is removed and ``out`` is kept.
    """
    out = Path(out)
    if (reason := refusal(out, owner)) is not None:
        raise SetError(f"{out}: {reason}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    install(tmp, out, owner)


def install(new: str | os.PathLike, out: str | os.PathLike, owner: str) -> Path:
    """Mark the finished set ``new`` as ``owner``'s and swap it in at ``out``.

    ``new`` must be on the file system of ``out``. The swap locks the parent,
    so of two runs finishing at once the later wins. Raises :class:`SetError`,
    keeping ``new``, when :func:`refusal` now refuses ``out``; on any other
    failure ``new`` is removed and ``out`` kept.
    """
    new, out = Path(new), Path(out)
    old = None
    with _locked(out.parent):
        if (reason := refusal(out, owner)) is not None:
            raise SetError(f"{out}: {reason}; the new set is kept in {new}")
        try:
            (new / MARKER).write_text(owner + "\n", encoding="utf-8")
            new.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would hide it from others
            if out.exists():  # rename may replace an empty directory: a fresh name
                old = Path(tempfile.mkdtemp(".old", f".{out.name}.", out.parent))
                os.replace(out, old)
            try:
                os.replace(new, out)
            except BaseException:
                if old is not None:
                    os.replace(old, out)
                raise
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


@contextlib.contextmanager
def _locked(directory: Path):
    """Hold an exclusive ``flock`` on ``directory`` (no lock file), where it can."""
    if fcntl is None:
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def listed_files(directory: str | os.PathLike, pattern: str = "*") -> list[Path]:
    """Files of ``directory`` matching ``pattern``, without hidden or temp files."""
    return [
        p
        for p in sorted(Path(directory).glob(pattern))
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".tmp")
    ]


@dataclass
class Job:
    """One run of an experiment, made from the options before any work.

    ``set_name``: the default directory under ``runs/`` and the record's name.
    ``run(folder, replaced)`` draws into ``folder`` and returns ``(results,
    figures)`` (``replaced``: the set it will replace, whose record it may carry
    on); ``validate(record, where)`` raises :class:`RecordError`;
    ``summary(record)`` gives the lines printed after the run.
    """

    experiment: str
    set_name: str
    params: dict
    run: Callable[[Path, Path], tuple[dict, dict]]
    validate: Callable[[dict, str], Any]
    summary: Callable[[dict], list[str]]
    exit_code: Callable[[dict], int] = lambda results: 0


def quiet_job(experiment: str, params: dict, run, validate, summary, set_name, quiet):
    """Return the :class:`Job` whose work is ``run(params, folder, quiet)``."""

    def work(folder, replaced):
        return run(params, folder, quiet)

    return Job(experiment, set_name(params), params, work, validate, summary)


def write_set(job: Job, out: Path, command: str, replaced: Path | None = None) -> dict:
    """Run ``job``, write its result set to ``out`` and return its record.

    ``replaced``: the set it replaces in the end when ``out`` is a staging folder.
    """
    with result_set(out, job.experiment) as folder:
        results, figures = job.run(folder, replaced or out)
        record = make_record(job.experiment, command, job.params, results, figures)
        job.validate(record, job.experiment)
        write_json(folder / f"{job.set_name}.json", record)
    return record


def git(*args: str, repo: Path = REPO_ROOT) -> str | None:
    """Run ``git args`` in ``repo``; its output, or None when git fails."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_info(repo: Path = REPO_ROOT) -> dict:
    """Return ``{"commit", "dirty"}`` of the checkout (None outside one)."""
    head = git("rev-parse", "HEAD", repo=repo)
    if head is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", repo=repo)
    dirty = None if status is None else bool(status.strip())
    return {"commit": head.strip() or None, "dirty": dirty}


def nbkm_source_hash() -> str | None:
    """First 16 hex digits of the SHA-256 of nbkm's ``*.py`` files (paths and bytes).

    Tells ``check`` whether the same nbkm code ran; None when nbkm cannot load.
    """
    try:
        import nbkm
    except Exception:  # noqa: BLE001 - a broken nbkm has no fingerprint
        return None
    root = Path(nbkm.__file__).resolve().parent
    digest = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        digest.update(f.relative_to(root).as_posix().encode() + b"\0")
        digest.update(f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def utc_now() -> str:
    """Return the current UTC time in ISO 8601, to the second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def make_record(
    experiment: str, command: str, params: dict, results: dict, figures: dict
) -> dict:
    """Build a validated record: the common header around ``results``."""
    record = {
        "schema_version": SCHEMA_VERSION,
        "experiment": experiment,
        "command": command,
        "created_utc": utc_now(),
        "git": git_info(),
        "nbkm_source_sha256": nbkm_source_hash(),
        "environment": _timing.environment(),
        "params": dict(params),
        "results": results,
        "figures": dict(figures),
    }
    return validate(record)


def validate(
    record: Any, where: str = "record", required=(), experiment: str | None = None
) -> dict:
    """Check a record's header and return it; :class:`RecordError` if wrong.

    ``where`` names it in messages; ``required``: keys ``results`` must have;
    ``experiment``: the experiment it must be of.
    """

    def fail(message):
        raise RecordError(f"{where}: {message}")

    if not isinstance(record, dict):
        fail(f"expected a JSON object, got {type(record).__name__}")
    for key, types in HEADER.items():
        if key not in record:
            fail(f"missing key {key!r}")
        if not isinstance(record[key], types) or isinstance(record[key], bool):
            fail(f"{key!r} must be {' or '.join(t.__name__ for t in types)}")
    if record["schema_version"] != SCHEMA_VERSION:
        fail(f"schema_version {record['schema_version']}, expected {SCHEMA_VERSION}")
    if set(record["git"]) != {"commit", "dirty"}:
        fail("'git' must hold exactly 'commit' and 'dirty'")
    missing = [k for k in ENVIRONMENT_KEYS if k not in record["environment"]]
    missing += [f"results.{k}" for k in required if k not in record["results"]]
    if missing:
        fail(f"missing {', '.join(missing)}")
    if experiment not in (None, record["experiment"]):
        fail(f"a record of {record['experiment']!r}, not of {experiment!r}")
    for name, file in record["figures"].items():
        if not isinstance(file, str) or Path(file).name != file or file[:1] == ".":
            fail(f"figure {name!r} must be a plain file name, got {file!r}")
    return record


def read_record(path: str | os.PathLike, required=()) -> dict:
    """Read and :func:`validate` a record; NaN or infinity in it is an error."""
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh, parse_constant=_not_a_number)
    except ValueError as exc:
        raise RecordError(f"{path}: not valid JSON ({exc})") from None
    return validate(record, str(path), required)


def _not_a_number(token: str):
    raise ValueError(f"{token} is not a JSON number")


def check_shape(value: Any, shape: Any, where: str, name: str = "") -> None:
    """Check that decoded JSON has ``shape``, or raise :class:`RecordError`.

    A type or tuple of types: an instance (a bool only where ``bool`` is named).
    A dict: an object with at least these keys, each of its shape (``...`` as a
    key: every value). A one-item list: a list of such items. Messages name
    ``where`` and the dotted ``name`` of the first part that differs.
    """

    def fail(message):
        raise RecordError(f"{where}: {name or 'record'} {message}")

    if isinstance(shape, dict):
        if not isinstance(value, dict):
            fail("must be an object")
        for key in value if ... in shape else shape:
            if key not in value:
                fail(f"has no {key!r}")
            inner = shape.get(key, shape.get(...))
            check_shape(value[key], inner, where, f"{name}.{key}".lstrip("."))
    elif isinstance(shape, list):
        if not isinstance(value, list):
            fail("must be a list")
        for i, item in enumerate(value):
            check_shape(item, shape[0], where, f"{name}[{i}]")
    else:
        types = shape if isinstance(shape, tuple) else (shape,)
        bad_bool = isinstance(value, bool) and bool not in types
        if bad_bool or not isinstance(value, types):
            fail(f"must be {' or '.join(t.__name__ for t in types)}")


def strip_volatile(obj: Any) -> Any:
    """Drop :data:`VOLATILE_KEYS` and keys naming a timing, recursively."""
    if isinstance(obj, dict):
        return {
            k: strip_volatile(v)
            for k, v in obj.items()
            if k not in VOLATILE_KEYS
            and not any(w in k for w in ("seconds", "timing", "time_ratio"))
        }
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj
