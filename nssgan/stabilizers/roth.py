"""Roth et al. (2017): the gradient-norm regularizer Ω with an annealed weight γ.

D's loss is the logistic one plus (γ/2)·Ω (``penalties.roth_penalty``, eq. 20); G's
loss has no Ω. γ follows γ_k = γ₀·α^{k/(K−1)} over the K generator updates of the run
(γ₀ = 2, α = 0.01 in the paper's annealed experiments; α = 1 keeps γ = γ₀ constant,
e.g. γ₀ = 0.1), as in rothk/Stabilizing_GANs.

Settings (``config.stabilizer``): ``gamma`` (γ₀, 2.0), ``alpha`` (0.01).
"""

import jax.numpy as jnp

from nssgan.stabilizers import penalties
from nssgan.stabilizers.base import Stabilizer

# Ω is derived for the logistic discriminator: σ(ψ) must be D's probability.
LOGISTIC_LOSSES = ('non_saturating', 'minimax')


def annealed_gamma(step, num_steps: int, *, gamma0: float = 2.0, alpha: float = 0.01):
    """γ_k = γ₀·α^{k/(K−1)}: γ₀ at the first step, γ₀·α at the last (K = num_steps)."""
    fraction = jnp.asarray(step, jnp.float32) / max(num_steps - 1, 1)
    return gamma0 * jnp.power(jnp.float32(alpha), fraction)


class RothStabilizer(Stabilizer):
    """Adds (γ/2)·Ω on the real and fake batch to D's loss; see the module docstring."""

    name = 'roth'
    defaults = dict(gamma=2.0, alpha=0.01)

    def check(self, spec):
        super().check(spec)
        if self.config.loss not in LOGISTIC_LOSSES:
            raise ValueError(
                f"config.stabilizer.name='roth' regularizes the logistic discriminator, "
                f"but config.loss={self.config.loss!r}; use one of: "
                f"{', '.join(LOGISTIC_LOSSES)}.")
        if not self.setting('gamma') >= 0 or not 0 < self.setting('alpha') <= 1:
            raise ValueError('config.stabilizer.gamma must be ≥ 0 and '
                             'config.stabilizer.alpha in (0, 1].')

    def schedule(self, step, num_steps):
        return {'gamma': annealed_gamma(step, num_steps, gamma0=self.setting('gamma'),
                                        alpha=self.setting('alpha'))}

    def penalty(self, d_fn, real, fake, key, schedule):
        del key
        omega = penalties.roth_penalty(d_fn, real, fake)
        return 0.5 * schedule['gamma'] * omega, {'roth_omega': omega}
