"""Measure nbkm under each of Numba's threading layers, side by side.

A process can use one threading layer only, so each measurement runs in a child
process with ``NUMBA_THREADING_LAYER`` set; the children run interleaved round
after round (``experiments/_timing.py``), so that load on the machine hits all
layers alike. Each child times (best of 3), with the same data and initial
centres and a fixed number of iterations:

- nbkm's Lloyd alone in its process (``nbkm_alone``), scikit-learn's alone
  (``sklearn_alone``), and both in one process (``*_mixed``): the cost of two
  thread runtimes in one process;
- two fits from two Python threads at once against the same two fits one after
  the other (``nbkm_2_threads_at_once`` / ``nbkm_2_fits_in_turn``; the workqueue
  layer serialises them);
- the digits fit (k=10, n_init=10).

Usage::

    LD_LIBRARY_PATH=$VIRTUAL_ENV/lib python tools/threading_layers.py --rounds 5

(the ``tbb`` layer needs ``pip install tbb``, and in a virtual environment the
loader path to its ``lib``). Prints one JSON object: per layer and measurement the
median seconds, and the ratios to ``omp``.
"""

import argparse
import json
import os
import subprocess
import sys
import timeit
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from experiments._timing import interleaved, median, threading_layer  # noqa: E402

LAYERS = ("omp", "tbb", "workqueue")
MODES = ("nbkm", "sklearn", "mixed")
SHAPES = ((100_000, 16, 10, "float32"), (100_000, 64, 100, "float64"))
ITERATIONS = 20
REPEATS = 3


def _child(mode: str) -> dict:
    """Time ``mode`` (one library alone, or ``mixed``: both) in this process."""
    import numba
    import numpy as np
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.datasets import load_digits

    import nbkm

    def fit(cls, X, init):
        return cls(len(init), init=init, n_init=1, max_iter=ITERATIONS, tol=0).fit(X)

    def best(f, *args):
        return min(timeit.repeat(partial(f, *args), number=1, repeat=REPEATS))

    def two_at_once(X, init):
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(fit, [nbkm.KMeans] * 2, [X] * 2, [init] * 2))

    def two_in_turn(X, init):
        for _ in range(2):
            fit(nbkm.KMeans, X, init)

    impls = {"nbkm": nbkm.KMeans, "sklearn": SKKMeans}
    impls = impls if mode == "mixed" else {mode: impls[mode]}
    suffix = "mixed" if mode == "mixed" else "alone"
    out = {}
    for n, d, k, dtype in SHAPES:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, d)).astype(dtype)
        init = X[rng.choice(n, k, replace=False)].copy()
        key = f"{n}x{d}_k{k}_{dtype}"
        for cls in impls.values():
            fit(cls, X[:1000], init)  # compile or load the kernels, start pools
        for name, cls in impls.items():
            out[f"{key}/{name}_{suffix}"] = best(fit, cls, X, init)
        if mode == "nbkm":
            out[f"{key}/nbkm_2_threads_at_once"] = best(two_at_once, X, init)
            out[f"{key}/nbkm_2_fits_in_turn"] = best(two_in_turn, X, init)
    if mode == "nbkm":
        digits = load_digits().data
        out["digits_fit/nbkm_alone"] = best(
            lambda: nbkm.KMeans(10, n_init=10, random_state=0).fit(digits)
        )
    # sklearn alone: no Numba parallel region ran
    out["layer"] = threading_layer() or os.environ["NUMBA_THREADING_LAYER"]
    return out | {"threads": numba.get_num_threads()}


def _run_child(layer: str, mode: str) -> dict:
    """Run :func:`_child` in a fresh process under ``layer``; return its result."""
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer}
    cmd = [sys.executable, __file__, "--child", mode]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.pop("layer") == layer
    return result


def main(argv: list[str] | None = None) -> int:
    """Interleave the layers over ``--rounds`` rounds; print medians and ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--layers", nargs="+", default=list(LAYERS), choices=LAYERS)
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    runs = [(layer, mode) for layer in args.layers for mode in ("nbkm", "mixed")]
    runs.append((args.layers[0], "sklearn"))
    results = interleaved({r: partial(_run_child, *r) for r in runs}, args.rounds, {})
    samples: dict[str, dict[str, list[float]]] = {layer: {} for layer in args.layers}
    for (layer, _), children in results.items():
        for result in children:
            threads = result.pop("threads")
            for name, seconds in result.items():
                samples[layer].setdefault(name, []).append(seconds)
    medians = {
        layer: {name: median(v) for name, v in values.items()}
        for layer, values in samples.items()
    }
    omp = medians.get("omp", {})
    ratios = {
        layer: {name: m[name] / omp[name] for name in m if name in omp}
        for layer, m in medians.items()
    }
    out = {"threads": threads, "rounds": args.rounds, "median_s": medians}
    print(json.dumps(out | {"ratio_to_omp": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
