"""Noisy scale-space: the loop against references, the spectral path against the loop
and against the analytic distribution, gradients, schedules and errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from nssgan import scale_space as ss


def _images(shape=(3, 16, 12, 2), seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, shape), jnp.float32)


def _reference_smooth(x, kernel2d, padding):
    """Depthwise correlation with numpy: the textbook definition of one step."""
    x = np.asarray(x, np.float64)
    r = kernel2d.shape[0] // 2
    mode = {'symmetric': 'symmetric', 'zeros': 'constant', 'circular': 'wrap'}[padding]
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode=mode)
    h, w = x.shape[1:3]
    out = np.zeros_like(x)
    for i in range(kernel2d.shape[0]):
        for j in range(kernel2d.shape[1]):
            out += kernel2d[i, j] * padded[:, i : i + h, j : j + w]
    return out


def test_default_kernel_is_the_3x3_binomial():
    k = ss.gaussian_kernel()
    np.testing.assert_allclose(np.outer(k, k), np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)
    g = ss.gaussian_kernel(1.5)
    assert g.shape == (11,) and abs(g.sum() - 1) < 1e-6
    np.testing.assert_allclose(g, g[::-1])


@pytest.mark.parametrize('padding', ss.PADDINGS)
@pytest.mark.parametrize('kernel', [None, 'gauss', '2d'])
def test_one_step_matches_depthwise_correlation(padding, kernel):
    if kernel == 'gauss':
        k1 = ss.gaussian_kernel(0.8)
        k2 = np.outer(k1, k1)
    elif kernel == '2d':
        k1 = k2 = np.random.default_rng(1).uniform(0, 1, (3, 3)).astype(np.float32)
    else:
        k1 = ss.gaussian_kernel()
        k2 = np.outer(k1, k1)
    x = _images()
    np.testing.assert_allclose(
        ss.smooth(x, k1, padding=padding), _reference_smooth(x, k2, padding), atol=1e-5
    )


@pytest.mark.parametrize('t', [0, 1, 2, 8, 64, 256])
def test_spectral_equals_loop_without_noise(t):
    x = _images()
    loop = ss.scale_space(x, t)
    spectral = ss.scale_space(x, t, method='spectral')
    np.testing.assert_allclose(spectral, loop, atol=1e-5)


def test_t_zero_is_the_identity_with_noise():
    x = _images()
    key = jax.random.PRNGKey(3)
    for method in ss.METHODS:
        np.testing.assert_allclose(ss.noisy_scale_space(key, x, 0, method=method), x, atol=1e-6)


@pytest.mark.parametrize('method', ss.METHODS)
def test_symmetric_smoothing_preserves_the_image_mean(method):
    x = _images()
    for t in (1, 7, 100):
        np.testing.assert_allclose(
            ss.scale_space(x, t, method=method).mean(axis=(1, 2)), x.mean(axis=(1, 2)), atol=1e-5
        )


def test_negative_eigenvalue_kernel_is_exact_in_sign():
    # [0.4, 0.2, 0.4] has λ(u) = 0.2 + 0.8 cos(πu/n) < 0 for high frequencies.
    kernel = np.array([0.4, 0.2, 0.4], np.float32)
    assert ss.smoothing_eigenvalues(kernel, 16).min() < 0
    x = _images()
    for t in (1, 2, 3, 7):
        np.testing.assert_allclose(
            ss.scale_space(x, t, kernel=kernel, method='spectral'),
            ss.scale_space(x, t, kernel=kernel),
            atol=1e-5,
        )


def _smoothing_matrix(h, w, kernel):
    """K as an explicit (hw × hw) matrix, from the loop applied to basis images."""
    basis = jnp.eye(h * w, dtype=jnp.float32).reshape(h * w, h, w, 1)
    return np.asarray(ss.smooth(basis, kernel), np.float64).reshape(h * w, h * w).T


@pytest.mark.parametrize('method', ss.METHODS)
def test_distribution_matches_the_analytic_mean_and_covariance(method):
    # Φ_t(y) ~ N(K^t y, σ² Σ_{m<t} K^{2m}). With n draws, each empirical covariance
    # entry has standard error sqrt((Σ_ii Σ_jj + Σ_ij²) / n); we allow 5 of them, and
    # 5 standard errors of the mean for the mean.
    h, w, t, sigma, n = 4, 5, 5, 0.3, 20_000
    kernel = ss.gaussian_kernel()
    k = _smoothing_matrix(h, w, kernel)
    y = np.random.default_rng(2).uniform(-1, 1, (h * w,))
    mean = np.linalg.matrix_power(k, t) @ y
    cov = sigma**2 * sum(np.linalg.matrix_power(k, 2 * m) for m in range(t))
    x = jnp.broadcast_to(jnp.asarray(y, jnp.float32).reshape(1, h, w, 1), (n, h, w, 1))
    draws = np.asarray(
        ss.noisy_scale_space(jax.random.PRNGKey(0), x, t, sigma=sigma, method=method), np.float64
    ).reshape(n, -1)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 5 * np.sqrt(np.diag(cov) / n))
    empirical = np.cov(draws, rowvar=False)
    stderr = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(empirical - cov) < 5 * stderr), np.max(np.abs(empirical - cov) / stderr)


def test_traced_t_under_jit_and_vmap():
    x = _images()
    key = jax.random.PRNGKey(0)
    for method in ss.METHODS:
        f = jax.jit(lambda x, t: ss.noisy_scale_space(key, x, t, method=method))
        np.testing.assert_allclose(
            f(x, 3), ss.noisy_scale_space(key, x, 3, method=method), atol=1e-5
        )
        per_image = jax.vmap(lambda xi: ss.scale_space(xi[None], 4, method=method))(x)
        np.testing.assert_allclose(per_image[:, 0], ss.scale_space(x, 4, method=method), atol=1e-5)


@pytest.mark.parametrize('method', ss.METHODS)
def test_gradients_with_respect_to_x(method):
    x = _images((2, 6, 5, 1))
    key = jax.random.PRNGKey(1)
    check_grads(
        lambda x: ss.noisy_scale_space(key, x, 3, method=method),
        (x,),
        order=1,
        modes=('rev',),
        atol=1e-2,
        rtol=1e-2,
    )
    # Φ is affine in x with a symmetric K: ∂/∂x Σ Φ(x)·x = K^t x + Φ(x).
    grad = jax.grad(lambda x, t: jnp.sum(ss.noisy_scale_space(key, x, t, method=method) * x))(x, 4)
    expected = ss.scale_space(x, 4) + ss.noisy_scale_space(key, x, 4, method=method)
    np.testing.assert_allclose(grad, expected, atol=1e-5)


def test_loop_gradient_with_zero_borders_uses_the_transpose():
    x = _images((1, 5, 4, 1))
    kernel = np.random.default_rng(4).uniform(0, 1, (3, 3)).astype(np.float32)
    f = lambda x: ss.scale_space(x, 2, kernel=kernel, padding='zeros')  # noqa: E731
    check_grads(f, (x,), order=1, modes=('rev',), atol=1e-2, rtol=1e-2)


def test_noise_space_closed_form_variance():
    x = jnp.zeros((4000, 4, 4, 1))
    t, sigma = 9, 0.15
    out = np.asarray(ss.noise_space(jax.random.PRNGKey(0), x, t, sigma=sigma))
    # Variance tσ² = 0.2025 from 64,000 values: relative standard error ≈ 0.56%.
    assert abs(out.var() / (t * sigma**2) - 1) < 0.03


def test_anneal_time_decays_from_T_to_zero():
    t = np.asarray(ss.anneal_time(np.array([0.0, 0.1, 0.2, 0.35, 1.0])))
    np.testing.assert_array_equal(t, [256, 35, 5, 0, 0])
    fractions = np.linspace(0, 1, 101)
    assert np.all(np.diff(np.asarray(ss.anneal_time(fractions))) <= 0)
    assert int(ss.anneal_time(0.0, T=64)) == 64


def test_bad_arguments_are_refused_with_the_fix():
    x = _images()
    with pytest.raises(ValueError, match="padding='symmetric'.*method='loop'"):
        ss.scale_space(x, 2, method='spectral', padding='zeros')
    with pytest.raises(ValueError, match='symmetric 1-D'):
        ss.scale_space(x, 2, method='spectral', kernel=np.ones((3, 3), np.float32) / 9)
    with pytest.raises(ValueError, match='choose one of: symmetric, zeros, circular'):
        ss.scale_space(x, 2, padding='reflect')
    with pytest.raises(ValueError, match='NHWC'):
        ss.scale_space(x[0], 2)
    with pytest.raises(ValueError, match='needs a key'):
        ss.noisy_scale_space(None, x, 2)
