"""Figures of the harness: Agg backend, seaborn styling, byte-reproducible PNGs."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

sns.set_theme()
#: PNG metadata: no matplotlib version, so that the bytes depend on the data only.
METADATA = {"Software": None}


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> str:
    """Save a figure as PNG, with fixed metadata, and close it.

    Figures are drawn into a result set's temporary folder, swapped in whole.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save.
    path : str or path-like
        Destination (``.png``).
    dpi : int, default=110
        Resolution.

    Returns
    -------
    name : str
        The file name of ``path`` (for a record's ``figures``).
    """
    try:
        fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight", metadata=METADATA)
    finally:
        plt.close(fig)
    return Path(path).name


@contextlib.contextmanager
def seeded(seed: int = 0):
    """Seed NumPy's global generator (seaborn's jitter uses it), then restore it."""
    state = np.random.get_state()  # noqa: NPY002 - seaborn draws from it
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def sparse_ticks(ax, labels, most: int = 12) -> None:
    """Label at most ``most`` evenly spaced x ticks, so that labels never overlap."""
    step = max(1, -(-len(labels) // most))
    positions = list(range(0, len(labels), step))
    ax.set_xticks(positions, [labels[i] for i in positions], rotation=45, ha="right")
