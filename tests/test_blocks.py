"""Block layout and block-ordered reductions: what piece-wise callers rely on.

A caller that holds the samples in pieces cut at block boundaries (``nbkm.dask``)
runs the kernels on each piece and folds all partials in block order; the result
must be bitwise the whole array's.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from nbkm import _kernels as K
from nbkm._assign import prepare_views
from nbkm._kernels._blocks import MAX_BLOCKS, MIN_BLOCK_ROWS


@pytest.mark.parametrize("n", [1, 255, 256, 257, 8192, 8193, 100_000, 1_000_003])
def test_blocks_are_aligned_powers_of_two_and_cover_the_samples(n):
    rows = K.rows_per_block(n)
    bounds = K.block_bounds(n)
    assert rows % MIN_BLOCK_ROWS == 0 and (rows // MIN_BLOCK_ROWS).bit_count() == 1
    assert bounds[0] == 0 and bounds[-1] == n
    assert 1 <= bounds.size - 1 <= MAX_BLOCKS
    assert_array_equal(bounds[1:-1] % rows, 0)
    assert np.all(np.diff(bounds) > 0)
    # The smallest such size: half of it would need more than MAX_BLOCKS blocks.
    assert rows == MIN_BLOCK_ROWS or -(-n // (rows // 2)) > MAX_BLOCKS


def _pieces(n, rows, cuts):
    """Piece boundaries at the given block indices."""
    edges = [0] + [c * rows for c in cuts if 0 < c * rows < n] + [n]
    return list(zip(edges[:-1], edges[1:], strict=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lloyd_partials_of_pieces_fold_to_the_whole_bitwise(dtype):
    rng = np.random.default_rng(0)
    n, d, k = 20_000, 5, 7
    X = rng.normal(size=(n, d)).astype(dtype)
    w = rng.uniform(0.5, 2, n).astype(dtype)
    x_mean = K.column_means(X)
    centers = X[:k] - x_mean
    t, sq = np.empty((d, k), dtype), np.empty(k, dtype)
    prepare_views(centers, t, sq)

    def sweep(lo, hi, rows):
        bounds = K.block_bounds(hi - lo, rows)
        nb = bounds.size - 1
        labels = np.empty(hi - lo, np.int32)
        ps, pw = np.empty((nb, k, d), dtype), np.empty((nb, k), dtype)
        K.lloyd_step_dense(
            X[lo:hi], x_mean, w[lo:hi], t, sq, bounds, labels, ps, pw, True
        )
        return labels, ps, pw

    rows = K.rows_per_block(n)
    whole = sweep(0, n, rows)
    parts = [sweep(lo, hi, rows) for lo, hi in _pieces(n, rows, [1, 2, 5, 9])]
    assert_array_equal(np.concatenate([p[0] for p in parts]), whole[0])
    sums, weights = np.empty((k, d), dtype), np.empty(k, dtype)
    K.reduce_partials(
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        sums,
        weights,
    )
    sums0, weights0 = np.empty((k, d), dtype), np.empty(k, dtype)
    K.reduce_partials(whole[1], whole[2], sums0, weights0)
    assert_array_equal(sums, sums0)
    assert_array_equal(weights, weights0)
    # And the sums are right (independent check).
    labels = whole[0]
    ref = np.stack(
        [((X[labels == j] - x_mean) * w[labels == j, None]).sum(0) for j in range(k)]
    )
    assert_allclose(sums, ref, rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_means_and_weighted_totals_by_pieces(dtype):
    rng = np.random.default_rng(1)
    n, d = 50_001, 3
    X = (rng.normal(size=(n, d)) * 1e3 + 5).astype(dtype)
    v = rng.uniform(size=n).astype(dtype)
    w = rng.uniform(size=n).astype(dtype)
    rows = K.rows_per_block(n)
    mean = K.column_means(X)
    total = K.weighted_total(w, v)
    assert mean.dtype == dtype
    assert_allclose(mean, X.astype(np.float64).mean(0), rtol=1e-6)
    assert_allclose(total, np.dot(w.astype(float), v.astype(float)), rtol=1e-12)

    col, tot = [], []
    for lo, hi in _pieces(n, rows, [3, 4, 11]):
        b = K.block_bounds(hi - lo, rows)
        c, t = np.empty((b.size - 1, d)), np.empty(b.size - 1)
        K.column_sums_by_block(X[lo:hi], b, c)
        K.weighted_sums_by_block(w[lo:hi], v[lo:hi], b, t)
        col.append(c)
        tot.append(t)
    assert_array_equal((K.fold_blocks(np.concatenate(col)) / n).astype(dtype), mean)
    assert float(K.fold_blocks(np.concatenate(tot))) == total


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variances_by_pieces(dtype):
    rng = np.random.default_rng(2)
    n, d = 30_000, 4
    X = (rng.normal(size=(n, d)) * [1, 10, 100, 1e-3] + 7).astype(dtype)
    var = K.column_variances(X)
    assert_allclose(var, X.astype(np.float64).var(0), rtol=1e-6)
    rows, mean = K.rows_per_block(n), K.column_means(X)
    parts = []
    for lo, hi in _pieces(n, rows, [2, 3]):
        b = K.block_bounds(hi - lo, rows)
        p = np.empty((b.size - 1, d))
        K.squared_deviation_sums_by_block(X[lo:hi], mean, b, p)
        parts.append(p)
    assert_array_equal(K.fold_blocks(np.concatenate(parts)) / n, var)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("n_blocks", [1, 2, 5, 128])
def test_over_blocks_runs_every_block_once_on_the_threads_in_force(n_threads, n_blocks):
    # The pool that runs the bounded sweeps: contiguous shares, every block
    # exactly once, on as many threads as numba_threads sets (and no more
    # shares than SHARES_PER_THREAD per thread).
    import threading

    from nbkm._kernels._pool import SHARES_PER_THREAD, over_blocks
    from nbkm._threads import numba_threads

    calls, seen_threads = [], set()

    def kernel(tag, first_block, end_block):
        assert tag == "args pass through"
        calls.append((first_block, end_block))
        seen_threads.add(threading.get_ident())

    with numba_threads(n_threads) as n:
        over_blocks(kernel, n_blocks, "args pass through")
    covered = sorted(b for lo, hi in calls for b in range(lo, hi))
    assert covered == list(range(n_blocks))
    assert all(lo < hi for lo, hi in calls)
    assert len(calls) <= max(1, SHARES_PER_THREAD * min(n, n_blocks))
    if min(n, n_blocks) == 1:
        assert calls == [(0, n_blocks)]
        assert seen_threads == {threading.get_ident()}


def test_over_blocks_raises_a_shares_error_after_every_share_stopped():
    from nbkm._kernels._pool import over_blocks
    from nbkm._threads import numba_threads

    done = []

    def kernel(first_block, end_block):
        if first_block == 0:
            raise ValueError("share 0 failed")
        done.append(first_block)

    with numba_threads(2), pytest.raises(ValueError, match="share 0 failed"):
        over_blocks(kernel, 8)
    assert sorted(done) == [1, 2, 3, 4, 5, 6, 7]  # the other shares all ran


def test_over_blocks_leaves_few_rows_to_the_calling_thread():
    import threading

    from nbkm._kernels._pool import POOL_MIN_ROWS, over_blocks
    from nbkm._threads import numba_threads

    def run(rows):
        calls = []
        with numba_threads(2):
            over_blocks(
                lambda b0, b1: calls.append((b0, b1, threading.get_ident())),
                8,
                rows=rows,
            )
        return calls

    assert run(POOL_MIN_ROWS - 1) == [(0, 8, threading.get_ident())]
    many = run(POOL_MIN_ROWS)
    assert sorted(b for b0, b1, _ in many for b in range(b0, b1)) == list(range(8))
    assert len(many) > 1
