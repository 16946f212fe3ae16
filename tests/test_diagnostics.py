"""The gradient-norm diagnostic the trainer logs."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from nssgan import data, diagnostics, step

from helpers import tiny_mlp_config


def test_gradient_norms_are_logged_and_bounded_for_pgn_theory():
    config = tiny_mlp_config()
    config.model.d_norm = 'none'
    config.stabilizer.name = 'pgn_theory'
    frozen = ml_collections.FrozenConfigDict(config)
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step.create_state(frozen, spec, jax.random.PRNGKey(0))
    batch = {
        'image': jnp.asarray(
            np.random.default_rng(0).uniform(-1, 1, (1, 32, *spec.shape)), jnp.float32
        )
    }
    norms = jax.jit(functools.partial(diagnostics.gradient_norms, config=frozen))(state, batch)
    assert set(norms) == {
        'grad_norm_real',
        'grad_norm_fake',
        'grad_norm_real_normalized',
        'grad_norm_fake_normalized',
    }
    assert all(float(v) > 0 for v in norms.values())
    # Theorem 6 on the ReLU MLP: the normalized D's gradient norm is at most 1.
    assert norms['grad_norm_real_normalized'] <= 1 + 1e-5
    config.stabilizer.name = 'none'
    frozen = ml_collections.FrozenConfigDict(config)
    assert set(diagnostics.gradient_norms(state, batch, frozen)) == {
        'grad_norm_real',
        'grad_norm_fake',
    }
