"""Fitting nbkm or scikit-learn the same way: one constructor, one thread limit."""

from __future__ import annotations

import time

#: The two implementations compared everywhere.
IMPLS = ("nbkm", "sklearn")


def kmeans(lib: str, n_threads: int | None = None, estimator: str = "KMeans", **params):
    """Return an unfitted ``estimator(**params)`` of ``lib`` (``nbkm`` or ``sklearn``).

    ``estimator`` names the class in ``nbkm`` and ``sklearn.cluster`` (``KMeans``
    or ``MiniBatchKMeans``). nbkm takes ``n_threads`` itself; sklearn's threads
    are set by :func:`timed_fit`.
    """
    if lib == "nbkm":
        import nbkm

        return getattr(nbkm, estimator)(n_threads=n_threads, **params)
    import sklearn.cluster

    return getattr(sklearn.cluster, estimator)(**params)


def timed_fit(
    lib: str, X, n_threads: int | None = None, estimator: str = "KMeans", **params
):
    """Fit :func:`kmeans` on ``X``, sklearn's OpenMP and both BLAS at ``n_threads``.

    BLAS is limited for both libraries: scikit-learn's k-means++ (mini-batch fits
    start with it) and anything of nbkm's that calls NumPy's products.

    Returns
    -------
    estimator : KMeans or MiniBatchKMeans
        The fitted estimator.
    seconds : float
        Wall-clock seconds of ``fit`` (``time.perf_counter``).
    """
    from threadpoolctl import threadpool_limits

    est = kmeans(lib, n_threads, estimator, **params)
    limit = n_threads if lib == "sklearn" else None
    with (
        threadpool_limits(limits=n_threads, user_api="blas"),
        threadpool_limits(limits=limit, user_api="openmp"),
    ):
        t0 = time.perf_counter()
        est.fit(X)
        return est, time.perf_counter() - t0
