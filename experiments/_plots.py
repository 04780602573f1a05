"""Figures of the harness: Agg backend, seaborn styling, byte-reproducible PNGs."""

from __future__ import annotations

import contextlib
import io
import os

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402

from experiments._io import atomic_write  # noqa: E402

sns.set_theme()
#: PNG metadata: no matplotlib version, so that the bytes depend on the data only.
METADATA = {"Software": None}


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> str:
    """Save a figure as PNG atomically, with fixed metadata, and close it.

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
    buffer = io.BytesIO()
    try:
        fig.savefig(
            buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=METADATA
        )
    finally:
        plt.close(fig)
    return atomic_write(path, buffer.getvalue()).name


@contextlib.contextmanager
def seeded(seed: int = 0):
    """Seed NumPy's global generator (seaborn's jitter uses it), then restore it."""
    state = np.random.get_state()  # noqa: NPY002 - seaborn draws from it
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def confusion_heatmap(ax, matrix, names, title: str) -> None:
    """Draw a confusion matrix as the tutorial does (``mat.T``, annotated).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    matrix : array-like of int, shape (n_labels, n_labels)
        Rows true label, columns predicted label.
    names : sequence
        Tick labels of the classes.
    title : str
        Axes title.
    """
    sns.heatmap(
        np.asarray(matrix).T,
        square=True,
        annot=True,
        fmt="d",
        cbar=False,
        xticklabels=names,
        yticklabels=names,
        ax=ax,
    )
    ax.set(xlabel="true label", ylabel="predicted label", title=title)


def image_grid(images, titles, path, suptitle: str, shape=(8, 8)) -> str:
    """Draw flattened images as a 2-row grid and save it (see :func:`save_figure`).

    Parameters
    ----------
    images : array-like, shape (n_images, shape[0] * shape[1])
        One flattened image per row.
    titles : sequence of str
        One title per image.
    path : path-like
        PNG destination.
    suptitle : str
        Title of the whole figure.
    shape : tuple of int, default=(8, 8)
        Image height and width.

    Returns
    -------
    name : str
        The file name.
    """
    images = np.asarray(images)
    ncols = max(1, (len(images) + 1) // 2)
    fig, axes = plt.subplots(2, ncols, figsize=(1.6 * ncols, 3.6), squeeze=False)
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
    for ax, img, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(img.reshape(shape), interpolation="nearest", cmap=plt.cm.binary)
        ax.set_title(title, fontsize=9)
    fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)


def sparse_ticks(ax, labels, most: int = 12) -> None:
    """Label at most ``most`` evenly spaced x ticks, so that labels never overlap."""
    step = max(1, -(-len(labels) // most))
    positions = list(range(0, len(labels), step))
    ax.set_xticks(positions, [labels[i] for i in positions], rotation=45, ha="right")
