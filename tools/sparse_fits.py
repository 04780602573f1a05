r"""Whole fits on CSR data: nbkm's lloyd and elkan against scikit-learn's, side by side.

The data are topic documents (``benchmarks.workloads.topic_documents``: TF-IDF-like,
clustered, most documents sharing no word with most centres). Every fit gets the
same explicit init (the first ``k`` rows), ``n_init=1``, default ``tol`` and
``max_iter=300``; the four implementations are timed interleaved, after a warm-up
each (``experiments/_timing.py``), so load on the machine hits all alike.
Reported: milliseconds per iteration (fit time / ``n_iter_``, median over
repeats), iterations, and how many labels differ from scikit-learn's lloyd.

Usage::

    python tools/sparse_fits.py                       # k = 10, 50, 200 at 1e5 documents
    python tools/sparse_fits.py --n 20000 --k 10 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from pathlib import Path

# Before any OpenMP runtime loads: idle threads sleep instead of spinning, so
# that one library's pool does not slow the next library's fit.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.workloads import topic_documents  # noqa: E402
from experiments._timing import interleaved, median, timed_fit  # noqa: E402

IMPLS = (
    ("nbkm", "lloyd"),
    ("nbkm", "elkan"),
    ("sklearn", "lloyd"),
    ("sklearn", "elkan"),
)


def _fit(lib, algorithm, X, init, threads):
    est, seconds = timed_fit(
        lib, X, threads, n_clusters=len(init), init=init, n_init=1, algorithm=algorithm
    )
    return seconds, est


def run(n, vocabulary, topics, ks, repeats, threads, log=print):
    """Time the four implementations for each k; return one row a k."""
    import numpy as np

    X = topic_documents(n, vocabulary, topics)
    rows = []
    for k in ks:
        init = X[:k].toarray()
        small = X[: min(2000, X.shape[0])]  # warm-up: compilation, thread pools
        warm_up = {impl: partial(_fit, *impl, small, init, threads) for impl in IMPLS}
        calls = {impl: partial(_fit, *impl, X, init, threads) for impl in IMPLS}
        runs = interleaved(calls, repeats, warm_up)
        fitted = {impl: fits[-1][1] for impl, fits in runs.items()}
        ref = fitted[("sklearn", "lloyd")].labels_
        rows.append(
            {
                "k": k,
                "ms_per_iter": {
                    impl: 1e3 * median([s / est.n_iter_ for s, est in fits])
                    for impl, fits in runs.items()
                },
                "n_iter": {impl: est.n_iter_ for impl, est in fitted.items()},
                "labels_differ": {
                    impl: int(np.count_nonzero(est.labels_ != ref))
                    for impl, est in fitted.items()
                },
            }
        )
        log(f"# k={k} done")
    return X, rows


def table(X, rows, threads):
    """Return the markdown table of :func:`run`'s rows."""
    names = [f"{lib} {alg}" for lib, alg in IMPLS]
    head = ["k", *(f"{m} (ms/iter, iters)" for m in names), "nbkm lloyd / best sklearn"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        ms, it = row["ms_per_iter"], row["n_iter"]
        best = min(ms[("sklearn", "lloyd")], ms[("sklearn", "elkan")])
        cells = [str(row["k"])]
        cells += [f"{ms[impl]:.0f} ({it[impl]})" for impl in IMPLS]
        cells.append(f"{ms[('nbkm', 'lloyd')] / best:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    differ = "; ".join(
        f"k={row['k']}: "
        + ", ".join(
            f"{lib} {alg} {n}"
            for (lib, alg), n in row["labels_differ"].items()
            if (lib, alg) != ("sklearn", "lloyd")
        )
        for row in rows
    )
    lines += [
        "",
        f"{X.shape[0]} x {X.shape[1]} CSR, {X.nnz / X.shape[0]:.0f} stored values a "
        f"row, {threads} threads; labels differing from sklearn lloyd: {differ}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Parse the options, run, print the table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="documents")
    parser.add_argument("--vocabulary", type=int, default=5_000, help="features")
    parser.add_argument("--topics", type=int, default=50, help="topics of the data")
    parser.add_argument("--k", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="threads of every fit")
    args = parser.parse_args(argv)
    if min(args.n, args.vocabulary, args.topics, args.repeats, args.threads) < 1:
        parser.exit(2, "sparse_fits: sizes, repeats and threads must be >= 1\n")
    if max(args.k) > args.n or min(args.k) < 1:
        parser.exit(2, "sparse_fits: every k must be between 1 and --n\n")
    X, rows = run(
        args.n,
        args.vocabulary,
        args.topics,
        args.k,
        args.repeats,
        args.threads,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(table(X, rows, args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
