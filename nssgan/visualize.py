"""Pictures of samples: image grids and 2-D scatter plots, as uint8 arrays and PNGs."""

import io
import math
import os

import numpy as np
from PIL import Image


def image_grid(
    images: np.ndarray, *, columns: int | None = None, padding: int = 2, min_tile: int = 64
) -> np.ndarray:
    """Tiles NHWC images in [-1, 1] into one uint8 (H', W', C) picture.

    Images smaller than ``min_tile`` pixels are enlarged by an integer factor (nearest
    neighbour) so that an 8×8 or 32×32 sample stays legible.
    """
    images = np.asarray(images, np.float32)
    scale = max(1, -(-min_tile // images.shape[1]))
    images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.ones(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c), np.float32
    )
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = (np.clip(image, -1, 1) + 1) / 2
    return np.round(grid * 255).astype(np.uint8)


def scatter_plot(
    fake: np.ndarray, real: np.ndarray | None = None, *, title: str = ''
) -> np.ndarray:
    """Samples of 2-D or 3-D vector data (first two coordinates) as a uint8 RGB plot."""
    import matplotlib  # Here: the backend must be chosen before pyplot is imported.

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, c='tab:red', alpha=0.5, label='real')
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c='tab:blue', alpha=0.5, label='fake')
    ax.set_aspect('equal', adjustable='datalim')
    ax.legend(loc='upper right', fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert('RGB'))


def samples_picture(
    samples: np.ndarray, kind: str, real: np.ndarray | None = None, title: str = ''
) -> np.ndarray:
    """A uint8 picture of generator samples: a grid for images, a scatter plot else."""
    if kind == 'image':
        return image_grid(samples)
    return scatter_plot(samples, real, title=title)


def save_png(path: str, picture: np.ndarray) -> str:
    """Writes a uint8 (H, W, C) array as PNG, creating the directory."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    if picture.shape[-1] == 1:
        picture = picture[..., 0]
    Image.fromarray(picture).save(path)
    return path
