"""The tutorial's digits k-means, nbkm and scikit-learn side by side over seeds.

``KMeans(n_clusters=10)`` on ``sklearn.datasets.load_digits()`` with nbkm and
with sklearn, for every seed and for ``n_init=10`` (the tutorial's setting)
and ``n_init='auto'`` (today's default). Clusters are mapped to digits by the
mode of the true labels in each cluster (the tutorial's mapping; an empty
cluster predicts nothing) and, beyond the tutorial, by the optimal one-to-one
(Hungarian) mapping; ARI and NMI are reported too. ``--embed tsne`` first maps
the data to 2-D with t-SNE, as the source book does.

Outputs in ``--out`` (default ``results/digits``), prefix ``digits`` (or
``digits_tsne`` with ``--embed tsne``):

``<prefix>.json``
    The record (schema below).
``<prefix>_confusion.png``
    Confusion matrices of nbkm and sklearn (first seed, first n_init setting),
    drawn as in the tutorial.
``<prefix>_centers_nbkm.png``, ``<prefix>_centers_sklearn.png``
    The ten cluster centres as a 2 x 5 grid of 8 x 8 images (with t-SNE: the
    mean image of each cluster's members).
``<prefix>_accuracy.png``
    Accuracy per seed of both implementations.
``<prefix>_embedding.png``
    Only with t-SNE: the 2-D embedding coloured by cluster.

JSON record: the common fields of ``experiments._io`` plus ``dataset``;
``runs``, one entry per n_init setting (``"n_init=10"``, ``"n_init=auto"``),
each with ``nbkm`` and ``sklearn`` blocks (``per_seed`` list of ``seed``,
``labels`` as a space-separated string, ``inertia``, ``n_iter``,
``accuracy``, ``hungarian_accuracy``, ``ari``, ``nmi``, ``mode_mapping``,
``n_empty_clusters``, ``fit_seconds`` (one per repeat); ``metrics`` with
mean/min/max of each score; ``confusion_matrix`` of the first seed; ``timing``
with the warm median) and a ``comparison`` block (per seed ``labels_equal``,
``n_labels_differ``, ``same_partition``, ``accuracy_equal``,
``inertia_rel_diff``, and the median nbkm/sklearn time ratio); ``agreement``
(the same-init study of :mod:`experiments.agreement`); ``timings``
(``first_call_seconds`` per implementation, the first fit in the process,
which for nbkm includes loading the Numba cache or compiling;
``import_seconds`` when the module was not yet imported; thread count);
``figures`` (paths relative to the JSON file).

Timing: each fit is timed with ``time.perf_counter``; nbkm and sklearn are
alternated (the order flips every seed) in one process, ``--repeats`` times
per seed, and the median of all warm samples is reported. Timings are never
compared by ``check``.
"""

from __future__ import annotations

import importlib
import sys
import time

import numpy as np

from experiments import _cli
from experiments import _metrics as M
from experiments._io import base_record, write_json
from experiments._progress import Progress

IMPLS = ("nbkm", "sklearn")

DEFAULTS = {
    "seeds": list(range(10)),
    "n_init": [10, "auto"],
    "n_clusters": 10,
    "algorithm": "lloyd",
    "embed": None,
    "tsne": {"n_components": 2, "init": "random", "random_state": 0},
    "repeats": 3,
    "n_threads": None,
    "agreement": True,
    "jitter": 0.01,
    "n_samples": None,
}


def setting_key(n_init) -> str:
    """Return the key of an n_init setting in ``runs`` (``"n_init=10"``)."""
    return f"n_init={n_init}"


