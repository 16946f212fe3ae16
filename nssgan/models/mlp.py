"""Fully connected generator and discriminator, for toy data (mixtures, 8×8 Hadamard images).

With BatchNorm in both (`use_batchnorm`, `normalization='batch'`), the defaults give the
noise-tempered GAN paper's toy setup: three hidden layers of 512 with ReLU, BatchNorm in
every layer but the first layer of D and the output layers.
"""

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from nssgan.models import norm

Array = jax.Array

OUTPUT_ACTIVATIONS = {'tanh': jnp.tanh, 'linear': lambda x: x}
ACTIVATIONS = {'relu': nn.relu, 'leaky_relu': lambda x: nn.leaky_relu(x, 0.2)}


def _lookup(table: dict, name: str, field: str):
    if name not in table:
        raise ValueError(f'{field}={name!r} is not valid; choose one of: {", ".join(table)}.')
    return table[name]


def batch_norm(train: bool) -> norm.BatchNorm:
    """PyTorch's BatchNorm1d defaults (eps 1e-5, momentum 0.1); scale 1, bias 0."""
    return norm.batch_norm(train)


class MLPGenerator(nn.Module):
    """z (N, latent_dim) → samples (N, *out_shape): [Dense, (BN), ReLU] per hidden layer, Dense.

    Attributes:
      out_shape: per-example output shape, e.g. (2,) or (8, 8, 1).
      latent_dim: size of z.
      hidden: widths of the hidden layers.
      output_activation: 'tanh' (data in [-1, 1]) or 'linear' (unbounded data).
      use_batchnorm: BatchNorm in every hidden layer.
    """

    out_shape: tuple[int, ...]
    latent_dim: int = 100
    hidden: Sequence[int] = (512, 512, 512)
    output_activation: str = 'tanh'
    use_batchnorm: bool = False

    @nn.compact
    def __call__(self, z: Array, train: bool) -> Array:
        """Maps latents to samples; `train` selects BatchNorm batch statistics."""
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f'z must have shape (N, {self.latent_dim}), got {z.shape}')
        activation = _lookup(OUTPUT_ACTIVATIONS, self.output_activation, 'output_activation')
        x = z
        for width in self.hidden:
            x = nn.Dense(width)(x)
            if self.use_batchnorm:
                x = batch_norm(train)(x)
            x = nn.relu(x)
        x = nn.Dense(math.prod(self.out_shape))(x)
        return activation(x).reshape(-1, *self.out_shape)


class MLPDiscriminator(nn.Module):
    """Any (N, ...) batch, flattened → logits (N,): [Dense, (BN), act] per hidden layer, Dense.

    Attributes:
      hidden: widths of the hidden layers.
      normalization: in every hidden layer but the first: 'batch' (BatchNorm), 'layer'
        or 'none' (`nssgan.models.norm.normalize_d`).
      activation: 'relu' or 'leaky_relu' (slope 0.2).
      spectral_norm: spectral normalization of every Dense layer (state in 'batch_stats').
    """

    hidden: Sequence[int] = (512, 512, 512)
    normalization: str = 'none'
    activation: str = 'relu'
    spectral_norm: bool = False

    @nn.compact
    def __call__(
        self,
        x: Array,
        train: bool,
        update_stats: bool | None = None,
        stats_mask: Array | None = None,
    ) -> Array:
        """Per-example logits.

        Args:
          x: (N, ...) batch.
          train: BatchNorm uses (and updates) batch statistics if True, running averages otherwise.
          update_stats: advance the spectral-norm power iteration; defaults to `train`.
          stats_mask: optional bool (N,): the examples whose statistics BatchNorm uses in training
            mode (all by default); see `nssgan.models.norm`.
        """
        activation = _lookup(ACTIVATIONS, self.activation, 'activation')
        update_stats = train if update_stats is None else update_stats

        def dense(x, width):
            return norm.maybe_spectral_norm(nn.Dense(width), x, self.spectral_norm, update_stats)

        x = x.reshape(x.shape[0], -1)
        mask = norm.broadcast_stats_mask(stats_mask, x)
        for i, width in enumerate(self.hidden):
            x = dense(x, width)
            if i > 0:
                x = norm.normalize_d(self.normalization, x, train, mask, batch_norm)
            x = activation(x)
        return dense(x, 1).reshape(-1)

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether training-mode logits depend on other examples of the batch (BatchNorm)."""
        return self.normalization == 'batch' and len(self.hidden) > 1
