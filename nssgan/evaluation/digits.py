"""Digit and colour-digit scores from the small classifier (no Inception weights).

Each generated image goes through `digit_classifier` (trained once on the
embedded digits at the images' resolution and cached); a `color_digits` image
is classified channel by channel (R, G, B each a digit), its mode being the
triple 100 r + 10 g + b, one of 1,000. The scores:

- ``frechet_distance``: d^2 (`nssgan.evaluation.frechet`) between the Gaussian
  of the samples' penultimate-layer features (64-D; for colour digits the
  three channels' features concatenated, 192-D) and that of the real data.
  The real statistics are exact, not sampled: `digits` *is* the uniform
  distribution over the 1,797 images, so mu_r and Sigma_r are the mean and
  the (ddof 0) covariance of their features; `color_digits` draws its channels
  independently from it, so mu_r = (mu, mu, mu) and Sigma_r =
  diag(Sigma, Sigma, Sigma) block-wise.
- ``confident_fraction``: the share of samples whose predicted class has a
  softmax probability >= ``confidence`` (default 0.9) -- in every channel, for
  colour digits. Only these samples count as evidence of a mode, the analogue
  of the mixtures' high-quality samples: an ambiguous blob is no digit.
  ``confidence=0`` counts every sample, the stacked-MNIST protocol of the
  unrolled-GAN, VEEGAN and PacGAN papers. A softmax is no detector of
  non-digits, though (images of uniform noise pass at 0.9 almost always):
  the Fréchet distance is the score that sees samples off the data.
- ``modes_covered``, ``modes_hit``, ``num_modes`` and ``kl_to_uniform`` of the
  confident samples' modes (`nssgan.evaluation.modes`).
- ``classifier_accuracy``: the classifier's held-out test accuracy, to judge
  the other numbers by.
"""

import numpy as np

from nssgan.evaluation import digit_classifier, frechet
from nssgan.evaluation import modes as modes_lib

DIGIT_DATASETS = {'digits': 1, 'color_digits': 3}  # name -> channels
DEFAULT_CONFIDENCE = 0.9


def reference_statistics(
    classifier: digit_classifier.DigitClassifier, channels: int
) -> tuple[np.ndarray, np.ndarray]:
    """The exact (mu, Sigma) of real features for 1 (digits) or 3 (color_digits) channels."""
    features = classifier.real_features
    mu = features.mean(axis=0)
    sigma = np.cov(features, rowvar=False, ddof=0)
    return np.tile(mu, channels), np.kron(np.eye(channels), sigma)


def classify(
    classifier: digit_classifier.DigitClassifier, images
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel: ``(classes [N, C], probabilities [N, C], features [N, C * 64])``."""
    images = np.asarray(images)
    n, height, width, channels = images.shape
    per_channel = images.transpose(0, 3, 1, 2).reshape(n * channels, height, width, 1)
    log_probs, features = classifier.predict(per_channel)
    classes = log_probs.argmax(axis=1)
    probabilities = np.exp(log_probs[np.arange(len(classes)), classes])
    return (
        classes.reshape(n, channels),
        probabilities.reshape(n, channels),
        features.reshape(n, -1),
    )


def digit_metrics(
    name: str,
    samples,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    min_share: float = modes_lib.DEFAULT_MIN_SHARE,
    cache_dir: str | None = None,
) -> dict[str, float]:
    """Classifier-based scores of generated ``digits`` or ``color_digits``.

    Args:
      name: 'digits' or 'color_digits'.
      samples: [N, S, S, C] images in [-1, 1] (C = 1 or 3; [N, S, S] for
        digits), N >= 2, at the resolution S the generator was trained at.
      confidence: the softmax probability a prediction needs to count.
      min_share: coverage rule of `nssgan.evaluation.modes`.
      cache_dir: where the classifier is cached (default $NSSGAN_CACHE, else
        ~/.cache/nssgan); it is trained there (seconds) if absent.

    Returns:
      floats ``frechet_distance`` (NaN for non-finite samples), ``confident_fraction``,
      ``modes_covered``,
      ``modes_hit``, ``num_modes``, ``kl_to_uniform`` (NaN when no sample is
      confident) and ``classifier_accuracy``.
    """
    if name not in DIGIT_DATASETS:
        raise ValueError(
            f'{name!r} is not a digit dataset; those are: {", ".join(DIGIT_DATASETS)}.'
        )
    channels = DIGIT_DATASETS[name]
    samples = np.asarray(samples)
    if name == 'digits' and samples.ndim == 3:
        samples = samples[..., None]
    if (
        samples.ndim != 4
        or samples.shape[1] != samples.shape[2]
        or samples.shape[3] != channels
        or len(samples) < 2
    ):
        raise ValueError(
            f'{name} samples must have shape [N >= 2, S, S, {channels}]; got {samples.shape}.'
        )
    classifier = digit_classifier.load_classifier(samples.shape[1], cache_dir=cache_dir)
    classes, probabilities, features = classify(classifier, samples)
    confident = np.all(probabilities >= confidence, axis=1)
    modes = classes @ (10 ** np.arange(channels - 1, -1, -1))
    num_modes = digit_classifier.NUM_CLASSES**channels
    if np.all(np.isfinite(features)):
        distance = frechet.frechet_distance(
            *frechet.gaussian_statistics(features), *reference_statistics(classifier, channels)
        )
    else:  # a diverged generator's NaNs
        distance = float('nan')
    return {
        'frechet_distance': distance,
        'confident_fraction': float(confident.mean()),
        **modes_lib.mode_statistics(modes[confident], num_modes, min_share=min_share),
        'classifier_accuracy': classifier.test_accuracy,
    }