def load_data(params: dict, quiet: bool = True) -> dict:
    """Load digits, optionally subsample it, and embed it with t-SNE.

    Parameters
    ----------
    params : dict
        Uses ``n_samples`` (first rows only, for quick tests; None for all),
        ``embed`` (None or ``"tsne"``) and ``tsne``.
    quiet : bool, default=True
        No progress line for t-SNE.

    Returns
    -------
    data : dict
        ``X`` (what k-means clusters), ``pixels`` (the 8 x 8 images),
        ``target``, ``target_names``, ``embed_seconds``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    n = params.get("n_samples")
    pixels = digits.data[:n] if n else digits.data
    target = digits.target[:n] if n else digits.target
    X, seconds = pixels, None
    if params.get("embed") == "tsne":
        from sklearn.manifold import TSNE

        if not quiet:
            _cli.say("digits: running t-SNE to 2-D (about 15-30 s on 2 cores)")
        t0 = time.perf_counter()
        X = TSNE(**params["tsne"]).fit_transform(pixels)
        seconds = time.perf_counter() - t0
    elif params.get("embed") not in (None, "none"):
        raise ValueError(f"unknown embed {params['embed']!r}")
    return {
        "X": X,
        "pixels": pixels,
        "target": target,
        "target_names": [int(v) for v in digits.target_names],
        "embed_seconds": seconds,
    }


def _estimator(impl: str, params: dict, n_init, seed: int):
    kwargs = {
        "n_clusters": params["n_clusters"],
        "n_init": n_init,
        "random_state": seed,
        "algorithm": params["algorithm"],
    }
    if impl == "nbkm":
        from nbkm import KMeans

        return KMeans(n_threads=params["n_threads"], **kwargs)
    from sklearn.cluster import KMeans

    return KMeans(**kwargs)


def _timed_fit(impl: str, params: dict, n_init, seed: int, X):
    from threadpoolctl import threadpool_limits

    est = _estimator(impl, params, n_init, seed)
    limit = params["n_threads"] if impl == "sklearn" else None
    with threadpool_limits(limits=limit, user_api="openmp"):
        t0 = time.perf_counter()
        est.fit(X)
        seconds = time.perf_counter() - t0
    return est, seconds


def _impl_block(rows: list[dict], target, n_clusters: int, n_labels: int) -> dict:
    first = rows[0]
    clusters = M.decode_labels(first["labels"])
    mapping = np.asarray(first["mode_mapping"])
    warm = [s for row in rows for s in row["fit_seconds"]]
    return {
        "per_seed": rows,
        "metrics": {
            key: M.summary([row[key] for row in rows])
            for key in ("accuracy", "hungarian_accuracy", "ari", "nmi", "inertia")
        },
        "confusion_matrix": M.confusion(
            target, M.predict_labels(clusters, mapping), n_labels
        ).tolist(),
        "confusion_seed": first["seed"],
        "timing": {
            "fit_seconds_median": float(np.median(warm)),
            "fit_seconds_min": float(np.min(warm)),
            "n_samples": len(warm),
        },
    }


def _comparison(nb_rows: list[dict], sk_rows: list[dict]) -> dict:
    per_seed, ratios = [], []
    for a, b in zip(nb_rows, sk_rows, strict=True):
        la, lb = M.decode_labels(a["labels"]), M.decode_labels(b["labels"])
        per_seed.append(
            {
                "seed": a["seed"],
                "labels_equal": bool(np.array_equal(la, lb)),
                "n_labels_differ": int(np.sum(la != lb)),
                "same_partition": M.same_partition(la, lb),
                "accuracy_equal": a["accuracy"] == b["accuracy"],
                "n_iter_equal": a["n_iter"] == b["n_iter"],
                "inertia_rel_diff": abs(a["inertia"] - b["inertia"])
                / max(abs(b["inertia"]), 1e-300),
            }
        )
        ratios.append(np.median(a["fit_seconds"]) / np.median(b["fit_seconds"]))
    return {
        "per_seed": per_seed,
        "n_seeds": len(per_seed),
        "n_labels_equal": sum(p["labels_equal"] for p in per_seed),
        "n_accuracy_equal": sum(p["accuracy_equal"] for p in per_seed),
        "time_ratio_nbkm_over_sklearn_median": float(np.median(ratios)),
    }


def run(params: dict, quiet: bool = False) -> tuple[dict, dict]:
    """Run the digits experiment (no files written).

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULTS`.
    quiet : bool, default=False
        No progress lines.

    Returns
    -------
    results : dict
        ``dataset``, ``runs``, ``agreement`` (or None) and ``timings`` parts
        of the record (see the module docstring).
    arrays : dict
        Data and fitted centres of the first seed, for the figures.
    """
    params = dict(DEFAULTS, **params)
    data = load_data(params, quiet=quiet)
    X, target = data["X"], data["target"]
    k = params["n_clusters"]
    n_labels = len(data["target_names"])
    seeds = list(params["seeds"])
    settings = list(params["n_init"])
    repeats = max(1, int(params["repeats"]))

    # Import and first call of each implementation in this process, timed apart:
    # nbkm's first call includes loading its kernels from Numba's cache (or
    # compiling them).
    import_seconds = {}
    for impl, module in (("nbkm", "nbkm"), ("sklearn", "sklearn.cluster")):
        if module in sys.modules:
            import_seconds[impl] = None  # imported before: not measurable here
            continue
        t0 = time.perf_counter()
        importlib.import_module(module)
        import_seconds[impl] = time.perf_counter() - t0
    first_call = {}
    for impl in IMPLS:
        _, first_call[impl] = _timed_fit(impl, params, settings[0], seeds[0], X)

    progress = Progress("digits", len(settings) * len(seeds), quiet=quiet)
    runs, arrays = {}, {"data": data, "centers": {}}
    for n_init in settings:
        rows = {impl: [] for impl in IMPLS}
        for i, seed in enumerate(seeds):
            order = IMPLS if i % 2 == 0 else IMPLS[::-1]
            fits = {impl: [] for impl in IMPLS}
            for _ in range(repeats):
                for impl in order:
                    fits[impl].append(_timed_fit(impl, params, n_init, seed, X))
            for impl in IMPLS:
                est = fits[impl][0][0]
                labels = est.labels_
                deterministic = all(
                    np.array_equal(f[0].labels_, labels) for f in fits[impl]
                )
                scores = M.cluster_scores(labels, target, k)
                rows[impl].append(
                    {
                        "seed": int(seed),
                        "labels": M.encode_labels(labels),
                        "inertia": float(est.inertia_),
                        "n_iter": int(est.n_iter_),
                        "deterministic": bool(deterministic),
                        "fit_seconds": [float(f[1]) for f in fits[impl]],
                        **{
                            k_: v
                            for k_, v in scores.items()
                            if k_ != "hungarian_mapping"
                        },
                    }
                )
                if i == 0 and n_init == settings[0]:
                    arrays["centers"][impl] = (est.cluster_centers_, labels)
            progress.step(f"{setting_key(n_init)} seed {seed}")
        runs[setting_key(n_init)] = {
            **{impl: _impl_block(rows[impl], target, k, n_labels) for impl in IMPLS},
            "comparison": _comparison(rows["nbkm"], rows["sklearn"]),
        }

    agreement = None
    if params["agreement"]:
        from experiments.agreement import study

        n_runs = max((s for s in settings if isinstance(s, int)), default=1)
        agreement = study(
            X,
            k,
            seeds,
            n_runs,
            jitter=params["jitter"],
            n_threads=params["n_threads"],
            quiet=quiet,
        )

    import numba

    results = {
        "dataset": {
            "name": "load_digits",
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_pixels": int(data["pixels"].shape[1]),
            "n_classes": n_labels,
            "embed": params["embed"],
            "dtype": str(np.asarray(X).dtype),
            "target": M.encode_labels(target),
        },
        "runs": runs,
        "agreement": agreement,
        "timings": {
            "first_call_seconds": first_call,
            "import_seconds": import_seconds,
            "embed_seconds": data["embed_seconds"],
            "repeats_per_seed": repeats,
            "n_threads": params["n_threads"] or int(numba.get_num_threads()),
            "clock": "time.perf_counter, wall clock, whole fit() call",
        },
    }
    return results, arrays


def plot(results: dict, arrays: dict, out, prefix: str) -> dict:
    """Draw the digits figures.

    Parameters
    ----------
    results : dict
        As returned by :func:`run`.
    arrays : dict
        As returned by :func:`run`.
    out : path-like
        Directory.
    prefix : str
        File name prefix (``digits`` or ``digits_tsne``).

    Returns
    -------
    figures : dict
        Figure name -> file name relative to ``out``.
    """
    from pathlib import Path

    from experiments._plots import confusion_heatmap, image_grid, plt, save_figure, sns

    out = Path(out)
    data = arrays["data"]
    names = data["target_names"]
    first_key = next(iter(results["runs"]))
    first = results["runs"][first_key]
    figures = {}

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    for ax, impl in zip(axes, IMPLS, strict=True):
        block = first[impl]
        acc = block["per_seed"][0]["accuracy"]
        confusion_heatmap(
            ax,
            block["confusion_matrix"],
            names,
            f"{impl}, {first_key}, seed {block['confusion_seed']}: accuracy {acc:.4f}",
        )
    figures["confusion"] = f"{prefix}_confusion.png"
    save_figure(fig, out / figures["confusion"])

    embedded = results["dataset"]["embed"] == "tsne"
    for impl in IMPLS:
        centers, labels = arrays["centers"][impl]
        seed0 = first[impl]["per_seed"][0]["seed"]
        mapping = M.mode_mapping(labels, data["target"], len(centers))
        if embedded:  # centres live in 2-D: show each cluster's mean image
            images = [
                data["pixels"][labels == c].mean(axis=0)
                if np.any(labels == c)
                else np.zeros(data["pixels"].shape[1])
                for c in range(len(centers))
            ]
            what = "mean image of each cluster"
        else:
            images = centers
            what = "cluster centres"
        order = np.argsort(np.where(mapping < 0, len(names), mapping), kind="stable")
        titles = [
            f"cluster {c} -> {mapping[c]}"
            if mapping[c] >= 0
            else f"cluster {c} -> none"
            for c in order
        ]
        key = f"centers_{impl}"
        figures[key] = f"{prefix}_{key}.png"
        image_grid(
            np.asarray(images)[order],
            titles,
            out / figures[key],
            suptitle=f"{impl}: {what} ({first_key}, seed {seed0})",
        )

    rows = []
    for key, run in results["runs"].items():
        for impl in IMPLS:
            for row in run[impl]["per_seed"]:
                rows.append(
                    {
                        "setting": key,
                        "impl": impl,
                        "seed": row["seed"],
                        "accuracy": row["accuracy"],
                    }
                )
    import pandas as pd

    frame = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.stripplot(
        data=frame,
        x="setting",
        y="accuracy",
        hue="impl",
        dodge=True,
        jitter=0.15,
        ax=ax,
        size=6,
    )
    sns.pointplot(
        data=frame,
        x="setting",
        y="accuracy",
        hue="impl",
        dodge=0.4,
        linestyle="none",
        markers="_",
        markersize=25,
        errorbar=None,
        ax=ax,
        legend=False,
    )
    ax.set_ylabel("accuracy (mode mapping)")
    ax.set_xlabel("")
    ax.set_title("digits accuracy per seed (bar: mean)")
    figures["accuracy"] = f"{prefix}_accuracy.png"
    save_figure(fig, out / figures["accuracy"])

    if embedded:
        X = data["X"]
        _, labels = arrays["centers"]["nbkm"]
        centers, _ = arrays["centers"]["nbkm"]
        fig, ax = plt.subplots(figsize=(6.5, 6))
        ax.scatter(X[:, 0], X[:, 1], c=labels, s=8, cmap="tab10")
        ax.scatter(centers[:, 0], centers[:, 1], c="black", s=200, alpha=0.5)
        ax.set_title("t-SNE embedding of digits, coloured by nbkm cluster")
        figures["embedding"] = f"{prefix}_embedding.png"
        save_figure(fig, out / figures["embedding"])
    return figures


def summary_lines(record: dict) -> list[str]:
    """Short human summary of a digits record.

    Parameters
    ----------
    record : dict
        A digits JSON record.

    Returns
    -------
    lines : list of str
        Lines to print.
    """
    lines = []
    embed = record["dataset"].get("embed")
    title = "digits" + (f" (after {embed})" if embed else "")
    n_seeds = len(record["params"]["seeds"])
    lines.append(
        f"{title}: accuracy (mode mapping) over {n_seeds} seeds, mean [min, max]"
    )
    for key, run in record["runs"].items():
        for impl in IMPLS:
            m = run[impl]["metrics"]
            a, h = m["accuracy"], m["hungarian_accuracy"]
            lines.append(
                f"  {key:<12} {impl:<8} {a['mean']:.4f} "
                f"[{a['min']:.4f}, {a['max']:.4f}]"
                f"  hungarian {h['mean']:.4f}  ARI {m['ari']['mean']:.3f}"
                f"  NMI {m['nmi']['mean']:.3f}"
                f"  fit {1e3 * run[impl]['timing']['fit_seconds_median']:.1f} ms"
            )
        c = run["comparison"]
        lines.append(
            f"  {key:<12} same labels for {c['n_labels_equal']}/{c['n_seeds']} seeds, "
            f"same accuracy for {c['n_accuracy_equal']}/{c['n_seeds']}; "
            f"time nbkm/sklearn {c['time_ratio_nbkm_over_sklearn_median']:.2f}"
        )
    ag = record.get("agreement")
    if ag:
        nb, el, jt = (
            ag["nbkm_vs_sklearn_lloyd"],
            ag["sklearn_lloyd_vs_elkan"],
            ag["jittered_nbkm_vs_sklearn_lloyd"],
        )
        n = ag["n_runs"]
        lines.append(
            f"  same initial centres, {n} runs: nbkm = sklearn lloyd in "
            f"{nb['labels_equal']}/{n} (sklearn lloyd = elkan in "
            f"{el['labels_equal']}/{n}); all disagreements at exact first-step "
            f"ties: {nb['disagreements_all_at_ties']}; "
            f"jittered centres (no ties): {jt['labels_equal']}/{n} equal, "
            f"n_iter equal {jt['n_iter_equal']}/{n}"
        )
    t = record["timings"]
    fc = t["first_call_seconds"]
    lines.append(
        f"  first call in process: nbkm {fc['nbkm']:.3f} s, "
        f"sklearn {fc['sklearn']:.3f} s ({t['n_threads']} threads)"
    )
    return lines


def parse_n_init(text: str):
    """Parse an ``--n-init`` value: an int or ``auto``."""
    return text if text == "auto" else int(text)


def main(argv: list[str] | None = None) -> int:
    """Run the digits experiment from the command line.

    Parameters
    ----------
    argv : list of str or None
        Arguments; ``sys.argv[1:]`` when None. See ``--help``.

    Returns
    -------
    code : int
        Always 0 once the record is written (disagreements are reported, not
        errors).
    """
    p = _cli.parser("digits", __doc__)
    p.add_argument(
        "--seeds",
        type=int,
        default=len(DEFAULTS["seeds"]),
        help="number of seeds 0..N-1 (default 10)",
    )
    p.add_argument(
        "--n-init",
        type=parse_n_init,
        nargs="+",
        default=DEFAULTS["n_init"],
        help="n_init settings (default: 10 auto)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=DEFAULTS["repeats"],
        help="timed fits per seed and implementation (default 3)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of both implementations (default: all)",
    )
    p.add_argument(
        "--embed",
        choices=["none", "tsne"],
        default="none",
        help="embed the data first (tsne: 2-D t-SNE)",
    )
    p.add_argument(
        "--no-agreement", action="store_true", help="skip the same-init agreement study"
    )
    p.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="use only the first N digits (for quick tests)",
    )
    args = p.parse_args(argv)
    params = dict(
        DEFAULTS,
        seeds=list(range(args.seeds)),
        n_init=args.n_init,
        repeats=args.repeats,
        n_threads=args.threads,
        embed=None if args.embed == "none" else args.embed,
        agreement=not args.no_agreement,
        n_samples=args.n_samples,
    )
    record = build_record(params, args.out, quiet=args.quiet)
    for line in summary_lines(record):
        _cli.say(line)
    _cli.say(
        f"  wrote {args.out / (record_name(params) + '.json')} "
        f"and {len(record['figures'])} figures"
    )
    return 0


def record_name(params: dict) -> str:
    """Return the file prefix of a run: ``digits`` or ``digits_<embed>``."""
    embed = params.get("embed")
    return "digits" if not embed else f"digits_{embed}"


def build_record(
    params: dict, out=None, quiet: bool = False, figures: bool = True
) -> dict:
    """Run, draw and write one digits record.

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULTS`.
    out : path-like or None
        Directory for the JSON and figures; nothing is written when None.
    quiet : bool, default=False
        No progress lines.
    figures : bool, default=True
        Draw the figures (only when ``out`` is given).

    Returns
    -------
    record : dict
        The full JSON record.
    """
    params = dict(DEFAULTS, **params)
    results, arrays = run(params, quiet=quiet)
    # base_record after the fits: it must not warm nbkm before the first call.
    record = base_record("digits", params)
    record.update(results)
    record["figures"] = {}
    if out is not None:
        prefix = record_name(params)
        if figures:
            record["figures"] = plot(results, arrays, out, prefix)
        from pathlib import Path

        write_json(Path(out) / f"{prefix}.json", record)
    return record
