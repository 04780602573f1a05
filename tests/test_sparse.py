"""nbkm.KMeans on scipy.sparse input, against sklearn and against its own dense path."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans as SKKMeans
from sklearn.cluster import kmeans_plusplus as sk_kmeans_plusplus
from sklearn.feature_extraction.text import TfidfVectorizer

from nbkm import KMeans, kmeans_plusplus

RTOL = {np.float32: 1e-4, np.float64: 1e-6}
#: Every algorithm runs on CSR; the bounded ones give Lloyd's result bit for bit.
ALGORITHMS = ["lloyd", "elkan", "hamerly", "yinyang", "auto"]


def _sklearn_algorithm(algorithm):
    """scikit-learn's algorithm to compare with: its elkan, else its lloyd."""
    return "elkan" if algorithm == "elkan" else "lloyd"


def _sparse_blobs(seed, n=800, d=60, k=6, density=0.15, dtype=np.float64):
    rng = np.random.default_rng(seed)
    means = rng.uniform(0, 5, size=(k, d)) * (rng.uniform(size=(k, d)) < 0.3)
    which = rng.integers(0, k, size=n)
    X = means[which] + rng.normal(scale=0.5, size=(n, d))
    X[rng.uniform(size=(n, d)) > density] = 0.0
    return sp.csr_matrix(X.astype(dtype))


