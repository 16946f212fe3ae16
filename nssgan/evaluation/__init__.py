"""Evaluation: FID, IS and KID with the FID Inception, and metrics for the embedded data.

* Inception-based: `inception` (pytorch-fid's FID InceptionV3 in Flax; weights from
  the user's file through `python -m nssgan.evaluation.convert_inception`),
  `frechet_distance`, `inception_score`, `kernel_inception_distance`.
* Without Inception weights: Gaussian-mixture mode coverage and sample quality,
  Hadamard coefficient statistics, and digit / colour-digit scores from a small
  classifier trained on the embedded digits; `embedded_metrics` scores samples of
  any of those datasets.
"""

from nssgan.evaluation.digit_classifier import DigitClassifier, load_classifier
from nssgan.evaluation.digits import digit_metrics
from nssgan.evaluation.embedded import SCORED_DATASETS, embedded_metrics
from nssgan.evaluation.frechet import (
    frechet_distance,
    frechet_distance_from_features,
    gaussian_statistics,
)
from nssgan.evaluation.hadamard import (
    hadamard_metrics,
    hadamard_statistics,
    wasserstein1_to_uniform,
)
from nssgan.evaluation.inception import (
    FIDInceptionV3,
    batched_features_and_logits,
    features_and_logits,
    load_inception,
)
from nssgan.evaluation.mixtures import mixture_metrics
from nssgan.evaluation.modes import kl_to_uniform, mode_statistics
from nssgan.evaluation.scores import inception_score, kernel_inception_distance

__all__ = [
    'DigitClassifier',
    'FIDInceptionV3',
    'batched_features_and_logits',
    'features_and_logits',
    'inception_score',
    'kernel_inception_distance',
    'load_inception',
    'SCORED_DATASETS',
    'digit_metrics',
    'embedded_metrics',
    'frechet_distance',
    'frechet_distance_from_features',
    'gaussian_statistics',
    'hadamard_metrics',
    'hadamard_statistics',
    'kl_to_uniform',
    'load_classifier',
    'mixture_metrics',
    'mode_statistics',
    'wasserstein1_to_uniform',
]
