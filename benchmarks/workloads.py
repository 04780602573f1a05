"""The timing workloads of nbkm, defined once for asv and for ``experiments compare``.

The grids (shapes, threads, iterations) and the parameters of each kind of fit;
the datasets are in ``benchmarks/data.py``. A *fixed workload* makes two k-means
implementations do the same work: explicit initial centres (the first ``k``
samples), ``n_init=1``, ``tol=0`` and a fixed ``max_iter``, on standard normal
data, on which Lloyd's iterations keep moving labels for more than 40 iterations
(so no fit can stop early and look fast). Mini-batch fits are fixed by turning off
both of their early stops (:func:`minibatch_fit`). Grids may grow; a changed
workload makes the committed timing history meaningless. This module imports
neither nbkm nor asv.

``NBKM_BENCH_SMOKE=1`` shrinks the iteration counts (:func:`n_iterations`).
"""

from benchmarks.data import (
    KINDS,
    smoke,
)

#: Threads given to both implementations (nbkm's ``n_threads``, threadpoolctl for
#: scikit-learn's OpenMP and BLAS). Fixed so that the history stays comparable.
N_THREADS = 2
#: Iterations of every timed fit of the asv suite (seconds per iteration = time /
#: MAX_ITER).
MAX_ITER = 20
#: Largest sample count of any dataset in smoke mode.

#: The shape grid of the asv suite's Lloyd and Elkan iterations.
GRID = {
    "n": [10_000, 100_000],
    "d": [16, 64],
    "k": [10, 100],
    "dtype": ["float32", "float64"],
}
#: The full grid of ``python -m experiments compare`` (k <= n only).
FULL_GRID = {
    "n": [10_000, 100_000, 1_000_000],
    "d": [16, 64],
    "k": [10, 100, 1000],
    "dtype": ["float64", "float32"],
}
#: The large single shape, where scikit-learn is furthest from the GEMM ceiling.
LARGE = {"n": 1_000_000, "d": 64, "k": 10}
#: The TF-IDF-like sparse case.
SPARSE = {"n": 100_000, "d": 20_000, "density": 0.005, "k": 20}
#: The peak-memory fit of the asv suite.
PEAK_MEMORY = {"n": 1_000_000, "d": 16, "k": 100}
#: ``predict`` and k-means++ shapes of the asv suite.
PREDICT = {"n": 100_000, "d": 64, "k": [10, 100]}
KMEANS_PLUSPLUS = {"n": 100_000, "d": 16, "k": [10, 100]}


def n_iterations(max_iter):
    """Return a fixed iteration count: ``max_iter``, or 2 in smoke mode."""
    return min(int(max_iter), 2) if smoke() else int(max_iter)


def shapes(grid):
    """List the ``(n, d, k, dtype)`` shapes of a grid, dtype first, ``k <= n``."""
    return [
        (n, d, k, dtype)
        for dtype in grid["dtype"]
        for n in grid["n"]
        for d in grid["d"]
        for k in grid["k"]
        if k <= n
    ]


def initial_centers(X, k):
    """Return the fixed workload's initial centres: the first ``k`` samples, dense."""
    first = X[:k]
    return first.toarray() if hasattr(first, "toarray") else first.copy()


def fixed_workload(X, k, max_iter, algorithm="lloyd"):
    """Return the KMeans parameters of a fixed workload on ``X``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        The data.
    k : int
        Clusters.
    max_iter : int
        Iterations every fit runs (``tol=0``).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Algorithm.

    Returns
    -------
    params : dict
        Keyword arguments shared by ``nbkm.KMeans`` and ``sklearn.cluster.KMeans``.
    """
    return {
        "n_clusters": int(k),
        "init": initial_centers(X, k),
        "n_init": 1,
        "max_iter": int(max_iter),
        "tol": 0.0,
        "algorithm": algorithm,
    }


# ------------------------------------------------------------------- whole fits

#: nbkm's algorithms known to the asv suite (a fixed list, since asv keys its history
#: on parameter values; those missing at a commit are skipped there). The compare
#: experiment asks nbkm instead (:func:`supported_algorithms`).
ALGORITHMS = ("auto", "lloyd", "elkan", "hamerly", "yinyang")
#: Whole fits, as users run them: explicit initial centres (the first k samples),
#: ``n_init=1``, each implementation's default ``tol`` and ``max_iter=300``.
WHOLE_FIT_MAX_ITER = 300
#: The target grid of ``python -m experiments compare`` (whole fits), and the kinds.
WHOLE_FIT_GRID = {**FULL_GRID, "kind": list(KINDS)}
#: The modest shape of the asv suite's whole fits.
WHOLE_FIT_ASV = {"n": 20_000, "d": 16, "k": 100}
#: The grid of ``python -m experiments compare --kind documents`` when no size is
#: given: TF-IDF topic documents (``benchmarks/data.py``; ``d`` is the
#: vocabulary) at 1e5 and 1e6 documents, two vocabularies, k from 10 to 1000.
DOCUMENTS_GRID = {
    "n": [100_000, 1_000_000],
    "d": [5_000, 50_000],
    "k": [10, 50, 200, 1000],
    "dtype": ["float64"],
}
#: The modest shape of the asv suite's fits on topic documents.
DOCUMENTS_ASV = {"n": 20_000, "d": 5_000, "k": 50}
#: The one cell whose peak extra memory ``compare --memory`` measures by default.
MEMORY = {"n": 1_000_000, "d": 64, "k": 1000}


