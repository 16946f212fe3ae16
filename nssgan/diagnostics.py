"""Quantities the trainer logs that change nothing: D's input-gradient norms, and the
process's memory."""

import os

import jax
import jax.numpy as jnp

from nssgan import schemes
from nssgan.forward import discriminator_apply, sample_latent
from nssgan.stabilizers import gradients
from nssgan.state import GANState


def gradient_norms(state: GANState, batch: dict[str, jax.Array], config) -> dict[str, jax.Array]:
    """Mean per-sample ‖∇ₓD‖ on the batch's first reals and on fresh fakes.

    Of D itself (``grad_norm_real``, ``grad_norm_fake``) and, for schemes that replace
    D by a normalized f̂ (``gn``, ``pgn``), of f̂ (``grad_norm_real_normalized``, ...).
    """
    scheme = schemes.get_scheme(config)
    real = batch['image'][0]
    # Its own stream of randomness: the training step's keys are untouched.
    key = jax.random.fold_in(jax.random.fold_in(state.key, state.step), 0x67726164)
    z = sample_latent(key, real.shape[0], config.model.latent_dim)
    fake = state.generator.apply_train(z)[0]
    plain = discriminator_apply(state.discriminator)
    applies = {'': plain}
    wrapped = scheme.wrap_discriminator(plain)
    if wrapped is not plain:
        applies['_normalized'] = wrapped
    out = {}
    for suffix, d_apply in applies.items():

        def d_fn(x, d_apply=d_apply):
            return d_apply(
                x, state.discriminator.batch_stats, independent=True, update_stats=False
            )[0]

        for name, x in (('real', real), ('fake', fake)):
            out[f'grad_norm_{name}{suffix}'] = jnp.mean(
                gradients.norms(gradients.input_gradients(d_fn, x))
            )
    return out


def memory_usage() -> dict[str, float]:
    """``host_memory_mb``: this process's resident memory (Linux); and, where the device
    reports it (GPU, TPU; not XLA:CPU, whose buffers are host memory),
    ``device_memory_mb``: the bytes in use on this process's first device."""
    usage = {}
    try:
        with open('/proc/self/statm') as f:
            resident_pages = int(f.read().split()[1])
        usage['host_memory_mb'] = resident_pages * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError, IndexError):
        pass
    stats = jax.local_devices()[0].memory_stats()
    if stats and 'bytes_in_use' in stats:
        usage['device_memory_mb'] = stats['bytes_in_use'] / 2**20
    return usage
