"""How samples are split into blocks for parallel, deterministic reductions.

Every parallel kernel walks the samples in ``n_blocks`` contiguous blocks whose
boundaries depend only on ``n_samples``, never on the thread count. A kernel that
sums over samples gives each block its own partial buffer and the partials are
then reduced serially in block order, so results are bitwise identical whatever
the number of threads.
"""

import numpy as np

#: Fewest samples a block holds (sklearn's chunk size, for similar granularity).
MIN_BLOCK_ROWS = 256

#: Most blocks, whatever the data size. Bounds the partial-sum memory at
#: ``MAX_BLOCKS * n_clusters * n_features`` and leaves work for up to this many
#: threads.
MAX_BLOCKS = 32

#: Most values the per-block partial sums may hold (``n_blocks * n_clusters *
#: n_features``): 32 MiB in float64. Past it, runs sum each cluster in one parallel
#: task instead (see ``nbkm._em.Sweep``), so memory stays O(n + k * d) for wide
#: data such as TF-IDF matrices.
PARTIAL_SUMS_BUDGET = 1 << 22


def block_bounds(n_samples: int) -> np.ndarray:
    """Return the sample index at which each block starts, plus ``n_samples``.

    Parameters
    ----------
    n_samples : int
        Number of samples to split.

    Returns
    -------
    bounds : ndarray of int64, shape (n_blocks + 1,)
        Block ``b`` covers samples ``bounds[b]:bounds[b + 1]``. ``n_blocks`` is
        at least 1 and depends on ``n_samples`` only.
    """
    n_blocks = max(1, min(MAX_BLOCKS, -(-n_samples // MIN_BLOCK_ROWS)))
    return (np.arange(n_blocks + 1, dtype=np.int64) * n_samples) // n_blocks


def fits_partial_sums(n_blocks: int, n_clusters: int, n_features: int) -> bool:
    """Whether per-block partial sums of this size stay within the memory budget."""
    return n_blocks * n_clusters * n_features <= PARTIAL_SUMS_BUDGET
