"""The report's figures: bar charts over methods, scatter panels, rows of sample grids."""

import os

import numpy as np

from nssgan import visualize


def _pyplot():
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> str:
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    _pyplot().close(fig)
    return path


def bars(path: str, values: dict[str, list[float]], *, ylabel: str, title: str) -> str:
    """One bar per name: the mean over seeds, with the seeds as dots."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.8 * len(values) + 1.5), 3.2))
    for i, (name, v) in enumerate(values.items()):
        ax.bar(i, np.mean(v), color='tab:blue', alpha=0.6)
        ax.scatter(np.full(len(v), i), v, color='black', s=8, zorder=3)
    ax.set_xticks(range(len(values)), list(values), rotation=30, ha='right')
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def scatter_panels(
    path: str, panels: dict[str, np.ndarray], centers: np.ndarray, *, title: str
) -> str:
    """One panel of 2-D points per name, the mixture's centres as red crosses."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), squeeze=False)
    for ax, (name, points) in zip(axes[0], panels.items()):
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4)
        ax.scatter(centers[:, 0], centers[:, 1], marker='x', color='tab:red', s=30)
        ax.set_title(name, fontsize=9)
        ax.set_aspect('equal', adjustable='datalim')
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def sample_rows(path: str, rows: dict[str, np.ndarray], *, per_row: int = 16) -> str:
    """One labelled row of image samples per name."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(rows), 1, figsize=(per_row * 0.6, 0.75 * len(rows) + 0.3))
    for ax, (name, images) in zip(np.atleast_1d(axes), rows.items()):
        grid = visualize.image_grid(images[:per_row], columns=per_row, min_tile=1).squeeze()
        ax.imshow(grid, cmap='gray' if grid.ndim == 2 else None)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha='right', va='center', fontsize=8)
    return _save(fig, path)
