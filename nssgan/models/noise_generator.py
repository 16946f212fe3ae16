"""The noise-tempered GAN's noise generator N(w) (the noise-tempered GAN paper, §2.2, §6.3).

"The noise-generator architecture ... is equivalent to the generator architecture with the
number of filters reduced by a factor of eight. The output of the noise-generator has a tanh
activation scaled by a factor of two." So N is the run's own generator (`config.model`) with
every width divided by `divisor`, and output 2·tanh: the image generators (DCGAN, SNGAN CNN and
ResNet) with `g_width // divisor`, and for toy data the MLP generator with each hidden width
divided and a tanh output (the data generator's output is linear for unbounded mixtures). The
authors' code (sjenni/dfgan, `gen_noise`) is the same: `2 * tanh(generator(depth=64 / 8))`.
"""

import flax.linen as nn
import jax
import ml_collections

from nssgan import models
from nssgan.models.mlp import MLPGenerator

Array = jax.Array

# The paper's output scale: |ε| < 2, "to allow more noise if necessary".
NOISE_SCALE = 2.0


class NoiseGenerator(nn.Module):
    """w (N, latent_dim) → ε = scale · tanh(·) of the data's shape; |ε| < scale.

    Attributes:
      base: a generator whose output is tanh of its last layer (its parameters live under
        'base').
      scale: the output bound, 2 in the paper.
    """

    base: nn.Module
    scale: float = NOISE_SCALE

    @nn.compact
    def __call__(self, w: Array, train: bool) -> Array:
        return self.scale * self.base(w, train)


def _narrow(width: int, divisor: int) -> int:
    return max(1, width // divisor)


def make_noise_generator(model_config, spec, divisor: int = 8) -> NoiseGenerator:
    """N for `config.model` and data `spec`: the generator with widths / `divisor`, 2·tanh."""
    if model_config.name == 'mlp':
        base = MLPGenerator(
            out_shape=tuple(spec.shape),
            latent_dim=model_config.latent_dim,
            hidden=tuple(_narrow(h, divisor) for h in model_config.mlp_hidden),
            output_activation='tanh',
            use_batchnorm=model_config.g_batchnorm,
        )
    else:
        # A copy: ConfigDict(c) and even FrozenConfigDict(c).as_configdict() share c's
        # fields, and narrowing them would narrow the run's own generator.
        narrow = ml_collections.ConfigDict(dict(model_config.items()))
        narrow.g_width = _narrow(model_config.g_width, divisor)
        base = models.make_generator(narrow, spec)  # Every image generator ends in tanh.
    return NoiseGenerator(base)
