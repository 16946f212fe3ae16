"""Mode histograms: coverage and KL divergence to the uniform distribution.

Shared by the mixture and the digit metrics. Given the mode of each counted
sample (high-quality for mixtures, confidently classified for digits), with
n_k samples on mode k of K and n = sum_k n_k:

    KL(p || U) = sum_k p_k log(K p_k) = log K - H(p),    p_k = n_k / n,

in nats (0 <= KL <= log K; log K is full collapse onto one mode). A mode is
*covered* when n_k >= max(1, ceil(min_share * n / K)): it holds at least
``min_share`` of the n / K samples it would get under the uniform distribution.
``min_share = 0`` is the count the unrolled-GAN, VEEGAN and PacGAN papers report
for stacked MNIST and the mixtures (a mode is captured by a single sample);
`mode_statistics` reports it too, as ``modes_hit``. That count creeps up with n
for a generator that sprays a few stray samples over many modes; the default
min_share = 0.1 asks for a tenth of a fair share (a single sample still
suffices while n <= 10 K).

The empirical KL of n samples from the uniform distribution itself is biased
upwards: E[KL] ~= (K - 1) / (2 n) nats (0.002 for K = 8, n = 2,000; 0.05 for
K = 1,000, n = 10,000).
"""

import math

import numpy as np

DEFAULT_MIN_SHARE = 0.1


def mode_counts(modes, num_modes: int) -> np.ndarray:
    """n_k: int64 [num_modes] counts of ``modes`` (ints in [0, num_modes))."""
    modes = np.asarray(modes).reshape(-1)
    if modes.size and (modes.min() < 0 or modes.max() >= num_modes):
        raise ValueError(
            f'mode indices must lie in [0, {num_modes}); got [{modes.min()}, {modes.max()}].'
        )
    return np.bincount(modes.astype(np.int64), minlength=num_modes)


def kl_to_uniform(counts) -> float:
    """KL(p || U) = log K - H(p) in nats for counts n_k (NaN if all are 0)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return float('nan')
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


def coverage_threshold(
    num_counted: int, num_modes: int, min_share: float = DEFAULT_MIN_SHARE
) -> int:
    """max(1, ceil(min_share * n / K)): the count that makes a mode covered."""
    if min_share < 0:
        raise ValueError(f'min_share must be >= 0; got {min_share}.')
    # The rounding guards ceil against float noise (0.1 * 2000 / 8 = 25.000000000000004).
    return max(1, math.ceil(round(min_share * num_counted / num_modes, 9)))


def mode_statistics(
    modes, num_modes: int, *, min_share: float = DEFAULT_MIN_SHARE
) -> dict[str, float]:
    """Coverage and KL of the histogram of ``modes`` (the counted samples only).

    Returns:
      ``modes_covered`` (modes with n_k >= `coverage_threshold`), ``modes_hit``
      (modes with n_k >= 1), ``num_modes`` (K) and ``kl_to_uniform`` (NaN when
      no sample is counted), all floats.
    """
    counts = mode_counts(modes, num_modes)
    threshold = coverage_threshold(int(counts.sum()), num_modes, min_share)
    return {
        'modes_covered': float(np.sum(counts >= threshold)),
        'modes_hit': float(np.sum(counts >= 1)),
        'num_modes': float(num_modes),
        'kl_to_uniform': kl_to_uniform(counts),
    }
