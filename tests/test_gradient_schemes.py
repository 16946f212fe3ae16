"""The gradient-based schemes in training: per-sample gradients under BatchNorm, Roth's
γ schedule, GN/PGN and the penalties in the step, the logged gradient norms, the
linear learning-rate decay, and their config errors."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from helpers import run_steps, tiny_dcgan_config, tiny_mlp_config
from nssgan import config_checks, data, stabilizers, train
from nssgan.state import make_optimizer


def _state_and_models(config):
    frozen = ml_collections.FrozenConfigDict(config)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = train.create_state(frozen, spec, jax.random.PRNGKey(0))
    return frozen, spec, state, train.build_models(frozen, spec)


def _images(n, shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)),
                       jnp.float32)


def test_independent_apply_gives_per_sample_gradients_under_batchnorm():
    config = tiny_dcgan_config()
    _, spec, state, (_, discriminator) = _state_and_models(config)
    d_apply = train.discriminator_apply(discriminator, state.discriminator.params)
    stats = state.discriminator.batch_stats
    x = _images(4, spec.shape)

    plain, plain_stats = d_apply(x, stats)
    independent, independent_stats = d_apply(x, stats, independent=True)
    # Same logits and the same running-statistics update as D in training mode...
    np.testing.assert_allclose(independent, plain, atol=1e-5)
    jax.tree.map(functools.partial(np.testing.assert_allclose, atol=1e-6),
                 independent_stats, plain_stats)

    # ...but logit i depends on sample i alone: the Jacobian is block diagonal.
    def jacobian(**kwargs):
        jac = jax.jacrev(lambda x: d_apply(x, stats, **kwargs)[0])(x)
        return np.abs(np.asarray(jac)).reshape(4, 4, -1).sum(-1)
    off_diagonal = ~np.eye(4, dtype=bool)
    assert np.all(jacobian(independent=True)[off_diagonal] == 0)
    assert np.all(jacobian(independent=True)[~off_diagonal] > 0)
    assert np.all(jacobian()[off_diagonal] > 0)  # plain BatchNorm couples samples


def test_update_stats_false_leaves_spectral_norm_state():
    config = tiny_dcgan_config()
    config.model.d_spectral_norm = True
    config.model.d_batchnorm = False
    _, spec, state, (_, discriminator) = _state_and_models(config)
    d_apply = train.discriminator_apply(discriminator, state.discriminator.params)
    stats = state.discriminator.batch_stats
    x = _images(4, spec.shape)
    _, kept = d_apply(x, stats, independent=True, update_stats=False)
    _, updated = d_apply(x, stats)
    jax.tree.map(np.testing.assert_array_equal, kept, stats)
    assert any(not np.array_equal(a, b) for a, b in
               zip(jax.tree.leaves(updated), jax.tree.leaves(stats)))


def test_roth_gamma_anneals_from_gamma0_to_alpha_gamma0():
    num_steps = 101
    gamma = [float(stabilizers.annealed_gamma(k, num_steps)) for k in (0, 50, 100)]
    np.testing.assert_allclose(gamma, [2.0, 0.2, 0.02], rtol=1e-5)
    constant = stabilizers.annealed_gamma(70, num_steps, gamma0=0.1, alpha=1.0)
    np.testing.assert_allclose(constant, 0.1, rtol=1e-6)


SCHEMES = [
    # (stabilizer settings, penalty, loss, model config, metrics the step must log)
    (dict(name='roth'), 'none', 'non_saturating', {}, ('gamma', 'roth_omega')),
    (dict(name='roth', gamma=0.1, alpha=1.0), 'none', 'minimax', {}, ('gamma',)),
    (dict(name='pgn'), 'none', 'hinge', {}, ()),
    (dict(name='pgn_theory'), 'cr', 'hinge', {}, ('cr_penalty',)),
    (dict(name='gn'), 'none', 'non_saturating', {'d_batchnorm': False}, ()),
    (dict(name='none'), 'r1', 'non_saturating', {'d_spectral_norm': True},
     ('r1_penalty',)),
    (dict(name='none'), 'wgan_gp', 'wasserstein', {},
     ('wgan_gp_penalty', 'grad_norm_interpolates')),
    (dict(name='nss'), 'dragan', 'least_squares', {},
     ('dragan_penalty', 'grad_norm_interpolates', 't')),
]


@pytest.mark.parametrize('stabilizer, penalty, loss, model, logged', SCHEMES)
def test_gradient_schemes_and_penalties_train(stabilizer, penalty, loss, model, logged):
    config = tiny_dcgan_config(loss=loss)
    config.stabilizer = ml_collections.ConfigDict(stabilizer)
    config.penalty.name = penalty
    config.model.update(model)
    config_checks.validate(config)
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
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
                 penalized.discriminator, plain.discriminator)


def test_gradient_norms_are_logged_and_bounded_for_pgn_theory():
    config = tiny_mlp_config()
    config.model.d_batchnorm = False
    config.stabilizer.name = 'pgn_theory'
    frozen, spec, state, _ = _state_and_models(config)
    batch = {'image': _images(32, spec.shape)[None]}
    norms = jax.jit(functools.partial(train.gradient_norms, config=frozen))(state, batch)
    assert set(norms) == {'grad_norm_real', 'grad_norm_fake',
                          'grad_norm_real_normalized', 'grad_norm_fake_normalized'}
    assert all(float(v) > 0 for v in norms.values())
    # Theorem 6 on the ReLU MLP: the normalized D's gradient norm is at most 1.
    assert norms['grad_norm_real_normalized'] <= 1 + 1e-5
    config.stabilizer.name = 'none'
    frozen = ml_collections.FrozenConfigDict(config)
    assert set(train.gradient_norms(state, batch, frozen)) == {
        'grad_norm_real', 'grad_norm_fake'}


def test_linear_lr_decay_falls_per_generator_step():
    """With a constant gradient each Adam update moves a parameter by exactly the
    learning rate, which must be η·(1 − k/K) in generator step k."""
    num_steps, updates_per_step, lr = 4, 2, 0.1
    tx = make_optimizer(lr, 0.5, 0.999, lr_decay='linear', num_steps=num_steps,
                        updates_per_step=updates_per_step)
    params = jnp.zeros(())
    opt_state = tx.init(params)
    moves = []
    for _ in range(num_steps * updates_per_step):
        updates, opt_state = tx.update(jnp.ones(()), opt_state, params)
        new = optax.apply_updates(params, updates)
        moves.append(float(params - new))
        params = new
    expected = [lr * (1 - (k // updates_per_step) / num_steps)
                for k in range(num_steps * updates_per_step)]
    np.testing.assert_allclose(moves, expected, rtol=1e-5)


@pytest.mark.parametrize('change, message', [
    (lambda c: c.penalty.update(name='gp'), r"config.penalty.name='gp'.*r1, wgan_gp"),
    (lambda c: c.penalty.update(weight=-1.0), r'config.penalty.weight=-1.0'),
    (lambda c: c.update(loss='hinge', stabilizer=ml_collections.ConfigDict(
        dict(name='roth'))), r"'roth'.*config.loss='hinge'"),
    (lambda c: c.update(stabilizer=ml_collections.ConfigDict(
        dict(name='gn', variant='pgn'))), r"config.stabilizer.variant is not a setting"),
    (lambda c: c.update(stabilizer=ml_collections.ConfigDict(
        dict(name='roth', T=3))), r"config.stabilizer.T is not a setting of 'roth'"),
    (lambda c: c.optimizer.update(lr_decay='cosine'), r"lr_decay='cosine'.*linear"),
    (lambda c: c.update(g_batch_size=12), r'config.g_batch_size=12'),
])
def test_bad_gradient_scheme_configs(change, message):
    config = tiny_dcgan_config()
    change(config)
    with pytest.raises(config_checks.ConfigError, match=message):
        config_checks.validate(config)


def test_consistency_penalty_needs_images():
    config = tiny_mlp_config()
    config.penalty.name = 'cr'
    with pytest.raises(config_checks.ConfigError, match=r"'cr' augments images"):
        config_checks.validate(config)
