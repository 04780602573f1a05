"""The tutorial's digits k-means, nbkm and scikit-learn side by side over seeds.

``KMeans(n_clusters=10)`` on ``sklearn.datasets.load_digits()`` with nbkm and
with sklearn, for every seed and for ``n_init=10`` (the tutorial's setting) and
``n_init='auto'`` (today's default); then ``MiniBatchKMeans(n_clusters=10,
random_state=seed, n_init=...)`` of both, its other parameters the defaults
(``batch_size=1024``, early stopping on). Clusters are mapped to digits by the
mode of the true labels in each cluster (the tutorial's mapping; an empty
cluster predicts nothing) and by the optimal one-to-one (Hungarian) mapping; ARI
and NMI too. ``--embed tsne`` first maps the data to 2-D with t-SNE, as the
source book does (result set ``digits_tsne``).

Figures (KMeans's): the confusion matrices of the first seed and setting, the
ten cluster centres of each implementation as 8 x 8 images (with t-SNE: each
cluster's mean image), the accuracy per seed, with t-SNE the embedding.

Record ``results``: ``dataset`` (with the ``target`` labels); ``runs`` (KMeans)
and ``minibatch``, one entry per n_init setting (``"n_init=10"``), each with
``nbkm`` and ``sklearn`` blocks (rows per seed with the labels and scores, score
summaries, confusion matrix, median warm fit) and their ``comparison``;
``agreement`` (the same-init study of ``experiments/_agreement.py``, KMeans's
only); ``timings``.

Timing: each fit is timed with ``time.perf_counter``; nbkm and sklearn
alternate (the order flips every seed), ``--repeats`` times per seed. Timings
are never compared by ``check``.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import time

import numpy as np

from experiments import _cli, _io
from experiments import _metrics as M
from experiments._agreement import PAIRS, study
from experiments._timing import IMPLS, timed_fit

N_DIGITS = 1797
SCORES = ("accuracy", "hungarian_accuracy", "ari", "nmi", "inertia")
#: The estimators of the experiment: part of ``results`` -> class name.
ESTIMATORS = {"runs": "KMeans", "minibatch": "MiniBatchKMeans"}
#: What follows the library's name in the Markdown: part of ``results`` -> text.
SUFFIX = {"runs": "", "minibatch": " MiniBatchKMeans"}
DEFAULTS = {"seeds": list(range(10)), "n_init": [10, "auto"], "n_clusters": 10}
DEFAULTS |= {"algorithm": "lloyd", "embed": None}
DEFAULTS |= {"tsne": {"n_components": 2, "init": "random", "random_state": 0}}
DEFAULTS |= {"repeats": 3, "n_threads": None, "agreement": True, "jitter": 0.01}
DEFAULTS |= {"n_samples": None}


def load_data(params: dict, quiet: bool = True) -> dict:
    """Load digits (the first ``n_samples`` rows), optionally embedded with t-SNE.

    Returns ``X`` (what k-means clusters), ``pixels`` (the 8 x 8 images),
    ``target``, ``target_names`` and ``embed_seconds``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    n = params.get("n_samples") or len(digits.target)
    pixels, target = digits.data[:n], digits.target[:n]
    data = {"X": pixels, "pixels": pixels, "target": target, "embed_seconds": None}
    data["target_names"] = [int(v) for v in digits.target_names]
    if params.get("embed") == "tsne":
        from sklearn.manifold import TSNE

        if not quiet:
            _cli.say("digits: running t-SNE to 2-D (about 15-30 s on 2 cores)")
        t0 = time.perf_counter()
        data["X"] = TSNE(**params["tsne"]).fit_transform(data["pixels"])
        data["embed_seconds"] = time.perf_counter() - t0
    return data


def _timed_fit(impl: str, params: dict, n_init, seed: int, X, estimator="KMeans"):
    # MiniBatchKMeans has no algorithm: it keeps all its other defaults
    kw = {"algorithm": params["algorithm"]} if estimator == "KMeans" else {}
    kw |= {"n_clusters": params["n_clusters"], "n_init": n_init, "random_state": seed}
    return timed_fit(impl, X, params["n_threads"], estimator, **kw)


