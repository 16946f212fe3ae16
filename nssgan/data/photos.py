"""Random crops of the two photos scikit-learn ships (natural-image statistics)."""

import functools
from collections.abc import Mapping

import numpy as np

from nssgan.data.base import Batch, GenerativeDataset

PHOTO_HEIGHT, PHOTO_WIDTH = 427, 640


@functools.cache
def load_photos() -> np.ndarray:
    """`load_sample_images()` as a read-only float32 [2, 427, 640, 3] in [-1, 1]."""
    from sklearn import datasets  # Here: scikit-learn loads slowly and only this needs it.

    photos = np.stack(datasets.load_sample_images().images)
    photos = photos.astype(np.float32) / 127.5 - 1.0
    photos.flags.writeable = False
    return photos


class PhotoPatchesDataset(GenerativeDataset):
    """Fresh S x S crops at native resolution, flipped left-right half the time.

    No labels (-1).
    """

    def __init__(self, spec, **kwargs):
        super().__init__(spec, **kwargs)
        self._photos = load_photos()
        self._size = spec.shape[0]

    def draw(self, rng: np.random.Generator, n: int) -> Mapping[str, np.ndarray]:
        return {
            'photo': rng.integers(len(self._photos), size=n),
            'top': rng.integers(PHOTO_HEIGHT - self._size + 1, size=n),
            'left': rng.integers(PHOTO_WIDTH - self._size + 1, size=n),
            'flip': rng.random(n) < 0.5,
        }

    def render(self, params: Mapping[str, np.ndarray]) -> Batch:
        s = self._size
        crops = []
        for photo, top, left, flip in zip(
            params['photo'], params['top'], params['left'], params['flip']
        ):
            crop = self._photos[photo, top : top + s, left : left + s]
            crops.append(crop[:, ::-1] if flip else crop)
        return {'image': np.stack(crops), 'label': np.full(len(crops), -1, np.int32)}
