"""Write README.md of a results root from the records found in it.

Reads every result set under ``--root`` (default ``runs/``; the reference
command uses ``results/``): each directory's ``<set>.json`` record, validated.
Each experiment contributes its own section and the figures its record names
(only files that exist; hidden and temporary files are never listed), then a
table of the environment each record came from. Nothing is recomputed.
"""

from __future__ import annotations

from pathlib import Path

from experiments import _cli, _io, blobs, compare, digits, history

ENV_KEYS = ("python", "numpy", "numba", "sklearn", "scipy", "nbkm", "threading_layer")
ENV_KEYS += ("n_threads", "cpu_count", "cpu", "platform", "load_average_1m")
HEADER = """# nbkm results

Reference outputs of the experiment harness, made on the machine described at the
end and committed. They change only through `python -m experiments reference`,
which reruns every experiment and rewrites this folder as a whole; everyday runs go
to the git-ignored `runs/`. `python -m experiments check` reruns digits and
compares it with these records (labels and accuracy exactly, timings never). The
record layout is documented in `experiments/_io.py`. This file is written by
`python -m experiments report`; do not edit it by hand.
"""
#: The experiments a README shows, in its order: name -> (validate, section).
EXPERIMENTS = {
    m.__name__.rpartition(".")[2]: (m.validate, m.section)
    for m in (digits, blobs, compare, history)
}


def records(root: Path) -> list[tuple[Path, dict]]:
    """Every ``(set directory, record)`` under ``root``, in :data:`EXPERIMENTS` order.

    A malformed record of a known experiment raises ``RecordError``.
    """
    order = {name: i for i, name in enumerate(EXPERIMENTS)}
    found = []
    for directory in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        for path in record_files(directory)[:1]:
            record = _io.read_record(path)
            if record["experiment"] in EXPERIMENTS:
                EXPERIMENTS[record["experiment"]][0](record, str(path))
            found.append((directory, record))
    return sorted(found, key=lambda item: order.get(item[1]["experiment"], 99))


def record_files(directory: Path) -> list[Path]:
    """Return the record of a set: ``<set>.json``, else ``<experiment>.json``.

    (``reference`` names some sets apart: ``compare_large/compare.json``.)
    """
    names = dict.fromkeys([directory.name, directory.name.split("_")[0]])
    return [p for name in names for p in _io.listed_files(directory, f"{name}.json")]


def section(record: dict, directory: Path) -> list[str]:
    """Return the experiment's README section of ``record``.

    Raises ``RecordError`` when the section cannot be drawn from the record: a
    body damaged in a way the experiment's checks do not see is still malformed.
    """
    try:
        return EXPERIMENTS[record["experiment"]][1](record)
    except (LookupError, TypeError, AttributeError, ValueError, ArithmeticError) as exc:
        where = record_files(directory)[0]
        raise _io.RecordError(
            f"{where}: its results cannot be read ({type(exc).__name__}: {exc})"
        ) from None


def provenance(record: dict) -> str:
    """One italic line: when, at which commit, with which nbkm source."""
    git = record["git"]
    dirty = " (uncommitted changes)" if git["dirty"] else ""
    return (
        f"_{record['created_utc']}, commit `{(git['commit'] or 'unknown')[:10]}`"
        f"{dirty}, nbkm source `{record['nbkm_source_sha256']}`: "
        f"`{record['command']}`_"
    )


def render(root: Path) -> str:
    """Build the README text of ``root``; empty when it holds no record."""
    found = records(root)
    if not found:
        return ""
    lines = [HEADER]
    for directory, record in found:
        if record["experiment"] in EXPERIMENTS:
            first, *rest = section(record, directory)
            lines += [first, "", provenance(record), *rest, ""]
            lines += [
                f"![{name}]({directory.name}/{file})"
                for name, file in record["figures"].items()
                if (directory / file).is_file()
            ]
            lines.append("")
    names = [directory.name for directory, _ in found]
    lines += ["## Environment", "", f"| | {' | '.join(names)} |"]
    lines.append("|---|" + "---|" * len(names))
    for key in ENV_KEYS:
        values = [str(record["environment"].get(key)) for _, record in found]
        lines.append(f"| {key} | {' | '.join(values)} |")
    return "\n".join(lines).rstrip() + "\n"


def write(root: Path) -> Path | None:
    """Write ``root/README.md``; None when there is nothing to report.

    The text is rendered whole first: a malformed record leaves the old file.
    """
    text = render(root)
    if not text:
        return None
    (root / "README.md").write_text(text, encoding="utf-8")
    return root / "README.md"


def command(*, root: Path, quiet: bool) -> int:
    """Write the README of ``root``; status 2 when it holds no record."""
    if not root.is_dir() or write(root) is None:
        raise _cli.UsageError(f"report: no result set under {root}")
    _cli.say(f"report: wrote {root / 'README.md'}")
    return 0


def add_arguments(p) -> None:
    """Add the options of report to ``p``."""
    p.add_argument("--root", type=_cli.out_dir, default=_io.RUNS_DIR, help="root")
