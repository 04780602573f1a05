"""The datasets of nbkm's timings, for asv, ``experiments compare`` and anyone.

Every dataset comes from a fixed seed and must never change, only be appended
to: a changed dataset makes the committed timing history meaningless. Dense
kinds (:data:`KINDS`) and sparse ones (:data:`SPARSE_KINDS`) are made by
:func:`make_data`. This module imports neither nbkm nor asv.

``NBKM_BENCH_SMOKE=1`` shrinks the cached datasets of the asv suite (to at most
:data:`SMOKE_MAX_SAMPLES` samples): only for checking that every benchmark runs.
"""

import functools
import os

import numpy as np

#: Largest sample count of any dataset in smoke mode.
SMOKE_MAX_SAMPLES = 500
#: The dense data kinds of the whole-fit comparison, in the order of tables and
#: figures: well separated Gaussian blobs, blobs that touch, uniform noise (no
#: clusters at all, the hardest case for bound-based pruning), and digits enlarged
#: by one-pixel shifts (real, high-dimensional, moderately clustered).
KINDS = ("separated", "overlapping", "uniform", "digits")
#: Sparse data kinds (CSR; ``d`` is the vocabulary): TF-IDF-like topic documents
#: (:func:`topic_documents`). Not in the default grids: chosen by name.
SPARSE_KINDS = ("documents",)
#: Topics and words a document of the ``documents`` kind.
DOCUMENT_TOPICS, DOCUMENT_WORDS = 50, 60
#: Width of each blob relative to the median distance from a centre to its nearest
#: other centre: 1/20 leaves the blobs far apart, 1/4 makes neighbours touch (their
#: centres are 4 standard deviations apart along the line that joins them).
BLOB_STD = {"separated": 1 / 20, "overlapping": 1 / 4}
#: Standard deviation of the noise added to the enlarged digits (pixels are 0..16).
DIGITS_NOISE = 0.5


def smoke():
    """Whether smoke mode is on (``NBKM_BENCH_SMOKE`` set and not ``0``)."""
    return os.environ.get("NBKM_BENCH_SMOKE", "") not in ("", "0")


def n_samples(n):
    """Return the sample count of a dataset: ``n``, or a small one in smoke mode."""
    return min(int(n), SMOKE_MAX_SAMPLES) if smoke() else int(n)


def draw_gaussian(n, d, dtype, seed=0):
    """Return standard normal samples of shape ``(n, d)``, drawn in float64, cast.

    Not cached and not shrunk: for one-off uses that must not keep the array.
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(n), int(d))).astype(dtype, copy=False)


def gaussian(n, d, dtype, seed=0):
    """Return the cached Gaussian dataset of the suite (``n`` shrunk in smoke mode).

    Parameters
    ----------
    n, d : int
        Samples and features.
    dtype : str
        ``"float32"`` or ``"float64"``.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : ndarray of shape (n, d), C-contiguous, read-write
    """
    return _gaussian(n_samples(n), int(d), dtype, seed)


_gaussian = functools.lru_cache(maxsize=4)(draw_gaussian)


def sparse_tfidf_like(n, d, density, seed=0):
    """Return a TF-IDF-like CSR matrix: uniform values at random positions.

    Parameters
    ----------
    n, d : int
        Samples and features (``n`` is shrunk in smoke mode).
    density : float
        Fraction of stored values.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n, d), float64
    """
    return _sparse(n_samples(n), int(d), float(density), seed)


@functools.lru_cache(maxsize=2)
def _sparse(n, d, density, seed):
    import scipy.sparse as sp

    return sp.random(
        n, d, density=density, format="csr", random_state=np.random.default_rng(seed)
    )


def topic_documents(n, vocabulary, topics, words=DOCUMENT_WORDS, seed=0):
    """Return bag-of-words documents of ``topics`` topics as a TF-IDF-like CSR matrix.

    Each topic draws its word probabilities from Dirichlet(0.05) over the
    vocabulary (a few dozen words carry most of a topic), each document picks a
    topic and ``words`` words from it; counts become ``log1p`` and rows are
    L2-normalised. Unlike :func:`sparse_tfidf_like` the rows have clusters, so
    fits run tens of iterations, and most documents share no word with most
    centres (exact ties of ``||c||^2``).

    Parameters
    ----------
    n, vocabulary, topics, words : int
        Documents, features, topics, words a document.
    seed : int, default=0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    X : scipy.sparse.csr_matrix of shape (n, vocabulary), float64
    """
    import scipy.sparse as sp

    n, words = int(n), int(words)
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(int(vocabulary), 0.05), size=int(topics))
    topic = rng.integers(int(topics), size=n)
    cols = np.empty((n, words), dtype=np.int64)
    for t in range(int(topics)):
        rows = np.flatnonzero(topic == t)
        cols[rows] = rng.choice(int(vocabulary), size=(rows.size, words), p=probs[t])
    indptr = np.arange(0, n * words + 1, words)
    X = sp.csr_matrix(
        (np.ones(n * words), cols.ravel(), indptr), shape=(n, int(vocabulary))
    )
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / norms) @ X)
    X.sum_duplicates()  # canonical, as a vectorizer's output is
    return X


def digits(dtype="float64"):
    """Return scikit-learn's digits (1797 x 64, fewer in smoke mode) and labels."""
    return _digits(n_samples(1797), dtype)


