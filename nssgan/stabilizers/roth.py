"""Roth et al. (2017): the annealed weight γ of the gradient-norm regularizer Ω.

Ω itself is ``penalties.roth_penalty`` (eq. 20); D's loss adds (γ/2)·Ω.
"""

import jax.numpy as jnp


def annealed_gamma(step, num_steps: int, *, gamma0: float = 2.0, alpha: float = 0.01):
    """γ_k = γ₀·α^{k/(K−1)}: γ₀ at the first step, γ₀·α at the last (K = num_steps).

    As rothk/Stabilizing_GANs (γ₀ = 2, α = 0.01 in the paper's annealed experiments;
    α = 1 keeps γ = γ₀ constant).
    """
    fraction = jnp.asarray(step, jnp.float32) / max(num_steps - 1, 1)
    return gamma0 * jnp.power(jnp.float32(alpha), fraction)
