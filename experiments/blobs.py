"""The tutorial's first example: four 2-D blobs, nbkm vs textbook E-M vs sklearn.

Data: ``make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)``.
Fits ``nbkm.KMeans(4)`` and ``sklearn.cluster.KMeans(4)`` with the same seed, and
the tutorial's textbook E-M loop (``experiments.textbook.find_clusters``), then
checks that all three find the same partition. Writes ``blobs.json`` and
``blobs.png`` (scatter coloured by cluster, centres drawn large and
translucent).
"""

from __future__ import annotations

import numpy as np

from experiments import _cli
from experiments import _metrics as M
from experiments._io import base_record, write_json

DEFAULTS = {
    "n_samples": 300,
    "centers": 4,
    "cluster_std": 0.60,
    "data_random_state": 0,
    "n_clusters": 4,
    "random_state": 0,
    "textbook_rseed": 2,
}


def make_data(params: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return the tutorial's blobs ``(X, y_true)`` for ``params``.

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULTS`.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        Points.
    y_true : ndarray of int, shape (n_samples,)
        Blob of each point.
    """
    from sklearn.datasets import make_blobs

    return make_blobs(
        n_samples=params["n_samples"],
        centers=params["centers"],
        cluster_std=params["cluster_std"],
        random_state=params["data_random_state"],
    )


def _fit_record(labels, centers, X, n_iter, y_true, inertia=None) -> dict:
    labels = np.asarray(labels)
    centers = np.asarray(centers)
    if inertia is None:
        inertia = float(((X - centers[labels]) ** 2).sum())
    scores = M.cluster_scores(labels, y_true, len(centers))
    return {
        "labels": M.encode_labels(labels),
        "centers": centers.tolist(),
        "inertia": float(inertia),
        "n_iter": int(n_iter),
        "hungarian_accuracy": scores["hungarian_accuracy"],
        "ari": scores["ari"],
    }


def run(params: dict) -> tuple[dict, dict]:
    """Fit the three implementations and compare their partitions.

    Parameters
    ----------
    params : dict
        Keys of :data:`DEFAULTS`.

    Returns
    -------
    results : dict
        Per implementation (``nbkm``, ``sklearn``, ``textbook``) the encoded
        labels, centres, inertia, n_iter, and scores against the true blobs;
        plus ``comparison``.
    arrays : dict
        ``X``, ``y_true`` and the label/centre arrays, for the figure.
    """
    from sklearn.cluster import KMeans as SKKMeans

    from experiments.textbook import find_clusters
    from nbkm import KMeans

    X, y_true = make_data(params)
    k = params["n_clusters"]
    nb = KMeans(n_clusters=k, random_state=params["random_state"]).fit(X)
    sk = SKKMeans(n_clusters=k, random_state=params["random_state"]).fit(X)
    tb_centers, tb_labels, tb_iter = find_clusters(X, k, rseed=params["textbook_rseed"])
    results = {
        "nbkm": _fit_record(
            nb.labels_, nb.cluster_centers_, X, nb.n_iter_, y_true, nb.inertia_
        ),
        "sklearn": _fit_record(
            sk.labels_, sk.cluster_centers_, X, sk.n_iter_, y_true, sk.inertia_
        ),
        "textbook": _fit_record(tb_labels, tb_centers, X, tb_iter, y_true),
    }
    results["comparison"] = {
        "nbkm_vs_textbook_same_partition": M.same_partition(nb.labels_, tb_labels),
        "nbkm_vs_sklearn_same_partition": M.same_partition(nb.labels_, sk.labels_),
        "nbkm_vs_sklearn_labels_equal": bool(np.array_equal(nb.labels_, sk.labels_)),
        "nbkm_vs_true_blobs_same_partition": M.same_partition(nb.labels_, y_true),
    }
    arrays = {
        "X": X,
        "y_true": y_true,
        "nbkm": (nb.labels_, nb.cluster_centers_),
        "textbook": (tb_labels, tb_centers),
    }
    return results, arrays


def plot(arrays: dict, path) -> None:
    """Draw the data, nbkm's clusters and the textbook loop's clusters.

    Parameters
    ----------
    arrays : dict
        As returned by :func:`run`.
    path : path-like
        PNG destination (written atomically).
    """
    from experiments._plots import plt, save_figure

    X = arrays["X"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), sharex=True, sharey=True)
    axes[0].scatter(X[:, 0], X[:, 1], s=30, color="C0")
    axes[0].set_title("make_blobs data (no labels)")
    titles = {"nbkm": "nbkm.KMeans(4)", "textbook": "textbook E-M loop"}
    nb_labels = arrays["nbkm"][0]
    for ax, key in zip(axes[1:], ("nbkm", "textbook"), strict=True):
        labels, centers = arrays[key]
        if key != "nbkm":  # rename ids to nbkm's so that colours match
            rename = M.hungarian_mapping(labels, nb_labels, len(centers))
            if np.all(rename >= 0):
                labels = rename[labels]
        ax.scatter(X[:, 0], X[:, 1], c=labels, s=30, cmap="viridis")
        ax.scatter(centers[:, 0], centers[:, 1], c="black", s=300, alpha=0.5)
        ax.set_title(titles[key])
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    """Run the blobs experiment from the command line.

    Parameters
    ----------
    argv : list of str or None
        Arguments (``--out``, ``--quiet``); ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 when nbkm and the textbook loop find the same partition, else 1.
    """
    p = _cli.parser("blobs", __doc__)
    p.add_argument("--seed", type=int, default=DEFAULTS["random_state"])
    args = p.parse_args(argv)
    params = dict(DEFAULTS, random_state=args.seed)
    results, arrays = run(params)
    out = args.out
    plot(arrays, out / "blobs.png")
    record = base_record("blobs", params)
    record["dataset"] = {
        "name": "make_blobs",
        "n_samples": params["n_samples"],
        "n_features": 2,
    }
    record["results"] = results
    record["figures"] = {"scatter": "blobs.png"}
    write_json(out / "blobs.json", record)
    cmp_ = results["comparison"]
    _cli.say(
        f"blobs: nbkm n_iter={results['nbkm']['n_iter']} "
        f"inertia={results['nbkm']['inertia']:.3f}; textbook E-M n_iter="
        f"{results['textbook']['n_iter']} inertia={results['textbook']['inertia']:.3f}"
    )
    _cli.say(
        "  same partition as textbook E-M: "
        f"{cmp_['nbkm_vs_textbook_same_partition']}; as sklearn: "
        f"{cmp_['nbkm_vs_sklearn_same_partition']}; as the true blobs: "
        f"{cmp_['nbkm_vs_true_blobs_same_partition']}"
    )
    _cli.say(f"  wrote {out / 'blobs.json'} and {out / 'blobs.png'}")
    return 0 if cmp_["nbkm_vs_textbook_same_partition"] else 1
