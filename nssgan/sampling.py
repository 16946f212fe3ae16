"""Samples of a GAN state's generator: ``generate`` (pure, jittable) and
``generate_samples`` (many samples on the run's fixed evaluation latents)."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from nssgan.state import GANState

GRID_SEED_OFFSET = 1  # The sample grid's latents: PRNGKey(seed + 1).
EVAL_SEED_OFFSET = 2  # Eval latents: PRNGKey(seed + 2).


def generate(state: GANState, z: jax.Array, config) -> jax.Array:
    """Samples G(z) with the EMA parameters when enabled.

    BatchNorm uses the statistics of the batch ``z``, as the DCGAN reference does when
    it draws its fixed-noise grids (the running averages are not changed).
    """
    params = state.ema_params if config.ema_decay > 0 else state.generator.params
    return state.generator.apply_train(z, params)[0]


def sample_grid(state: GANState, key: jax.Array, config) -> jax.Array:
    """The run's picture of G: ``config.num_samples`` samples on latents drawn from
    ``key`` (the same at every step of a run)."""
    z = jax.random.normal(key, (config.num_samples, config.model.latent_dim), jnp.float32)
    return generate(state, z, config)


@functools.lru_cache(maxsize=4)
def _sampler(config: ml_collections.FrozenConfigDict):
    return jax.jit(functools.partial(generate, config=config))


def sample_batches(state: GANState, config, indices) -> np.ndarray:
    """Batches ``indices`` (each ``config.batch_size`` samples, batch ``i`` on the
    latents of ``fold_in(PRNGKey(seed + EVAL_SEED_OFFSET), i)``) of the evaluation
    samples, concatenated."""
    sample = _sampler(ml_collections.FrozenConfigDict(config))
    key = jax.random.PRNGKey(config.seed + EVAL_SEED_OFFSET)
    shape = (config.batch_size, config.model.latent_dim)
    batches = [
        np.asarray(sample(state, jax.random.normal(jax.random.fold_in(key, i), shape)))
        for i in indices
    ]
    return np.concatenate(batches)


def generate_samples(state: GANState, config, num_samples: int) -> np.ndarray:
    """``num_samples`` samples of G (the EMA generator when enabled), in batches of
    ``config.batch_size`` on fixed latents: the same for every evaluation of a run."""
    return sample_batches(state, config, range(-(-num_samples // config.batch_size)))[:num_samples]
