"""``algorithm="auto"``: which exact algorithm a fit runs, from the problem's shape.

Every choice gives the same labels and iteration count for the same initial
centres (Lloyd's); the choice is about speed only. The cross-overs below were
measured with ``python -m experiments compare`` on a 2-core AVX-512 machine
(docs/performance.md has the table behind them).
"""

from nbkm._bounded import yinyang_groups

#: Fewer clusters than this: Lloyd. With so few centres a sample's distances
#: cost about what keeping its bounds costs.
MIN_BOUNDED_CLUSTERS = 50

#: Fewer samples than this: Lloyd. Short sweeps do not repay the first, full
#: bounded sweep.
MIN_BOUNDED_SAMPLES = 50_000

#: Up to this many clusters Hamerly's two bounds a sample; above it, Yinyang's
#: group bounds prune enough more to pay for their upkeep.
HAMERLY_MAX_CLUSTERS = 200


def choose_algorithm(
    n_samples: int, n_features: int, n_clusters: int, sparse: bool
) -> str:
    """Return the algorithm ``"auto"`` runs for this problem.

    On CSR samples the bounded sweep takes Yinyang's groups from 64 centres on
    (below, one group: Hamerly's bounds): on topic documents its group bounds
    prune as well as or better than Hamerly's at every measured k, and Lloyd
    stays ahead below ``MIN_BOUNDED_CLUSTERS`` (docs/performance.md).

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
    if n_clusters < MIN_BOUNDED_CLUSTERS or n_samples < MIN_BOUNDED_SAMPLES:
        return "lloyd"
    if sparse:
        return "hamerly" if yinyang_groups(n_clusters) == 1 else "yinyang"
    if n_clusters <= HAMERLY_MAX_CLUSTERS:
        return "hamerly"
    return "yinyang"
