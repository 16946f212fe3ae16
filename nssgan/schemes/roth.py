"""Roth et al. (2017): the gradient-norm regularizer Ω with an annealed weight γ.

D's loss is the logistic one plus (γ/2)·Ω (the ``roth`` entry of
``nssgan.stabilizers.PENALTIES``, eq. 20); G's loss has no Ω. γ follows
γ_k = γ₀·α^{k/(K−1)} over the K generator updates of the run (γ₀ = 2, α = 0.01 in the
paper's annealed experiments; α = 1 keeps γ = γ₀ constant, e.g. γ₀ = 0.1), as in
rothk/Stabilizing_GANs.

Settings (``config.stabilizer.roth``): ``gamma`` (γ₀, 2.0), ``alpha`` (0.01).
"""

import ml_collections

from nssgan.schemes.base import Scheme, is_number
from nssgan.stabilizers import penalties
from nssgan.stabilizers.roth import annealed_gamma


class Roth(Scheme):
    """Adds (γ/2)·Ω on the real and fake batch to D's loss; see the module docstring."""

    input_gradients = True

    @classmethod
    def defaults(cls):
        return ml_collections.ConfigDict(dict(gamma=2.0, alpha=0.01))

    def check(self, run):
        penalties.check_penalty('roth', run.loss, run.spec, field='config.stabilizer.name')
        gamma, alpha = self.settings.gamma, self.settings.alpha
        if not (is_number(gamma) and gamma >= 0):
            raise ValueError(f'{self.field("gamma")}={gamma!r} must be ≥ 0.')
        if not (is_number(alpha) and 0 < alpha <= 1):
            raise ValueError(f'{self.field("alpha")}={alpha!r} must be in (0, 1].')

    def schedule(self, step, run):
        return {
            'gamma': annealed_gamma(
                step, run.num_train_steps, gamma0=self.settings.gamma, alpha=self.settings.alpha
            )
        }

    def penalty(self, real, fake, ctx):
        omega, _ = penalties.PENALTIES['roth'](ctx.frozen_d_fn, real, fake, ctx.penalty_key)
        return 0.5 * ctx.schedule['gamma'] * omega, {'roth_omega': omega}
