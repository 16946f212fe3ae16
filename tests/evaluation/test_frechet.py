"""`nssgan.evaluation.frechet`: the Fréchet distance from a factor of one covariance
(Cholesky, or an eigen-factor of a singular one) and a values-only eigenproblem, checked
against the reference FID formula (scipy's sqrtm), the previous square-root/SVD form,
closed forms, and from features (the cross-Gram route); and the streamed statistics."""

import numpy as np
import pytest
import scipy.linalg

from nssgan.evaluation import frechet

from helpers import sqrtm_frechet

# --- references ---------------------------------------------------------------------


def previous_frechet(mu1, sigma1, mu2, sigma2):
    """The implementation this one replaced: ||Sigma1^1/2 Sigma2^1/2||_* from two
    symmetric eigendecompositions and an SVD."""
    cross = np.linalg.svd(
        frechet.psd_sqrt(sigma1) @ frechet.psd_sqrt(sigma2), compute_uv=False
    ).sum()
    diff = mu1 - mu2
    return max(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * cross, 0.0)


def random_covariance(rng, dim, eigenvalues):
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * eigenvalues) @ q.T


def sample_statistics(rng, n, dim, scale=1.0):
    """Statistics of n correlated samples (rank min(n - 1, dim))."""
    features = scale * rng.standard_normal((n, dim)) @ rng.standard_normal((dim, dim))
    return frechet.gaussian_statistics(features + rng.normal(size=dim))