def _seed_row(fits: list, target, k: int, seed: int) -> dict:
    est = fits[0][0]
    scores = M.cluster_scores(est.labels_, target, k)
    del scores["hungarian_mapping"]
    row = {"seed": int(seed), "labels": est.labels_.tolist()}
    row |= {"inertia": float(est.inertia_), "n_iter": int(est.n_iter_)}
    if hasattr(est, "n_steps_"):  # MiniBatchKMeans
        row["n_steps"] = int(est.n_steps_)
    row["deterministic"] = all(np.array_equal(f.labels_, est.labels_) for f, _ in fits)
    return row | {"fit_seconds": [float(s) for _, s in fits]} | scores


def _impl_block(rows: list[dict], target, n_labels: int) -> dict:
    first = rows[0]
    predicted = M.predict_labels(first["labels"], first["mode_mapping"])
    warm = [s for row in rows for s in row["fit_seconds"]]
    timing = {"fit_seconds_median": float(np.median(warm))}
    timing |= {"fit_seconds_min": float(np.min(warm)), "n_samples": len(warm)}
    return {
        "per_seed": rows,
        "metrics": {key: M.summary([row[key] for row in rows]) for key in SCORES},
        "confusion_matrix": M.confusion(target, predicted, n_labels).tolist(),
        "confusion_seed": first["seed"],
        "timing": timing,
    }


def comparison(nb: dict, sk: dict) -> dict:
    """Seed-by-seed agreement of nbkm's and sklearn's blocks, ratio of the medians.

    Rows with ``n_steps`` (MiniBatchKMeans) add ``n_steps_equal`` per seed.
    """
    per_seed = []
    for a, b in zip(nb["per_seed"], sk["per_seed"], strict=True):
        la, lb = np.asarray(a["labels"]), np.asarray(b["labels"])
        row = {"seed": a["seed"], "labels_equal": bool(np.array_equal(la, lb))}
        row |= {"n_labels_differ": int(np.sum(la != lb))}
        row |= {"same_partition": M.same_partition(la, lb)}
        for key in ("accuracy", "n_iter", "n_steps"):
            if key in a:
                row[f"{key}_equal"] = a[key] == b[key]
        row["inertia_rel_diff"] = abs(a["inertia"] - b["inertia"]) / abs(b["inertia"])
        per_seed.append(row)
    medians = [block["timing"]["fit_seconds_median"] for block in (nb, sk)]
    return {
        "per_seed": per_seed,
        "n_seeds": len(per_seed),
        "n_labels_equal": sum(p["labels_equal"] for p in per_seed),
        "n_accuracy_equal": sum(p["accuracy_equal"] for p in per_seed),
        "time_ratio_nbkm_over_sklearn": medians[0] / medians[1],
    }


def _run_setting(params, data, n_init, estimator, progress, centers) -> dict:
    """Fit both libraries, in turn, for every seed; return blocks and comparison.

    ``centers`` receives each library's centres of the first seed (once).
    """
    X, target = data["X"], data["target"]
    rows = {impl: [] for impl in IMPLS}
    for i, seed in enumerate(params["seeds"]):
        fits = {impl: [] for impl in IMPLS}
        for _ in range(params["repeats"]):
            for impl in IMPLS if i % 2 == 0 else IMPLS[::-1]:
                fits[impl].append(_timed_fit(impl, params, n_init, seed, X, estimator))
        for impl in IMPLS:
            rows[impl].append(_seed_row(fits[impl], target, params["n_clusters"], seed))
            centers.setdefault(impl, fits[impl][0][0].cluster_centers_)
        progress.step(f"{estimator} n_init={n_init} seed {seed}")
    n_labels = len(data["target_names"])
    blocks = {impl: _impl_block(rows[impl], target, n_labels) for impl in IMPLS}
    return blocks | {"comparison": comparison(blocks["nbkm"], blocks["sklearn"])}


