import numpy as np
from sklearn.cluster import KMeans as SKKMeans

from nbkm import KMeans


def test_blobs_match_sklearn_given_same_init():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.5, (50, 2)) for c in (0, 5, 10)])
    init = X[[0, 60, 120]] + 0.1
    ours = KMeans(3, init=init, n_init=1).fit(X)
    ref = SKKMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
