"""Mode coverage and sample quality on the Gaussian mixtures (ring, grid, submanifold7).

The protocol of the VEEGAN paper (also PacGAN's): each sample x goes to its
nearest centre, k(x) = argmin_k ||x - c_k||, and is *high quality* when

    ||x - c_k(x)|| <= num_std * std,    num_std = 3,

with ``std`` the per-axis standard deviation the dataset draws each component
with (`nssgan.data.mixtures.MIXTURES`: 0.02 ring, 0.05 grid, 0.01 submanifold7;
for submanifold7 the distance is taken in 3-D, so leaving the plane costs
quality). A real sample is high quality with probability
P(chi^2_2 <= 9) = 1 - exp(-9/2) = 0.989. Modes covered and the KL to uniform
are those of the high-quality samples' modes (`nssgan.evaluation.modes`).
"""

import numpy as np

from nssgan.data import mixtures as data_mixtures
from nssgan.evaluation import modes as modes_lib

MIXTURE_NAMES = tuple(data_mixtures.MIXTURES)
DEFAULT_NUM_STD = 3.0


def nearest_modes(samples, centers) -> tuple[np.ndarray, np.ndarray]:
    """``(k, distance)``: each sample's nearest centre and its L2 distance.

    Args:
      samples: [N, D] points.
      centers: [K, D] centres.
    """
    x = np.asarray(samples, dtype=np.float64)
    c = np.asarray(centers, dtype=np.float64)
    distances = np.linalg.norm(x[:, None, :] - c[None, :, :], axis=-1)
    k = np.argmin(distances, axis=1)
    return k, distances[np.arange(len(x)), k]


def mixture_metrics(
    name: str,
    samples,
    *,
    num_std: float = DEFAULT_NUM_STD,
    min_share: float = modes_lib.DEFAULT_MIN_SHARE,
) -> dict[str, float]:
    """Quality and coverage of ``samples`` from mixture ``name``.

    Args:
      name: 'ring' (8 modes), 'grid' (25) or 'submanifold7' (7, in 3-D).
      samples: [N, D] generated points (D = 2, or 3 for submanifold7).
      num_std: the high-quality radius in standard deviations.
      min_share: a mode is covered when it holds at least this share of its
        uniform share of the high-quality samples (and at least one).

    Returns:
      floats ``high_quality_fraction`` (of all N samples), ``modes_covered``,
      ``modes_hit`` (>= 1 high-quality sample), ``num_modes`` and
      ``kl_to_uniform`` (nats, of the high-quality histogram; NaN when no sample
      is high quality).
    """
    if name not in data_mixtures.MIXTURES:
        raise ValueError(f'{name!r} is not a mixture; mixtures: {", ".join(MIXTURE_NAMES)}.')
    mixture = data_mixtures.MIXTURES[name]
    centers = mixture.centers
    samples = np.asarray(samples)
    if samples.ndim != 2 or samples.shape[1] != centers.shape[1] or not len(samples):
        raise ValueError(
            f'{name} samples must have shape [N > 0, {centers.shape[1]}]; got {samples.shape}.'
        )
    k, distance = nearest_modes(samples, centers)
    good = distance <= num_std * mixture.std
    return {
        'high_quality_fraction': float(good.mean()),
        **modes_lib.mode_statistics(k[good], len(centers), min_share=min_share),
    }
