"""Command line of the library: ``python -m nbkm compile``."""

import argparse
import logging
import sys

import numba

from nbkm._compile import DTYPES, LAYOUTS, compile_kernels


def main(argv: list[str] | None = None) -> int:
    """Compile nbkm's kernels ahead of time and report what it took.

    Parameters
    ----------
    argv : list of str or None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 on success; 1 when Numba's compiler is disabled (NUMBA_DISABLE_JIT);
        argparse exits 2 on a usage error.
    """
    parser = argparse.ArgumentParser(
        prog="python -m nbkm",
        description="nbkm's command line.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    compile_ = commands.add_parser(
        "compile",
        help="compile every kernel now (for images and CI); later runs load the "
        "Numba cache",
        description="Compile (or load from Numba's on-disk cache) every nbkm "
        "kernel, so that later fits start without compiling. Prints the seconds "
        "each kernel took to compile; a warm cache compiles nothing.",
    )
    for option, choices, what in (
        ("--dtype", DTYPES, "float types"),
        ("--layout", LAYOUTS, "dense arrays, CSR matrices"),
    ):
        compile_.add_argument(
            option,
            nargs="+",
            choices=choices,
            default=list(choices),
            help=f"{what} to compile for (default: all of them)",
        )
    args = parser.parse_args(argv)
    if numba.config.DISABLE_JIT:
        print(
            "python -m nbkm compile: nothing compiled: NUMBA_DISABLE_JIT is set, "
            "so nbkm's kernels run as plain Python (unset it to compile them)",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    report = compile_kernels(dtypes=args.dtype, layouts=args.layout)
    kernels = sorted(report["kernels"].items(), key=lambda item: -item[1])
    for name, seconds in kernels:
        print(f"{seconds:7.2f} s  {name}")
    compiled = f"{len(kernels)} kernels compiled" if kernels else "all cached"
    print(
        f"{report['seconds']:7.2f} s  in all ({compiled}; "
        f"{', '.join(args.dtype)}; {', '.join(args.layout)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
