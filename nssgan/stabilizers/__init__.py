"""The papers' stabilizers as pure, jittable functions usable from any JAX code with
any ``d_fn`` (a batch → per-sample logits): the gradient penalties (Roth et al.'s Ω,
R1, WGAN-GP, DRAGAN, CR) and their registry, gradient normalization (GN, PGN), the
lens's losses and schedule, and per-sample input gradients. The trainer's schemes
(``nssgan.schemes``) are built from these."""

from nssgan.stabilizers.gradient_normalization import gradient_normalize
from nssgan.stabilizers.gradients import input_gradients, logits_and_input_gradients
from nssgan.stabilizers.lens import lens_loss, lens_weight
from nssgan.stabilizers.penalties import (
    PENALTIES,
    consistency_penalty,
    dragan_penalty,
    r1_penalty,
    roth_penalty,
    wgan_gp_penalty,
)
from nssgan.stabilizers.roth import annealed_gamma

__all__ = [
    'PENALTIES',
    'annealed_gamma',
    'consistency_penalty',
    'dragan_penalty',
    'gradient_normalize',
    'input_gradients',
    'lens_loss',
    'lens_weight',
    'logits_and_input_gradients',
    'r1_penalty',
    'roth_penalty',
    'wgan_gp_penalty',
]