def cases():
    rng = np.random.default_rng(0)
    for dim in (64, 256):
        well = sample_statistics(rng, 4 * dim, dim)
        ill = (rng.normal(size=dim), random_covariance(rng, dim, np.logspace(-10, 2, dim)))
        yield f'well-conditioned-{dim}', (*well, *sample_statistics(rng, 4 * dim, dim, 1.5))
        # Condition number 1e12: both, then one.
        other_ill = (rng.normal(size=dim), random_covariance(rng, dim, np.logspace(-11, 1, dim)))
        yield f'condition-1e12-{dim}', (*ill, *other_ill)
        yield f'condition-1e12-and-well-{dim}', (*ill, *well)
        # Fewer samples than dimensions: singular covariances (one, then both, of
        # different ranks).
        low_rank = sample_statistics(rng, dim // 4, dim)
        yield f'rank-{dim // 4 - 1}-and-full-{dim}', (*low_rank, *well)
        yield f'full-and-rank-{dim // 4 - 1}-{dim}', (*well, *low_rank)
        half, eighth = (
            sample_statistics(rng, dim // 2, dim),
            sample_statistics(rng, dim // 8, dim, 2),
        )
        yield f'ranks-{dim // 2 - 1}-and-{dim // 8 - 1}-{dim}', (*half, *eighth)


CASES = list(cases())


@pytest.mark.parametrize('case', CASES, ids=[name for name, _ in CASES])
def test_matches_sqrtm_reference_and_previous_form(case):
    mu1, sigma1, mu2, sigma2 = case[1]
    d2 = frechet.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert d2 > 0.1 * (np.trace(sigma1) + np.trace(sigma2))  # so rel= is meaningful
    # sqrtm of the (singular, ill-conditioned) product is itself ~1e-8 off.
    assert d2 == pytest.approx(sqrtm_frechet(mu1, sigma1, mu2, sigma2), rel=1e-6)
    assert d2 == pytest.approx(previous_frechet(mu1, sigma1, mu2, sigma2), rel=1e-10)


@pytest.mark.parametrize('case', CASES, ids=[name for name, _ in CASES])
def test_symmetric_and_zero_for_identical_gaussians(case):
    mu1, sigma1, mu2, sigma2 = case[1]
    scale = np.trace(sigma1) + np.trace(sigma2)
    d2 = frechet.frechet_distance(mu1, sigma1, mu2, sigma2)
    assert frechet.frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(d2, rel=1e-12)
    for mu, sigma in ((mu1, sigma1), (mu2, sigma2)):
        assert 0 <= frechet.frechet_distance(mu, sigma, mu, sigma) < 1e-12 * scale


def test_which_factor_is_used():
    # Positive definite: Cholesky; from fewer samples than dimensions, or beyond
    # D * eps in (estimated) reciprocal condition: not.
    rng = np.random.default_rng(2)
    assert frechet._cholesky(sample_statistics(rng, 200, 50)[1]) is not None
    assert frechet._cholesky(random_covariance(rng, 50, np.logspace(-10, 2, 50))) is not None
    assert frechet._cholesky(sample_statistics(rng, 20, 50)[1]) is None
    assert frechet._cholesky(random_covariance(rng, 50, np.logspace(-16, 2, 50))) is None
    # The eigen-factor has the covariance's rank and reproduces it.
    sigma = sample_statistics(rng, 20, 50)[1]
    factor = frechet._psd_factor(sigma)
    assert factor.shape == (50, 19)
    np.testing.assert_allclose(factor @ factor.T, sigma, atol=1e-12 * np.abs(sigma).max())


def test_degenerate_covariances():
    dim = 8
    mu = np.arange(dim, dtype=np.float64)
    sigma = random_covariance(np.random.default_rng(3), dim, np.linspace(1, 2, dim))
    zero = np.zeros((dim, dim))
    # Against a point mass: ||mu||^2 + tr sigma (the cross term is 0).
    assert frechet.frechet_distance(mu, sigma, np.zeros(dim), zero) == pytest.approx(
        mu @ mu + np.trace(sigma)
    )
    assert frechet.frechet_distance(mu, zero, mu, zero) == 0.0
    # Slightly asymmetric input (round-off) is symmetrized.
    asymmetric = sigma + 1e-12 * np.triu(np.ones((dim, dim)), 1)
    assert frechet.frechet_distance(mu, asymmetric, mu, sigma) < 1e-12


@pytest.mark.slow
def test_2048_dimensions_against_commuting_closed_form():
    # Sigma_i = H diag(lambda_i) H^T with H the orthonormal 2048 x 2048 Hadamard matrix:
    # commuting, so tr (Sigma1^1/2 Sigma2 Sigma1^1/2)^1/2 = sum sqrt(lambda1 lambda2),
    # d^2 = ||mu1 - mu2||^2 + ||sqrt(lambda1) - sqrt(lambda2)||^2; the Cholesky factors
    # are dense.
    dim = 2048
    rng = np.random.default_rng(4)
    h = scipy.linalg.hadamard(dim).astype(np.float64) / np.sqrt(dim)
    lambda1 = rng.permutation(np.logspace(-4, 1, dim))
    lambda2 = lambda1 * rng.uniform(0.5, 2.0, dim)
    mu1, mu2 = rng.normal(size=dim), rng.normal(size=dim)
    sigma1, sigma2 = (h * lambda1) @ h.T, (h * lambda2) @ h.T
    exact = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(lambda1) - np.sqrt(lambda2)) ** 2)
    assert frechet._cholesky(sigma1) is not None and frechet._cholesky(sigma2) is not None
    assert frechet.frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(exact, rel=1e-9)


# --- from features: the cross-Gram route ---------------------------------------------


@pytest.mark.parametrize(
    'n1, n2, dim',
    [(10, 40, 64), (100, 30, 256), (200, 200, 256), (50, 1000, 256), (5, 2, 16)],
)
def test_from_features_with_fewer_samples_than_dimensions(n1, n2, dim):
    rng = np.random.default_rng(n1 + n2)
    offset = 1e4  # a large common offset: the features are centred first
    f1 = rng.standard_normal((n1, dim)) @ rng.standard_normal((dim, dim)) + offset
    f2 = 1.3 * rng.standard_normal((n2, dim)) @ rng.standard_normal((dim, dim)) + offset + 0.1
    statistics = (*frechet.gaussian_statistics(f1), *frechet.gaussian_statistics(f2))
    d2 = frechet.frechet_distance_from_features(f1, f2)
    assert d2 == pytest.approx(frechet.frechet_distance(*statistics), rel=1e-10)
    assert d2 == pytest.approx(sqrtm_frechet(*statistics), rel=1e-6)
    assert frechet.frechet_distance_from_features(f2, f1) == pytest.approx(d2, rel=1e-12)
    scale = np.trace(statistics[1]) + np.trace(statistics[3])
    assert 0 <= frechet.frechet_distance_from_features(f1, f1) < 1e-12 * scale


def test_from_features_with_more_samples_is_the_distance_of_their_statistics():
    rng = np.random.default_rng(5)
    f1, f2 = rng.standard_normal((300, 20)), 2 * rng.standard_normal((40, 20)) + 1
    assert frechet.frechet_distance_from_features(f1, f2) == frechet.frechet_distance(
        *frechet.gaussian_statistics(f1), *frechet.gaussian_statistics(f2)
    )
    with pytest.raises(ValueError, match='dimensions'):
        frechet.frechet_distance_from_features(f1, f2[:, :10])
    with pytest.raises(ValueError, match='N >= 2'):
        frechet.frechet_distance_from_features(f1[:1], f2)


# --- streamed statistics ---------------------------------------------------------------


def test_running_statistics_match_gaussian_statistics_of_all_features():
    rng = np.random.default_rng(6)
    dim = 48
    offset = 1e4  # a large common offset, as activations have
    features = rng.standard_normal((1000, dim)) @ rng.uniform(0, 1, (dim, dim)) + offset
    mu, sigma = frechet.gaussian_statistics(features)
    sizes = [1, 7, 0, 250, 1, 333, 2, 406]  # uneven, a batch of 1 first
    assert sum(sizes) == len(features)
    running = frechet.RunningStatistics()
    for batch in np.split(features, np.cumsum(sizes)[:-1]):
        assert running.update(batch.astype(np.float64)) is running
    streamed_mu, streamed_sigma = running.finalize()
    assert running.count == len(features)
    np.testing.assert_allclose(streamed_mu, mu, rtol=1e-14)
    # The covariance to 1e-10 of its norm (it has entries near 0)...
    error = np.abs(streamed_sigma - sigma).max() / np.abs(sigma).max()
    assert error < 1e-10
    np.testing.assert_array_equal(streamed_sigma, streamed_sigma.T)
    # ... where the naive sum of x x^T loses about 8 digits to the offset.
    naive = (features.T @ features - len(features) * np.outer(mu, mu)) / (len(features) - 1)
    assert np.abs(naive - sigma).max() / np.abs(sigma).max() > 1e3 * max(error, 1e-16)
    # Float32 batches (Inception's features) are accumulated in float64.
    as_float32 = features.astype(np.float32)
    streamed32 = frechet.RunningStatistics()
    for batch in np.array_split(as_float32, 7):
        streamed32.update(batch)
    mu32, sigma32 = frechet.gaussian_statistics(as_float32)
    assert np.abs(streamed32.finalize()[1] - sigma32).max() / np.abs(sigma32).max() < 1e-10


def test_running_statistics_merge_and_errors():
    rng = np.random.default_rng(7)
    features = rng.standard_normal((90, 5)) + 3.0
    first, second = frechet.RunningStatistics(), frechet.RunningStatistics()
    first.update(features[:31])
    second.update(features[31:60]).update(features[60:])
    merged = first.merge(second).merge(frechet.RunningStatistics())  # an empty one too
    mu, sigma = frechet.gaussian_statistics(features)
    np.testing.assert_allclose(merged.finalize()[0], mu, rtol=1e-14)
    np.testing.assert_allclose(merged.finalize()[1], sigma, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match='at least 2'):
        frechet.RunningStatistics().update(features[:1]).finalize()
    with pytest.raises(ValueError, match=r'\[n, 5\]'):
        merged.update(np.zeros((3, 4)))
