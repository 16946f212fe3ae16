"""D's forward pass in the step: per-sample input gradients under BatchNorm, and
penalty passes that leave the spectral-norm state alone."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from nssgan import data, step
from nssgan.forward import discriminator_apply

from helpers import tiny_dcgan_config


def _state(config):
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step.create_state(ml_collections.FrozenConfigDict(config), spec, jax.random.PRNGKey(0))
    return spec, state


def _images(n, shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)), jnp.float32)


def test_independent_apply_gives_per_sample_gradients_under_batchnorm():
    config = tiny_dcgan_config()
    spec, state = _state(config)
    d_apply = discriminator_apply(state.discriminator)
    stats = state.discriminator.batch_stats
    x = _images(4, spec.shape)

    plain, plain_stats = d_apply(x, stats)
    independent, independent_stats = d_apply(x, stats, independent=True)
    # Same logits and the same running-statistics update as D in training mode...
    np.testing.assert_allclose(independent, plain, atol=1e-5)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=1e-6), independent_stats, plain_stats
    )

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
    config.model.d_norm = 'none'
    spec, state = _state(config)
    d_apply = discriminator_apply(state.discriminator)
    stats = state.discriminator.batch_stats
    x = _images(4, spec.shape)
    _, kept = d_apply(x, stats, independent=True, update_stats=False)
    _, updated = d_apply(x, stats)
    jax.tree.map(np.testing.assert_array_equal, kept, stats)
    assert any(
        not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(updated), jax.tree.leaves(stats))
    )
