"""The BLAS thread counts that nbkm controls, for tests of its thread handling."""

from threadpoolctl import threadpool_info


def nbkm_blas_threads() -> list[int]:
    """Thread counts of NumPy's and SciPy's BLAS (Numba's np.dot calls SciPy's).

    Other BLAS libraries a test may have loaded (faiss bundles its own OpenBLAS)
    are not nbkm's to limit, so they are left out.
    """
    return sorted(
        lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas"
        and any(part in lib["filepath"] for part in ("numpy", "scipy"))
    )
