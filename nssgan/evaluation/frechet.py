"""The Fréchet distance between two Gaussians, as used by FID.

For N(mu1, Sigma1) and N(mu2, Sigma2) the squared Fréchet (2-Wasserstein)
distance is

    d^2 = ||mu1 - mu2||^2 + tr Sigma1 + tr Sigma2
          - 2 tr (Sigma1^{1/2} Sigma2 Sigma1^{1/2})^{1/2},

the number reported as FID. The last trace is computed without the complex,
non-symmetric ``scipy.linalg.sqrtm(Sigma1 @ Sigma2)`` of the reference FID code,
and without any matrix square root: for any factor Sigma1 = B B^T, the matrices

    B^T Sigma2 B = X Y  and  Sigma2 Sigma1 = Y X    (X = B^T, Y = Sigma2 B)

have the same nonzero eigenvalues mu_i >= 0, whatever B, and B = Sigma1^{1/2} makes
the first Sigma1^{1/2} Sigma2 Sigma1^{1/2}; so

    tr (Sigma1^{1/2} Sigma2 Sigma1^{1/2})^{1/2} = sum_i sqrt(mu_i),  mu = eig(B^T Sigma2 B),

the eigenvalues of one symmetric matrix, computed without eigenvectors
(`scipy.linalg.eigvalsh`), negative round-off ones set to 0. B is

* the Cholesky factor L of Sigma1 when both covariances are numerically positive
  definite (`_cholesky`: LAPACK's estimate of each one's reciprocal condition number
  above D * eps): L^T Sigma2 L is one LAPACK ``sygst`` call (about D^3 flops), and
  the whole distance costs two Cholesky factorizations and one values-only symmetric
  eigenproblem, instead of the two full eigendecompositions (for Sigma_i^{1/2}) and
  the SVD of the previous form ||Sigma1^{1/2} Sigma2^{1/2}||_*;
* otherwise (a singular or very ill-conditioned covariance, e.g. from fewer samples
  than dimensions) V_r Lambda_r^{1/2} from the symmetric eigendecomposition of such
  a covariance (of the one of lower rank when neither is positive definite, the
  Gaussians' roles swapped when that is Sigma2), its eigenvalues at or below
  D * eps * max|lambda| (round-off) dropped as in `psd_sqrt`: B^T Sigma_other B is
  then r x r (r the rank) with (generically) no null space, whose round-off
  eigenvalues would each add sqrt(round-off) ~ 1e-8 * sqrt(||Sigma1|| ||Sigma2||) to
  the trace.

All in float64; d^2 is symmetric in the two Gaussians up to round-off.

`frechet_distance_from_features` takes the two feature sets instead; when a set has
fewer samples than dimensions it uses their n1 x n2 cross-Gram matrix: with the
centred features A_i = (F_i - mu_i) / sqrt(n_i - 1), Sigma_i = A_i^T A_i and the
trace above is the sum of the singular values of A1 A2^T (the nuclear norm), with no
D x D matrix formed.

`RunningStatistics` accumulates the mean and covariance batch by batch (Chan et
al.'s pairwise update), so the statistics of many features need O(D^2) memory,
not all the features.
"""

import numpy as np
from scipy.linalg import eigvalsh, lapack

_EPS = np.finfo(np.float64).eps


def gaussian_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)``: the float64 mean [D] and covariance [D, D] of [N, D] features.

    The covariance is the unbiased one (ddof = 1), as in the reference FID code.
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f'features must have shape [N >= 2, D]; got {f.shape}.')
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


