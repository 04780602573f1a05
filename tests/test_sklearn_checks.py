"""scikit-learn's own estimator checks, for KMeans and MiniBatchKMeans.

Two checks are expected to fail, for the reason scikit-learn gives for its own
KMeans: ``check_sample_weight_equivalence_on_{dense,sparse}_data`` fit weighted data and
repeated data, shuffled differently, from a *random* initialisation and compares
labels, which no randomly initialised k-means can satisfy. The marker is strict: if
the check ever passes, the test fails. The property itself is tested exactly, from
a fixed initialisation, in ``test_estimator.py::test_sample_weight_equals_repetition``.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from nbkm import KMeans, MiniBatchKMeans

_REASON = (
    "random initialisation: sample_weight is not equivalent to removing or "
    "repeating samples (scikit-learn marks the same for its KMeans)"
)
SKLEARNS_OWN_KMEANS_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": _REASON,
    "check_sample_weight_equivalence_on_sparse_data": _REASON,
}


@parametrize_with_checks(
    [
        KMeans(),
        KMeans(algorithm="elkan"),
        KMeans(algorithm="hamerly"),
        KMeans(algorithm="yinyang"),
        MiniBatchKMeans(),
    ],
    expected_failed_checks=lambda est: SKLEARNS_OWN_KMEANS_EXPECTED_FAILURES,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
