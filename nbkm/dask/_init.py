"""Initial centres on the cluster: k-means||, greedy k-means++, random.

All return centres in the centred frame (``rows - x_mean``), as
``nbkm.KMeans._init_centroids`` does.

- ``"k-means||"`` (Bahmani et al., "Scalable k-means++", VLDB 2012): one first
  centre, then ``N_ROUNDS`` rounds that each keep every row independently with
  probability ``min(1, l * w_i * d_i^2 / phi)``, ``l = 2 * n_clusters``; the
  candidates are weighted by the sample weight of the rows nearest to them and
  reduced to ``n_clusters`` by nbkm's weighted greedy k-means++ on the client.
  Draws are keyed by global row index (see ``_init_tasks``) and the potentials
  are block-folded, so the centres do not depend on the chunking or on the
  workers. With fewer than ``n_clusters`` candidates, the rows farthest from
  the candidates (ties: lower index) are added.
- ``"k-means++"``: ``nbkm._init.kmeans_plusplus_indices``, the same samples for
  the same seed. Small problems (``n * d <= SMALL_PLUSPLUS``) are gathered to
  the client and run there (the single machine uses NumPy there); larger ones
  run piece-wise, two round trips per chosen centre.
- ``"random"``: ``nbkm._init.random_indices`` on the client, which needs the
  weights of all samples there (n values).
"""

import numpy as np

from nbkm._assign import squared_norms
from nbkm._init import SMALL_PLUSPLUS, kmeans_plusplus_indices, random_indices
from nbkm._samples import Samples
from nbkm.dask import _init_tasks as I

#: Oversampling rounds of k-means||.
N_ROUNDS = 5


def _locate(pieces, indices):
    """Chunk number and local index of each global row index."""
    indices = np.asarray(indices, dtype=np.int64)
    chunk = np.searchsorted(pieces.offsets, indices, side="right") - 1
    return chunk, indices - pieces.offsets[chunk]


def take_rows(pieces, indices):
    """Return the rows ``X[indices]`` (uncentred, in order) fetched from the chunks."""
    indices = np.asarray(indices, dtype=np.int64)
    chunk, local = _locate(pieces, indices)
    out = np.empty((indices.size, pieces.n_features), dtype=pieces.dtype)
    for c in np.unique(chunk):
        where = np.flatnonzero(chunk == c)
        future = pieces.client.submit(I.take_rows, pieces.x[c], local[where])
        out[where] = future.result()
    return out


def gathered_weights(pieces):
    """All sample weights on the client (ones when unweighted)."""
    if not pieces.weighted:
        return np.ones(pieces.n_samples, dtype=pieces.dtype)
    return np.concatenate(pieces.gather(pieces.w))


def random_centers(pieces, n_clusters, random_state):
    """``"random"``: nbkm's draw, on the client."""
    weights = gathered_weights(pieces)
    indices = random_indices(pieces.n_samples, n_clusters, weights, random_state)
    return take_rows(pieces, indices) - pieces.x_mean


def kmeans_plusplus_centers(pieces, n_clusters, random_state, n_threads=None):
    """``"k-means++"``: nbkm's greedy k-means++, the same samples for the same seed."""
    n, d = pieces.n_samples, pieces.n_features
    weights = gathered_weights(pieces)
    if n * d <= SMALL_PLUSPLUS:
        X = np.concatenate(pieces.gather(pieces.x))
        samples = Samples.dense(X, pieces.x_mean)
        indices = kmeans_plusplus_indices(samples, n_clusters, weights, random_state)
        return samples.rows(indices)
    return _plusplus_by_chunk(pieces, n_clusters, weights, random_state, n_threads)


def _plusplus_by_chunk(pieces, n_clusters, weights, random_state, n_threads):
    """Run the large-data branch of ``kmeans_plusplus_indices``, chunk by chunk."""
    n = pieces.n_samples
    n_local_trials = 2 + int(np.log(n_clusters))
    x_sq = pieces.map(
        I.squared_norms_f64, pieces.x, x_mean=pieces.x_mean, n_threads=n_threads
    )

    def potentials(candidate_ids, closest):
        rows = take_rows(pieces, candidate_ids) - pieces.x_mean
        rows_sq = squared_norms(rows.astype(np.float64))
        results = pieces.map(
            I.pp_potentials,
            pieces.x,
            pieces.w,
            x_sq,
            closest,
            x_mean=pieces.x_mean,
            candidates_t=np.ascontiguousarray(rows.T),
            candidates_sq=rows_sq,
            rows=pieces.rows,
        )
        partials = pieces.gather(pieces.map(I.second, results))
        # The kernel's fold: a running total from 0.0, block by block.
        pot = np.zeros(len(candidate_ids))
        for p in np.concatenate(partials):
            pot += p
        return results, pot

    indices = np.full(n_clusters, -1, dtype=np.int64)
    first = random_state.choice(n, p=weights / weights.sum())
    indices[0] = first
    results, pot = potentials(np.array([first]), [None] * pieces.n_chunks)
    closest = [pieces.client.submit(I.row_of, r, 0) for r in results]
    current_pot = pot[0]
    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        candidates = np.full(n_local_trials, n, dtype=np.int64)
        previous = None
        chain = []
        for w, close in zip(pieces.w, closest, strict=True):
            previous = pieces.client.submit(I.pp_cumsum, w, close, previous, rand_vals)
            chain.append(previous)
        for (_, positions), offset, size in zip(
            pieces.gather(chain),
            pieces.offsets[:-1],
            np.diff(pieces.offsets),
            strict=True,
        ):
            inside = (candidates == n) & (positions < size)
            candidates[inside] = offset + positions[inside]
        np.clip(candidates, None, n - 1, out=candidates)
        results, pot = potentials(candidates, closest)
        best = int(np.argmin(pot))
        current_pot = pot[best]
        closest = [pieces.client.submit(I.row_of, r, best) for r in results]
        indices[c] = candidates[best]
    return take_rows(pieces, indices) - pieces.x_mean


