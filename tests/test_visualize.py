"""Sample pictures: grid geometry and pixel values, scatter plots, PNG round trip."""

import numpy as np
from PIL import Image

from nssgan import visualize


def test_image_grid_places_and_scales_each_image():
    images = np.stack([np.full((8, 8, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    grid = visualize.image_grid(images, columns=2, padding=2)
    tile = 64  # 8 px enlarged 8× to reach min_tile.
    assert grid.shape == (2 * (tile + 2) + 2, 2 * (tile + 2) + 2, 1)
    assert grid.dtype == np.uint8
    assert np.all(grid[2 : 2 + tile, 2 : 2 + tile] == 0)  # -1 → black.
    assert np.all(grid[2 : 2 + tile, 4 + tile : 4 + 2 * tile] == 128)  # 0 → mid grey.
    assert np.all(grid[4 + tile : 4 + 2 * tile, 2 : 2 + tile] == 255)  # 1 → white.
    assert np.all(grid[0:2] == 255)  # White padding.


def test_large_images_are_not_rescaled():
    grid = visualize.image_grid(np.zeros((4, 64, 64, 3), np.float32), padding=0)
    assert grid.shape == (128, 128, 3)


def test_scatter_plot_and_png_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    picture = visualize.samples_picture(
        rng.normal(size=(100, 2)), 'vector', real=rng.normal(size=(100, 3)), title='t'
    )
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[-1] == 3
    path = visualize.save_png(str(tmp_path / 'sub' / 'p.png'), picture)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), picture)
