"""Gradient normalization (GN, Wu et al. 2021) and penalty gradient normalization (PGN).

Both replace the discriminator f by a normalized f̂ that is used everywhere: in D's
update on reals and fakes and in G's update. The gradients are per-sample input
gradients (``gradients.logits_and_input_gradients``), taken with ``create_graph``
semantics: training differentiates f̂, and with it ∇ₓf, again.

Variants (``gradient_normalize(d_fn, variant)``):

* ``'gn'``: f̂ = f / (‖∇ₓf‖ + |f|), eq. 5 of the PGN paper with ζ = |f| (GN-GAN;
  basiclab/GNGAN-PyTorch ``normalize_gradient``).
* ``'pgn'``: f̂ = (1 − f) / (‖𝟏 − ∇ₓf‖ + |1 − f|), as coded by the PGN authors
  (sumorday/EDGAN-PyTorch): 𝟏 − ∇ₓf is taken elementwise over the flattened input.
* ``'pgn_theory'``: f̂ = (1 − f) / (‖∇ₓ(1 − f)‖ + |1 − f|) = (1 − f) / (‖∇ₓf‖ + |1 − f|),
  the function of the paper's Theorem 6, for which ‖∇ₓf̂‖ ≤ 1 wherever f is piecewise
  linear (ReLU / LeakyReLU networks without BatchNorm in training mode).
"""

import jax
import jax.numpy as jnp

from nssgan.stabilizers import gradients
from nssgan.stabilizers.gradients import DiscriminatorFn

VARIANTS = ('pgn', 'pgn_theory', 'gn')


def check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(
            f'variant={variant!r} is not a gradient normalization; choose '
            f'one of: {", ".join(VARIANTS)}.'
        )


def normalized_logits(logits: jax.Array, grads: jax.Array, variant: str) -> jax.Array:
    """f̂ from f = ``logits`` (N,) and ∇ₓf = ``grads`` (N, ...); see the module docstring."""
    check_variant(variant)
    if variant == 'gn':
        return logits / (gradients.norms(grads) + jnp.abs(logits))
    numerator = 1.0 - logits
    if variant == 'pgn':
        grad_norm = gradients.norms(1.0 - grads)
    else:
        grad_norm = gradients.norms(grads)
    return numerator / (grad_norm + jnp.abs(numerator))


def gradient_normalize(d_fn: DiscriminatorFn, variant: str = 'pgn') -> DiscriminatorFn:
    """The normalized discriminator x ↦ f̂(x) of ``variant`` ('pgn', 'pgn_theory', 'gn')."""
    check_variant(variant)

    def normalized(x: jax.Array) -> jax.Array:
        logits, grads = gradients.logits_and_input_gradients(d_fn, x)
        return normalized_logits(logits, grads, variant)

    return normalized
