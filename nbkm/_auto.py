"""``algorithm="auto"``: which exact algorithm a fit runs, from the problem's shape.

Every choice gives the same labels and iteration count for the same initial
centres (Lloyd's); the choice is about speed only. The cross-overs below were
measured with ``python -m experiments compare`` on a 2-core AVX-512 machine
(docs/performance.md has the table behind them).
"""

#: Up to this many clusters, Hamerly's two bounds a sample prune as well as
#: Yinyang's group bounds and cost less; above it, Yinyang's groups win.
HAMERLY_MAX_CLUSTERS = 20

#: Below this many sample-centre pairs an iteration is too short for bounds to
#: pay for their upkeep: Lloyd's fused sweep is as fast.
MIN_BOUNDED_PAIRS = 1 << 12

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
    if sparse or n_clusters == 1 or n_samples * n_clusters < MIN_BOUNDED_PAIRS:
        return "lloyd"
    if n_clusters <= HAMERLY_MAX_CLUSTERS:
        return "hamerly"
    return "yinyang"