def _tfidf_corpus(seed, n_docs=300):
    """TF-IDF of documents from 4 topics, each with its own words, plus shared ones."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{t}w{w}" for w in range(40)] for t in range(4)]
    shared = [f"common{w}" for w in range(30)]
    docs = []
    for _ in range(n_docs):
        topic = topics[rng.integers(4)]
        words = list(rng.choice(topic, size=rng.integers(8, 20)))
        words += list(rng.choice(shared, size=rng.integers(2, 8)))
        docs.append(" ".join(words))
    return TfidfVectorizer().fit_transform(docs).tocsr()


def _assert_same_fit(ours, ref, dtype):
    assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert_allclose(ours.inertia_, ref.inertia_, rtol=RTOL[dtype])
    assert_allclose(
        ours.cluster_centers_, ref.cluster_centers_, rtol=RTOL[dtype], atol=RTOL[dtype]
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("tol", [0.0, 1e-4])
def test_same_init_gives_sklearns_result_on_sparse_blobs(
    algorithm, weighted, dtype, tol
):
    X = _sparse_blobs(0, dtype=dtype)
    init = X[:6].toarray() + 0.01
    sw = np.random.default_rng(1).uniform(0.5, 2, X.shape[0]) if weighted else None
    params = dict(n_clusters=6, init=init, n_init=1, tol=tol)
    _assert_same_fit(
        KMeans(**params, algorithm=algorithm).fit(X, sample_weight=sw),
        SKKMeans(**params, algorithm=_sklearn_algorithm(algorithm)).fit(
            X, sample_weight=sw
        ),
        dtype,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_seed_gives_sklearns_result_on_tfidf(algorithm, seed):
    X = _tfidf_corpus(seed)
    params = dict(n_clusters=4, n_init=3, random_state=seed)
    ours = KMeans(**params, algorithm=algorithm).fit(X)
    ref = SKKMeans(**params, algorithm=_sklearn_algorithm(algorithm))
    ref.fit(X)
    _assert_same_fit(ours, ref, np.float64)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_array_equal(ours.labels_, ours.predict(X))
    assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-6, atol=1e-8)
    assert_allclose(ours.score(X), ref.score(X), rtol=1e-9)


def _disjoint_topic_documents(seed, n_docs=3000, n_topics=30, vocabulary=600):
    """L2-normalised documents of topics with few words each: most documents
    share no word with most centres, so their distances to those centres are
    ``||c||^2`` exactly, and ties are broken by how the norms were rounded."""
    rng = np.random.default_rng(seed)
    word_probs = rng.dirichlet(np.full(vocabulary, 0.05), size=n_topics)
    topic = rng.integers(n_topics, size=n_docs)
    words = np.stack([rng.choice(vocabulary, size=20, p=word_probs[t]) for t in topic])
    X = sp.csr_matrix(
        (np.ones(words.size), words.ravel(), np.arange(0, words.size + 1, 20)),
        shape=(n_docs, vocabulary),
    )
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    return sp.csr_matrix(sp.diags(1 / np.sqrt(X.multiply(X).sum(axis=1).A1)) @ X)


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly", "yinyang"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_norm_ties_on_sparse_documents_break_as_sklearns(seed, algorithm):
    X = _disjoint_topic_documents(seed)
    init = X[:30].toarray()
    # Many samples share no word with several initial centres.
    assert np.mean((X @ init.T) == 0) > 0.5
    params = dict(n_clusters=30, init=init, n_init=1)
    ours = KMeans(**params, algorithm=algorithm).fit(X)
    ref = SKKMeans(**params, algorithm="lloyd").fit(X)
    assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-10)


def test_kmeans_plusplus_picks_sklearns_samples_on_sparse():
    X = _tfidf_corpus(5)
    centers, idx = kmeans_plusplus(X, 6, random_state=3)
    _, ref_idx = sk_kmeans_plusplus(X, 6, random_state=3)
    assert_array_equal(idx, ref_idx)
    assert isinstance(centers, np.ndarray)
    assert_array_equal(centers, X[idx].toarray())


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sparse_and_dense_input_give_the_same_clustering(algorithm):
    X = _sparse_blobs(4)
    init = X[:6].toarray() + 0.01
    on_sparse = KMeans(6, init=init, n_init=1, algorithm=algorithm).fit(X)
    on_dense = KMeans(6, init=init, n_init=1, algorithm=algorithm).fit(X.toarray())
    assert_array_equal(on_sparse.labels_, on_dense.labels_)
    assert_allclose(on_sparse.cluster_centers_, on_dense.cluster_centers_, atol=1e-10)
    assert_allclose(on_sparse.inertia_, on_dense.inertia_, rtol=1e-9)


@pytest.mark.parametrize(
    "convert", [sp.csr_array, sp.csc_matrix, sp.coo_matrix, sp.lil_matrix]
)
def test_other_sparse_formats_are_converted(convert):
    X = _sparse_blobs(6)
    init = X[:6].toarray() + 0.01
    ref = KMeans(6, init=init, n_init=1).fit(X)
    km = KMeans(6, init=init, n_init=1).fit(convert(X))
    assert_array_equal(km.labels_, ref.labels_)
    assert_array_equal(km.predict(convert(X)), ref.labels_)


def test_unsorted_and_duplicate_indices_mean_what_scipy_says_they_mean():
    X = _sparse_blobs(7, n=300)
    init = X[:6].toarray() + 0.01
    ref = KMeans(6, init=init, n_init=1).fit(X)
    # The same matrix with each row's entries reversed and every value split into
    # two stored halves (duplicate indices).
    data, cols = [], []
    for i in range(X.shape[0]):
        start, end = X.indptr[i], X.indptr[i + 1]
        for v, c in zip(
            X.data[start:end][::-1], X.indices[start:end][::-1], strict=True
        ):
            cols += [c, c]
            data += [v / 2, v / 2]
    odd = sp.csr_matrix(
        (
            np.array(data),
            np.array(cols, dtype=np.int32),
            np.r_[0, np.cumsum(np.diff(X.indptr) * 2)].astype(np.int32),
        ),
        shape=X.shape,
    )
    assert not odd.has_canonical_format
    snapshot = (odd.data.copy(), odd.indices.copy(), odd.indptr.copy())
    km = KMeans(6, init=init, n_init=1).fit(odd)
    assert_array_equal(km.labels_, ref.labels_)
    assert_allclose(km.inertia_, ref.inertia_, rtol=1e-12)
    for before, after in zip(
        snapshot, (odd.data, odd.indices, odd.indptr), strict=True
    ):
        assert_array_equal(before, after)  # canonicalised on a copy


@pytest.mark.parametrize(
    "bad, match",
    [
        (sp.csr_matrix(np.array([[1.0, np.nan], [0.0, 1.0]])), "NaN"),
        (sp.csr_matrix(np.array([[1.0, np.inf], [0.0, 1.0]])), "infinity"),
        (sp.csr_matrix((0, 3)), "0 sample"),
    ],
)
def test_bad_sparse_input_raises_value_error(bad, match):
    with pytest.raises(ValueError, match=match):
        KMeans(1).fit(bad)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sparse_results_do_not_depend_on_the_thread_count(algorithm):
    X = _sparse_blobs(8, n=3000)
    fits = [
        KMeans(6, n_init=2, random_state=0, n_threads=t, algorithm=algorithm).fit(X)
        for t in (1, 2)
    ]
    assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    assert fits[0].inertia_ == fits[1].inertia_


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
def test_strict_stop_on_csr_keeps_the_last_labels_as_predicts(algorithm):
    from nbkm._assign import assign_labels
    from nbkm._bounded import hamerly_single
    from nbkm._lloyd import lloyd_single
    from nbkm._samples import Samples

    single = {"lloyd": lloyd_single, "hamerly": hamerly_single}[algorithm]
    X = _sparse_blobs(10, n=2000)
    samples = Samples.of(X)
    init = X[:6].toarray() + 0.01
    run = single(samples, np.ones(X.shape[0]), init, 300, 0.0)
    assert run.n_iter < 300  # a strict stop
    # No labels-only pass was needed: the last sweep's labels are predict's.
    assert run.labels_final
    assert_array_equal(run.labels, assign_labels(samples, run.centers))
    # Dense samples are centred, predict's are not: there the pass stays.
    dense = Samples.of(X.toarray(), centre=True)
    dense_run = lloyd_single(dense, np.ones(X.shape[0]), init - dense.x_mean, 300, 0.0)
    assert not dense_run.labels_final
