"""`embedded_metrics`: one entry point for scoring samples of any embedded dataset."""

import numpy as np

from nssgan.data import registry
from nssgan.evaluation import digits, hadamard, mixtures
from nssgan.evaluation import modes as modes_lib

SCORED_DATASETS = ('hadamard',) + tuple(digits.DIGIT_DATASETS) + mixtures.MIXTURE_NAMES


def _unscorable(name: str) -> ValueError:
    if name == 'photo_patches':
        why = 'photo_patches has neither modes nor a known ground truth; score it with FID/KID'
    elif name in registry.TFDS_DATASETS:
        why = f'{name!r} is a TFDS dataset; score it with FID/IS/KID'
    else:
        why = f'unknown dataset {name!r}'
    return ValueError(
        f'embedded_metrics cannot score this: {why}. It scores {", ".join(SCORED_DATASETS)}.'
    )


def embedded_metrics(
    dataset_name: str,
    samples,
    *,
    image_size: int | None = None,
    num_std: float = mixtures.DEFAULT_NUM_STD,
    confidence: float = digits.DEFAULT_CONFIDENCE,
    min_share: float = modes_lib.DEFAULT_MIN_SHARE,
    cache_dir: str | None = None,
) -> dict[str, float]:
    """Scores generated ``samples`` of an embedded dataset; a flat dict of floats.

    - ring, grid, submanifold7 (`mixtures.mixture_metrics`):
      high_quality_fraction, modes_covered, modes_hit, num_modes, kl_to_uniform.
    - hadamard (`hadamard.hadamard_metrics`): mean_B{i}, std_B{i}, w1_B{i},
      w1_mean, std_B5_B8, residual_energy, residual_fraction.
    - digits, color_digits (`digits.digit_metrics`): frechet_distance,
      confident_fraction, modes_covered, modes_hit, num_modes, kl_to_uniform,
      classifier_accuracy.

    Nothing here is random: reference statistics are exact and the classifier
    is trained deterministically (and cached).

    Args:
      dataset_name: one of `SCORED_DATASETS`.
      samples: a batch as the dataset yields it: [N, D] points for mixtures,
        [N, S, S, C] images in [-1, 1] otherwise ([N, S, S] for one
        channel), NumPy or JAX.
      image_size: the resolution S the samples should have (default: theirs);
        ignored for mixtures.
      num_std: mixtures' high-quality radius in standard deviations.
      confidence: digits' minimum softmax probability of a counted prediction.
      min_share: a mode is covered when it holds at least this share of its
        uniform share n / K of the counted samples (and at least one).
      cache_dir: the digit classifier's cache directory.
      Options that do not apply to ``dataset_name`` are ignored.

    Raises:
      ValueError: for a dataset it cannot score (photo_patches, TFDS data, an
        unknown name) or samples of the wrong shape.
    """
    if dataset_name not in SCORED_DATASETS:
        raise _unscorable(dataset_name)
    samples = np.asarray(samples)
    if dataset_name in mixtures.MIXTURE_NAMES:
        return mixtures.mixture_metrics(dataset_name, samples, num_std=num_std, min_share=min_share)
    if samples.ndim < 3:
        raise ValueError(
            f'{dataset_name} samples must be [N, S, S, C] images; got shape {samples.shape}.'
        )
    if image_size is None:
        image_size = samples.shape[1]
    spec = registry.dataset_spec(dataset_name, image_size)
    if samples.ndim == 3 and spec.shape[-1] == 1:
        samples = samples[..., None]
    if samples.shape[1:] != spec.shape:
        raise ValueError(
            f'{dataset_name} samples at image_size={image_size} must '
            f'have shape [N, {", ".join(map(str, spec.shape))}]; '
            f'got {samples.shape}.'
        )
    if dataset_name == 'hadamard':
        return hadamard.hadamard_metrics(samples)
    return digits.digit_metrics(
        dataset_name, samples, confidence=confidence, min_share=min_share, cache_dir=cache_dir
    )
