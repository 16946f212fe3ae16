"""Each adversarial loss against its textbook formula, and stability at large logits."""

import jax
import numpy as np
import pytest

from nssgan import losses

jax.config.update('jax_enable_x64', False)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logits(seed, n=257, scale=3.0):
    return np.random.default_rng(seed).normal(scale=scale, size=n).astype(np.float32)


REFERENCE_D = {
    'non_saturating': lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
    'minimax': lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
    'least_squares': lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
    'hinge': lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
    'wasserstein': lambda r, f: np.mean(f) - np.mean(r),
}
REFERENCE_G = {
    'non_saturating': lambda f: -np.mean(np.log(_sigmoid(f))),
    'minimax': lambda f: np.mean(np.log(1 - _sigmoid(f))),
    'least_squares': lambda f: 0.5 * np.mean((f - 1) ** 2),
    'hinge': lambda f: -np.mean(f),
    'wasserstein': lambda f: -np.mean(f),
}


def test_every_registered_loss_has_a_reference():
    assert set(losses.LOSSES) == set(REFERENCE_D) == set(REFERENCE_G)


@pytest.mark.parametrize('name', sorted(losses.LOSSES))
def test_loss_matches_direct_formula(name):
    real, fake = _logits(0).astype(np.float64), _logits(1).astype(np.float64)
    loss = losses.get_loss(name)
    np.testing.assert_allclose(
        loss.discriminator(real.astype(np.float32), fake.astype(np.float32)),
        REFERENCE_D[name](real, fake),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        loss.generator(fake.astype(np.float32)), REFERENCE_G[name](fake), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize('name', ['non_saturating', 'minimax'])
def test_log_losses_are_finite_and_exact_at_extreme_logits(name):
    real = np.array([200.0, -200.0], np.float32)
    fake = np.array([-200.0, 200.0], np.float32)
    loss = losses.get_loss(name)
    d = float(loss.discriminator(real, fake))
    g = float(loss.generator(fake))
    # -log σ(200) ≈ 0 and -log σ(-200) = 200 exactly in the softplus form.
    assert np.isfinite(d) and np.isfinite(g)
    np.testing.assert_allclose(d, (0 + 200) / 2 + (0 + 200) / 2, rtol=1e-6)
    expected_g = 100.0 if name == 'non_saturating' else -100.0
    np.testing.assert_allclose(g, expected_g, rtol=1e-6)
    grads = jax.grad(lambda f: loss.generator(f))(fake)
    assert np.all(np.isfinite(grads))


def test_non_saturating_gradient_does_not_vanish_for_confident_discriminator():
    # The reason for the non-saturating loss: at D(G(z)) ≈ 0 the minimax generator
    # gradient vanishes while the non-saturating one stays near -1/N per sample.
    fake = np.full((4,), -15.0, np.float32)
    ns = jax.grad(losses.get_loss('non_saturating').generator)(fake)
    mm = jax.grad(losses.get_loss('minimax').generator)(fake)
    np.testing.assert_allclose(ns, -0.25, rtol=1e-5)
    assert np.all(np.abs(mm) < 1e-6)


def test_unknown_loss_names_field_and_choices():
    with pytest.raises(ValueError, match=r"config.loss='bogus'.*non_saturating.*hinge"):
        losses.get_loss('bogus')
