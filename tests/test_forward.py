"""D's forward pass in the step: per-sample input gradients under BatchNorm (equal to
the doubled batch of earlier versions), the loss pass's moments reused by the
penalties, and penalty passes that leave the spectral-norm state alone."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import data, step
from nssgan.forward import discriminator_apply, per_sample_discriminator
from nssgan.stabilizers.penalties import PENALTIES

from helpers import tiny_dcgan_config


def _state(config):
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step.create_state(ml_collections.FrozenConfigDict(config), spec, jax.random.PRNGKey(0))
    return spec, state


def _images(n, shape, seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)), jnp.float32)


def _sample_jacobian(d_fn, x):
    """|∂ logit_i / ∂ x_j| summed over x_j's entries: (N, N)."""
    n = x.shape[0]
    return np.abs(np.asarray(jax.jacrev(d_fn)(x))).reshape(n, n, -1).sum(-1)


def _assert_per_sample(d_fn, x):
    """Logit i depends on sample i, and on no other."""
    jacobian = _sample_jacobian(d_fn, x)
    diagonal = np.eye(x.shape[0], dtype=bool)
    assert np.all(jacobian[~diagonal] == 0)
    assert np.all(jacobian[diagonal] > 0)


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
    _assert_per_sample(lambda x: d_apply(x, stats, independent=True)[0], x)
    plain_jacobian = _sample_jacobian(lambda x: d_apply(x, stats)[0], x)
    assert np.all(plain_jacobian[~np.eye(4, dtype=bool)] > 0)  # BatchNorm couples samples


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


def _doubled_batch_logits(d_state, params, x, stats, update_stats=True):
    """The per-sample D of earlier versions: D on [x; stop_gradient(x)], BatchNorm
    statistics from the second half (``stats_mask``); the reference for the two passes."""
    n = x.shape[0]
    both = jnp.concatenate([x, jax.lax.stop_gradient(x)])
    state = d_state.replace(batch_stats=stats)
    logits, new_stats = state.apply_train(
        both, params, update_stats=update_stats, stats_mask=jnp.arange(2 * n) >= n
    )
    return logits[:n], new_stats


def _r1_like(d_fn, x):
    grads = jax.grad(lambda x: jnp.sum(d_fn(x)))(x)
    return jnp.sum(jnp.square(grads)) + jnp.sum(d_fn(x))


@pytest.mark.parametrize('spectral_norm', [False, True])
def test_independent_pass_equals_the_doubled_batch(spectral_norm):
    # Logits, new statistics, input gradients and the parameter gradient of a
    # gradient penalty: what the doubled batch gave, to float32 round-off.
    config = tiny_dcgan_config()
    config.model.d_spectral_norm = spectral_norm
    spec, state = _state(config)
    d_state = state.discriminator
    stats = d_state.batch_stats
    x = _images(4, spec.shape)

    def new(params, x):
        return discriminator_apply(d_state, params)(x, stats, independent=True)

    def old(params, x):
        return _doubled_batch_logits(d_state, params, x, stats)

    for a, b in zip(
        jax.tree.leaves(new(d_state.params, x)), jax.tree.leaves(old(d_state.params, x))
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    grads = [
        jax.grad(lambda p, apply=apply: _r1_like(lambda x: apply(p, x)[0], x))(d_state.params)
        for apply in (new, old)
    ]
    jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6), *grads)


def test_recorded_moments_give_the_loss_pass_logits_per_sample():
    config = tiny_dcgan_config()
    spec, state = _state(config)
    stats = state.discriminator.batch_stats
    recorded = []
    d_apply = discriminator_apply(state.discriminator, record=recorded.append)
    x = _images(4, spec.shape)
    plain, _ = d_apply(x, stats)
    (moments,) = recorded
    given, kept = d_apply(x, stats, moments=moments)
    assert kept is stats
    np.testing.assert_allclose(given, plain, rtol=1e-6, atol=1e-6)
    _assert_per_sample(lambda x: d_apply(x, stats, moments=moments)[0], x)
    # Independent passes record nothing.
    d_apply(x, stats, independent=True)
    assert len(recorded) == 1


@pytest.mark.parametrize('d_norm', ['batch', 'none'])
def test_penalties_reusing_the_loss_moments_equal_recomputing_them(d_norm):
    # Roth's Ω, R1 and CR through a PerSampleDiscriminator that reuses the loss pass's
    # moments (with BatchNorm) and logits: the same value and parameter gradient as
    # through `any`.
    config = tiny_dcgan_config()
    config.model.d_norm = d_norm
    spec, state = _state(config)
    d_state = state.discriminator
    stats = d_state.batch_stats
    real, fake = _images(4, spec.shape, seed=1), _images(4, spec.shape, seed=2)

    def penalty(params, name, reuse):
        recorded = []
        d_apply = discriminator_apply(d_state, params, record=recorded.append)
        real_logits, new_stats = d_apply(real, stats)
        fake_logits, new_stats = d_apply(fake, new_stats)
        seen = ((recorded[0], real_logits), (recorded[1], fake_logits)) if reuse else None
        d_fn = per_sample_discriminator(d_apply, new_stats, seen)
        assert (d_fn.on_real is not None) == (reuse and d_norm == 'batch')
        assert (d_fn.real_logits is not None) == reuse
        return PENALTIES[name](d_fn, real, fake, jax.random.PRNGKey(0))[0]

    for name in ('roth', 'r1', 'cr'):
        values = [penalty(d_state.params, name, reuse) for reuse in (True, False)]
        np.testing.assert_allclose(values[0], values[1], rtol=1e-5)
        grads = [jax.grad(penalty)(d_state.params, name, reuse) for reuse in (True, False)]
        # Round-off relative to each gradient's scale (cancellation makes a few small
        # entries differ by more than 1e-4 of themselves).
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5 * np.max(np.abs(b))), *grads
        )
