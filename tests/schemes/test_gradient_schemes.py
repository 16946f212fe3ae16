"""The gradient-based schemes in training: Roth's γ schedule, GN/PGN and the penalties
in the step, and their config errors."""

import functools

import jax
import numpy as np
import pytest

from nssgan import stabilizers, validation

from helpers import run_steps, tiny_dcgan_config, tiny_mlp_config


def test_roth_gamma_anneals_from_gamma0_to_alpha_gamma0():
    num_steps = 101
    gamma = [float(stabilizers.annealed_gamma(k, num_steps)) for k in (0, 50, 100)]
    np.testing.assert_allclose(gamma, [2.0, 0.2, 0.02], rtol=1e-5)
    constant = stabilizers.annealed_gamma(70, num_steps, gamma0=0.1, alpha=1.0)
    np.testing.assert_allclose(constant, 0.1, rtol=1e-6)


# The DCGAN-specific cases: spectral norm, D without BatchNorm, penalties on images
# through the fast stride-2 layers under double backprop. Every scheme × penalty × loss
# also trains in the generated grid (test_grid.py).
SCHEMES = [
    # (scheme, its settings, penalty, loss, model config, metrics the step must log)
    ('pgn_theory', {}, 'cr', 'hinge', {}, ('cr_penalty',)),
    ('gn', {}, 'none', 'non_saturating', {'d_norm': 'none'}, ()),
    ('none', {}, 'r1', 'non_saturating', {'d_spectral_norm': True}, ('r1_penalty',)),
    (
        'roth',
        dict(gamma=0.1, alpha=1.0),
        'wgan_gp',
        'minimax',
        {},
        ('gamma', 'roth_omega', 'wgan_gp_penalty', 'grad_norm_interpolates'),
    ),
]


@pytest.mark.parametrize('scheme, settings, penalty, loss, model, logged', SCHEMES)
def test_gradient_schemes_and_penalties_train(scheme, settings, penalty, loss, model, logged):
    config = tiny_dcgan_config(loss=loss)
    config.stabilizer.name = scheme
    if settings:
        config.stabilizer[scheme].update(settings)
    config.penalty.name = penalty
    config.model.update(model)
    validation.validate(config)
    _, history = run_steps(config, 2)
    for metrics in history:
        assert set(logged) <= set(metrics)
        assert all(np.isfinite(v) for v in metrics.values()), metrics
    if penalty != 'none':
        assert history[0][f'{penalty}_penalty'] > 0


def test_zero_weight_penalty_changes_nothing_in_the_state():
    """Penalty passes run D with frozen statistics: with weight 0 the run is the
    unpenalized one (spectral norm and BatchNorm both on)."""
    config = tiny_dcgan_config()
    config.model.d_spectral_norm = True
    plain, _ = run_steps(config, 2)
    config.penalty.name, config.penalty.weight = 'r1', 0.0
    penalized, history = run_steps(config, 2)
    assert history[0]['r1_penalty'] > 0
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
        penalized.discriminator,
        plain.discriminator,
    )


@pytest.mark.parametrize(
    'change, message',
    [
        (lambda c: c.penalty.update(name='gp'), r"config.penalty.name='gp'.*roth, r1, wgan_gp"),
        (lambda c: c.penalty.update(weight=-1.0), r'config.penalty.weight=-1.0'),
        (
            lambda c: c.penalty.update(name='roth', weight=1.0) or c.update(loss='hinge'),
            r"config.penalty.name='roth'.*config.loss='hinge'",
        ),
        (
            lambda c: c.update(loss='hinge') or c.stabilizer.update(name='roth'),
            r"config.stabilizer.name='roth'.*config.loss='hinge'",
        ),
        (
            lambda c: c.stabilizer.update(name='gn', variant='pgn'),
            r'config.stabilizer.variant is not a scheme section.*config.stabilizer.nss.T',
        ),
        (
            lambda c: c.stabilizer.update(name='roth') or c.stabilizer.roth.update(T=3),
            r"config.stabilizer.roth.T is not a setting of 'roth'; valid: alpha, gamma",
        ),
        (
            lambda c: c.stabilizer.update(name='roth') or c.stabilizer.roth.update(alpha=0.0),
            r'config.stabilizer.roth.alpha=0.0 must be in \(0, 1\]',
        ),
        (lambda c: c.optimizer.update(lr_decay='cosine'), r"lr_decay='cosine'.*linear"),
        (lambda c: c.update(g_batch_size=12), r'config.g_batch_size=12'),
    ],
)
def test_bad_gradient_scheme_configs(change, message):
    config = tiny_dcgan_config()
    change(config)
    with pytest.raises(validation.ConfigError, match=message):
        validation.validate(config)


def test_consistency_penalty_needs_images():
    config = tiny_mlp_config()
    config.penalty.name = 'cr'
    with pytest.raises(validation.ConfigError, match=r"'cr' augments images"):
        validation.validate(config)
