"""Adversarial losses, computed from the discriminator's raw outputs (logits).

Each loss is a pair of functions of per-sample discriminator outputs:
``discriminator(real_logits, fake_logits)`` and ``generator(fake_logits)``, both
returning a scalar batch mean that the respective player *minimizes*. The log-based
losses use ``softplus`` so they stay finite for any logit:
``-log σ(x) = softplus(-x)`` and ``-log(1 - σ(x)) = softplus(x)``.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp


class GANLoss(NamedTuple):
    """The two sides of an adversarial loss."""

    discriminator: Callable[[jax.Array, jax.Array], jax.Array]
    generator: Callable[[jax.Array], jax.Array]


def bce_discriminator_loss(real_logits, fake_logits):
    """-E[log D(x)] - E[log(1 - D(G(z)))] (Goodfellow et al. 2014, eq. 1)."""
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits):
    """-E[log D(G(z))]: the non-saturating generator loss."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


def minimax_generator_loss(fake_logits):
    """E[log(1 - D(G(z)))]: the generator side of the original minimax game."""
    return -jnp.mean(jax.nn.softplus(fake_logits))


def least_squares_discriminator_loss(real_logits, fake_logits):
    """LSGAN (Mao et al. 2017) with a-b-c = 0-1-1: ½E[(D(x)-1)²] + ½E[D(G(z))²]."""
    return 0.5 * (jnp.mean(jnp.square(real_logits - 1.0)) + jnp.mean(jnp.square(fake_logits)))


def least_squares_generator_loss(fake_logits):
    """LSGAN generator: ½E[(D(G(z))-1)²]."""
    return 0.5 * jnp.mean(jnp.square(fake_logits - 1.0))


def hinge_discriminator_loss(real_logits, fake_logits):
    """E[max(0, 1-D(x))] + E[max(0, 1+D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """WGAN critic: E[D(G(z))] - E[D(x)] (Arjovsky et al. 2017)."""
    return jnp.mean(fake_logits) - jnp.mean(real_logits)


def mean_negated_generator_loss(fake_logits):
    """-E[D(G(z))]: the generator side of the hinge and Wasserstein losses."""
    return -jnp.mean(fake_logits)


LOSSES: dict[str, GANLoss] = {
    'non_saturating': GANLoss(bce_discriminator_loss, non_saturating_generator_loss),
    'minimax': GANLoss(bce_discriminator_loss, minimax_generator_loss),
    'least_squares': GANLoss(least_squares_discriminator_loss, least_squares_generator_loss),
    'hinge': GANLoss(hinge_discriminator_loss, mean_negated_generator_loss),
    'wasserstein': GANLoss(wasserstein_discriminator_loss, mean_negated_generator_loss),
}


def get_loss(name: str) -> GANLoss:
    """Returns the loss named ``name`` (a key of ``LOSSES``)."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(
            f'config.loss={name!r} is not a known loss; choose one of: {", ".join(LOSSES)}.'
        ) from None
