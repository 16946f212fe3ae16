"""Gaussian mixtures: the 2-D ring and grid, and Roth et al.'s 3-D submanifold.

Every mixture is drawn in a 2-D plane, x = E (c_k + std * eps) with a uniform
mode k, eps ~ N(0, I_2) and a fixed orthonormal [D, 2] embedding E. For `ring`
and `grid` E is the identity. For `submanifold7` (Roth et al. 2017, sec. 5.1)
E maps the plane onto the one through the origin with unit normal
(1, 1, 1)/sqrt(3), spanned by (1, -1, 0)/sqrt(2) and (1, 1, -2)/sqrt(6): the
data are degenerate in 3-D (zero variance along the normal) and the plane is
aligned with no axis.
"""

import dataclasses
import itertools
from collections.abc import Mapping

import numpy as np

from nssgan.data.base import Batch, GenerativeDataset
from nssgan.data.spec import DataSpec


@dataclasses.dataclass(frozen=True, eq=False)
class Mixture:
    """Equal-weight isotropic Gaussians in a plane embedded by ``embedding``."""

    centers_2d: np.ndarray  # [K, 2]
    std: float
    embedding: np.ndarray  # [D, 2], orthonormal columns

    @property
    def centers(self) -> np.ndarray:
        """The [K, D] centres in the ambient space."""
        return self.centers_2d @ self.embedding.T


def _circle(num_modes: int, radius: float) -> np.ndarray:
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


SUBMANIFOLD_EMBEDDING = np.stack(
    [np.array([1.0, -1.0, 0.0]) / np.sqrt(2), np.array([1.0, 1.0, -2.0]) / np.sqrt(6)], axis=1
)

MIXTURES: dict[str, Mixture] = {
    'ring': Mixture(_circle(8, 2.0), 0.02, np.eye(2)),
    'grid': Mixture(
        np.array(list(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))), 0.05, np.eye(2)
    ),
    'submanifold7': Mixture(_circle(7, 1.0), 0.01, SUBMANIFOLD_EMBEDDING),
}


def mixture_spec(name: str) -> DataSpec:
    """The `DataSpec` of mixture ``name``, centres included."""
    mixture = MIXTURES[name]
    centers = mixture.centers
    return DataSpec(
        name=name,
        kind='vector',
        shape=(centers.shape[1],),
        num_modes=len(centers),
        mode_centers=tuple(tuple(float(v) for v in c) for c in centers),
        mode_std=mixture.std,
        value_range=None,
    )


class MixtureDataset(GenerativeDataset):
    """Fresh mixture samples every step; labels are the mode indices."""

    def __init__(self, spec: DataSpec, **kwargs):
        super().__init__(spec, **kwargs)
        self.mixture = MIXTURES[spec.name]

    def draw(self, rng: np.random.Generator, n: int) -> Mapping[str, np.ndarray]:
        return {
            'mode': rng.integers(len(self.mixture.centers_2d), size=n),
            'noise': rng.standard_normal((n, 2)),
        }

    def render(self, params: Mapping[str, np.ndarray]) -> Batch:
        mixture = self.mixture
        planar = mixture.centers_2d[params['mode']] + mixture.std * params['noise']
        return {
            'image': (planar @ mixture.embedding.T).astype(np.float32),
            'label': params['mode'].astype(np.int32),
        }
