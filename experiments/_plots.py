"""Figures of the harness: Agg backend, seaborn styling, atomic saving."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from experiments._io import file_mode  # noqa: E402

sns.set_theme()


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure to ``path`` atomically and close it.

    The image is written to a temporary file in the same directory, then
    renamed over ``path``; on failure the previous file is left intact.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to save.
    path : str or path-like
        Destination; the format follows the suffix (``.png``).
    dpi : int, default=110
        Resolution.

    Returns
    -------
    path : pathlib.Path
        The destination.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(fd)
    try:
        fig.savefig(
            tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png"
        )
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return path


def confusion_heatmap(ax, matrix, names, title: str | None = None) -> None:
    """Draw a confusion matrix as the tutorial does.

    The tutorial plots ``mat.T`` with ``sns.heatmap(square=True, annot=True,
    fmt='d', cbar=False)``: true label on the x axis, predicted label on the
    y axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    matrix : array-like of int, shape (n_labels, n_labels)
        Rows true label, columns predicted label.
    names : sequence
        Tick labels of the classes.
    title : str, optional
        Axes title.
    """
    import numpy as np

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
    ax.set_xlabel("true label")
    ax.set_ylabel("predicted label")
    if title:
        ax.set_title(title)


def image_grid(images, titles, path, suptitle: str | None = None, shape=(8, 8)):
    """Draw images as a 2 x 5 grid (or 2 x ceil(n/2)) and save it atomically.

    Parameters
    ----------
    images : array-like, shape (n_images, shape[0] * shape[1])
        One flattened image per row (e.g. the 10 cluster centres of digits).
    titles : sequence of str
        One title per image.
    path : path-like
        PNG destination.
    suptitle : str, optional
        Title of the whole figure.
    shape : tuple of int, default=(8, 8)
        Image height and width.

    Returns
    -------
    path : pathlib.Path
        The destination.
    """
    import numpy as np

    images = np.asarray(images)
    ncols = max(1, (len(images) + 1) // 2)
    fig, axes = plt.subplots(2, ncols, figsize=(1.6 * ncols, 3.6), squeeze=False)
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])
        ax.grid(False)
    for ax, img, title in zip(axes.flat, images, titles, strict=False):
        ax.imshow(img.reshape(shape), interpolation="nearest", cmap=plt.cm.binary)
        ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return save_figure(fig, path)
