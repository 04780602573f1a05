"""Measure nbkm under each of Numba's threading layers, side by side.

A process can use one threading layer only, so each measurement runs in a child
process with ``NUMBA_THREADING_LAYER`` set; the layers alternate, round after
round, so that load on the machine hits all of them alike. Each child times, with
the same data and initial centres and a fixed number of iterations:

- nbkm's Lloyd alone in its process (``nbkm_alone``), scikit-learn's alone
  (``sklearn_alone``), and both in one process, interleaved (``*_mixed``): the
  cost of two thread runtimes in one process;
- two fits from two Python threads at once against the same two fits one after
  the other (``concurrent`` / ``sequential``; the workqueue layer serialises them);
- the digits fit (k=10, n_init=10).

Usage::

    LD_LIBRARY_PATH=$VIRTUAL_ENV/lib python tools/threading_layers.py --rounds 5

(the ``tbb`` layer needs ``pip install tbb``, and in a virtual environment the
loader path to its ``lib``). Prints one JSON object: per layer and measurement the
median seconds, and the ratios to ``omp``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from experiments._timing import median, threading_layer  # noqa: E402

LAYERS = ("omp", "tbb", "workqueue")
SHAPES = ((100_000, 16, 10, "float32"), (100_000, 64, 100, "float64"))
ITERATIONS = 20
REPEATS = 3


def _child(mode: str) -> dict:
    import threading

    import numba
    import numpy as np
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.datasets import load_digits

    import nbkm

    def problem(n, d, k, dtype):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, d)).astype(dtype)
        return X, X[rng.choice(n, k, replace=False)].copy()

    def fit(cls, X, init):
        params = dict(init=init, n_init=1, max_iter=ITERATIONS, tol=0)
        return cls(init.shape[0], **params).fit(X)

    def best(f):
        times = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return min(times)

    out = {}
    impls = {"nbkm": nbkm.KMeans, "sklearn": SKKMeans}
    if mode != "mixed":  # one library alone in the process
        impls = {mode: impls[mode]}
    for n, d, k, dtype in SHAPES:
        X, init = problem(n, d, k, dtype)
        key = f"{n}x{d}_k{k}_{dtype}"
        for cls in impls.values():
            fit(cls, X[:1000], init)  # compile or load the kernels, start pools
        for name, cls in impls.items():
            out[f"{key}/{name}_{mode if mode == 'mixed' else 'alone'}"] = best(
                lambda cls=cls, X=X, init=init: fit(cls, X, init)
            )
        if mode != "nbkm":
            continue

        def two_threads(X=X, init=init):
            args = (nbkm.KMeans, X, init)
            threads = [threading.Thread(target=fit, args=args) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        out[f"{key}/nbkm_2_threads_at_once"] = best(two_threads)
        out[f"{key}/nbkm_2_fits_in_turn"] = best(
            lambda X=X, init=init: [fit(nbkm.KMeans, X, init) for _ in range(2)]
        )
    if mode == "nbkm":
        digits = load_digits().data
        out["digits_fit/nbkm_alone"] = best(
            lambda: nbkm.KMeans(10, n_init=10, random_state=0).fit(digits)
        )
    # sklearn alone: no Numba parallel region ran
    out["layer"] = threading_layer() or os.environ["NUMBA_THREADING_LAYER"]
    out["threads"] = numba.get_num_threads()
    return out


def main(argv: list[str] | None = None) -> int:
    """Alternate the layers over ``--rounds`` rounds; print medians and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--layers", nargs="+", default=list(LAYERS), choices=LAYERS)
    modes = ("nbkm", "sklearn", "mixed")
    p.add_argument("--child", choices=modes, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    samples: dict[str, dict[str, list[float]]] = {layer: {} for layer in args.layers}
    runs = [(layer, mode) for layer in args.layers for mode in ("nbkm", "mixed")]
    runs.append((args.layers[0], "sklearn"))
    for _ in range(args.rounds):
        for layer, mode in runs:
            env = {**os.environ, "NUMBA_THREADING_LAYER": layer}
            cmd = [sys.executable, __file__, "--child", mode]
            proc = subprocess.run(
                cmd, env=env, capture_output=True, text=True, check=True
            )
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            assert result.pop("layer") == layer
            threads = result.pop("threads")
            for name, seconds in result.items():
                samples[layer].setdefault(name, []).append(seconds)
    medians = {
        layer: {name: median(v) for name, v in values.items()}
        for layer, values in samples.items()
    }
    ratios = {
        layer: {
            name: medians[layer][name] / medians["omp"][name]
            for name in m
            if name in medians.get("omp", {})
        }
        for layer, m in medians.items()
    }
    out = {"threads": threads, "rounds": args.rounds, "median_s": medians}
    print(json.dumps(out | {"ratio_to_omp": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