class RunningStatistics:
    """`gaussian_statistics` of features given batch by batch, in O(D^2) memory.

    Each batch's own mean and centred scatter sum_j (x_j - m_b)(x_j - m_b)^T are
    merged into the running (count, mean, scatter) with Chan et al.'s pairwise update

        n = n_a + n_b,  delta = m_b - m_a,  m = m_a + delta n_b / n,
        M = M_a + M_b + delta delta^T n_a n_b / n,

    in float64. Nothing is ever the difference of two large uncentred sums, so a
    large common offset of the features costs no accuracy (unlike accumulating
    sum x and sum x x^T). ``finalize()`` gives ``(mu, sigma)`` with sigma = M / (n - 1),
    the unbiased covariance of all the rows seen.
    """

    def __init__(self):
        self.count = 0
        self.mean = None  # [D] float64
        self.scatter = None  # [D, D] float64: sum of outer products of centred rows

    def update(self, features) -> 'RunningStatistics':
        """Adds the rows of ``features`` [n, D] (any n >= 0); returns ``self``."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or (self.mean is not None and f.shape[1] != len(self.mean)):
            dim = 'D' if self.mean is None else len(self.mean)
            raise ValueError(f'features must have shape [n, {dim}]; got {f.shape}.')
        if len(f) == 0:
            return self
        mean = f.mean(axis=0)
        centred = f - mean
        return self._merge(len(f), mean, centred.T @ centred)

    def merge(self, other: 'RunningStatistics') -> 'RunningStatistics':
        """Adds the rows ``other`` has seen (as if they came after this one's); returns
        ``self``."""
        if other.count == 0:
            return self
        return self._merge(other.count, other.mean, other.scatter)

    def _merge(self, count, mean, scatter) -> 'RunningStatistics':
        if self.count == 0:
            self.count, self.mean, self.scatter = count, mean.copy(), scatter.copy()
            return self
        if len(mean) != len(self.mean):
            raise ValueError(f'feature dimensions differ: {len(self.mean)} and {len(mean)}.')
        total = self.count + count
        delta = mean - self.mean
        self.mean += delta * (count / total)
        self.scatter += scatter
        self.scatter += np.outer(delta, delta * (self.count * count / total))
        self.count = total
        return self

    def finalize(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mu [D], sigma [D, D])``, float64, sigma unbiased (ddof = 1)."""
        if self.count < 2:
            raise ValueError(f'the statistics need at least 2 rows; got {self.count}.')
        sigma = self.scatter / (self.count - 1)
        return self.mean.copy(), (sigma + sigma.T) / 2


def _clipped_eigh(sigma) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (those at or below D * eps * max|lambda| set to 0) and eigenvectors
    of the symmetric ``sigma``."""
    eigenvalues, eigenvectors = np.linalg.eigh(sigma)
    tolerance = len(eigenvalues) * _EPS * np.abs(eigenvalues).max(initial=0)
    return np.where(eigenvalues > tolerance, eigenvalues, 0.0), eigenvectors


def psd_sqrt(sigma) -> np.ndarray:
    """Sigma^{1/2} of a symmetric positive semi-definite matrix via `numpy.linalg.eigh`.

    Sigma is symmetrized first. Eigenvalues at or below D * eps * max|lambda|
    (`numpy.linalg.matrix_rank`'s tolerance: eigh's round-off) are set to 0: a
    singular covariance's null space would otherwise add sqrt(round-off)
    ~ 1e-8 * sqrt(max|lambda|) per direction to the square root.
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    eigenvalues, eigenvectors = _clipped_eigh((sigma + sigma.T) / 2)
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T


def _psd_factor(sigma) -> np.ndarray:
    """B [D, r] with B B^T = sigma (symmetric PSD), r its rank: V_r Lambda_r^{1/2} of the
    eigenvalues `_clipped_eigh` keeps."""
    eigenvalues, eigenvectors = _clipped_eigh(sigma)
    kept = eigenvalues > 0
    return eigenvectors[:, kept] * np.sqrt(eigenvalues[kept])


def _cholesky(sigma) -> np.ndarray | None:
    """The lower Cholesky factor of the symmetric ``sigma`` when it is numerically
    positive definite, else None.

    Numerically positive definite: the factorization succeeds and LAPACK's estimate of
    the reciprocal 1-norm condition number exceeds D * eps. Then lambda_min >=
    rcond * ||sigma||_1 > D * eps * lambda_max, so no eigenvalue is at the round-off
    level that `psd_sqrt` sets to 0.
    """
    factor, info = lapack.dpotrf(sigma, lower=1, clean=1)
    if info != 0:
        return None
    rcond, info = lapack.dpocon(factor, np.abs(sigma).sum(axis=0).max(), uplo='L')
    return factor if info == 0 and rcond > len(sigma) * _EPS else None


def _trace_sqrt_product(sigma1, sigma2) -> float:
    """tr (sigma1^{1/2} sigma2 sigma1^{1/2})^{1/2} = sum_i sqrt(eig_i(B^T sigma2 B)) for
    a factor sigma1 = B B^T (see the module docstring), of symmetric PSD matrices."""
    factor1, factor2 = _cholesky(sigma1), _cholesky(sigma2)
    if factor1 is not None and factor2 is not None:  # B = L1; B^T sigma2 B by sygst.
        product, info = lapack.dsygst(sigma2, factor1, itype=2, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f'LAPACK dsygst failed (info={info}).')
    else:
        # B from the eigendecomposition of a covariance that is not numerically
        # positive definite (of the one of lower rank when neither is), so that
        # B^T sigma_other B (r x r) has no null space.
        factors = [
            (_psd_factor(sigma), other)
            for sigma, other, cholesky in ((sigma1, sigma2, factor1), (sigma2, sigma1, factor2))
            if cholesky is None
        ]
        factor, other = min(factors, key=lambda pair: pair[0].shape[1])
        if factor.shape[1] == 0:  # A zero covariance: the trace is 0.
            return 0.0
        product = factor.T @ other @ factor
    eigenvalues = eigvalsh(product, lower=True, driver='evr', check_finite=False)
    return float(np.sqrt(np.maximum(eigenvalues, 0.0)).sum())


def _check(mu, sigma, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.atleast_1d(np.asarray(mu, dtype=np.float64))
    sigma = np.atleast_2d(np.asarray(sigma, dtype=np.float64))
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise ValueError(
            f'mu{name} must be [D] and sigma{name} [D, D]; got {mu.shape} and {sigma.shape}.'
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f'mu{name} and sigma{name} must be finite.')
    return mu, (sigma + sigma.T) / 2


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """The squared Fréchet distance d^2 between N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = ||mu1 - mu2||^2 + tr sigma1 + tr sigma2 - 2 sum_i sqrt(mu_i), mu_i the
    eigenvalues of B^T sigma2 B for a factor sigma1 = B B^T (Cholesky, or from the
    eigendecomposition of a singular covariance; see the module docstring), in
    float64, clipped at 0 against round-off.

    Args:
      mu1, mu2: means [D].
      sigma1, sigma2: covariances [D, D] (symmetric positive semi-definite;
        singular is fine). They are symmetrized first.

    Returns:
      d^2 as a Python float (FID when the statistics are Inception features').
    """
    mu1, sigma1 = _check(mu1, sigma1, '1')
    mu2, sigma2 = _check(mu2, sigma2, '2')
    if len(mu1) != len(mu2):
        raise ValueError(f'the Gaussians have different dimensions: {len(mu1)} and {len(mu2)}.')
    diff = mu1 - mu2
    cross = _trace_sqrt_product(sigma1, sigma2)
    d2 = diff @ diff + (np.trace(sigma1) + np.trace(sigma2)) - 2.0 * cross
    return float(max(d2, 0.0))


def frechet_distance_from_features(features1, features2) -> float:
    """`frechet_distance` of the `gaussian_statistics` of two [N, D] feature sets.

    When a set has fewer samples than dimensions and the n1 x n2 cross-Gram matrix is
    no larger than the features (n1 n2 <= D (n1 + n2)), d^2 = ||mu1 - mu2||^2 +
    ||A1||_F^2 + ||A2||_F^2 - 2 ||A1 A2^T||_*, with A_i = (F_i - mu_i) / sqrt(n_i - 1)
    the centred features (Sigma_i = A_i^T A_i): the singular values of A1 A2^T are
    the square roots of the nonzero eigenvalues of A1 Sigma2 A1^T, i.e. of
    Sigma1^{1/2} Sigma2 Sigma1^{1/2}, and no D x D matrix is formed. Otherwise the
    covariances are formed and `frechet_distance` is used.
    """
    f1 = np.asarray(features1, dtype=np.float64)
    f2 = np.asarray(features2, dtype=np.float64)
    for name, f in (('features1', f1), ('features2', f2)):
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f'{name} must have shape [N >= 2, D]; got {f.shape}.')
        if not np.all(np.isfinite(f)):
            raise ValueError(f'{name} must be finite.')
    (n1, dim), (n2, dim2) = f1.shape, f2.shape
    if dim != dim2:
        raise ValueError(f'the feature sets have different dimensions: {dim} and {dim2}.')
    if min(n1, n2) >= dim or n1 * n2 > dim * (n1 + n2):
        return frechet_distance(*gaussian_statistics(f1), *gaussian_statistics(f2))
    mu1, mu2 = f1.mean(axis=0), f2.mean(axis=0)
    a1 = (f1 - mu1) / np.sqrt(n1 - 1)
    a2 = (f2 - mu2) / np.sqrt(n2 - 1)
    cross = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum()
    diff = mu1 - mu2
    d2 = diff @ diff + (np.sum(a1 * a1) + np.sum(a2 * a2)) - 2.0 * cross
    return float(max(d2, 0.0))
