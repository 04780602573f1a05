"""Fitting nbkm or scikit-learn the same way: one constructor, one thread limit."""

from __future__ import annotations

import time

#: The two implementations compared everywhere.
IMPLS = ("nbkm", "sklearn")


def kmeans(lib: str, n_threads: int | None = None, **params):
    """Return an unfitted ``KMeans(**params)`` of ``lib`` (``"nbkm"`` or ``"sklearn"``).

    nbkm takes ``n_threads`` itself; sklearn's threads are set by :func:`timed_fit`.
    """
    if lib == "nbkm":
        from nbkm import KMeans

        return KMeans(n_threads=n_threads, **params)
    from sklearn.cluster import KMeans

    return KMeans(**params)


def timed_fit(lib: str, X, n_threads: int | None = None, **params):
    """Fit :func:`kmeans` on ``X``, sklearn's OpenMP limited to ``n_threads``.

    Returns
    -------
    estimator : KMeans
        The fitted estimator.
    seconds : float
        Wall-clock seconds of ``fit`` (``time.perf_counter``).
    """
    from threadpoolctl import threadpool_limits

    est = kmeans(lib, n_threads, **params)
    limit = n_threads if lib == "sklearn" else None
    with threadpool_limits(limits=limit, user_api="openmp"):
        t0 = time.perf_counter()
        est.fit(X)
        return est, time.perf_counter() - t0
