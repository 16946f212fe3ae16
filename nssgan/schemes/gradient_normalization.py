"""``pgn``, ``pgn_theory``, ``gn``: D is replaced by its gradient-normalized f̂ (the
variant of the same name in ``nssgan.stabilizers.gradient_normalize``) in every D and
G update. No settings."""

import jax
import jax.numpy as jnp

from nssgan.schemes.base import Scheme
from nssgan.stabilizers.gradient_normalization import normalized_logits


class PenaltyGradientNormalization(Scheme):
    """``pgn``: f̂ = (1 − f)/(‖𝟏 − ∇ₓf‖ + |1 − f|), as the PGN authors coded it."""

    input_gradients = True

    variant = 'pgn'

    def wrap_discriminator(self, d_apply):
        def normalized(x, batch_stats, *, independent=False, update_stats=True):
            del independent  # f̂ is always built from per-sample gradients.

            def forward(x):
                return d_apply(x, batch_stats, independent=True, update_stats=update_stats)

            logits, vjp, new_stats = jax.vjp(forward, x, has_aux=True)
            (grads,) = vjp(jnp.ones_like(logits))
            return normalized_logits(logits, grads, self.variant), new_stats

        return normalized


class TheoremPenaltyGradientNormalization(PenaltyGradientNormalization):
    """``pgn_theory``: f̂ = (1 − f)/(‖∇ₓf‖ + |1 − f|), the PGN paper's Theorem 6."""

    variant = 'pgn_theory'


class GradientNormalization(PenaltyGradientNormalization):
    """``gn``: f̂ = f/(‖∇ₓf‖ + |f|) (GN-GAN)."""

    variant = 'gn'
