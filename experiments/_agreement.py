"""Same-initial-centres agreement of nbkm and scikit-learn, run by run.

k-means++ picks sample points as initial centres. On integer-valued data such
as digits, some samples are then *exactly* equidistant from two initial
centres at the first E-step. Which centre wins such a tie depends on the
floating-point rounding of the distance formula, so two correct
implementations (nbkm and sklearn, and even sklearn's own lloyd and elkan) may
label those samples differently, and the runs then drift apart. This module
measures that honestly:

* for every seed, the ``n_init`` k-means++ initialisations that
  ``KMeans(random_state=seed)`` would draw, checking that nbkm's and sklearn's
  ``kmeans_plusplus`` pick the same sample indices;
* from each initialisation (``n_init=1``): nbkm (lloyd) vs sklearn lloyd, and
  sklearn lloyd vs sklearn elkan (the baseline for rounding-level
  disagreement);
* the number of exact ties at the first E-step;
* a control where the same initial centres are moved by a uniform jitter in
  ``[-jitter, jitter]``, so that exact ties cannot occur: nbkm and sklearn
  lloyd should then agree on every run.
"""

from __future__ import annotations

import numpy as np

from experiments._cli import Progress
from experiments._timing import kmeans

#: The pairs compared run by run: name -> (first fit, second fit).
PAIRS = {
    "nbkm_vs_sklearn_lloyd": ("nbkm", "sklearn_lloyd"),
    "sklearn_lloyd_vs_elkan": ("sklearn_lloyd", "sklearn_elkan"),
    "jittered_nbkm_vs_sklearn_lloyd": ("jittered_nbkm", "jittered_sklearn_lloyd"),
}


def init_sequence(X, n_clusters: int, seed: int, n_runs: int):
    """Draw the ``n_runs`` initial centres of ``KMeans(random_state=seed)``.

    One ``RandomState`` is consumed across the runs, on the mean-centred ``X``
    (as in ``KMeans.fit``). Returns the centres of each run (exact rows of
    ``X``) and, run by run, whether nbkm's ``kmeans_plusplus`` picked the same
    indices as sklearn's.
    """
    from sklearn.cluster import kmeans_plusplus as sk_kpp

    from nbkm import kmeans_plusplus as nb_kpp

    X = np.asarray(X)
    Xc = X - X.mean(axis=0)
    rs_sk, rs_nb = np.random.RandomState(seed), np.random.RandomState(seed)
    inits, equal = [], []
    for _ in range(n_runs):
        _, idx_sk = sk_kpp(Xc, n_clusters, random_state=rs_sk)
        _, idx_nb = nb_kpp(Xc, n_clusters, random_state=rs_nb)
        inits.append(X[idx_sk])
        equal.append(bool(np.array_equal(idx_sk, idx_nb)))
    return inits, equal


def first_step_ties(X, centers) -> int:
    """Count samples whose nearest centre (of the first E-step) is not unique.

    In exact integer arithmetic when ``X`` and ``centers`` hold integers (as
    digits and centres picked among its samples do); otherwise in float64,
    where "exact" means bitwise equal.
    """
    X, centers = np.asarray(X), np.asarray(centers)
    integral = np.all(X == np.round(X)) and np.all(centers == np.round(centers))
    dtype = np.int64 if integral else np.float64
    Xi, Ci = X.astype(dtype), centers.astype(dtype)
    d2 = ((Xi[:, None, :] - Ci[None, :, :]) ** 2).sum(axis=-1)
    return int(np.sum((d2 == d2.min(axis=1, keepdims=True)).sum(axis=1) > 1))


def study(
    X, n_clusters: int, seeds, n_init: int, jitter=0.01, n_threads=None, quiet=False
) -> dict:
    """Run the same-init agreement study on ``X`` (see the module docstring).

    Each seed gives ``n_init`` initialisations (the first is also the
    ``n_init='auto'`` run of that seed). Returns counts over all runs
    (``n_runs``, ``init_indices_equal``, ``runs_with_ties``) and, per pair of
    :data:`PAIRS`, ``labels_equal``, ``n_iter_equal``, the disagreeing runs and
    ``disagreements_all_at_ties``.
    """
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)  # as KMeans does with integers
    progress = Progress("agreement", len(seeds) * n_init, quiet=quiet)
    runs, idx_equal = [], 0
    for seed in seeds:
        inits, equal = init_sequence(X, n_clusters, seed, n_init)
        idx_equal += sum(equal)
        jitter_rng = np.random.RandomState(seed)
        for r, init in enumerate(inits):
            jittered = init + jitter_rng.uniform(-jitter, jitter, size=init.shape)
            runs.append(_one_run(X, init, jittered.astype(X.dtype), n_threads))
            runs[-1].update(seed=int(seed), run=r)
            progress.step(f"seed {seed} run {r}")
    ties = [r["first_step_ties"] for r in runs]
    result = {"n_runs": len(runs), "n_init_per_seed": int(n_init)}
    result |= {"jitter": float(jitter), "init_indices_equal": idx_equal}
    result |= {"runs_with_ties": sum(t > 0 for t in ties), "ties_per_run": ties}
    for name in PAIRS:
        differ = [
            {key: r[key] for key in ("seed", "run", "first_step_ties")}
            | {"n_labels_differ": r[name]["n_labels_differ"]}
            for r in runs
            if r[name]["n_labels_differ"]
        ]
        result[name] = {
            "labels_equal": len(runs) - len(differ),
            "n_iter_equal": sum(r[name]["n_iter_equal"] for r in runs),
            "disagreeing_runs": differ,
            "disagreements_all_at_ties": all(d["first_step_ties"] > 0 for d in differ),
        }
    return result


def _one_run(X, init, jittered, n_threads) -> dict:
    """Fit every implementation of :data:`PAIRS` from one initialisation; compare."""
    fits = {}
    for name in dict.fromkeys(sum(PAIRS.values(), ())):  # "jittered_sklearn_lloyd"
        lib, _, algorithm = name.removeprefix("jittered_").partition("_")
        start = jittered if name.startswith("jittered_") else init
        est = kmeans(lib, n_threads, n_clusters=len(init), init=start, n_init=1)
        fits[name] = est.set_params(algorithm=algorithm or "lloyd").fit(X)
    run = {"first_step_ties": first_step_ties(X, init)}
    for name, (a, b) in PAIRS.items():
        run[name] = {
            "n_labels_differ": int(np.sum(fits[a].labels_ != fits[b].labels_)),
            "n_iter_equal": int(fits[a].n_iter_) == int(fits[b].n_iter_),
        }
    return run
