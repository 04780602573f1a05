"""nbkm on a Dask cluster: :class:`KMeans` over a row-chunked ``dask.array``.

Needs the ``dask`` extra: ``pip install "nbkm[dask]"``. Given the same initial
centres, a fit gives bitwise the labels, centres, inertia and iteration count of
``nbkm.KMeans(algorithm="lloyd")`` on the same data computed into memory, for any
chunking and any number of workers (see ``docs/dask.md``).
"""

try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "nbkm.dask needs dask[array] and distributed; install them with "
        "pip install 'nbkm[dask]'."
    ) from exc

from nbkm.dask._estimator import KMeans
from nbkm.dask._workers import WarmKernels

__all__ = ["KMeans", "WarmKernels"]
