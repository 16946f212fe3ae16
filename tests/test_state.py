"""The state: flax TrainStates for G and D, one pytree structure for equal configs,
and the optimizers (Adam, linear decay)."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax.training import train_state

from nssgan import data, step
from nssgan.state import make_optimizer

from helpers import tiny_dcgan_config


def _create(config, seed=0):
    spec = data.dataset_spec(config.dataset, config.image_size)
    return step.create_state(
        ml_collections.FrozenConfigDict(config), spec, jax.random.PRNGKey(seed)
    )


def test_generator_and_discriminator_are_flax_train_states():
    state = _create(tiny_dcgan_config())
    for part in (state.generator, state.discriminator):
        assert isinstance(part, train_state.TrainState)
        assert int(part.step) == 0 and part.batch_stats  # DCGAN has BatchNorm.
    z = jnp.zeros((2, 16))
    out = state.generator.apply_fn(
        {'params': state.generator.params, 'batch_stats': state.generator.batch_stats},
        z,
        train=False,
    )
    assert out.shape == (2, 32, 32, 1)


def test_states_of_equal_configs_have_one_structure():
    # Built twice (as a run and its resume are), the static parts compare equal, so
    # one compiled step serves both and their leaves can be compared.
    first, second = _create(tiny_dcgan_config()), _create(tiny_dcgan_config(), seed=1)
    assert jax.tree.structure(first) == jax.tree.structure(second)
    abstract = jax.eval_shape(lambda: _create(tiny_dcgan_config()))
    assert jax.tree.structure(abstract) == jax.tree.structure(first)
    other = _create(tiny_dcgan_config(model=tiny_dcgan_config().model.to_dict() | {'g_width': 4}))
    assert jax.tree.structure(other) != jax.tree.structure(first)


def test_linear_lr_decay_falls_per_generator_step():
    """With a constant gradient each Adam update moves a parameter by exactly the
    learning rate, which must be η·(1 − k/K) in generator step k."""
    num_steps, updates_per_step, lr = 4, 2, 0.1
    tx = make_optimizer(
        lr, 0.5, 0.999, lr_decay='linear', num_steps=num_steps, updates_per_step=updates_per_step
    )
    params = jnp.zeros(())
    opt_state = tx.init(params)
    moves = []
    for _ in range(num_steps * updates_per_step):
        updates, opt_state = tx.update(jnp.ones(()), opt_state, params)
        new = optax.apply_updates(params, updates)
        moves.append(float(params - new))
        params = new
    expected = [
        lr * (1 - (k // updates_per_step) / num_steps) for k in range(num_steps * updates_per_step)
    ]
    np.testing.assert_allclose(moves, expected, rtol=1e-5)
