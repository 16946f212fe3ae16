"""Tempered adversarial networks (Sajjadi et al. 2018): a lens between the reals and D.

A residual network L (``nssgan.models.LensNetwork``, L(x) = x + r(x)) maps the real
batch before D sees it: D's loss is the GAN's own with L(x) in place of x (eq. 7, 10,
13), e.g. L_D = −log D(L(x)) − log(1 − D(G(z))). G's loss is unchanged (eq. 5, 9, 12):
G only ever sees its fakes through D. The lens is trained *against* D, with

    L_L = λ_t·L_A + ‖x − L(x)‖²                                  (eq. 2, 3)
    λ_t = 1 − sin(tπ/2K) for t ≤ K, 0 for t > K                  (eq. 4)

and L_A ≈ −L_D's real term, so that early on the lens makes the reals look *fake*:

    non-saturating, minimax:  L_A = −log(1 − D(L(x)))   (eq. 8; softplus of the logit)
    least-squares:            L_A = D(L(x))²            (eq. 11; raw output, no ½)
    Wasserstein:              L_A = D(L(x))             (eq. 14; critic output)

Minimizing each pushes D(L(x)) towards the fake side (logit ↓, LSGAN label 0, critic
↓). Other losses (hinge) are refused: the paper defines no L_A for them. t is the
generator step; once λ_t = 0 the lens is trained on the reconstruction alone and
converges to the identity, and training becomes the plain GAN.

The scheme that trains with these is ``nssgan.schemes.lens``.
"""

from typing import Callable

import jax
import jax.numpy as jnp

RECONSTRUCTIONS = ('mean', 'sum')


def lens_weight(step, K: int) -> jax.Array:
    """λ_t = 1 − sin(tπ/2K) for t ≤ K and 0 for t > K (eq. 4): 1 at t = 0, 0 from K on."""
    t = jnp.minimum(jnp.asarray(step, jnp.float32), K)
    return 1.0 - jnp.sin(t * (jnp.pi / (2 * K)))


def _log_one_minus_d(logits):
    """−log(1 − D(L(x))) = softplus(ψ), D = σ(ψ) (eq. 8)."""
    return jnp.mean(jax.nn.softplus(logits))


def _squared_output(logits):
    """D(L(x))² (eq. 11)."""
    return jnp.mean(jnp.square(logits))


def _critic_output(logits):
    """D(L(x)) (eq. 14)."""
    return jnp.mean(logits)


# config.loss → the lens's adversarial loss L_A, a batch mean of D's raw outputs on L(x).
ADVERSARIAL_LOSSES: dict[str, Callable[[jax.Array], jax.Array]] = {
    'non_saturating': _log_one_minus_d,
    'minimax': _log_one_minus_d,
    'least_squares': _squared_output,
    'wasserstein': _critic_output,
}


def lens_adversarial_loss(logits: jax.Array, loss: str) -> jax.Array:
    """L_A for the GAN loss ``loss`` from D's per-sample outputs on L(x) (eq. 8, 11, 14)."""
    return ADVERSARIAL_LOSSES[loss](logits.astype(jnp.float32))


def reconstruction_loss(x: jax.Array, lensed: jax.Array, reduction: str = 'sum') -> jax.Array:
    """L_R = ‖x − L(x)‖² (eq. 2): the sum over each sample's elements averaged over the
    batch ('sum', the paper's per-image norm) or the mean over all elements ('mean')."""
    squared = jnp.square((lensed - x).astype(jnp.float32))
    if reduction == 'mean':
        return jnp.mean(squared)
    return jnp.mean(jnp.sum(squared.reshape(x.shape[0], -1), axis=1))


def lens_loss(
    lensed: jax.Array,
    x: jax.Array,
    d_fn: Callable[[jax.Array], jax.Array],
    weight: jax.Array,
    *,
    loss: str,
    reduction: str = 'sum',
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """L_L = λ·L_A + L_R (eq. 3) for lensed reals ``lensed`` = L(x); ``d_fn`` maps a
    batch to D's per-sample outputs. Returns L_L and its parts."""
    logits = d_fn(lensed)
    adversarial = lens_adversarial_loss(logits, loss)
    reconstruction = reconstruction_loss(x, lensed, reduction)
    total = weight * adversarial + reconstruction
    return total, {
        'lens_loss': total,
        'lens_adversarial': adversarial,
        'lens_reconstruction': reconstruction,
        'd_lensed_logit': jnp.mean(logits.astype(jnp.float32)),
    }
