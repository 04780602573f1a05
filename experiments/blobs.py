"""The tutorial's first example: four 2-D blobs, nbkm vs textbook E-M vs sklearn.

Data: ``make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)``.
Fits ``nbkm.KMeans(4)`` and ``sklearn.cluster.KMeans(4)`` with the same seed, and
the tutorial's textbook E-M loop (``experiments/_textbook.py``), then checks that
all three find the same partition. Writes ``blobs.json`` and ``blobs.png``
(scatter coloured by cluster, centres drawn large and translucent). Exit status
1 when nbkm and the textbook loop disagree.
"""

from __future__ import annotations

import numpy as np

from experiments import _cli, _io
from experiments import _metrics as M

DEFAULTS = {"n_samples": 300, "centers": 4, "cluster_std": 0.60}
DEFAULTS |= {"data_random_state": 0, "n_clusters": 4, "random_state": 0}
DEFAULTS["textbook_rseed"] = 2


def _fit_record(X, y_true, centers, labels, n_iter) -> dict:
    """Labels, centres, inertia, n_iter and two scores against the true blobs."""
    labels, centers = np.asarray(labels), np.asarray(centers)
    scores = M.cluster_scores(labels, y_true, len(centers))
    fit = {"labels": labels.tolist(), "centers": centers.tolist()}
    fit["inertia"] = float(((X - centers[labels]) ** 2).sum())
    fit["n_iter"] = int(n_iter)
    return fit | {key: scores[key] for key in ("hungarian_accuracy", "ari")}


def run(params: dict, out) -> tuple[dict, dict]:
    """Fit the three implementations, compare their partitions, draw into ``out``.

    ``results``: ``dataset``; per implementation (``nbkm``, ``sklearn``,
    ``textbook``) :func:`_fit_record`; ``comparison``.
    """
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.datasets import make_blobs

    from experiments._textbook import find_clusters
    from nbkm import KMeans

    kw = {key: params[key] for key in ("n_samples", "centers", "cluster_std")}
    X, y_true = make_blobs(**kw, random_state=params["data_random_state"])
    k, seed = params["n_clusters"], params["random_state"]
    nb = KMeans(n_clusters=k, random_state=seed).fit(X)
    sk = SKKMeans(n_clusters=k, random_state=seed).fit(X)
    textbook = find_clusters(X, k, rseed=params["textbook_rseed"])
    fits = {
        "nbkm": (nb.cluster_centers_, nb.labels_, nb.n_iter_),
        "sklearn": (sk.cluster_centers_, sk.labels_, sk.n_iter_),
        "textbook": textbook,
    }
    results = {name: _fit_record(X, y_true, *fit) for name, fit in fits.items()}
    others = {"textbook": textbook[1], "sklearn": sk.labels_, "true_blobs": y_true}
    comparison = {
        f"nbkm_vs_{name}_same_partition": M.same_partition(nb.labels_, labels)
        for name, labels in others.items()
    }
    labels_equal = bool(np.array_equal(nb.labels_, sk.labels_))
    comparison["nbkm_vs_sklearn_labels_equal"] = labels_equal
    results["dataset"] = {"name": "make_blobs", "n_samples": len(X), "n_features": 2}
    results["comparison"] = comparison
    return results, {"scatter": plot(X, results, out / "blobs.png")}


def plot(X, results: dict, path) -> str:
    """Draw the data, nbkm's clusters and the textbook loop's clusters."""
    from experiments._plots import plt, save_figure

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharex=True, sharey=True)
    axes[0].scatter(X[:, 0], X[:, 1], s=30, color="C0")
    axes[0].set_title("make_blobs data (no labels)")
    nb_labels = np.asarray(results["nbkm"]["labels"])
    titles = {"nbkm": "nbkm.KMeans(4)", "textbook": "textbook E-M loop"}
    for ax, (key, title) in zip(axes[1:], titles.items(), strict=True):
        labels = np.asarray(results[key]["labels"])
        centers = np.asarray(results[key]["centers"])
        rename = M.hungarian_mapping(labels, nb_labels, len(centers))
        if np.all(rename >= 0):  # nbkm's ids, so that the colours match
            labels = rename[labels]
        ax.scatter(X[:, 0], X[:, 1], c=labels, s=30, cmap="viridis")
        ax.scatter(centers[:, 0], centers[:, 1], c="black", s=300, alpha=0.5)
        ax.set_title(title)
    return save_figure(fig, path)


def summary(record: dict) -> list[str]:
    """Two lines: iterations and inertia, then the partition agreements."""
    r = record["results"]
    c = r["comparison"]
    return [
        f"blobs: nbkm n_iter={r['nbkm']['n_iter']} inertia={r['nbkm']['inertia']:.3f}"
        f"; textbook E-M n_iter={r['textbook']['n_iter']} "
        f"inertia={r['textbook']['inertia']:.3f}",
        "  same partition as textbook E-M: "
        f"{c['nbkm_vs_textbook_same_partition']}; as sklearn: "
        f"{c['nbkm_vs_sklearn_same_partition']}; as the true blobs: "
        f"{c['nbkm_vs_true_blobs_same_partition']}",
    ]


def section(record: dict) -> list[str]:
    """Markdown of the blobs record for the results README."""
    r = record["results"]
    return [
        "## Blobs",
        "",
        "`make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)`, "
        f"`KMeans(4)`: nbkm converged in {r['nbkm']['n_iter']} iterations "
        f"(inertia {r['nbkm']['inertia']:.3f}); the tutorial's textbook E-M loop "
        f"(`experiments/_textbook.py`) in {r['textbook']['n_iter']} (inertia "
        f"{r['textbook']['inertia']:.3f}).",
        "",
        *summary(record)[1:],
    ]


def add_arguments(p) -> None:
    """Add the options of blobs to ``p``."""
    p.add_argument("--seed", type=_cli.int_in(0, 2**32 - 1), default=0, help="seed")


def validate(record: dict, where: str) -> dict:
    """Check the header and the keys of a blobs record; return it."""
    required = ("nbkm", "sklearn", "textbook", "comparison")
    return _io.validate(record, where, required, "blobs")


def job(*, seed: int, quiet: bool) -> _io.Job:
    """Return the run of blobs with ``seed`` (it takes a second: ``quiet`` unused)."""
    params = dict(DEFAULTS, random_state=seed)
    return _io.Job(
        experiment="blobs",
        set_name="blobs",
        params=params,
        run=lambda folder, replaced: run(params, folder),
        validate=validate,
        summary=summary,
        # 1 when nbkm and the textbook loop found different partitions
        exit_code=lambda r: int(not r["comparison"]["nbkm_vs_textbook_same_partition"]),
    )
