"""scikit-learn's 8x8 handwritten digits and their three-channel stacking.

`digits` cycles through the 1,797 images in reshuffled epochs. `color_digits`
(the lens paper's Color-MNIST test) stacks three independently drawn digits as
R, G and B, a fresh batch each step, with label 100 r + 10 g + b: 1,000 modes.
"""

import functools
from collections.abc import Mapping

import numpy as np
from PIL import Image

from nssgan.data.base import Batch, EpochDataset, GenerativeDataset
from nssgan.data.spec import DataSpec

_MAX_VALUE = 16.0  # load_digits() counts on-pixels in 4x4 blocks: 0..16.


@functools.cache
def load_digits(image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The digits as read-only float32 [1797, S, S, 1] in [-1, 1] and int32 labels.

    Resized from 8x8 with bicubic interpolation, clipped to the original range.
    """
    from sklearn import datasets  # Here: scikit-learn loads slowly and only this needs it.

    digits = datasets.load_digits()
    images = np.stack(
        [
            np.asarray(
                Image.fromarray(image.astype(np.float32)).resize(
                    (image_size, image_size), Image.Resampling.BICUBIC
                )
            )
            for image in digits.images
        ]
    )
    images = np.clip(images, 0.0, _MAX_VALUE) / (_MAX_VALUE / 2) - 1.0
    images = images[..., None].astype(np.float32)
    labels = digits.target.astype(np.int32)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


class DigitsDataset(EpochDataset):
    """The digits in reshuffled epochs; labels are the digit classes."""

    def __init__(self, spec: DataSpec, **kwargs):
        images, labels = load_digits(spec.shape[0])
        super().__init__(spec, images, labels, **kwargs)


class ColorDigitsDataset(GenerativeDataset):
    """Three random digits as RGB each step; label 100 r + 10 g + b."""

    def __init__(self, spec: DataSpec, **kwargs):
        super().__init__(spec, **kwargs)
        self._images, self._labels = load_digits(spec.shape[0])

    def draw(self, rng: np.random.Generator, n: int) -> Mapping[str, np.ndarray]:
        return {'index': rng.integers(len(self._images), size=(n, 3))}

    def render(self, params: Mapping[str, np.ndarray]) -> Batch:
        index = params['index']
        image = np.concatenate([self._images[index[:, c]] for c in range(3)], axis=-1)
        label = self._labels[index] @ np.array([100, 10, 1], np.int32)
        return {'image': image, 'label': label.astype(np.int32)}
