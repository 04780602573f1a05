"""The peers timed against nbkm besides scikit-learn: faiss and scikit-learn-intelex.

Both are optional (the ``peers`` extra). :func:`status` says whether one can be
imported here; the fits take the same explicit initial centres as nbkm and
scikit-learn. No benchmark is defined here (asv finds none).

- **faiss** (``faiss.Kmeans``): float32 only. It has no tolerance: it always runs
  exactly ``niter`` iterations (``nredo=1``), so the seconds per iteration are
  its total time over ``niter``. Subsampling is turned off
  (``max_points_per_centroid`` = n) and no warning for few points per centroid
  (``min_points_per_centroid=1``); empty clusters are split (faiss's own rule).
- **scikit-learn-intelex** (``sklearnex.cluster.KMeans``): oneDAL's Lloyd,
  ``n_init=1``, scikit-learn's parameters and stop rule (relative ``tol``),
  threads through its ``n_jobs``.
"""

import importlib
import time

#: The peers, by the name used in records and asv parameters.
PEERS = ("faiss", "sklearnex")
#: Module imported to check each peer.
MODULES = {"faiss": "faiss", "sklearnex": "sklearnex.cluster"}


def status(name):
    """Return ``{"available", "version", "reason"}`` of a peer in this environment.

    Parameters
    ----------
    name : str
        One of :data:`PEERS`.

    Returns
    -------
    status : dict
        ``reason`` says why it is not available (None when it is).
    """
    try:
        module = importlib.import_module(MODULES[name])
        top = importlib.import_module(MODULES[name].split(".")[0])
    except Exception as exc:  # noqa: BLE001 - any import failure means skip
        reason = f"not installed or not importable ({type(exc).__name__}: {exc})"
        return {"available": False, "version": None, "reason": reason}
    del module
    return {
        "available": True,
        "version": getattr(top, "__version__", None),
        "reason": None,
    }


def fit_faiss(X, init, niter, n_threads=None):
    """Run ``faiss.Kmeans`` for exactly ``niter`` iterations from ``init``.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
        Samples.
    init : ndarray of shape (k, d)
        Initial centres.
    niter : int
        Iterations (faiss always runs all of them).
    n_threads : int or None, default=None
        OpenMP threads of faiss (None: leave as is).

    Returns
    -------
    seconds : float
        Wall-clock seconds of ``train``.
    n_iter : int
        ``niter``.
    inertia : float or None
        faiss's objective after the last iteration.
    """
    import faiss

    if n_threads:
        faiss.omp_set_num_threads(int(n_threads))
    n, d = X.shape
    km = faiss.Kmeans(
        d,
        len(init),
        niter=int(niter),
        nredo=1,
        verbose=False,
        min_points_per_centroid=1,
        max_points_per_centroid=max(n, 1),
    )
    init = init.astype("float32", copy=False)
    t0 = time.perf_counter()
    km.train(X, init_centroids=init)
    seconds = time.perf_counter() - t0
    obj = getattr(km, "obj", None)
    inertia = float(obj[-1]) if obj is not None and len(obj) else None
    return seconds, int(niter), inertia


def sklearnex_kmeans(n_threads=None, **params):
    """Return an unfitted ``sklearnex.cluster.KMeans(**params)`` with ``n_threads``."""
    from sklearnex.cluster import KMeans

    return KMeans(n_jobs=n_threads, **params)
