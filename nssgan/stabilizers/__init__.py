"""Stabilization schemes, the registry that maps config names to them, and the pure
gradient-based stabilizer functions (usable from any JAX code with any ``d_fn``)."""

from nssgan.stabilizers.base import DiscriminatorApply, Stabilizer, View
from nssgan.stabilizers.gradient_normalization import (
    GradientNormalizationStabilizer, gradient_normalize)
from nssgan.stabilizers.gradients import input_gradients, logits_and_input_gradients
from nssgan.stabilizers.lens import LensStabilizer, lens_weight
from nssgan.stabilizers.noise_tempered import NoiseTemperedStabilizer
from nssgan.stabilizers.penalties import (PENALTIES, consistency_penalty, dragan_penalty,
                                          r1_penalty, roth_penalty, wgan_gp_penalty)
from nssgan.stabilizers.roth import RothStabilizer, annealed_gamma
from nssgan.stabilizers.scale_space import ScaleSpaceStabilizer

STABILIZERS: dict[str, type[Stabilizer]] = {
    'none': Stabilizer,
    'nss': ScaleSpaceStabilizer,  # Noisy scale-space (NSS-GAN).
    'ss': ScaleSpaceStabilizer,   # Scale-space ablation (σ = 0).
    'ns': ScaleSpaceStabilizer,   # Noise-space ablation (no smoothing).
    'roth': RothStabilizer,       # Roth et al. 2017, (γ/2)·Ω with annealed γ.
    'pgn': GradientNormalizationStabilizer,  # Penalty gradient normalization.
    'pgn_theory': GradientNormalizationStabilizer,  # PGN as in its Theorem 6.
    'gn': GradientNormalizationStabilizer,   # Gradient normalization (GN-GAN).
    'noise_tempered': NoiseTemperedStabilizer,  # Noise-tempered GAN.
    'lens': LensStabilizer,  # Tempered adversarial networks (the lens).
}


def get_stabilizer(config) -> Stabilizer:
    """The scheme named by ``config.stabilizer.name``, bound to ``config``."""
    name = config.stabilizer.name
    try:
        cls = STABILIZERS[name]
    except KeyError:
        raise ValueError(
            f'config.stabilizer.name={name!r} is not a known scheme; choose one '
            f'of: {", ".join(STABILIZERS)}.') from None
    return cls(config)


__all__ = ['DiscriminatorApply', 'PENALTIES', 'STABILIZERS', 'Stabilizer', 'View',
           'annealed_gamma', 'consistency_penalty', 'dragan_penalty', 'get_stabilizer',
           'gradient_normalize', 'input_gradients', 'lens_weight',
           'logits_and_input_gradients',
           'r1_penalty', 'roth_penalty', 'wgan_gp_penalty']
