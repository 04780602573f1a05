"""nbkm: Numba-parallel k-means behind a scikit-learn-compatible estimator."""

from nbkm._compile import compile_kernels, guard_caches
from nbkm._kmeans import KMeans, kmeans_plusplus
from nbkm._minibatch import MiniBatchKMeans

guard_caches()

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "MiniBatchKMeans",
    "__version__",
    "compile_kernels",
    "kmeans_plusplus",
]