def run(params: dict, out, quiet: bool = False) -> tuple[dict, dict]:
    """Run digits with ``params`` (keys of :data:`DEFAULTS`); draw into ``out``.

    ``out`` None draws nothing (``check``). Returns ``(results, figures)``: see
    the module docstring, and figure name -> file name.
    """
    import numba

    data = load_data(params, quiet=quiet)
    X = data["X"]
    imports = {}  # import time and first fit of each library in this process
    for impl, module in (("nbkm", "nbkm"), ("sklearn", "sklearn.cluster")):
        t0 = time.perf_counter()
        fresh = module not in sys.modules  # imported before: not measurable here
        importlib.import_module(module)
        imports[impl] = time.perf_counter() - t0 if fresh else None
    n_init, seed = params["n_init"][0], params["seeds"][0]
    first = {impl: _timed_fit(impl, params, n_init, seed, X)[1] for impl in IMPLS}
    steps = len(ESTIMATORS) * len(params["n_init"]) * len(params["seeds"])
    progress = _cli.Progress("digits", steps, quiet=quiet)
    centers = {}  # of KMeans's first setting, drawn in the figures
    parts = {
        part: {
            f"n_init={n}": _run_setting(params, data, n, estimator, progress, centers)
            for n in params["n_init"]
        }
        for part, estimator in ESTIMATORS.items()
    }
    agreement = None
    if params["agreement"]:
        n_init = max([s for s in params["n_init"] if isinstance(s, int)] or [1])
        args = (params["n_clusters"], params["seeds"], n_init, params["jitter"])
        agreement = study(X, *args, params["n_threads"], quiet)
    results = {
        "dataset": {
            "name": "load_digits",
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_pixels": int(data["pixels"].shape[1]),
            "n_classes": len(data["target_names"]),
            "embed": params["embed"],
            "dtype": str(X.dtype),
            "target": data["target"].tolist(),
        },
        **parts,
        "agreement": agreement,
        "timings": {
            "first_call_seconds": first,
            "import_seconds": imports,
            "embed_seconds": data["embed_seconds"],
            "repeats_per_seed": params["repeats"],
            "n_threads": params["n_threads"] or int(numba.get_num_threads()),
            "clock": "time.perf_counter, wall clock, whole fit() call",
        },
    }
    figures = {} if out is None else plot(results, data, centers, out, set_name(params))
    return results, figures


