"""What the compare modes print alike: cell names, ratio statistics, Markdown tables."""

from __future__ import annotations

from scipy.stats import gmean

from experiments import _cli


def count(value: int) -> str:
    """``100000`` as ``100k``, ``1000000`` as ``1M``; other numbers as they are."""
    for div, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= div and value % div == 0:
            return f"{value // div}{suffix}"
    return str(value)


def label(n: int, d: int, k: int, dtype: str, density: float | None = None) -> str:
    """Short name of a shape: ``n=100k d=16 k=10 f64`` or ``CSR n=100k d=20k ...``."""
    if density is not None:
        return f"CSR n={count(n)} d={count(d)} {100 * density:g}% k={k}"
    return f"n={count(n)} d={d} k={k} {dtype.replace('float', 'f')}"


def fmt(value, spec: str = ".2f", scale: float = 1.0) -> str:
    """``value`` formatted, or ``-`` when None."""
    return "-" if value is None else f"{scale * value:{spec}}"


def ratios_text(ratios: dict) -> str:
    """``lloyd 0.52 elkan 0.61``: a progress line's ratios."""
    return " ".join(f"{name} {v:.2f}" for name, v in ratios.items())


def ratio_stats(values: list) -> dict:
    """Geometric mean, extremes and count at or below 1 of some ratios."""
    return {
        "geomean_ratio": float(gmean(values)),
        "min_ratio": min(values),
        "max_ratio": max(values),
        "n_at_or_below_1": sum(v <= 1.0 for v in values),
    }


def within_budget(cell: dict, budget) -> bool:
    """Whether a planned cell fits ``budget`` seconds (None: no budget).

    A cell estimated above it gets its ``reason`` and is skipped by the caller.
    """
    est = cell["estimated_seconds"]
    if budget is not None and est > budget:
        cell["reason"] = f"estimated {est:.0f} s above the budget of {budget:g} s"
        return False
    return True


def print_estimate(todo: list[dict], skipped: list[dict]) -> None:
    """Print the cells of a plan with their estimated seconds; exit with status 0."""
    for cell in todo:
        _cli.say(f"{cell['estimated_seconds']:9.1f} s  {cell['label']}")
    for cell in skipped:
        _cli.say(f"  skipped    {cell['label']}: {cell['reason']}")
    total = sum(cell["estimated_seconds"] for cell in todo)
    _cli.say(
        f"compare: {len(todo)} cells, about {total / 60:.0f} min "
        f"({len(skipped)} skipped); a rough model, calibrated on 2 busy cores"
    )
    raise SystemExit(0)


def blas_line(libraries: list[dict]) -> str:
    """One line naming the BLAS libraries of a record and their core type."""
    blas = "; ".join(
        f"{lib['internal_api']} {lib['version']} ({lib['architecture']}, "
        f"{lib['num_threads']} threads, {lib['prefix']})"
        for lib in libraries
        if lib["user_api"] == "blas"
    )
    return f"BLAS: {blas or 'none found'}"


def speed_section(title, intro, head, rows, notes, record) -> list[str]:
    """Markdown of a timing record: title, workload, table, notes, the load.

    ``intro`` says what was timed and how; ``head`` names the columns of
    ``rows`` (lists of cells); each of ``notes`` becomes a bullet; the
    ``record``'s environment gives the machine load at the end.
    """
    return [
        f"## {title}",
        "",
        intro,
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(cells) + " |" for cells in rows),
        "",
        *(f"- {line}." for line in notes),
        "",
        "With 2 threads, any other process stalls the parallel regions: read single "
        "ratios with care (1-minute load average at the end of the run: "
        f"{record['environment']['load_average_1m']}).",
    ]
