"""The Fréchet distance between two Gaussians, as used by FID.

For N(mu1, Sigma1) and N(mu2, Sigma2) the squared Fréchet (2-Wasserstein)
distance is

    d^2 = ||mu1 - mu2||^2 + tr Sigma1 + tr Sigma2
          - 2 tr (Sigma1^{1/2} Sigma2 Sigma1^{1/2})^{1/2},

the number reported as FID. The last trace is computed without the complex,
non-symmetric ``scipy.linalg.sqrtm(Sigma1 @ Sigma2)`` of the reference FID
code: with S_i = Sigma_i^{1/2} from a symmetric eigen-decomposition
(eigenvalues below round-off set to 0, as a covariance is positive
semi-definite),

    (S1 S2)^T (S1 S2) = S2 Sigma1 S2,  so
    tr (Sigma1^{1/2} Sigma2 Sigma1^{1/2})^{1/2} = ||S1 S2||_* = sum of the
    singular values of S1 S2,

all in float64. This stays real and accurate for singular or ill-conditioned
covariances (fewer samples than dimensions), where ``sqrtm`` of the product
needs the usual eps-offset retry and drops an imaginary part, and it is
symmetric in the two Gaussians (S2 S1 = (S1 S2)^T has the same singular
values).
"""

import numpy as np


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)``: the float64 mean [D] and covariance [D, D] of [N, D] features.

    The covariance is the unbiased one (ddof = 1), as in the reference FID code.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f'features must have shape [N >= 2, D]; got {f.shape}.')
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def psd_sqrt(sigma) -> np.ndarray:
    """Sigma^{1/2} of a symmetric positive semi-definite matrix via `numpy.linalg.eigh`.

    Sigma is symmetrized first. Eigenvalues at or below D * eps * max|lambda|
    (`numpy.linalg.matrix_rank`'s tolerance: eigh's round-off) are set to 0: a
    singular covariance's null space would otherwise add sqrt(round-off)
    ~ 1e-8 * sqrt(max|lambda|) per direction to the square root.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh((sigma + sigma.T) / 2)
    tolerance = len(eigenvalues) * np.finfo(np.float64).eps * np.abs(eigenvalues).max(initial=0)
    root = np.sqrt(np.where(eigenvalues > tolerance, eigenvalues, 0.0))
    return (eigenvectors * root) @ eigenvectors.T


def _check(mu, sigma, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(
            f'mu{name} must be [D] and sigma{name} [D, D]; got {mu.shape} and {sigma.shape}.'
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f'mu{name} and sigma{name} must be finite.')
    return mu, sigma


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The squared Fréchet distance d^2 between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr sigma1 + tr sigma2 - 2 ||sigma1^{1/2} sigma2^{1/2}||_*
    (see the module docstring), in float64, clipped at 0 against round-off.

    Args:
      mu1, mu2: means [D].
      sigma1, sigma2: covariances [D, D] (symmetric positive semi-definite;
        singular is fine).

    Returns:
      d^2 as a Python float (FID when the statistics are Inception features').
    """
    mu1, sigma1 = _check(mu1, sigma1, '1')
    mu2, sigma2 = _check(mu2, sigma2, '2')
    if len(mu1) != len(mu2):
        raise ValueError(f'the Gaussians have different dimensions: {len(mu1)} and {len(mu2)}.')
    diff = mu1 - mu2
    cross = np.linalg.svd(psd_sqrt(sigma1) @ psd_sqrt(sigma2), compute_uv=False).sum()
    d2 = diff @ diff + (np.trace(sigma1) + np.trace(sigma2)) - 2.0 * cross
    return float(max(d2, 0.0))


def frechet_distance_from_features(features1, features2) -> float:
    """`frechet_distance` of the `gaussian_statistics` of two [N, D] feature sets."""
    return frechet_distance(*gaussian_statistics(features1), *gaussian_statistics(features2))
