"""The paper-figure command: the variance behaviour of Fig. 3 and the PNGs it writes."""

import numpy as np
from PIL import Image

from nssgan import figures


def test_variance_curves_show_the_papers_fig3_behaviour():
    # Fig. 3: NS grows the pixel variance, SS shrinks it, NSS (σ = 0.15) keeps it
    # within 15% of the clean images' on natural-image crops.
    crops = figures._photo_crops(32, 32, seed=0)
    times = [0, 8, 64]
    curves = figures.variance_curves(crops, times)
    assert curves['NS'][2] > 5 * curves['NS'][0]
    assert curves['SS'][2] < 0.8 * curves['SS'][0]
    assert np.all(np.abs(curves['NSS'] / curves['NSS'][0] - 1) < 0.15), curves['NSS']


def test_figure_files(tmp_path):
    figures.figure_annealing(str(tmp_path / 'a.png'))
    figures.figure_representations(str(tmp_path / 'b.png'), size=32, times=(0, 4))
    curves = figures.figure_variance(str(tmp_path / 'c.png'), num_images=8, size=32, times=[0, 2])
    for name in ('a.png', 'b.png', 'c.png'):
        assert Image.open(tmp_path / name).size[0] > 200
    rows = (tmp_path / 'c.csv').read_text().splitlines()
    assert rows[0] == 't,NS,SS,NSS' and len(rows) == 3
    assert float(rows[1].split(',')[3]) == round(curves['NSS'][0], 5)
