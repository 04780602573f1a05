"""Write results/README.md from the JSON records under results/.

Reads ``blobs/blobs.json``, ``digits/digits*.json`` and ``compare/compare.json``
(each optional) under ``--out`` (default ``results/``) and writes
``README.md`` there: the headline digits accuracy table, the agreement of nbkm
with scikit-learn, the figures inline, the speed comparison table, figures of
the timing history when ``history/`` holds any, and the environment each
result came from. Nothing is recomputed; only the JSON is read.
"""

from __future__ import annotations

from pathlib import Path

from experiments import _cli
from experiments._io import read_json, write_text

ENV_KEYS = (
    "python",
    "numpy",
    "numba",
    "sklearn",
    "scipy",
    "nbkm",
    "threading_layer",
    "n_threads",
    "cpu_count",
    "cpu",
    "platform",
    "load_average_1m",
)


def _load(path: Path) -> dict | None:
    return read_json(path) if path.is_file() else None


def _fig(rel_dir: str, name: str | None, alt: str) -> str:
    return f"![{alt}]({rel_dir}/{name})" if name else ""


def _provenance(record: dict) -> str:
    git = record.get("git") or {}
    commit = (git.get("commit") or "unknown")[:10]
    dirty = " (uncommitted changes)" if git.get("dirty") else ""
    return f"_{record['created_utc']}, commit `{commit}`{dirty}_"


def _ms(seconds: float) -> str:
    return f"{1e3 * seconds:.1f}"


def _ms_or_dash(impl_result: dict | None) -> str:
    return "-" if impl_result is None else _ms(impl_result["seconds_per_iter"])


