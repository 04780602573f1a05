"""Numba kernels of nbkm, and the pool that runs the block-range ones.

Module-level ``@njit(cache=True)`` functions, plus the Python functions that run
the block-range ones on nbkm's threads (``_pool.py``).

Nothing here validates input or reads options: the drivers (``nbkm._lloyd``,
``nbkm._elkan``, ``nbkm._init``) pass C-contiguous arrays of one float dtype, int32
labels, and samples either as a dense 2-D array or as a CSR triple
``(data, indices, indptr)`` (see ``_rows.py``).
"""

from nbkm._kernels._blocks import (
    block_bounds,
    block_column_sums,
    column_means,
    column_sums_by_block,
    column_variances,
    fits_partial_sums,
    fold_blocks,
    rows_per_block,
    squared_deviation_sums_by_block,
    weighted_sums_by_block,
    weighted_total,
)
from nbkm._kernels._centers import (
    accumulate_by_cluster,
    average_centers,
    center_shifts,
    group_by_label,
    half_center_distances,
    move_samples_to_empty_clusters,
    reduce_partials,
)
from nbkm._kernels._dense import candidate_potentials_dense, lloyd_step_dense
from nbkm._kernels._distances import (
    distances_to_assigned,
    euclidean_to_centers,
    inertia_by_block,
)
from nbkm._kernels._elkan import elkan_init_bounds, elkan_shift_bounds, elkan_step
from nbkm._kernels._minibatch import (
    batch_labels_dense,
    batch_labels_sparse,
    move_batch_centers,
)
from nbkm._kernels._plusplus import candidate_potentials
from nbkm._kernels._sparse import (
    accumulate_by_feature_range,
    nearest_centers_sparse,
)

__all__ = [
    "accumulate_by_cluster",
    "accumulate_by_feature_range",
    "average_centers",
    "batch_labels_dense",
    "batch_labels_sparse",
    "block_bounds",
    "candidate_potentials",
    "column_means",
    "block_column_sums",
    "column_sums_by_block",
    "column_variances",
    "candidate_potentials_dense",
    "center_shifts",
    "distances_to_assigned",
    "elkan_init_bounds",
    "elkan_shift_bounds",
    "elkan_step",
    "euclidean_to_centers",
    "fits_partial_sums",
    "fold_blocks",
    "group_by_label",
    "half_center_distances",
    "inertia_by_block",
    "lloyd_step_dense",
    "move_batch_centers",
    "move_samples_to_empty_clusters",
    "nearest_centers_sparse",
    "reduce_partials",
    "rows_per_block",
    "squared_deviation_sums_by_block",
    "weighted_sums_by_block",
    "weighted_total",
]