@functools.lru_cache(maxsize=2)
def _digits(n, dtype):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return np.ascontiguousarray(X[:n], dtype=dtype), y[:n]


def _rng(kind, n, d, k, seed):
    """One seeded generator per (kind, shape, seed): no two datasets share draws."""
    return np.random.default_rng([int(seed), KINDS.index(kind), int(n), int(d), int(k)])


def _fill(out, draw, rows=65_536):
    """Fill ``out`` block by block from ``draw(start, stop)`` (float64, then cast).

    Drawing in float64 and casting gives float32 data equal to the float64 data
    rounded, and blocks keep the float64 temporary small at n = 1e6.
    """
    for start in range(0, len(out), rows):
        stop = min(start + rows, len(out))
        out[start:stop] = draw(start, stop)
    return out


def blobs(n, d, k, dtype, seed=0, std=BLOB_STD["separated"]):
    """Return ``n`` samples around ``k`` Gaussian centres, and their blob indices.

    The centres are standard normal in ``d`` dimensions; each blob is isotropic
    with standard deviation ``std`` times the median distance between a centre and
    its nearest other centre; samples take a blob uniformly at random.

    Parameters
    ----------
    n, d, k : int
        Samples, features, blobs.
    dtype : str
        ``"float32"`` or ``"float64"``.
    seed : int, default=0
        Seed.
    std : float, default=BLOB_STD["separated"]
        Blob width relative to the median nearest-centre distance.

    Returns
    -------
    X : ndarray of shape (n, d)
    blob : ndarray of int of shape (n,)
    """
    kind = "overlapping" if std == BLOB_STD["overlapping"] else "separated"
    rng = _rng(kind, n, d, k, seed)
    centers = rng.standard_normal((int(k), int(d)))
    if k > 1:
        sq = (centers**2).sum(1)
        dist2 = sq[:, None] + sq[None, :] - 2 * centers @ centers.T
        np.fill_diagonal(dist2, np.inf)
        scale = std * float(np.median(np.sqrt(np.maximum(dist2.min(1), 0))))
    else:
        scale = std
    blob = rng.integers(0, k, size=int(n))
    X = np.empty((int(n), int(d)), dtype=dtype)
    return _fill(
        X, lambda a, b: centers[blob[a:b]] + scale * rng.standard_normal((b - a, d))
    ), blob


def uniform(n, d, dtype, seed=0):
    """Return ``n`` samples uniform in the unit cube of ``d`` dimensions."""
    rng = _rng("uniform", n, d, 0, seed)
    X = np.empty((int(n), int(d)), dtype=dtype)
    return _fill(X, lambda a, b: rng.random((b - a, d)))


