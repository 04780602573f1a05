"""``algorithm="auto"``: which exact algorithm a fit runs, from the problem's shape.

Every choice gives the same labels and iteration count for the same initial
centres (Lloyd's); the choice is about speed only. The cross-overs below were
measured with ``python -m experiments compare`` on a 2-core AVX-512 machine
(docs/performance.md has the table behind them).
"""

#: Fewer clusters than this: Lloyd. With so few centres a sample's distances
#: cost about what keeping its bounds costs.
MIN_BOUNDED_CLUSTERS = 50

#: Fewer samples than this: Lloyd. Short sweeps do not repay the first, full
#: bounded sweep.
MIN_BOUNDED_SAMPLES = 50_000

#: Up to this many clusters Hamerly's two bounds a sample; above it, Yinyang's
#: group bounds prune enough more to pay for their upkeep.
HAMERLY_MAX_CLUSTERS = 200

#: Algorithms that run on CSR input. Hamerly's and Yinyang's kernels take dense
#: samples only (their compacted products are dense BLAS calls).
SPARSE_ALGORITHMS = ("lloyd", "elkan")


def choose_algorithm(
    n_samples: int, n_features: int, n_clusters: int, sparse: bool
) -> str:
    """Return the algorithm ``"auto"`` runs for this problem.

    Parameters
    ----------
    n_samples, n_features, n_clusters : int
        The problem's shape.
    sparse : bool
        Whether the samples are a CSR matrix.

    Returns
    -------
    algorithm : {"lloyd", "hamerly", "yinyang"}
    """
    if sparse or n_clusters < MIN_BOUNDED_CLUSTERS or n_samples < MIN_BOUNDED_SAMPLES:
        return "lloyd"
    if n_clusters <= HAMERLY_MAX_CLUSTERS:
        return "hamerly"
    return "yinyang"
