"""The ResNet generator and discriminator of SNGAN (Miyato et al. 2018) for 32 and 48 px,
exactly as in basiclab/GNGAN-PyTorch `models/resnet.py` (ResGenerator32/48,
ResDiscriminator32/48), the GN-GAN paper's ResNet setup.

Generator (width 64 = the reference): Linear(z, M·M·C0), three `GenBlock`s (×2 nearest
upsampling each), BN, ReLU, Conv(3, 1, 1) to the image channels, tanh; M = image_size / 8;
channels 256 → 256 → 256 → 256 at 32 px, 512 → 256 → 128 → 64 at 48 px.
Discriminator: `OptimizedDisBlock` (×2 average-pool downsampling), three `DisBlock`s, ReLU,
global pooling, Linear(C, 1); channels 128 throughout at 32 px (one downsampling block, two
plain ones), 64 → 128 → 256 → 512 at 48 px (three downsampling blocks). No BatchNorm in D.
All convolutions and linears have biases; weights ~ `kaiming_normal_` (N(0, 2 / fan_in)),
biases 0, BatchNorm scale 1 and bias 0.

Layouts differ from PyTorch's only by a fixed permutation: the generator's first Dense
produces the M×M map as (h, w, c) where PyTorch has (c, h, w). Nearest upsampling is
applied after the shortcut's 1×1 convolution, not before: the same numbers, four times
fewer products.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from nssgan.models import layers, norm
from nssgan.models.sngan_cnn import base_size

Array = jax.Array

IMAGE_SIZES = (32, 48)
POOLINGS = ('mean', 'sum')
_init = layers.flat_kaiming_normal()


def upsample_nearest(x: Array) -> Array:
    """(N, H, W, C) → (N, 2H, 2W, C), each pixel repeated 2×2 (`nn.Upsample(scale_factor=2)`)."""
    n, h, w, c = x.shape
    x = jnp.broadcast_to(x[:, :, None, :, None, :], (n, h, 2, w, 2, c))
    return x.reshape(n, 2 * h, 2 * w, c)


def avg_pool(x: Array) -> Array:
    """(N, H, W, C) → (N, H/2, W/2, C), the mean of each 2×2 block (`nn.AvgPool2d(2)`)."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def _conv(features: int, size: int, name: str) -> nn.Conv:
    return nn.Conv(features, (size, size), 1, size // 2, kernel_init=_init, name=name)


class GenBlock(nn.Module):
    """BN, ReLU, ×2 upsampling, Conv3, BN, ReLU, Conv3, plus the shortcut Conv1 then ×2."""

    features: int

    @nn.compact
    def __call__(self, x: Array, train: bool) -> Array:
        """Doubles the resolution of `x`; `train` selects BatchNorm batch statistics."""
        shortcut = upsample_nearest(_conv(self.features, 1, 'shortcut')(x))
        h = nn.relu(norm.batch_norm(train, name='bn1')(x))
        h = _conv(self.features, 3, 'conv1')(upsample_nearest(h))
        h = nn.relu(norm.batch_norm(train, name='bn2')(h))
        h = _conv(self.features, 3, 'conv2')(h)
        return h + shortcut


class DisBlock(nn.Module):
    """Residual ReLU, Conv3, ReLU, Conv3 (then ×2 average pooling if `down`); shortcut Conv1
    (where the channels change or `down`) then the pooling; `optimized` is the first block:
    no leading ReLU, shortcut pooling before its Conv1, always downsampling."""

    features: int
    down: bool = False
    optimized: bool = False
    spectral_norm: bool = False

    @nn.compact
    def __call__(self, x: Array, update_stats: bool) -> Array:
        """The block's output; `update_stats` advances the spectral-norm power iterations."""

        def conv(x, size, name):
            layer = _conv(self.features, size, name)
            return norm.maybe_spectral_norm(layer, x, self.spectral_norm, update_stats)

        down = self.down or self.optimized
        if self.optimized:
            shortcut = conv(avg_pool(x), 1, 'shortcut')
        elif self.features != x.shape[-1] or down:
            shortcut = conv(x, 1, 'shortcut')
            shortcut = avg_pool(shortcut) if down else shortcut
        else:
            shortcut = x
        h = x if self.optimized else nn.relu(x)
        h = conv(nn.relu(conv(h, 3, 'conv1')), 3, 'conv2')
        h = avg_pool(h) if down else h
        return h + shortcut


def _channels(image_size: int, width: int) -> tuple[int, ...]:
    """Feature channels of the 4 stages (input of the 3 blocks, then their outputs) of G."""
    if image_size == 32:
        return (4 * width,) * 4
    return (8 * width, 4 * width, 2 * width, width)


class ResNetGenerator(nn.Module):
    """z (N, latent_dim) → images (N, image_size, image_size, channels) in [-1, 1].

    Attributes:
      image_size: 32 or 48.
      channels: output channels.
      latent_dim: size of z (the reference's z_dim is 128).
      width: 64 is the reference (256 channels at 32 px; 512, 256, 128, 64 at 48 px); the
        channels scale with it.
    """

    image_size: int = 32
    channels: int = 3
    latent_dim: int = 128
    width: int = 64

    @nn.compact
    def __call__(self, z: Array, train: bool) -> Array:
        """Maps latents to images; `train` selects BatchNorm batch statistics over running
        averages."""
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f'z must have shape (N, {self.latent_dim}), got {z.shape}')
        m = base_size('sngan_resnet', self.image_size)
        channels = _channels(self.image_size, self.width)
        x = nn.Dense(m * m * channels[0], kernel_init=_init, name='linear')(z)
        x = x.reshape(-1, m, m, channels[0])
        for i, features in enumerate(channels[1:]):
            x = GenBlock(features, name=f'block{i}')(x, train)
        x = nn.relu(norm.batch_norm(train, name='bn')(x))
        x = _conv(self.channels, 3, 'output')(x)
        return jnp.tanh(x)