def plot(results: dict, data: dict, centers: dict, out, prefix: str) -> dict:
    """Draw the digits figures into ``out``; return name -> file name."""
    from experiments._plots import plt, save_figure, sns

    key, first = next(iter(results["runs"].items()))
    names = data["target_names"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    for ax, impl in zip(axes, IMPLS, strict=True):
        block = first[impl]  # drawn as the tutorial does: matrix.T, annotated
        matrix = np.asarray(block["confusion_matrix"]).T
        kwargs = {"xticklabels": names, "yticklabels": names, "ax": ax}
        sns.heatmap(matrix, square=True, annot=True, fmt="d", cbar=False, **kwargs)
        acc = block["per_seed"][0]["accuracy"]
        title = f"{impl}, {key}, seed {block['confusion_seed']}: accuracy {acc:.4f}"
        ax.set(xlabel="true label", ylabel="predicted label", title=title)
    figures = {"confusion": fig}
    for impl in IMPLS:
        figures[f"centers_{impl}"] = _centers(impl, key, first, data, centers)
    figures["accuracy"] = _accuracy(results)
    if results["dataset"]["embed"] == "tsne":
        X, labels = data["X"], first["nbkm"]["per_seed"][0]["labels"]
        fig, ax = plt.subplots(figsize=(6.5, 6))
        ax.scatter(X[:, 0], X[:, 1], c=labels, s=8, cmap="tab10")
        ax.scatter(*np.asarray(centers["nbkm"]).T, c="black", s=200, alpha=0.5)
        ax.set_title("t-SNE embedding of digits, coloured by nbkm cluster")
        figures["embedding"] = fig
    return {n: save_figure(f, out / f"{prefix}_{n}.png") for n, f in figures.items()}


def _centers(impl: str, key: str, first: dict, data: dict, centers: dict):
    """Figure of one library's clusters as 8 x 8 images, ordered by digit."""
    from experiments._plots import plt

    row = first[impl]["per_seed"][0]
    labels, mapping = np.asarray(row["labels"]), np.asarray(row["mode_mapping"])
    if data["X"].shape[1] == data["pixels"].shape[1]:
        images, what = np.asarray(centers[impl]), "cluster centres"
    else:  # centres live in the embedding: show each cluster's mean image
        pixels = data["pixels"]
        images = np.zeros((len(mapping), pixels.shape[1]))
        for c in np.unique(labels):
            images[c] = pixels[labels == c].mean(axis=0)
        what = "mean image of each cluster"
    order = np.argsort(np.where(mapping < 0, len(mapping), mapping), kind="stable")
    ncols = max(1, (len(order) + 1) // 2)
    fig, axes = plt.subplots(2, ncols, figsize=(1.6 * ncols, 3.6), squeeze=False)
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
    for ax, c in zip(axes.flat, order, strict=False):
        ax.imshow(images[c].reshape(8, 8), interpolation="nearest", cmap=plt.cm.binary)
        digit = mapping[c] if mapping[c] >= 0 else "none"
        ax.set_title(f"cluster {c} -> {digit}", fontsize=9)
    fig.suptitle(f"{impl}: {what} ({key}, seed {row['seed']})", fontsize=11)
    fig.tight_layout()
    return fig


def _accuracy(results: dict):
    """Figure of the accuracy per seed of both libraries (seeded jitter), mean bars."""
    import pandas as pd

    from experiments._plots import plt, seeded, sns

    rows = [
        {"setting": key, "impl": impl, "accuracy": row["accuracy"]}
        for key, run_ in results["runs"].items()
        for impl in IMPLS
        for row in run_[impl]["per_seed"]
    ]
    fig, ax = plt.subplots(figsize=(7, 4))
    common = {"data": pd.DataFrame(rows), "x": "setting", "y": "accuracy"}
    common |= {"hue": "impl", "ax": ax}
    with seeded(0):
        sns.stripplot(**common, dodge=True, jitter=0.15, size=6)
    bar = {"linestyle": "none", "markers": "_", "markersize": 25, "errorbar": None}
    sns.pointplot(**common, **bar, dodge=0.4, legend=False)
    title = "digits accuracy per seed (bar: mean)"
    ax.set(ylabel="accuracy (mode mapping)", xlabel="", title=title)
    return fig


def section(record: dict) -> list[str]:
    """Markdown of one digits record: accuracy table, agreement, first calls.

    MiniBatchKMeans's rows and agreement follow KMeans's in each, where the
    record has them (records made before it ran render as they did).
    """
    params, results = record["params"], record["results"]
    embed, n_seeds = results["dataset"]["embed"], len(params["seeds"])
    parts = [part for part in ESTIMATORS if part in results]
    minibatch = [
        " MiniBatchKMeans rows: `MiniBatchKMeans(n_clusters=10, "
        "random_state=seed, n_init=...)`, its other parameters the defaults "
        "(`batch_size=1024`, `max_iter=100`, early stopping after 10 steps "
        "without improvement)."
    ] * ("minibatch" in results)
    out = [
        "## Digits" + (f" after a 2-D {embed} embedding" if embed else ""),
        "",
        f"`KMeans(n_clusters=10)` on `load_digits()` ({results['dataset']['n_samples']}"
        f" x {results['dataset']['n_features']}), seeds 0-{n_seeds - 1}, algorithm "
        f"`{params['algorithm']}`. Accuracy maps each cluster to the most frequent "
        "true digit among its members (the tutorial's mapping); Hungarian is the "
        "best one-to-one mapping. Mean [min, max] over seeds; fit time is the "
        f"median warm `fit()` over {params['repeats']} interleaved repeats per "
        f"seed, {results['timings']['n_threads']} threads." + "".join(minibatch),
        "",
        "| n_init | implementation | accuracy mean [min, max] | Hungarian | ARI "
        "| NMI | fit (ms, median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for n_init, part, impl in itertools.product(params["n_init"], parts, IMPLS):
        block = results[part][f"n_init={n_init}"][impl]
        m, a = block["metrics"], block["metrics"]["accuracy"]
        out.append(
            f"| {n_init} | {impl}{SUFFIX[part]} | {a['mean']:.4f} [{a['min']:.4f}, "
            f"{a['max']:.4f}] | {m['hungarian_accuracy']['mean']:.4f} | "
            f"{m['ari']['mean']:.3f} | {m['nmi']['mean']:.3f} | "
            f"{1e3 * block['timing']['fit_seconds_median']:.1f} |"
        )
    fc = results["timings"]["first_call_seconds"]
    out += [
        "",
        f"First `fit()` in a fresh process: nbkm {fc['nbkm']:.3f} s "
        "(includes loading its compiled kernels from Numba's on-disk cache, or "
        f"compiling them), sklearn {fc['sklearn']:.3f} s.",
        "",
        "**Agreement, same seed** (same seed gives the same k-means++ centres"
        + (", and the same batches" if "minibatch" in results else "")
        + "):",
    ]
    for part in parts:
        for key, run_ in results[part].items():
            out.append(_same_seed_line(SUFFIX[part], key, run_["comparison"]))
    if results["agreement"]:
        out += _agreement_lines(results["agreement"], n_seeds)
    return out


def _same_seed_line(name: str, key: str, c: dict) -> str:
    """Bullet of one setting: seeds with identical labels, accuracy (and steps)."""
    differ = "; ".join(
        f"seed {p['seed']}: {p['n_labels_differ']} of the labels differ"
        for p in c["per_seed"]
        if not p["labels_equal"]
    )
    steps = [p["n_steps_equal"] for p in c["per_seed"] if "n_steps_equal" in p]
    return (
        f"-{name} {key}: identical labels for {c['n_labels_equal']}/{c['n_seeds']} "
        f"seeds, identical accuracy for {c['n_accuracy_equal']}/{c['n_seeds']}"
        + (f" ({differ})" if differ else "")
        + (f", the same `n_steps_` for {sum(steps)}/{len(steps)}" if steps else "")
        + f"; time ratio nbkm/sklearn {c['time_ratio_nbkm_over_sklearn']:.2f} "
        "(of the median fit times)."
    )


def _agreement_lines(ag: dict, n_seeds: int) -> list[str]:
    n, nb = ag["n_runs"], ag["nbkm_vs_sklearn_lloyd"]
    el, jt = ag["sklearn_lloyd_vs_elkan"], ag["jittered_nbkm_vs_sklearn_lloyd"]
    rows = {
        "nbkm_vs_sklearn_lloyd": "nbkm vs sklearn lloyd",
        "sklearn_lloyd_vs_elkan": "sklearn lloyd vs sklearn elkan (baseline)",
        "jittered_nbkm_vs_sklearn_lloyd": "nbkm vs sklearn lloyd, centres jittered "
        f"by +-{ag['jitter']}",
    }
    if ag["runs_with_ties"] == 0 and nb["labels_equal"] == n:
        ties = (
            "No run has a sample exactly equidistant from two initial centres, "
            "and nbkm and sklearn agree on every run."
        )
    else:
        every = (
            "Every run where nbkm and sklearn disagree has such a tie"
            if nb["disagreements_all_at_ties"]
            else "**Some runs where nbkm and sklearn disagree have no such tie**"
        )
        ties = (
            "k-means++ picks samples as initial centres; on integer data such as "
            "digits, some samples are then exactly equidistant from two centres at "
            f"the first E-step ({ag['runs_with_ties']}/{n} runs have such ties). "
            "Which centre wins depends on the rounding of the distance formula, and "
            f"the runs then drift apart. {every}; sklearn's own lloyd and elkan "
            f"disagree in {n - el['labels_equal']}/{n} runs; with the ties removed "
            f"by the jitter, nbkm and sklearn disagree in {n - jt['labels_equal']}/{n}."
        )
    return [
        "",
        f"**Agreement run by run** ({n} single runs from the k-means++ centres of "
        f"seeds 0-{n_seeds - 1}; nbkm's `kmeans_plusplus` picked sklearn's indices "
        f"in {ag['init_indices_equal']}/{n}):",
        "",
        "| pair, same initial centres | identical labels | same n_iter |",
        "|---|---|---|",
        *(
            f"| {label} | {ag[key]['labels_equal']}/{n} "
            f"| {ag[key]['n_iter_equal']}/{n} |"
            for key, label in rows.items()
        ),
        "",
        ties,
    ]


NUMBER, _OR_NONE = _io.NUMBER, type(None)
#: The parts of a digits record that ``check`` reruns from and compares, and that
#: ``section`` prints (shapes of :func:`experiments._io.check_shape`).
PARAMS_SHAPE = {"seeds": [int], "n_init": [(int, str)], "n_clusters": int}
PARAMS_SHAPE |= {"algorithm": str, "embed": (str, _OR_NONE), "tsne": dict}
PARAMS_SHAPE |= {"repeats": int, "n_threads": (int, _OR_NONE), "agreement": bool}
PARAMS_SHAPE |= {"jitter": NUMBER, "n_samples": (int, _OR_NONE)}
_ROW = {"seed": int, "labels": [int], "n_iter": int} | dict.fromkeys(SCORES, NUMBER)
_STATS = dict.fromkeys(("mean", "min", "max"), NUMBER)
_BLOCK = {"per_seed": [_ROW], "metrics": dict.fromkeys(SCORES, _STATS)}
_BLOCK |= {"timing": {"fit_seconds_median": NUMBER}}
_PER_SEED = {"seed": int, "labels_equal": bool, "n_labels_differ": int}
_COMPARISON = {"per_seed": [_PER_SEED], "time_ratio_nbkm_over_sklearn": NUMBER}
_COMPARISON |= dict.fromkeys(("n_seeds", "n_labels_equal", "n_accuracy_equal"), int)
RESULTS_SHAPE = {
    "dataset": {"n_samples": int, "n_features": int, "embed": (str, _OR_NONE)},
    "runs": {...: dict.fromkeys(IMPLS, _BLOCK) | {"comparison": _COMPARISON}},
    "timings": {"n_threads": int, "first_call_seconds": dict.fromkeys(IMPLS, NUMBER)},
}
#: ``results["minibatch"]``, absent from records made before it ran.
_MB_BLOCK = _BLOCK | {"per_seed": [_ROW | {"n_steps": int}]}
_MB_CMP = _COMPARISON | {"per_seed": [_PER_SEED | {"n_steps_equal": bool}]}
MINIBATCH_SHAPE = {...: dict.fromkeys(IMPLS, _MB_BLOCK) | {"comparison": _MB_CMP}}
_PAIR = {"labels_equal": int, "n_iter_equal": int, "disagreements_all_at_ties": bool}
AGREEMENT_SHAPE = dict.fromkeys(PAIRS, _PAIR) | {"jitter": NUMBER, "n_runs": int}
AGREEMENT_SHAPE |= {"init_indices_equal": int, "runs_with_ties": int}


def validate(record: dict, where: str) -> dict:
    """Check a digits record, all that ``check`` and ``section`` read; return it.

    Beyond the shapes: one run per ``n_init`` setting and one row per seed of
    ``params["seeds"]`` in each, in order, label vectors as long as the data,
    positive inertia. A record without ``minibatch`` (made before digits ran
    MiniBatchKMeans) is valid; ``check`` says that it cannot compare it. Raises
    :class:`experiments._io.RecordError`.
    """
    _io.validate(record, where, ("dataset", "runs", "agreement", "timings"), "digits")

    def fail(message):
        raise _io.RecordError(f"{where}: {message}")

    params, results = record["params"], record["results"]
    _io.check_shape(params, PARAMS_SHAPE, where, "params")
    shape = dict(RESULTS_SHAPE)
    if "minibatch" in results:
        shape["minibatch"] = MINIBATCH_SHAPE
    if results["agreement"] is not None:  # None: the study was not run
        shape["agreement"] = AGREEMENT_SHAPE
    _io.check_shape(results, shape, where, "results")
    seeds, n_init = params["seeds"], params["n_init"]
    if not seeds or not n_init:
        fail("params.seeds and params.n_init must not be empty")
    if any(n != "auto" and not (isinstance(n, int) and n > 0) for n in n_init):
        fail(f"params.n_init must hold positive integers or 'auto': {n_init}")
    settings = [f"n_init={n}" for n in n_init]
    n_samples = results["dataset"]["n_samples"]
    for part in (p for p in ESTIMATORS if p in results):
        if list(results[part]) != settings:
            fail(f"results.{part} has {list(results[part])}, expected {settings}")
        for key, run_ in results[part].items():
            for impl in (*IMPLS, "comparison"):
                rows, name = run_[impl]["per_seed"], f"results.{part}.{key}.{impl}"
                if (found := [row["seed"] for row in rows]) != seeds:
                    fail(f"{name}.per_seed has the seeds {found}, expected {seeds}")
                if impl != "comparison" and any(
                    len(row["labels"]) != n_samples or not row["inertia"] > 0
                    for row in rows
                ):
                    fail(f"{name}.per_seed needs {n_samples} labels, positive inertia")
            if run_["comparison"]["n_seeds"] != len(seeds):
                fail(f"results.{part}.{key}.comparison.n_seeds is not {len(seeds)}")
    return record


def set_name(params: dict) -> str:
    """Return the result set of a run: ``digits`` or ``digits_<embed>``."""
    return f"digits_{params['embed']}" if params.get("embed") else "digits"


def add_arguments(p) -> None:
    """Add the options of digits to ``p``."""
    add = p.add_argument
    add("--seeds", type=_cli.int_in(1, 1000), default=10, help="seeds 0..N-1")
    about = "n_init settings: positive integers or auto (default: 10 auto)"
    add("--n-init", type=_cli.n_init, nargs="+", default=[10, "auto"], help=about)
    add("--repeats", type=_cli.int_in(1, 100), default=3, help="timed fits per seed")
    add("--threads", type=_cli.threads, help="threads of both (default: all)")
    add("--embed", choices=["none", "tsne"], default="none", help="2-D t-SNE first")
    add("--no-agreement", action="store_true", help="skip the same-init study")
    add("--n-samples", type=_cli.int_in(50, N_DIGITS), help="the first N digits")


def job(*, seeds, n_init, repeats, threads, embed, no_agreement, n_samples, quiet):
    """Return the run of digits with these options (checked, nothing run yet)."""
    repeated = sorted({str(v) for v in n_init if n_init.count(v) > 1})
    if repeated:  # a typo, or a setting the user thinks runs twice
        raise _cli.UsageError(f"--n-init: {', '.join(repeated)} given more than once")
    params = dict(DEFAULTS, seeds=list(range(seeds)), n_init=list(n_init))
    params |= {"repeats": repeats, "n_threads": threads, "agreement": not no_agreement}
    params |= {"embed": None if embed == "none" else embed, "n_samples": n_samples}
    return _io.quiet_job("digits", params, run, validate, section, set_name, quiet)