def _key(seed, round_):
    return np.array([seed, round_], dtype=np.uint64)


def kmeans_parallel_centers(pieces, n_clusters, random_state, n_threads=None):
    """``"k-means||"``: oversampled candidates reduced by weighted k-means++.

    Parameters
    ----------
    pieces : nbkm.dask._pieces.Pieces
        The data.
    n_clusters : int
        Number of centres.
    random_state : numpy.random.RandomState
        Gives the seed of the row-keyed draws, then the reduction's draws.
    n_threads : int or None
        Numba threads per task.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        In the centred frame.
    """
    seed = int(random_state.randint(0, 2**31 - 1))
    ids, cand_rows, d2 = _oversampled_candidates(
        pieces, seed, 2 * n_clusters, n_threads
    )
    if ids.size < n_clusters:
        ids, cand_rows = _fill(pieces, d2, ids, cand_rows, n_clusters - ids.size)
    order = np.argsort(ids, kind="stable")  # row order: chunking-independent
    candidates = np.ascontiguousarray(cand_rows[order] - pieces.x_mean)
    partials = pieces.gather(
        pieces.map(
            I.candidate_weights,
            pieces.x,
            pieces.w,
            x_mean=pieces.x_mean,
            candidates=candidates,
            rows=pieces.rows,
            n_threads=n_threads,
        )
    )
    weights = pieces.fold(partials).astype(pieces.dtype)
    picked = kmeans_plusplus_indices(
        Samples.dense(candidates), n_clusters, weights, random_state
    )
    return candidates[picked]


def _oversampled_candidates(pieces, seed, oversampling, n_threads):
    """Draw k-means||'s candidates over its rounds, by row-keyed draws.

    Returns
    -------
    ids : ndarray of int64
        Global row index of each candidate, in the order drawn.
    cand_rows : ndarray, shape (len(ids), n_features)
        The candidates' rows, uncentred.
    d2 : list of futures
        Each chunk's squared distances to its closest candidate.
    """
    client, x_mean, rows = pieces.client, pieces.x_mean, pieces.rows
    offsets = [int(o) for o in pieces.offsets[:-1]]

    draws = pieces.gather(
        [
            client.submit(I.first_draw, x, w, o, _key(seed, 0))
            for x, w, o in zip(pieces.x, pieces.w, offsets, strict=True)
        ]
    )
    first = min(draws)[1]  # smallest key, then lowest index
    chosen = [np.array([first], dtype=np.int64)]
    new_rows = take_rows(pieces, chosen[0])
    all_rows = [new_rows]
    d2 = [None] * pieces.n_chunks
    pending = True  # candidates not yet in d2

    def closest_with(d2, candidates):
        # Each chunk's squared distances to its closest candidate so far.
        return pieces.map(
            I.nearest_distances,
            pieces.x,
            d2,
            x_mean=x_mean,
            candidates=candidates - x_mean,
            rows=rows,
            n_threads=n_threads,
        )

    for round_ in range(1, N_ROUNDS + 1):
        pending = False
        d2 = closest_with(d2, new_rows)
        phi = float(
            pieces.fold(
                pieces.gather(pieces.map(I.cost_partials, pieces.w, d2, rows=rows))
            )
        )
        if phi == 0:
            break
        picked = pieces.gather(
            [
                client.submit(
                    I.oversample, x, w, d, o, _key(seed, round_), oversampling / phi
                )
                for x, w, d, o in zip(pieces.x, pieces.w, d2, offsets, strict=True)
            ]
        )
        new_ids = np.concatenate([p[0] for p in picked])
        if new_ids.size == 0:
            continue
        new_rows = np.concatenate([p[1] for p in picked])
        chosen.append(new_ids)
        all_rows.append(new_rows)
        pending = True
    if pending:  # d2 must cover the last round's candidates
        d2 = closest_with(d2, new_rows)
    ids = np.concatenate(chosen)
    cand_rows = np.concatenate(all_rows)
    return ids, cand_rows, d2


def _fill(pieces, d2, ids, cand_rows, missing):
    """Add the ``missing`` rows farthest from the candidates (ties: lower index)."""
    found = pieces.gather(
        [
            pieces.client.submit(I.farthest, x, d, int(o), missing, ids)
            for x, d, o in zip(pieces.x, d2, pieces.offsets[:-1], strict=True)
        ]
    )
    index = np.concatenate([f[0] for f in found])
    dist = np.concatenate([f[1] for f in found])
    rows = np.concatenate([f[2] for f in found])
    order = np.lexsort((index, -dist))[:missing]
    return np.concatenate([ids, index[order]]), np.concatenate([cand_rows, rows[order]])
