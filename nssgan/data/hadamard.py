"""The NSS paper's synthetic 8x8 set over vertical Walsh-Hadamard bases.

An image is x = (1/8) sum_i alpha_i B_i with alpha_i ~ U(-1, 1) i.i.d., where
B_i(r, c) = h_i(c) is constant down the rows and h_0, ..., h_7 are the +-1
Walsh functions of length 8 in sequency order (h_i changes sign i times). The
1/8 keeps every pixel in [-1, 1]. As <B_i, B_j> = 64 delta_ij, projecting back
gives alpha_i = <x, B_i> / 8 exactly, so a fake can be scored on the true
coefficient distribution.
"""

import functools
from collections.abc import Mapping

import numpy as np

from nssgan.data.base import Batch, GenerativeDataset

SIZE = 8


@functools.cache
def _walsh_matrix() -> np.ndarray:
    sylvester = np.ones((1, 1))
    while len(sylvester) < SIZE:
        sylvester = np.block([[sylvester, sylvester], [sylvester, -sylvester]])
    sign_changes = (np.diff(sylvester, axis=1) != 0).sum(axis=1)
    return sylvester[np.argsort(sign_changes)]


def hadamard_bases() -> np.ndarray:
    """The bases as float32 [basis, row, col] = [8, 8, 8], low to high sequency."""
    walsh = _walsh_matrix()
    return np.repeat(walsh[:, None, :], SIZE, axis=1).astype(np.float32)


def hadamard_images(alphas: np.ndarray) -> np.ndarray:
    """Images (1/8) sum_i alpha_i B_i, float32 [N, 8, 8, 1], for alphas [N, 8]."""
    alphas = np.asarray(alphas, dtype=np.float32)
    images = np.einsum('ni,irc->nrc', alphas, hadamard_bases()) / SIZE
    return images[..., None]


def hadamard_coefficients(images) -> tuple[np.ndarray, np.ndarray]:
    """Projects images onto the bases.

    Args:
      images: N images of 64 values each, e.g. [N, 8, 8, 1] or [N, 8, 8].

    Returns:
      ``(coeffs, residual)``: float64 [N, 8] coefficients alpha (the exact
      inverse of `hadamard_images`) and float64 [N] residual energies, the
      squared L2 norm of each image's part outside the bases' span.
    """
    x = np.asarray(images, dtype=np.float64)
    x = x.reshape(len(x), SIZE, SIZE)
    bases = hadamard_bases().astype(np.float64)
    coeffs = np.einsum('nrc,irc->ni', x, bases) / SIZE
    fit = np.einsum('ni,irc->nrc', coeffs, bases) / SIZE
    residual = np.square(x - fit).sum(axis=(1, 2))
    return coeffs, residual


class HadamardDataset(GenerativeDataset):
    """Fresh Hadamard images every step; no labels (-1)."""

    def draw(self, rng: np.random.Generator, n: int) -> Mapping[str, np.ndarray]:
        return {'alpha': rng.uniform(-1.0, 1.0, size=(n, SIZE))}

    def render(self, params: Mapping[str, np.ndarray]) -> Batch:
        alpha = params['alpha']
        return {'image': hadamard_images(alpha), 'label': np.full(len(alpha), -1, np.int32)}
