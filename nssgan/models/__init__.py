"""Generators and discriminators, built by name from `config.model` and the data's spec.

Every generator is called as `G(z, train)` and every discriminator as
`D(x, train, update_stats=None, stats_mask=None)`; D returns per-example logits of shape (N,).
Pass `mutable=['batch_stats']` when BatchNorm runs with `train=True` or spectral norm with
`update_stats=True`. `stats_mask` (bool (N,)) picks the examples whose statistics D's
BatchNorm layers use (see `nssgan.models.norm`); `D.uses_batch_statistics` says whether D has any.

A model is one `_Model` entry in `_REGISTRY`: a check and the two builders.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import flax.linen as nn

from nssgan.models import norm
from nssgan.models.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator, check_image_size
from nssgan.models.layers import (
    DOWNSAMPLE_METHODS,
    DownsampleConv,
    UpsampleConv,
    WholeMapConv,
    strided_conv,
    subpixel_conv_transpose,
)
from nssgan.models.layers import METHODS as UPSAMPLE_METHODS
from nssgan.models.lens import LensNetwork
from nssgan.models.mlp import ACTIVATIONS, MLPDiscriminator, MLPGenerator
from nssgan.models.norm import broadcast_stats_mask
from nssgan.models.sngan_cnn import IMAGE_SIZES as SNGAN_IMAGE_SIZES
from nssgan.models.sngan_cnn import SNGANDiscriminator, SNGANGenerator
from nssgan.models.sngan_resnet import POOLINGS as RESNET_POOLINGS
from nssgan.models.sngan_resnet import ResNetDiscriminator, ResNetGenerator

ModelConfig = Any  # an ml_collections.ConfigDict (`config.model`)
Spec = Any  # anything with `.kind` ('image' | 'vector') and `.shape` (per-example shape)


def _fail(field: str, value, why: str) -> None:
    raise ValueError(f'config.model.{field}={value!r} {why}')


def _check_positive_int(cfg: ModelConfig, field: str) -> None:
    value = cfg[field]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        _fail(field, value, 'must be a positive integer.')


def _check_bool(cfg: ModelConfig, field: str) -> None:
    if not isinstance(cfg[field], bool):
        _fail(field, cfg[field], 'must be True or False.')


def _check_choice(cfg: ModelConfig, field: str, choices) -> None:
    if cfg[field] not in choices:
        _fail(field, cfg[field], f'is not valid; choose one of: {", ".join(choices)}.')


def _upsample_method(cfg: ModelConfig) -> str:
    return cfg.get('upsample_method', 'auto')


def _downsample_method(cfg: ModelConfig) -> str:
    return cfg.get('downsample_method', 'auto')


def _check_resampling_methods(cfg: ModelConfig) -> None:
    if _upsample_method(cfg) not in UPSAMPLE_METHODS:
        _fail(
            'upsample_method',
            _upsample_method(cfg),
            f'is not valid; choose one of: {", ".join(UPSAMPLE_METHODS)}.',
        )
    if _downsample_method(cfg) not in DOWNSAMPLE_METHODS:
        _fail(
            'downsample_method',
            _downsample_method(cfg),
            f'is not valid; choose one of: {", ".join(DOWNSAMPLE_METHODS)}.',
        )


def _check_square_image(name: str, spec: Spec, sizes: tuple[int, ...]) -> None:
    if spec.kind != 'image' or len(spec.shape) != 3:
        raise ValueError(
            f'config.model.name={name!r} needs image data, but the dataset gives {spec.kind} '
            f"examples of shape {tuple(spec.shape)}; use config.model.name='mlp'."
        )
    height, width, _ = spec.shape
    if height != width:
        raise ValueError(
            f'config.model.name={name!r} needs square images, got {height}×{width}; set '
            f'config.image_size to one of: {", ".join(map(str, sizes))}.'
        )
    check_image_size(name, height, sizes)


# DCGAN


def _check_dcgan(cfg: ModelConfig, spec: Spec) -> None:
    for field in ('latent_dim', 'g_width', 'd_width'):
        _check_positive_int(cfg, field)
    for field in ('g_batchnorm', 'd_spectral_norm'):
        _check_bool(cfg, field)
    _check_choice(cfg, 'd_norm', norm.D_NORMALIZATIONS)
    _check_resampling_methods(cfg)
    _check_square_image('dcgan', spec, IMAGE_SIZES)


def _dcgan_generator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return DCGANGenerator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        latent_dim=cfg.latent_dim,
        width=cfg.g_width,
        use_batchnorm=cfg.g_batchnorm,
        upsample_method=_upsample_method(cfg),
    )


def _dcgan_discriminator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return DCGANDiscriminator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        width=cfg.d_width,
        normalization=cfg.d_norm,
        spectral_norm=cfg.d_spectral_norm,
        downsample_method=_downsample_method(cfg),
    )


# MLP


def _check_mlp(cfg: ModelConfig, spec: Spec) -> None:
    del spec  # any per-example shape works
    _check_positive_int(cfg, 'latent_dim')
    for field in ('g_batchnorm', 'd_spectral_norm'):
        _check_bool(cfg, field)
    _check_choice(cfg, 'd_norm', norm.D_NORMALIZATIONS)
    hidden = cfg.mlp_hidden
    if (
        not isinstance(hidden, (tuple, list))
        or not hidden
        or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden)
    ):
        _fail('mlp_hidden', hidden, 'must be a non-empty tuple of positive integers.')
    _check_choice(cfg, 'mlp_d_activation', tuple(ACTIVATIONS))


def _output_activation(spec: Spec) -> str:
    """tanh for data in [-1, 1] (images), linear for unbounded data (mixtures)."""
    default = (-1.0, 1.0) if spec.kind == 'image' else None
    value_range = getattr(spec, 'value_range', default)
    return 'tanh' if value_range is not None and tuple(value_range) == (-1.0, 1.0) else 'linear'


def _mlp_generator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return MLPGenerator(
        out_shape=tuple(spec.shape),
        latent_dim=cfg.latent_dim,
        hidden=tuple(cfg.mlp_hidden),
        output_activation=_output_activation(spec),
        use_batchnorm=cfg.g_batchnorm,
    )


def _mlp_discriminator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    del spec
    return MLPDiscriminator(
        hidden=tuple(cfg.mlp_hidden),
        normalization=cfg.d_norm,
        activation=cfg.mlp_d_activation,
        spectral_norm=cfg.d_spectral_norm,
    )


# SNGAN's standard CNN and ResNet (as in GN-GAN's code). BatchNorm placement is the
# reference's (in G, none in D): g_batchnorm and d_norm are not read.


def _check_sngan_common(cfg: ModelConfig) -> None:
    for field in ('latent_dim', 'g_width', 'd_width'):
        _check_positive_int(cfg, field)
    _check_bool(cfg, 'd_spectral_norm')


def _check_sngan_cnn(cfg: ModelConfig, spec: Spec) -> None:
    _check_sngan_common(cfg)
    _check_resampling_methods(cfg)
    _check_square_image('sngan_cnn', spec, SNGAN_IMAGE_SIZES)


def _sngan_cnn_generator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return SNGANGenerator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        latent_dim=cfg.latent_dim,
        width=cfg.g_width,
        upsample_method=_upsample_method(cfg),
    )


def _sngan_cnn_discriminator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return SNGANDiscriminator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        width=cfg.d_width,
        spectral_norm=cfg.d_spectral_norm,
        downsample_method=_downsample_method(cfg),
    )


def _resnet_d_pooling(cfg: ModelConfig) -> str:
    return cfg.get('resnet_d_pooling', 'mean')


def _check_sngan_resnet(cfg: ModelConfig, spec: Spec) -> None:
    _check_sngan_common(cfg)
    if _resnet_d_pooling(cfg) not in RESNET_POOLINGS:
        _fail(
            'resnet_d_pooling',
            _resnet_d_pooling(cfg),
            f'is not valid; choose one of: {", ".join(RESNET_POOLINGS)}.',
        )
    _check_square_image('sngan_resnet', spec, SNGAN_IMAGE_SIZES)


def _sngan_resnet_generator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return ResNetGenerator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        latent_dim=cfg.latent_dim,
        width=cfg.g_width,
    )


def _sngan_resnet_discriminator(cfg: ModelConfig, spec: Spec) -> nn.Module:
    return ResNetDiscriminator(
        image_size=spec.shape[0],
        channels=spec.shape[-1],
        width=cfg.d_width,
        spectral_norm=cfg.d_spectral_norm,
        pooling=_resnet_d_pooling(cfg),
    )


@dataclasses.dataclass(frozen=True)
class _Model:
    check: Callable[[ModelConfig, Spec], None]
    generator: Callable[[ModelConfig, Spec], nn.Module]
    discriminator: Callable[[ModelConfig, Spec], nn.Module]


_REGISTRY = {
    'dcgan': _Model(_check_dcgan, _dcgan_generator, _dcgan_discriminator),
    'mlp': _Model(_check_mlp, _mlp_generator, _mlp_discriminator),
    'sngan_cnn': _Model(_check_sngan_cnn, _sngan_cnn_generator, _sngan_cnn_discriminator),
    'sngan_resnet': _Model(
        _check_sngan_resnet, _sngan_resnet_generator, _sngan_resnet_discriminator
    ),
}
MODELS = tuple(_REGISTRY)


def check_model(model_config: ModelConfig, spec: Spec) -> None:
    """Raises ValueError (one line, naming the config field) if the model cannot be built.

    Cheap: builds and traces nothing, so config validation can call it first.
    """
    _check_choice(model_config, 'name', MODELS)
    _REGISTRY[model_config.name].check(model_config, spec)


def make_generator(model_config: ModelConfig, spec: Spec) -> nn.Module:
    """The generator `G(z, train)` named by `model_config.name`, producing examples of `spec`."""
    check_model(model_config, spec)
    return _REGISTRY[model_config.name].generator(model_config, spec)


def make_discriminator(model_config: ModelConfig, spec: Spec) -> nn.Module:
    """The discriminator `D(x, train, update_stats=None, stats_mask=None)` for examples of
    `spec`."""
    check_model(model_config, spec)
    return _REGISTRY[model_config.name].discriminator(model_config, spec)


__all__ = [
    'DOWNSAMPLE_METHODS',
    'IMAGE_SIZES',
    'MODELS',
    'RESNET_POOLINGS',
    'SNGAN_IMAGE_SIZES',
    'UPSAMPLE_METHODS',
    'DCGANDiscriminator',
    'DCGANGenerator',
    'DownsampleConv',
    'LensNetwork',
    'MLPDiscriminator',
    'MLPGenerator',
    'ResNetDiscriminator',
    'ResNetGenerator',
    'SNGANDiscriminator',
    'SNGANGenerator',
    'UpsampleConv',
    'WholeMapConv',
    'broadcast_stats_mask',
    'check_image_size',
    'check_model',
    'make_discriminator',
    'make_generator',
    'strided_conv',
    'subpixel_conv_transpose',
]
