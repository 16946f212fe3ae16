"""Samples of a GAN state's generator: ``generate`` (pure, jittable) and
``generate_samples`` (many samples on the run's fixed evaluation latents)."""

import functools

import jax
import ml_collections
import numpy as np

from nssgan.state import GANState

EVAL_SEED_OFFSET = 2  # Eval latents: PRNGKey(seed + 2) (+1 is the sample grid's).


def generate(state: GANState, z: jax.Array, config) -> jax.Array:
    """Samples G(z) with the EMA parameters when enabled.

    BatchNorm uses the statistics of the batch ``z``, as the DCGAN reference does when
    it draws its fixed-noise grids (the running averages are not changed).
    """
    params = state.ema_params if config.ema_decay > 0 else state.generator.params
    return state.generator.apply_train(z, params)[0]


@functools.lru_cache(maxsize=4)
def _sampler(config: ml_collections.FrozenConfigDict):
    return jax.jit(functools.partial(generate, config=config))


def generate_samples(state: GANState, config, num_samples: int) -> np.ndarray:
    """``num_samples`` samples of G (the EMA generator when enabled), in batches of
    ``config.batch_size`` on fixed latents: the same for every evaluation of a run."""
    sample = _sampler(ml_collections.FrozenConfigDict(config))
    key = jax.random.PRNGKey(config.seed + EVAL_SEED_OFFSET)
    batches = []
    for i in range(-(-num_samples // config.batch_size)):
        z = jax.random.normal(
            jax.random.fold_in(key, i), (config.batch_size, config.model.latent_dim)
        )
        batches.append(np.asarray(sample(state, z)))
    return np.concatenate(batches)[:num_samples]
