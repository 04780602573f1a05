"""Numba kernels of nbkm: module-level ``@njit(cache=True)`` functions only.

Nothing here validates input or reads options: the drivers (``nbkm._lloyd``,
``nbkm._elkan``, ``nbkm._init``) pass C-contiguous arrays of one float dtype and
int32 labels.
"""

from nbkm._kernels._blocks import block_bounds
from nbkm._kernels._centers import (
    average_centers,
    center_shifts,
    half_center_distances,
    move_samples_to_empty_clusters,
    prepare_centers,
    reduce_partials,
)
from nbkm._kernels._dense import (
    distances_to_assigned_dense,
    euclidean_to_centers_dense,
    inertia_dense,
    lloyd_step_dense,
)
from nbkm._kernels._elkan import (
    elkan_init_bounds_dense,
    elkan_shift_bounds,
    elkan_step_dense,
)
from nbkm._kernels._plusplus import candidate_potentials

__all__ = [
    "average_centers",
    "block_bounds",
    "candidate_potentials",
    "center_shifts",
    "distances_to_assigned_dense",
    "elkan_init_bounds_dense",
    "elkan_shift_bounds",
    "elkan_step_dense",
    "euclidean_to_centers_dense",
    "half_center_distances",
    "inertia_dense",
    "lloyd_step_dense",
    "move_samples_to_empty_clusters",
    "prepare_centers",
    "reduce_partials",
]