class ResNetDiscriminator(nn.Module):
    """Images (N, image_size, image_size, channels) → logits (N,).

    Attributes:
      image_size: 32 or 48.
      channels: input channels.
      width: 64 is the reference (128 channels at 32 px; 64, 128, 256, 512 at 48 px); the
        channels scale with it.
      spectral_norm: spectral normalization of every Conv and the Linear (`nn.SpectralNorm`,
        power-iteration state in 'batch_stats'); the reference (GN-GAN) uses none, SNGAN all.
      pooling: the global pooling before the Linear: 'mean' (the reference's
        AdaptiveAvgPool2d(1)) or 'sum' (Miyato et al.'s chainer code, sum over H and W).
    """

    image_size: int = 32
    channels: int = 3
    width: int = 64
    spectral_norm: bool = False
    pooling: str = 'mean'

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
          x: (N, image_size, image_size, channels) images.
          train: training mode (makes `update_stats` default to True; there is no BatchNorm).
          update_stats: advance the spectral-norm power iteration; defaults to `train`.
          stats_mask: accepted for the common discriminator interface and ignored: no layer
            uses batch statistics.
        """
        del stats_mask  # no BatchNorm
        layers.check_image_batch(x, self.image_size, self.channels)
        if self.pooling not in POOLINGS:
            raise ValueError(
                f'pooling={self.pooling!r} is not valid; choose one of: {", ".join(POOLINGS)}.'
            )
        base_size('sngan_resnet', self.image_size)
        update_stats = train if update_stats is None else update_stats
        sn = self.spectral_norm

        if self.image_size == 32:
            c = 2 * self.width
            blocks = [(c, True), (c, True), (c, False), (c, False)]
        else:
            w = self.width
            blocks = [(w, True), (2 * w, True), (4 * w, True), (8 * w, True)]
        for i, (features, down) in enumerate(blocks):
            x = DisBlock(features, down=down, optimized=i == 0, spectral_norm=sn, name=f'block{i}')(
                x, update_stats
            )
        x = nn.relu(x)
        x = jnp.sum(x, axis=(1, 2)) if self.pooling == 'sum' else jnp.mean(x, axis=(1, 2))
        logits = norm.maybe_spectral_norm(
            nn.Dense(1, kernel_init=_init, name='linear'), x, sn, update_stats
        )
        return logits.reshape(-1)

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether training-mode logits depend on other examples of the batch (never here)."""
        return False
