"""The DCGAN generator and discriminator (Radford et al. 2016), as in the PyTorch DCGAN example.

The PyTorch example is 64×64; here the number of stride-2 layers follows the image size, so
32, 64 and 128 px share one definition (64 px is exactly the example). The generator's
ConvTranspose2d(4, 2, 1) layers are `UpsampleConv`: the same function and parameters, written
without a transposed convolution; the discriminator's Conv2d(4, 2, 1) layers likewise are
`DownsampleConv` (see `layers.py`).
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from nssgan.models import layers, norm

Array = jax.Array

IMAGE_SIZES = (32, 64, 128)

# DCGAN's weights_init: conv weights ~ N(0, 0.02), BatchNorm weight ~ N(1, 0.02), bias 0.
dcgan_init = layers.flat_normal(0.02)


def bn_scale_init(key: Array, shape, dtype=jnp.float32) -> Array:
    """DCGAN's BatchNorm scale initialisation, N(1, 0.02)."""
    return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def check_image_size(
    model_name: str, image_size: int, sizes: tuple[int, ...] = IMAGE_SIZES
) -> None:
    """Raises ValueError unless `model_name` can be built for square images of `image_size` px,
    one of `sizes` (DCGAN's by default)."""
    if image_size not in sizes:
        raise ValueError(
            f'config.image_size={image_size!r} is not valid for model {model_name!r}; '
            f'choose one of: {", ".join(map(str, sizes))}.'
        )


def num_resamplings(image_size: int) -> int:
    """The number of ×2 up- (or down-) samplings between 4×4 and `image_size`."""
    check_image_size('dcgan', image_size)
    return int(math.log2(image_size // 4))


def batch_norm(train: bool) -> norm.BatchNorm:
    """PyTorch's BatchNorm2d defaults (eps 1e-5, momentum 0.1) with DCGAN's initialisation.

    One difference remains: flax keeps the biased batch variance in its running average, PyTorch
    the unbiased one (a factor n/(n−1), n = batch·height·width); train-mode outputs are equal.
    """
    return norm.batch_norm(train, scale_init=bn_scale_init)


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) → images (N, image_size, image_size, channels) in [-1, 1].

    Layers: ConvTranspose(latent_dim, C0, 4, 1, 0) on the 1×1 latent — a bias-free Dense to
    4·4·C0 reshaped to 4×4 (kernel[i, (4·kh + kw)·C0 + c] == torch_weight[i, c, kh, kw]) — then
    BN, ReLU, [UpsampleConv, BN, ReLU] halving the channels, and a last UpsampleConv to
    `channels` with tanh. C0 = width·2^(n−1) for n = log2(image_size / 4) upsamplings.

    Attributes:
      image_size: output height and width, one of IMAGE_SIZES.
      channels: output channels.
      latent_dim: size of z.
      width: channels of the last hidden layer (PyTorch example's ngf).
      use_batchnorm: BatchNorm after every hidden layer.
      upsample_method: see `layers.subpixel_conv_transpose`.
    """

    image_size: int
    channels: int = 3
    latent_dim: int = 100
    width: int = 64
    use_batchnorm: bool = True
    upsample_method: str = 'auto'

    @nn.compact
    def __call__(self, z: Array, train: bool) -> Array:
        """Maps latents to images; `train` selects BatchNorm batch statistics over running
        averages."""
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(f'z must have shape (N, {self.latent_dim}), got {z.shape}')
        n_up = num_resamplings(self.image_size)
        features = self.width * 2 ** (n_up - 1)

        def norm_relu(x):
            if self.use_batchnorm:
                x = batch_norm(train)(x)
            return nn.relu(x)

        x = nn.Dense(4 * 4 * features, use_bias=False, kernel_init=dcgan_init)(z)
        x = norm_relu(x.reshape(-1, 4, 4, features))
        for _ in range(n_up - 1):
            features //= 2
            x = norm_relu(layers.UpsampleConv(features, method=self.upsample_method)(x))
        x = layers.UpsampleConv(self.channels, method=self.upsample_method)(x)
        return jnp.tanh(x)


class DCGANDiscriminator(nn.Module):
    """Images (N, image_size, image_size, C) → logits (N,), no sigmoid.

    Layers: Conv(4, 2, 1) to `width`, LeakyReLU(0.2), [Conv(4, 2, 1), BN, LeakyReLU(0.2)]
    doubling the channels down to 4×4, Conv(4, 1, 0) to one logit. All convolutions bias-free;
    by default computed without XLA's convolution (`layers.DownsampleConv`), whose gradients
    are slow on CPU, with the parameters of `nn.Conv` (named Conv_0, Conv_1, ...).

    Attributes:
      image_size: input height and width, one of IMAGE_SIZES.
      channels: input channels.
      width: channels of the first layer (PyTorch example's ndf).
      normalization: after every convolution but the first and the last: 'batch'
        (BatchNorm, DCGAN's), 'layer' (the official WGAN-GP critic's) or 'none'.
      spectral_norm: spectral normalization of every convolution (`nn.SpectralNorm`; its power
        iteration state lives in the 'batch_stats' collection).
      downsample_method: how the Conv(4, 2, 1) layers are computed, see
        `layers.strided_conv`; with any method but 'conv' (plain `nn.Conv` layers) the last
        Conv(4, 1, 0) is a Dense over the flattened 4×4 map (`layers.WholeMapConv`). The
        parameters are the same for all methods.
    """

    image_size: int
    channels: int = 3
    width: int = 64
    normalization: str = 'batch'
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
          train: BatchNorm uses batch statistics (and updates its running averages) if True, the
            running averages otherwise.
          update_stats: advance the spectral-norm power iteration; defaults to `train`.
          stats_mask: optional bool (N,): the examples whose statistics BatchNorm uses in training
            mode (all by default); see `nssgan.models.norm`.
        """
        layers.check_image_batch(x, self.image_size, self.channels)
        update_stats = train if update_stats is None else update_stats
        mask = norm.broadcast_stats_mask(stats_mask, x)

        plain = self.downsample_method == 'conv'
        n_convs = 0

        def conv(x, features, last=False):
            nonlocal n_convs
            # Named as nn.Conv would be, so the parameter tree is the same for every method.
            name = f'Conv_{n_convs}'
            n_convs += 1
            if plain:
                strides, padding = (1, 'VALID') if last else (2, 1)
                layer = nn.Conv(
                    features,
                    (4, 4),
                    strides,
                    padding,
                    use_bias=False,
                    kernel_init=dcgan_init,
                    name=name,
                )
            elif last:
                layer = layers.WholeMapConv(features, kernel_init=dcgan_init, name=name)
            else:
                layer = layers.DownsampleConv(
                    features, kernel_init=dcgan_init, method=self.downsample_method, name=name
                )
            return norm.maybe_spectral_norm(layer, x, self.spectral_norm, update_stats)

        n_down = num_resamplings(self.image_size)
        features = self.width
        x = nn.leaky_relu(conv(x, features), 0.2)
        for _ in range(n_down - 1):
            features *= 2
            x = norm.normalize_d(self.normalization, conv(x, features), train, mask, batch_norm)
            x = nn.leaky_relu(x, 0.2)
        x = conv(x, 1, last=True)
        return x.reshape(-1)

    @property
    def uses_batch_statistics(self) -> bool:
        """Whether training-mode logits depend on other examples of the batch (BatchNorm)."""
        return self.normalization == 'batch'
