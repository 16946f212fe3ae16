"""Stabilization schemes and the registry that maps config names to them."""

from nssgan.stabilizers.base import DiscriminatorApply, Stabilizer, View
from nssgan.stabilizers.scale_space import ScaleSpaceStabilizer

STABILIZERS: dict[str, type[Stabilizer]] = {
    'none': Stabilizer,
    'nss': ScaleSpaceStabilizer,  # Noisy scale-space (NSS-GAN).
    'ss': ScaleSpaceStabilizer,   # Scale-space ablation (σ = 0).
    'ns': ScaleSpaceStabilizer,   # Noise-space ablation (no smoothing).
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


__all__ = ['DiscriminatorApply', 'STABILIZERS', 'Stabilizer', 'View',
           'get_stabilizer']