def _sec(init_result: dict | None) -> str:
    return "-" if init_result is None else f"{init_result['median_seconds']:.3g}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ties_text(ag: dict) -> str:
    n = ag["n_runs"]
    nb = ag["nbkm_vs_sklearn_lloyd"]
    el = ag["sklearn_lloyd_vs_elkan"]
    jt = ag["jittered_nbkm_vs_sklearn_lloyd"]
    if ag["runs_with_ties"] == 0 and nb["labels_equal"] == n:
        return (
            "No run has a sample exactly equidistant from two initial centres, and "
            "nbkm and sklearn agree on every run."
        )
    text = (
        "k-means++ picks samples as initial centres; on integer data such as "
        "digits, some samples are then exactly equidistant from two centres at "
        f"the first E-step ({ag['runs_with_ties']}/{n} runs have such ties). "
        "Which centre wins depends on the rounding of the distance formula, and "
        "the runs then drift apart. "
    )
    if nb["disagreements_all_at_ties"]:
        text += "Every run where nbkm and sklearn disagree has such a tie"
    else:
        text += "**Some runs where nbkm and sklearn disagree have no such tie**"
    return (
        text + f"; sklearn's own lloyd and elkan disagree in "
        f"{n - el['labels_equal']}/{n} runs; with the ties removed by the "
        f"jitter, nbkm and sklearn disagree in {n - jt['labels_equal']}/{n}."
    )


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def digits_section(record: dict, rel_dir: str) -> list[str]:
    """Markdown for one digits record: accuracy table, agreement, figures.

    Parameters
    ----------
    record : dict
        A digits JSON record.
    rel_dir : str
        Directory of its figures relative to the README.

    Returns
    -------
    lines : list of str
        Markdown lines.
    """
    params = record["params"]
    embed = record["dataset"].get("embed")
    title = "Digits" + (f" after a 2-D {embed} embedding" if embed else "")
    n_seeds = len(params["seeds"])
    out = [f"## {title}", "", _provenance(record), ""]
    out.append(
        f"`KMeans(n_clusters=10)` on `load_digits()` "
        f"({record['dataset']['n_samples']} x {record['dataset']['n_features']}), "
        f"seeds 0-{n_seeds - 1}, algorithm `{params['algorithm']}`. Accuracy maps "
        "each cluster to the most frequent true digit among its members (the "
        "tutorial's `scipy.stats.mode` mapping); Hungarian is the best one-to-one "
        "mapping. Mean [min, max] over seeds; fit time is the median warm "
        f"`fit()` over {params['repeats']} interleaved repeats per seed, "
        f"{record['timings']['n_threads']} threads."
    )
    out += [
        "",
        "| n_init | implementation | accuracy mean [min, max] | Hungarian | ARI "
        "| NMI | fit (ms, median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, run in record["runs"].items():
        for impl in ("nbkm", "sklearn"):
            m = run[impl]["metrics"]
            a = m["accuracy"]
            out.append(
                f"| {key.split('=')[1]} | {impl} | {a['mean']:.4f} [{a['min']:.4f}, "
                f"{a['max']:.4f}] | {m['hungarian_accuracy']['mean']:.4f} | "
                f"{m['ari']['mean']:.3f} | {m['nmi']['mean']:.3f} | "
                f"{_ms(run[impl]['timing']['fit_seconds_median'])} |"
            )
    fc = record["timings"]["first_call_seconds"]
    out += [
        "",
        f"First `fit()` in a fresh process (n_init={params['n_init'][0]}, seed "
        f"{params['seeds'][0]}): nbkm {fc['nbkm']:.3f} s (includes loading its "
        "compiled kernels from Numba's on-disk cache, or compiling them when the "
        f"cache is cold), sklearn {fc['sklearn']:.3f} s. 1-minute load average "
        f"at the end of the run: {record['environment'].get('load_average_1m')}.",
    ]
    if record["timings"].get("embed_seconds"):
        out.append(f"t-SNE took {record['timings']['embed_seconds']:.1f} s.")
    out += [
        "",
        "**Agreement, same seed** (same seed gives the same k-means++ centres):",
    ]
    for key, run in record["runs"].items():
        c = run["comparison"]
        differ = [
            f"seed {p['seed']}: {_plural(p['n_labels_differ'], 'label')} "
            f"{'differs' if p['n_labels_differ'] == 1 else 'differ'}"
            for p in c["per_seed"]
            if not p["labels_equal"]
        ]
        out.append(
            f"- {key}: identical labels for {c['n_labels_equal']}/{c['n_seeds']} "
            f"seeds, identical accuracy for {c['n_accuracy_equal']}/{c['n_seeds']}"
            + (f" ({'; '.join(differ)})" if differ else "")
            + f"; median time ratio nbkm/sklearn "
            f"{c['time_ratio_nbkm_over_sklearn_median']:.2f}."
        )
    ag = record.get("agreement")
    if ag:
        n = ag["n_runs"]
        nb = ag["nbkm_vs_sklearn_lloyd"]
        el = ag["sklearn_lloyd_vs_elkan"]
        jt = ag["jittered_nbkm_vs_sklearn_lloyd"]
        out += [
            "",
            f"**Agreement run by run** ({n} single runs from the k-means++ centres "
            f"of seeds 0-{n_seeds - 1}; nbkm's `kmeans_plusplus` picked sklearn's "
            f"indices in {ag['init_indices_equal']}/{n}):",
            "",
            "| pair, same initial centres | identical labels | same n_iter |",
            "|---|---|---|",
            f"| nbkm vs sklearn lloyd | {nb['labels_equal']}/{n} | "
            f"{nb['n_iter_equal']}/{n} |",
            f"| sklearn lloyd vs sklearn elkan (baseline) | {el['labels_equal']}/{n} "
            f"| {el['n_iter_equal']}/{n} |",
            f"| nbkm vs sklearn lloyd, centres jittered by +-{ag['jitter']} | "
            f"{jt['labels_equal']}/{n} | {jt['n_iter_equal']}/{n} |",
            "",
            _ties_text(ag),
        ]
    figs = record.get("figures", {})
    out += ["", _fig(rel_dir, figs.get("confusion"), "confusion matrices"), ""]
    out.append(
        _fig(rel_dir, figs.get("centers_nbkm"), "nbkm cluster centres")
        + " "
        + _fig(rel_dir, figs.get("centers_sklearn"), "sklearn cluster centres")
    )
    out += ["", _fig(rel_dir, figs.get("accuracy"), "accuracy per seed")]
    if figs.get("embedding"):
        out += ["", _fig(rel_dir, figs["embedding"], "t-SNE embedding")]
    return out + [""]


def blobs_section(record: dict, rel_dir: str) -> list[str]:
    """Markdown for the blobs record.

    Parameters
    ----------
    record : dict
        The blobs JSON record.
    rel_dir : str
        Directory of its figure relative to the README.

    Returns
    -------
    lines : list of str
        Markdown lines.
    """
    r = record["results"]
    c = r["comparison"]
    return [
        "## Blobs",
        "",
        _provenance(record),
        "",
        "`make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)`, "
        f"`KMeans(4)`: nbkm converged in {r['nbkm']['n_iter']} iterations "
        f"(inertia {r['nbkm']['inertia']:.3f}); the tutorial's textbook E-M loop "
        f"(`experiments/textbook.py`) in {r['textbook']['n_iter']} (inertia "
        f"{r['textbook']['inertia']:.3f}). Same partition as the textbook loop: "
        f"**{c['nbkm_vs_textbook_same_partition']}**; as sklearn: "
        f"{c['nbkm_vs_sklearn_same_partition']}; as the true blobs: "
        f"{c['nbkm_vs_true_blobs_same_partition']}.",
        "",
        _fig(rel_dir, record["figures"].get("scatter"), "blobs"),
        "",
    ]


def compare_section(record: dict, rel_dir: str) -> list[str]:
    """Markdown for the compare record: ratios table and figure.

    Parameters
    ----------
    record : dict
        The compare JSON record.
    rel_dir : str
        Directory of its figure relative to the README.

    Returns
    -------
    lines : list of str
        Markdown lines.
    """
    p = record["params"]
    gemm = ", ".join(f"{k} {v:.0f}" for k, v in record["gemm_peak_gflops"].items())
    out = [
        "## Speed against scikit-learn",
        "",
        _provenance(record),
        "",
    ]
    if record.get("command"):
        out += [f"Command: `{record['command']}`", ""]
    out += [
        f"Fixed workload: standard normal data, explicit initial centres, "
        f"`n_init=1`, `tol=0`, `max_iter={p['max_iter']}`; median of "
        f"{p['repeats']} interleaved repeats, {record['timings']['n_threads']} "
        "threads. Ratio = nbkm / sklearn seconds per iteration (below 1: nbkm "
        "faster). GFLOP/s counts the distance step (2 n k d per iteration); "
        f"numpy's GEMM measured in the same run: {gemm} GFLOP/s.",
        "",
    ]
    if not record["faiss"]["available"]:
        out += ["faiss was not installed, so it was skipped.", ""]
    out += [
        "| shape | nbkm lloyd ms/it | sklearn lloyd ms/it | ratio | nbkm elkan "
        "ms/it | sklearn elkan ms/it | ratio | k-means++ nbkm s | sklearn s | ratio "
        "| nbkm GFLOP/s | of GEMM |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = list(record["grid"])
    if record.get("sparse"):
        rows.append(record["sparse"])
    for row in rows:
        i, r = row["impls"], row["ratios"]
        init = row.get("init") or {}
        label = row["label"]
        if "nnz" in row:
            label += f" (nnz {row['nnz']:,})"
        frac = i["nbkm-lloyd"].get("gemm_fraction")
        gflops = f"{i['nbkm-lloyd']['gflops']:.1f}" + (
            " (2 nnz k)" if frac is None else ""
        )
        cells = [
            label,
            _ms(i["nbkm-lloyd"]["seconds_per_iter"]),
            _ms(i["sklearn-lloyd"]["seconds_per_iter"]),
            _num(r["lloyd"]),
            _ms_or_dash(i.get("nbkm-elkan")),
            _ms_or_dash(i.get("sklearn-elkan")),
            _num(r.get("elkan")),
            _sec(init.get("nbkm")),
            _sec(init.get("sklearn")),
            _num(r.get("kmeans++")),
            gflops,
            "-" if frac is None else f"{100 * frac:.0f}%",
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    skipped = [row for row in record["grid"] if row.get("skipped")]
    for row in skipped:
        for algorithm, why in row["skipped"].items():
            out.append(f"- {row['label']}: {algorithm} not timed ({why}).")
    for name in ("lloyd", "elkan", "faiss", "kmeans++"):
        s = record["summary"].get(name)
        if s is None:
            continue
        out.append(
            f"- {name}: geometric mean ratio {s['geomean_ratio']:.2f} "
            f"(min {s['min_ratio']:.2f}, max {s['max_ratio']:.2f}); "
            f"{s['n_at_or_below_1']}/{s['n_shapes']} shapes at or below 1."
        )
    peak = record.get("peak_memory")
    if peak:
        data_mib = next(iter(peak["impls"].values()))["data_bytes"] / 2**20
        nk_mib = peak["n_by_k_bytes"] / 2**20
        out += [
            "",
            f"Peak memory added by one fit to its data ({peak['label']}, "
            f"`max_iter={peak['max_iter']}`, a fresh process each, resident set "
            "size): "
            + ", ".join(
                f"{impl} {res['fit_peak_bytes'] / 2**20:,.0f} MiB"
                for impl, res in peak["impls"].items()
            )
            + f"; the data is {data_mib:,.0f} MiB and one n x k matrix would be "
            f"{nk_mib:,.0f} MiB.",
        ]
    out += [
        "",
        "The machine is shared: with 2 threads, any other process stalls the "
        "parallel regions, so read single ratios with care (1-minute load "
        f"average at the end of the run: "
        f"{record['environment'].get('load_average_1m')}).",
        "",
        _fig(rel_dir, record["figures"].get("ratios"), "speed ratios"),
        "",
    ]
    return out


def history_section(results: Path) -> list[str]:
    """Markdown linking the timing-history figures, if ``history/`` has any."""
    pngs = sorted((results / "history").glob("*.png"))
    if not pngs:
        return []
    out = ["## Timing history", ""]
    out += [f"![{p.stem}](history/{p.name})" for p in pngs]
    return out + [""]


def environment_section(records: dict[str, dict]) -> list[str]:
    """Markdown table of the environment of each record."""
    names = list(records)
    out = [
        "## Environment",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in ENV_KEYS:
        vals = [str(records[n]["environment"].get(key)) for n in names]
        out.append(f"| {key} | " + " | ".join(vals) + " |")
    return out + [""]


def render(results: Path) -> str:
    """Build the README text from the records under ``results``.

    Parameters
    ----------
    results : pathlib.Path
        Results root.

    Returns
    -------
    text : str
        Markdown.
    """
    blobs = _load(results / "blobs" / "blobs.json")
    digits = {
        p.stem: read_json(p) for p in sorted((results / "digits").glob("digits*.json"))
    }
    compare = _load(results / "compare" / "compare.json")
    lines = [
        "# nbkm results",
        "",
        "Reference outputs of the experiment harness, generated on the machine "
        "described at the end and committed. Regenerate with:",
        "",
        "```",
        "python -m experiments blobs",
        "python -m experiments digits",
        "python -m experiments digits --embed tsne",
        "python -m experiments compare",
        "python -m experiments report",
        "```",
        "",
        "and compare a fresh digits run with these files with "
        "`python -m experiments check` (labels and accuracy exactly, timings "
        "never). The JSON layout is documented in `experiments/_io.py` and "
        "`experiments/digits.py`. This file is written by "
        "`python -m experiments report`; do not edit it by hand.",
        "",
    ]
    envs = {}
    for stem, rec in digits.items():
        lines += digits_section(rec, "digits")
        envs[stem] = rec
    if blobs:
        lines += blobs_section(blobs, "blobs")
        envs["blobs"] = blobs
    if compare:
        lines += compare_section(compare, "compare")
        envs["compare"] = compare
    lines += history_section(results)
    if envs:
        lines += environment_section(envs)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``README.md`` under the results directory.

    Parameters
    ----------
    argv : list of str or None
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 on success, 2 when there is no result to report.
    """
    p = _cli.parser(
        "report",
        __doc__,
        out_default=_cli.RESULTS_DIR,
        out_help="results root to read, and where README.md goes (default: results)",
    )
    args = p.parse_args(argv)
    results = args.out
    text = render(results)
    if text.count("\n## ") == 0:
        print(f"report: no result JSON found under {results}")
        return 2
    write_text(results / "README.md", text)
    _cli.say(f"report: wrote {results / 'README.md'}")
    return 0
