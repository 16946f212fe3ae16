"""The "standard CNN" generator and discriminator of SNGAN (Miyato et al. 2018), for 32 and
48 px, exactly as in basiclab/GNGAN-PyTorch `models/dcgan.py` (Generator32/48,
Discriminator32/48), the GN-GAN paper's CNN setup.

With `width=64` (the reference) the generator is Linear(z, M·M·512), BN, ReLU,
[ConvTranspose(4, 2, 1), BN, ReLU] to 256, 128, 64 channels, ConvTranspose(3, 1, 1) to the
image channels, tanh (M = image_size / 8); the discriminator is Conv(3, 1, 1) to 64, then
[Conv(4, 2, 1), Conv(3, 1, 1)] pairs to 128, 256, 512 channels, each convolution followed by
LeakyReLU(0.1), and Linear(M·M·512, 1); no BatchNorm in D. All layers have biases;
weights ~ N(0, 0.02), biases 0, BatchNorm scale 1 and bias 0 (PyTorch's default).

Layouts differ from PyTorch's only by fixed permutations: NHWC feature maps, so G's first
Dense and D's last one index the M×M map as (h, w, c) where PyTorch has (c, h, w); the
stride-1 ConvTranspose(3, 1, 1) is the equal `nn.Conv(3, 1, 1)` with the spatially flipped
kernel, kernel[kh, kw, i, o] == torch_weight[i, o, 2 − kh, 2 − kw].
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from nssgan.models import layers, norm
from nssgan.models.dcgan import check_image_size

Array = jax.Array

IMAGE_SIZES = (32, 48)
# The reference's N(0, 0.02) for every Conv, ConvTranspose and Linear weight.
_init = layers.flat_normal(0.02)


def base_size(model_name: str, image_size: int) -> int:
    """M: side of the smallest feature map (image_size / 8) after checking `image_size`."""
    check_image_size(model_name, image_size, IMAGE_SIZES)
    return image_size // 8


class SNGANGenerator(nn.Module):
    """z (N, latent_dim) → images (N, image_size, image_size, channels) in [-1, 1].

    Attributes:
      image_size: 32 or 48.
      channels: output channels.
      latent_dim: size of z (the reference's z_dim is 128).
      width: channels of the last hidden layer; 64 is the reference (512, 256, 128, 64).
      upsample_method: how the ConvTranspose(4, 2, 1) layers are computed, see
        `layers.subpixel_conv_transpose`.
    """

    image_size: int = 32
    channels: int = 3
    latent_dim: int = 128
    width: int = 64
    upsample_method: str = 'auto'

    @nn.compact
    def __call__(self, z: Array, train: bool) -> Array:
        """Maps latents to images; `train` selects BatchNorm batch statistics over running
        averages."""
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f'z must have shape (N, {self.latent_dim}), got {z.shape}')
        m = base_size('sngan_cnn', self.image_size)
        features = 8 * self.width
        x = nn.Dense(m * m * features, kernel_init=_init)(z).reshape(-1, m, m, features)
        x = nn.relu(norm.batch_norm(train)(x))
        for _ in range(3):
            features //= 2
            x = layers.UpsampleConv(
                features, use_bias=True, kernel_init=_init, method=self.upsample_method
            )(x)
            x = nn.relu(norm.batch_norm(train)(x))
        x = nn.Conv(self.channels, (3, 3), 1, 1, kernel_init=_init)(x)
        return jnp.tanh(x)


class SNGANDiscriminator(nn.Module):
    """Images (N, image_size, image_size, channels) → logits (N,).

    Attributes:
      image_size: 32 or 48.
      channels: input channels.
      width: channels of the first layer; 64 is the reference (64, 128, 128, 256, 256, 512, 512).
      spectral_norm: spectral normalization of every Conv and the Linear (`nn.SpectralNorm`,
        power-iteration state in 'batch_stats'); the reference (GN-GAN) uses none, SNGAN all.
      downsample_method: how the Conv(4, 2, 1) layers are computed, see `layers.strided_conv`.
    """

    image_size: int = 32
    channels: int = 3
    width: int = 64
    spectral_norm: bool = False
    downsample_method: str = 'auto'

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
        m = base_size('sngan_cnn', self.image_size)
        update_stats = train if update_stats is None else update_stats

        def apply(layer, x):
            y = norm.maybe_spectral_norm(layer, x, self.spectral_norm, update_stats)
            return nn.leaky_relu(y, 0.1)

        features = self.width
        x = apply(nn.Conv(features, (3, 3), 1, 1, kernel_init=_init), x)
        for _ in range(3):
            features *= 2
            x = apply(
                layers.DownsampleConv(
                    features, use_bias=True, kernel_init=_init, method=self.downsample_method
                ),
                x,
            )
            x = apply(nn.Conv(features, (3, 3), 1, 1, kernel_init=_init), x)
        assert x.shape[1:3] == (m, m), x.shape
        x = x.reshape(x.shape[0], -1)
        logits = norm.maybe_spectral_norm(
            nn.Dense(1, kernel_init=_init), x, self.spectral_norm, update_stats
        )
        return logits.reshape(-1)

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether training-mode logits depend on other examples of the batch (never here)."""
        return False
