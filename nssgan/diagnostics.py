"""Quantities the trainer logs about D that change nothing: input-gradient norms."""

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
