"""Inception Score and KID against direct computations and known values."""

import itertools

import numpy as np
import pytest

from nssgan.evaluation import scores


def _direct_is(logits, splits):
    values = []
    for part in np.array_split(np.asarray(logits, np.float64), splits):
        p = np.exp(part) / np.exp(part).sum(1, keepdims=True)
        marginal = p.mean(0)
        kl = [sum(pi * np.log(pi / mj) for pi, mj in zip(row, marginal)) for row in p]
        values.append(np.exp(np.mean(kl)))
    return np.mean(values), np.std(values)


def test_inception_score_matches_the_direct_formula():
    logits = np.random.default_rng(0).standard_normal((50, 7)) * 3
    np.testing.assert_allclose(
        scores.inception_score(logits, splits=5), _direct_is(logits, 5), rtol=1e-10
    )


def test_inception_score_extremes():
    # Confident and evenly spread over K classes: IS = K; one class for all: IS = 1.
    k = 8
    confident = np.tile(np.eye(k) * 50.0, (10, 1))
    mean, std = scores.inception_score(confident, splits=10)
    np.testing.assert_allclose(mean, k, rtol=1e-6)
    assert std < 1e-6
    np.testing.assert_allclose(
        scores.inception_score(np.zeros((20, k)), splits=2)[0], 1.0, rtol=1e-12
    )
    with pytest.raises(ValueError, match='splits'):
        scores.inception_score(np.zeros((5, 3)), splits=10)


def _direct_mmd2(x, y):
    k = lambda a, b: (a @ b / len(a) + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_unbiased_mmd2_matches_the_direct_sum():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((9, 4)), rng.standard_normal((7, 4)) + 0.5
    np.testing.assert_allclose(scores.unbiased_mmd2(x, y), _direct_mmd2(x, y), rtol=1e-10)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_otherwise():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    mean, std = scores.kernel_inception_distance(a, b, num_subsets=50, subset_size=100)
    # Same distribution: the unbiased estimate is centred on 0 (within 3 standard errors
    # of the subset mean).
    assert abs(mean) < 3 * std / np.sqrt(50) + 1e-3
    shifted, _ = scores.kernel_inception_distance(a, b + 1.0, num_subsets=50, subset_size=100)
    assert shifted > 0.1 and shifted > 20 * abs(mean)
    # Fewer samples than the subset size: the subset is the whole (smaller) set.
    small = scores.kernel_inception_distance(a[:30], b, num_subsets=3, subset_size=1000)
    assert np.isfinite(small[0])
    with pytest.raises(ValueError, match='same d'):
        scores.kernel_inception_distance(a, b[:, :3])
