"""The stabilization schemes the trainer can run, by config name.

A scheme is one module with a ``Scheme`` subclass (``nssgan.schemes.base``) and one
line in ``SCHEMES``. Its settings live in ``config.stabilizer.<name>``, which the base
config fills from the class's ``defaults()``; ``config.stabilizer.name`` selects one.
"""

import ml_collections

from nssgan.schemes import gradient_normalization, lens, noise_tempered, nss, roth
from nssgan.schemes.base import (
    DiscriminatorApply,
    DiscriminatorFn,
    RunInfo,
    Scheme,
    StepContext,
    View,
)

SCHEMES: dict[str, type[Scheme]] = {
    'none': Scheme,  # The plain GAN.
    'nss': nss.NoisyScaleSpace,  # Noisy scale-space (NSS-GAN).
    'ss': nss.ScaleSpace,  # Its scale-space ablation (σ = 0).
    'ns': nss.NoiseSpace,  # Its noise-space ablation (no smoothing).
    'roth': roth.Roth,  # Roth et al. 2017, (γ/2)·Ω with annealed γ.
    'pgn': gradient_normalization.PenaltyGradientNormalization,
    'pgn_theory': gradient_normalization.TheoremPenaltyGradientNormalization,
    'gn': gradient_normalization.GradientNormalization,  # GN-GAN.
    'noise_tempered': noise_tempered.NoiseTempered,  # Noise-tempered GAN.
    'lens': lens.Lens,  # Tempered adversarial networks.
}


def default_sections() -> ml_collections.ConfigDict:
    """``config.stabilizer`` of the base config: ``name='none'`` and, for every scheme
    that has settings, its section filled with its defaults."""
    stabilizer = ml_collections.ConfigDict({'name': 'none'})
    for name, cls in SCHEMES.items():
        defaults = cls.defaults()
        if defaults:
            stabilizer[name] = defaults
    return stabilizer


def scheme_class(name: str) -> type[Scheme]:
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(
            f'config.stabilizer.name={name!r} is not a known scheme; '
            f'choose one of: {", ".join(SCHEMES)}.'
        ) from None


def check_sections(stabilizer: ml_collections.ConfigDict) -> None:
    """Refuses fields of ``config.stabilizer`` that no scheme reads."""
    for section, value in stabilizer.items():
        if section == 'name':
            continue
        if section not in SCHEMES or not isinstance(value, ml_collections.ConfigDict):
            raise ValueError(
                f"config.stabilizer.{section} is not a scheme section; a scheme's "
                f'settings are config.stabilizer.<scheme>.<setting>, e.g. '
                f'config.stabilizer.nss.T (sections: '
                f'{", ".join(n for n, c in SCHEMES.items() if c.defaults())}).'
            )
        valid = SCHEMES[section].defaults()
        for field in value:
            if field not in valid:
                raise ValueError(
                    f'config.stabilizer.{section}.{field} is not a setting '
                    f'of {section!r}; valid: {", ".join(valid) or "none"}.'
                )


def get_scheme(config) -> Scheme:
    """The scheme named by ``config.stabilizer.name`` with its own settings: its
    section of ``config.stabilizer`` over its defaults (frozen)."""
    name = config.stabilizer.name
    cls = scheme_class(name)
    settings = cls.defaults()
    for field, value in config.stabilizer.get(name, {}).items():
        settings[field] = value
    return cls(name, ml_collections.FrozenConfigDict(settings))


__all__ = [
    'DiscriminatorApply',
    'DiscriminatorFn',
    'RunInfo',
    'SCHEMES',
    'Scheme',
    'StepContext',
    'View',
    'check_sections',
    'default_sections',
    'get_scheme',
    'scheme_class',
]