def nudge(images):
    """Return the images and their four one-pixel shifts (up, down, left, right).

    What scikit-learn's RBM example (``nudge_dataset``) does with
    ``scipy.ndimage.convolve``: each 8 x 8 image moved by one pixel, the pixels
    moved in being 0. Slicing gives the same arrays without SciPy.

    Parameters
    ----------
    images : ndarray of shape (m, 64)
        Flattened 8 x 8 images.

    Returns
    -------
    nudged : ndarray of shape (5 * m, 64)
        The originals, then the shifts in the example's order: the content moved
        up, left, right, down (its convolution takes each pixel from the one
        below, right, left, above).
    """
    img = np.asarray(images).reshape(-1, 8, 8)
    out = [img]
    for axis, step in ((1, -1), (2, -1), (2, 1), (1, 1)):
        moved = np.zeros_like(img)
        src = [slice(None)] * 3
        dst = [slice(None)] * 3
        src[axis] = slice(None, -1) if step > 0 else slice(1, None)
        dst[axis] = slice(1, None) if step > 0 else slice(None, -1)
        moved[tuple(dst)] = img[tuple(src)]
        out.append(moved)
    return np.concatenate(out).reshape(-1, 64)


@functools.lru_cache(maxsize=1)
def _nudged_digits():
    from sklearn.datasets import load_digits

    nudged = nudge(load_digits().data)
    nudged.flags.writeable = False  # cached: shared by every caller
    return nudged


def digits_like(n, d, dtype, seed=0, noise=DIGITS_NOISE):
    """Return digits enlarged to ``n`` samples: one-pixel shifts plus small noise.

    scikit-learn's 1797 digits and their four shifts (:func:`nudge`) give 8985
    distinct images; sample ``i`` is image ``perm[i % 8985]`` (a seeded
    permutation, so that the first ``k`` samples, the initial centres, mix
    originals and shifts) plus Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    n : int
        Samples.
    d : int
        Features. The digits have 64; for another ``d`` the samples are projected
        by a fixed seeded Gaussian matrix of shape (64, d) scaled by
        ``1 / sqrt(d)`` (a random projection keeps the cluster structure roughly).
    dtype : str
        ``"float32"`` or ``"float64"``.
    seed : int, default=0
        Seed of the permutation, the noise and the projection.
    noise : float, default=DIGITS_NOISE
        Standard deviation of the noise (0: exact copies of the shifted images).

    Returns
    -------
    X : ndarray of shape (n, d)
    """
    images = _nudged_digits()
    rng = _rng("digits", n, d, 0, seed)
    rows = rng.permutation(len(images))[np.arange(int(n)) % len(images)]
    project = None
    if d != 64:
        project = rng.standard_normal((64, int(d))) / np.sqrt(d)

    def draw(a, b):
        block = images[rows[a:b]] + noise * rng.standard_normal((b - a, 64))
        return block if project is None else block @ project

    return _fill(np.empty((int(n), int(d)), dtype=dtype), draw)


def make_data(kind, n, d, k, dtype, seed=0):
    """Return the dataset of one whole-fit cell, deterministic in all arguments.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS` or :data:`SPARSE_KINDS`.
    n, d, k : int
        Samples, features, clusters (the blob kinds draw ``k`` blobs; the others
        do not depend on ``k``).
    dtype : str
        ``"float32"`` or ``"float64"`` (float32 data is the float64 data rounded).
    seed : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n, d), C-contiguous, or CSR matrix for a sparse kind
    """
    if kind == "documents":  # the topic documents of docs/performance.md (seed 0)
        X = topic_documents(n, d, DOCUMENT_TOPICS, seed=seed)
        return X.astype(dtype, copy=False)
    if kind in BLOB_STD:
        return blobs(n, d, k, dtype, seed, BLOB_STD[kind])[0]
    if kind == "uniform":
        return uniform(n, d, dtype, seed)
    if kind == "digits":
        return digits_like(n, d, dtype, seed)
    raise ValueError(f"kind must be one of {KINDS + SPARSE_KINDS}, got {kind!r}")


def kind_data(kind, n, d, k, dtype, seed=0):
    """Return the cached dataset of the asv suite (``n`` shrunk in smoke mode)."""
    return _kind_data(kind, n_samples(n), int(d), int(k), dtype, seed)


_kind_data = functools.lru_cache(maxsize=4)(make_data)
