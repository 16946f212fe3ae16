"""Scores for the synthetic Hadamard set, whose ground truth is known exactly.

A real image is x = (1/8) sum_i alpha_i B_i with alpha_i ~ U(-1, 1) i.i.d.
(`nssgan.data.hadamard`). A fake is projected back, alpha_i = <x, B_i> / 8,
and scored per basis B_1..B_8 (low to high sequency):

- the mean and standard deviation of alpha_i (real: 0 and 1/sqrt(3) = 0.577);
- W_1(alpha_i, U(-1, 1)), the Wasserstein-1 distance of alpha_i's empirical
  distribution to the true one, computed exactly from the sorted sample
  a_(1) <= ... <= a_(n) as

      W_1 = int_0^1 |a_(ceil(nu)) - (2u - 1)| du
          = (1/2) sum_j [F(q_j - a_(j)) - F(q_{j-1} - a_(j))],

  q_j = 2j/n - 1 the uniform quantiles, F(t) = t|t|/2 (an antiderivative of
  |t|); for real samples E[W_1] -> (sqrt(2 pi) / 4) / sqrt(n) = 0.63 / sqrt(n)
  (0.006 for n = 10,000), and W_1 = 0.5 for alpha_i = 0;
- the residual energy ||x - sum_i alpha_i B_i / 8||^2, the part of the image
  outside the bases' span (0 for reals), as a mean per image and as a
  fraction of the total energy sum ||x||^2.
"""

import numpy as np

from nssgan.data import hadamard as data_hadamard

NUM_BASES = data_hadamard.SIZE


def wasserstein1_to_uniform(samples, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """W_1 of each column's empirical distribution to U(low, high), exactly.

    Args:
      samples: [N] or [N, M] values (N >= 1).

    Returns:
      float64 [] or [M]: int_0^1 |Q_n(u) - Q(u)| du for the empirical quantile
      function Q_n and Q(u) = low + (high - low) u.
    """
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=0)
    n = x.shape[0]
    if n == 0:
        raise ValueError('W_1 needs at least one sample.')
    width = high - low
    q = low + width * np.arange(n + 1) / n
    q = q.reshape((n + 1,) + (1,) * (x.ndim - 1))

    def antiderivative(t):
        return t * np.abs(t) / 2

    # On u in [(j-1)/n, j/n], Q(u) runs linearly over [q_{j-1}, q_j] and du = dq / width.
    pieces = antiderivative(q[1:] - x) - antiderivative(q[:-1] - x)
    return pieces.sum(axis=0) / width


def hadamard_statistics(images) -> dict[str, np.ndarray]:
    """Per-basis coefficient statistics of ``images`` ([N, 8, 8, 1] or [N, 8, 8]).

    Returns:
      ``mean``, ``std`` (population, ddof 0) and ``w1`` (W_1 to U(-1, 1)):
      float64 [8], bases B_1..B_8; ``residual``: the mean residual energy per
      image; ``residual_fraction``: sum of residual energies / sum ||x||^2
      (0 for all-zero images).
    """
    x = np.asarray(images, dtype=np.float64)
    if x.size != len(x) * NUM_BASES * NUM_BASES or not len(x):
        raise ValueError(
            f'Hadamard images must have 64 values each ([N > 0, 8, 8, 1]); got shape {x.shape}.'
        )
    coefficients, residual = data_hadamard.hadamard_coefficients(x)
    energy = np.square(x).sum()
    return {
        'mean': coefficients.mean(axis=0),
        'std': coefficients.std(axis=0),
        'w1': wasserstein1_to_uniform(coefficients),
        'residual': residual.mean(),
        'residual_fraction': residual.sum() / energy if energy > 0 else np.float64(0.0),
    }


def hadamard_metrics(images) -> dict[str, float]:
    """`hadamard_statistics` as flat floats.

    Keys: ``mean_B{i}``, ``std_B{i}``, ``w1_B{i}`` for i = 1..8; ``w1_mean``
    (the mean of the eight W_1); ``std_B5_B8`` (the mean std of the four
    highest-frequency coefficients, the NSS paper's Fig. 5 quantity; real
    0.577); ``residual_energy`` and ``residual_fraction``.
    """
    stats = hadamard_statistics(images)
    metrics = {}
    for name in ('mean', 'std', 'w1'):
        for i, value in enumerate(stats[name], start=1):
            metrics[f'{name}_B{i}'] = float(value)
    metrics['w1_mean'] = float(stats['w1'].mean())
    metrics['std_B5_B8'] = float(stats['std'][4:].mean())
    metrics['residual_energy'] = float(stats['residual'])
    metrics['residual_fraction'] = float(stats['residual_fraction'])
    return metrics