def supported_algorithms(estimator_class):
    """Return the algorithm names an estimator class accepts, known ones first.

    Read from scikit-learn-style ``_parameter_constraints["algorithm"]`` (strings or
    ``StrOptions``), so that an algorithm added to nbkm shows up here without an
    edit. This module does not import nbkm: the caller passes ``nbkm.KMeans``.

    Parameters
    ----------
    estimator_class : type
        A KMeans class.

    Returns
    -------
    names : list of str
        :data:`ALGORITHMS` order first, then any other name sorted.
    """
    names = set()
    constraints = getattr(estimator_class, "_parameter_constraints", {})
    for constraint in constraints.get("algorithm", []):
        if isinstance(constraint, str):
            names.add(constraint)
        names.update(getattr(constraint, "options", ()))
    names = {name for name in names if isinstance(name, str)}
    return [a for a in ALGORITHMS if a in names] + sorted(names - set(ALGORITHMS))


def whole_fit(X, k):
    """Return the KMeans parameters of a whole fit on ``X`` (no algorithm, no tol).

    Explicit initial centres (the first ``k`` samples), ``n_init=1`` and
    ``max_iter=WHOLE_FIT_MAX_ITER``; ``tol`` stays each implementation's default.
    """
    return {
        "n_clusters": int(k),
        "init": initial_centers(X, k),
        "n_init": 1,
        "max_iter": WHOLE_FIT_MAX_ITER,
    }


# ------------------------------------------------------------------ mini-batch k-means

#: The step of the asv suite's mini-batch benchmark: ``partial_fit`` on one batch of
#: ``batch_size`` standard normal samples, ``k`` centres.
MINIBATCH_STEP = {"batch_size": 1024, "d": [16, 64], "k": 100}
#: The whole mini-batch fit of the asv suite: ``max_iter`` epochs of ``batch_size``
#: steps on ``n`` standard normal samples (:func:`minibatch_fit`).
MINIBATCH_FIT = {
    "n": 100_000,
    "d": 16,
    "k": [10, 100],
    "batch_size": 1024,
    "max_iter": 3,
}
#: The grid of ``python -m experiments compare --minibatch``.
MINIBATCH_GRID = {
    "n": [1_000_000],
    "d": [16, 64],
    "k": [10, 100, 1000],
    "batch_size": [1024, 8192],
    "dtype": ["float32", "float64"],
}
#: Epochs of every fit of ``compare --minibatch`` (``--max-iter``).
MINIBATCH_MAX_ITER = 2


def minibatch_fit(k, batch_size, max_iter, random_state=0):
    """Return the MiniBatchKMeans parameters of a fixed number of steps.

    ``tol=0`` and ``max_no_improvement=None`` turn off both early stops, so a fit
    of ``n`` samples runs exactly ``max_iter * n // batch_size`` steps
    (``n_steps_``). The centres come from k-means++ on the default ``init_size``
    samples, one init (``n_init=1``, what ``"auto"`` gives for k-means++); both
    implementations draw the same samples and batches from ``random_state``.

    Parameters
    ----------
    k, batch_size, max_iter : int
        Clusters, samples a step, epochs.
    random_state : int, default=0
        Seed of the init, the batches and the reassignments.

    Returns
    -------
    params : dict
        Keyword arguments shared by ``nbkm.MiniBatchKMeans`` and
        ``sklearn.cluster.MiniBatchKMeans``.
    """
    return {
        "n_clusters": int(k),
        "batch_size": int(batch_size),
        "max_iter": int(max_iter),
        "tol": 0.0,
        "max_no_improvement": None,
        "n_init": 1,
        "random_state": int(random_state),
    }


def minibatch_n_steps(n, batch_size, max_iter):
    """Return the steps of a :func:`minibatch_fit` on ``n`` samples (scikit-learn's)."""
    return int(max_iter) * int(n) // min(int(batch_size), int(n))


def minibatch_cells(grid):
    """List the ``(n, d, k, batch_size, dtype)`` cells of a grid, ``k <= n``."""
    return [
        (n, d, k, batch_size, dtype)
        for n, d, k, dtype in shapes(grid)
        for batch_size in grid["batch_size"]
    ]
