"""SNGAN's standard CNN and ResNet models (GN-GAN's 32 and 48 px setups) against PyTorch
re-implementations of basiclab/GNGAN-PyTorch `models/dcgan.py` and `models/resnet.py`."""

import functools
import math
import types

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import models

CASES = [('sngan_cnn', 32), ('sngan_cnn', 48), ('sngan_resnet', 32), ('sngan_resnet', 48)]


def _spec(shape):
    return types.SimpleNamespace(kind='image', shape=tuple(shape))


def _model_config(**overrides):
    fields = dict(
        name='sngan_resnet',
        latent_dim=128,
        g_width=64,
        d_width=64,
        g_batchnorm=True,
        d_norm='batch',
        d_spectral_norm=False,
        mlp_hidden=(512, 512, 512),
        mlp_d_activation='relu',
    )
    return ml_collections.ConfigDict({**fields, **overrides})


def _normal(rng, shape):
    # numpy, not jax.random: XLA:CPU compiles sampling of ≥3-D shapes slowly (seconds).
    return jnp.asarray(rng.standard_normal(shape), jnp.float32)


def _num_params(tree):
    return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def _abstract_variables(generator, discriminator, latent_dim, image_shape):
    g_vars = jax.eval_shape(
        functools.partial(generator.init, train=False),
        jax.random.key(0),
        jnp.zeros((2, latent_dim)),
    )
    d_vars = jax.eval_shape(
        functools.partial(discriminator.init, train=False),
        jax.random.key(0),
        jnp.zeros((2, *image_shape)),
    )
    return g_vars, d_vars


# Parameter counts of the reference models (z_dim 128, RGB), as PyTorch reports them.
REFERENCE_COUNTS = {
    ('sngan_cnn', 32): (3_813_379, 5_860_865),
    ('sngan_cnn', 48): (5_134_339, 5_871_105),
    ('sngan_resnet', 32): (4_276_739, 1_053_825),
    ('sngan_resnet', 48): (4_878_083, 4_859_073),
}


# PyTorch re-implementations of the reference (written from its code; `w` = 64 and `nc` = 3
# give the reference models, other values scale the channels as the flax models do).


def _torch_cnn(torch, image_size, z_dim, w=64, nc=3):
    nn = torch.nn
    m = image_size // 8

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(z_dim, m * m * 8 * w)
            self.main = nn.Sequential(
                nn.BatchNorm2d(8 * w),
                nn.ReLU(True),
                nn.ConvTranspose2d(8 * w, 4 * w, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(4 * w),
                nn.ReLU(True),
                nn.ConvTranspose2d(4 * w, 2 * w, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(2 * w),
                nn.ReLU(True),
                nn.ConvTranspose2d(2 * w, w, kernel_size=4, stride=2, padding=1),
                nn.BatchNorm2d(w),
                nn.ReLU(True),
                nn.ConvTranspose2d(w, nc, kernel_size=3, stride=1, padding=1),
                nn.Tanh(),
            )
            for mod in self.modules():
                if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                    nn.init.normal_(mod.weight, std=0.02)
                    nn.init.zeros_(mod.bias)

        def forward(self, z):
            return self.main(self.linear(z).view(z.size(0), -1, m, m))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(nc, w, 3, 1, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(w, 2 * w, 4, 2, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(2 * w, 2 * w, 3, 1, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(2 * w, 4 * w, 4, 2, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(4 * w, 4 * w, 3, 1, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(4 * w, 8 * w, 4, 2, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(8 * w, 8 * w, 3, 1, 1),
                nn.LeakyReLU(0.1),
            )
            self.linear = nn.Linear(m * m * 8 * w, 1)
            for mod in self.modules():
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(mod.weight, std=0.02)
                    nn.init.zeros_(mod.bias)

        def forward(self, x):
            return self.linear(torch.flatten(self.main(x), start_dim=1))

    return Generator(), Discriminator()


def _torch_resnet(torch, image_size, z_dim, w=64, nc=3):
    nn = torch.nn
    init = nn.init

    def kaiming(mod):
        for sub in mod.modules():
            if isinstance(sub, (nn.Conv2d, nn.Linear)):
                init.kaiming_normal_(sub.weight)
                init.zeros_(sub.bias)

    class GenBlock(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.shortcut = nn.Sequential(
                nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 1, 1, 0)
            )
            self.residual = nn.Sequential(
                nn.BatchNorm2d(cin),
                nn.ReLU(True),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(cin, cout, 3, 1, 1),
                nn.BatchNorm2d(cout),
                nn.ReLU(True),
                nn.Conv2d(cout, cout, 3, 1, 1),
            )
            kaiming(self)

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    class OptimizedDisblock(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(cin, cout, 1, 1, 0))
            self.residual = nn.Sequential(
                nn.Conv2d(cin, cout, 3, 1, 1),
                nn.ReLU(True),
                nn.Conv2d(cout, cout, 3, 1, 1),
                nn.AvgPool2d(2),
            )
            kaiming(self)

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    class DisBlock(nn.Module):
        def __init__(self, cin, cout, down=False):
            super().__init__()
            shortcut = []
            if cin != cout or down:
                shortcut.append(nn.Conv2d(cin, cout, 1, 1, 0))
            if down:
                shortcut.append(nn.AvgPool2d(2))
            self.shortcut = nn.Sequential(*shortcut)
            residual = [
                nn.ReLU(),
                nn.Conv2d(cin, cout, 3, 1, 1),
                nn.ReLU(True),
                nn.Conv2d(cout, cout, 3, 1, 1),
            ]
            if down:
                residual.append(nn.AvgPool2d(2))
            self.residual = nn.Sequential(*residual)
            kaiming(self)

        def forward(self, x):
            return self.residual(x) + self.shortcut(x)

    if image_size == 32:
        m, g_channels, d_out = 4, [4 * w] * 4, 2 * w
        d_blocks = [
            OptimizedDisblock(nc, 2 * w),
            DisBlock(2 * w, 2 * w, down=True),
            DisBlock(2 * w, 2 * w),
            DisBlock(2 * w, 2 * w),
        ]
    else:
        m, g_channels, d_out = 6, [8 * w, 4 * w, 2 * w, w], 8 * w
        d_blocks = [
            OptimizedDisblock(nc, w),
            DisBlock(w, 2 * w, down=True),
            DisBlock(2 * w, 4 * w, down=True),
            DisBlock(4 * w, 8 * w, down=True),
        ]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(z_dim, m * m * g_channels[0])
            self.blocks = nn.Sequential(
                *[GenBlock(a, b) for a, b in zip(g_channels, g_channels[1:])]
            )
            self.output = nn.Sequential(
                nn.BatchNorm2d(g_channels[-1]),
                nn.ReLU(True),
                nn.Conv2d(g_channels[-1], nc, 3, stride=1, padding=1),
                nn.Tanh(),
            )
            init.kaiming_normal_(self.linear.weight)
            init.zeros_(self.linear.bias)
            kaiming(self.output)

        def forward(self, z):
            return self.output(self.blocks(self.linear(z).view(-1, g_channels[0], m, m)))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(*d_blocks, nn.ReLU(True), nn.AdaptiveAvgPool2d((1, 1)))
            self.linear = nn.Linear(d_out, 1)
            init.kaiming_normal_(self.linear.weight)
            init.zeros_(self.linear.bias)

        def forward(self, x):
            return self.linear(torch.flatten(self.model(x), start_dim=1))

    return Generator(), Discriminator()


def _torch_models(torch, name, image_size, z_dim, w=64, nc=3):
    make = _torch_cnn if name == 'sngan_cnn' else _torch_resnet
    return make(torch, image_size, z_dim, w, nc)


# Weight conversion: PyTorch modules → the flax parameter trees.


def _np(t):
    return t.detach().numpy()


def _conv(m):  # Conv2d (out, in, kh, kw) → HWIO
    return {'kernel': _np(m.weight).transpose(2, 3, 1, 0), 'bias': _np(m.bias)}


def _bn(m):
    return {'scale': _np(m.weight), 'bias': _np(m.bias)}


def _linear(m, chw=None):
    """Linear (out, in) → Dense (in, out); `chw` = (C, H, W): the input (or, with a negative C,
    the output of shape (-C, H, W)) is a flattened NCHW map, reordered to NHWC."""
    w, b = _np(m.weight).T, _np(m.bias)
    if chw is not None and chw[0] > 0:  # input is a (C, H, W) map
        c, h, wd = chw
        w = w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(c * h * wd, -1)
    elif chw is not None:  # output is a (C, H, W) map
        c, h, wd = -chw[0], chw[1], chw[2]
        w = w.reshape(-1, c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        b = b.reshape(c, h, wd).transpose(1, 2, 0).reshape(-1)
    return {'kernel': w, 'bias': b}


def _cnn_params(torch, torch_g, torch_d, image_size):
    m = image_size // 8
    tn = torch.nn
    g = {'Dense_0': _linear(torch_g.linear, (-torch_g.linear.out_features // (m * m), m, m))}
    counts = {'BatchNorm': 0, 'UpsampleConv': 0}
    for mod in torch_g.main:
        if isinstance(mod, tn.BatchNorm2d):
            g[f'BatchNorm_{counts["BatchNorm"]}'] = _bn(mod)
            counts['BatchNorm'] += 1
        elif isinstance(mod, tn.ConvTranspose2d) and mod.stride == (2, 2):
            g[f'UpsampleConv_{counts["UpsampleConv"]}'] = {
                'kernel': _np(mod.weight).transpose(2, 3, 0, 1),
                'bias': _np(mod.bias),
            }
            counts['UpsampleConv'] += 1
        elif isinstance(mod, tn.ConvTranspose2d):  # stride 1: a convolution, kernel flipped
            g['Conv_0'] = {
                'kernel': _np(mod.weight)[:, :, ::-1, ::-1].transpose(2, 3, 0, 1),
                'bias': _np(mod.bias),
            }
    d, counts = {}, {'Conv': 0, 'DownsampleConv': 0}
    for mod in torch_d.main:
        if isinstance(mod, tn.Conv2d):
            kind = 'DownsampleConv' if mod.stride == (2, 2) else 'Conv'
            d[f'{kind}_{counts[kind]}'] = _conv(mod)
            counts[kind] += 1
    d['Dense_0'] = _linear(torch_d.linear, (torch_d.linear.in_features // (m * m), m, m))
    return g, d


def _resnet_params(torch, torch_g, torch_d, image_size):
    m = image_size // 8
    c0 = torch_g.linear.out_features // (m * m)
    g = {'linear': _linear(torch_g.linear, (-c0, m, m))}
    for i, block in enumerate(torch_g.blocks):
        r = block.residual
        g[f'block{i}'] = {
            'shortcut': _conv(block.shortcut[1]),
            'bn1': _bn(r[0]),
            'conv1': _conv(r[3]),
            'bn2': _bn(r[4]),
            'conv2': _conv(r[6]),
        }
    g['bn'], g['output'] = _bn(torch_g.output[0]), _conv(torch_g.output[2])
    d, tn = {}, torch.nn
    for i, block in enumerate(torch_d.model[:4]):
        convs = [mod for mod in block.residual if isinstance(mod, tn.Conv2d)]
        d[f'block{i}'] = {'conv1': _conv(convs[0]), 'conv2': _conv(convs[1])}
        shortcut = [mod for mod in block.shortcut if isinstance(mod, tn.Conv2d)]
        if shortcut:
            d[f'block{i}']['shortcut'] = _conv(shortcut[0])
    d['linear'] = _linear(torch_d.linear)
    return g, d


def _flax_params(torch, name, torch_g, torch_d, image_size):
    convert = _cnn_params if name == 'sngan_cnn' else _resnet_params
    return jax.tree.map(jnp.asarray, convert(torch, torch_g, torch_d, image_size))


def _randomize(torch, module):
    """Weights of scale √(2 / fan_in), non-zero biases and BatchNorm affine parameters, so that
    every parameter's placement shows in the outputs (the reference's initial biases are 0)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim > 1:
                p.normal_(0.0, math.sqrt(2.0 / p[0].numel()))
            elif name.endswith('weight'):  # BatchNorm scale
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.1)


# Shapes, parameter counts, checks.


@pytest.mark.parametrize('name,image_size', CASES)
@pytest.mark.parametrize('channels', [1, 3])
def test_sngan_shapes(name, image_size, channels):
    spec = _spec((image_size, image_size, channels))
    config = _model_config(name=name, latent_dim=16, g_width=4, d_width=4)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)

    def run(z):
        g_vars = generator.init(jax.random.key(1), z, train=False)
        images, _ = generator.apply(g_vars, z, train=True, mutable=['batch_stats'])
        eval_images = generator.apply(g_vars, z, train=False)
        d_vars = discriminator.init(jax.random.key(2), images, train=False)
        logits, _ = discriminator.apply(d_vars, images, train=True, mutable=['batch_stats'])
        return images, eval_images, logits, discriminator.apply(d_vars, images, train=False)

    images, eval_images, logits, eval_logits = jax.eval_shape(run, jnp.zeros((5, 16)))
    assert images.shape == eval_images.shape == (5, image_size, image_size, channels)
    assert logits.shape == eval_logits.shape == (5,)


@pytest.mark.parametrize('name,image_size', CASES)
def test_sngan_parameter_counts(name, image_size):
    """The reference models' totals (z_dim 128, RGB, width 64)."""
    spec = _spec((image_size, image_size, 3))
    config = _model_config(name=name)
    g_vars, d_vars = _abstract_variables(
        models.make_generator(config, spec),
        models.make_discriminator(config, spec),
        128,
        spec.shape,
    )
    assert (_num_params(g_vars['params']), _num_params(d_vars['params'])) == (
        REFERENCE_COUNTS[name, image_size]
    )
    assert 'batch_stats' in g_vars and 'batch_stats' not in d_vars  # BN in G only


@pytest.mark.parametrize(
    'overrides,shape,match',
    [
        (
            dict(name='sngan_resnet'),
            (64, 64, 3),
            r"^config\.image_size=64 is not valid for model 'sngan_resnet'; "
            r'choose one of: 32, 48\.$',
        ),
        (dict(name='sngan_cnn'), (32, 32, 1), None),
        (dict(name='sngan_cnn'), (16, 16, 1), r"config\.image_size=16 .*'sngan_cnn'.*32, 48"),
        (
            dict(name='sngan_cnn'),
            (32, 48, 3),
            r"config\.model\.name='sngan_cnn' needs square images.*32, 48",
        ),
        (dict(name='sngan_cnn'), (2,), r"config\.model\.name='sngan_cnn' needs image data"),
        (
            dict(name='sngan_cnn', downsample_method='pool'),
            (32, 32, 3),
            r'config\.model\.downsample_method.*auto, matmul, im2col, conv',
        ),
        (
            dict(name='sngan_resnet', resnet_d_pooling='max'),
            (48, 48, 3),
            r"config\.model\.resnet_d_pooling='max' is not valid; choose one of: mean, sum\.",
        ),
        (dict(name='sngan_resnet', d_width=0), (32, 32, 3), r'config\.model\.d_width'),
        (
            dict(name='sngan_resnet', d_spectral_norm=1),
            (32, 32, 3),
            r'config\.model\.d_spectral_norm',
        ),
    ],
)
def test_sngan_check_model(overrides, shape, match):
    config = _model_config(**overrides)
    spec = types.SimpleNamespace(kind='image' if len(shape) == 3 else 'vector', shape=shape)
    if match is None:
        models.check_model(config, spec)
        return
    for fn in (models.check_model, models.make_generator, models.make_discriminator):
        with pytest.raises(ValueError, match=match) as info:
            fn(config, spec)
        assert '\n' not in str(info.value)


def test_sngan_factory_passes_config_through():
    spec = _spec((48, 48, 1))
    config = _model_config(
        name='sngan_cnn',
        latent_dim=7,
        g_width=4,
        d_width=5,
        d_spectral_norm=True,
        upsample_method='phase',
        downsample_method='conv',
    )
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    assert isinstance(generator, models.SNGANGenerator)
    assert (
        generator.image_size,
        generator.channels,
        generator.latent_dim,
        generator.width,
        generator.upsample_method,
    ) == (48, 1, 7, 4, 'phase')
    assert (
        discriminator.image_size,
        discriminator.channels,
        discriminator.width,
        discriminator.spectral_norm,
        discriminator.downsample_method,
    ) == (48, 1, 5, True, 'conv')
    config = _model_config(name='sngan_resnet', latent_dim=7, g_width=4, d_width=5)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    assert isinstance(generator, models.ResNetGenerator)
    assert (generator.channels, generator.latent_dim, generator.width) == (1, 7, 4)
    assert (discriminator.width, discriminator.spectral_norm, discriminator.pooling) == (
        5,
        False,
        'mean',
    )
    config.resnet_d_pooling = 'sum'
    assert models.make_discriminator(config, spec).pooling == 'sum'


# Initialisation, spectral norm, pooling.


def test_sngan_init_is_the_references():
    """CNN: weights N(0, 0.02), biases 0; ResNet: weights N(0, 2 / fan_in) (kaiming_normal_),
    biases 0; BatchNorm scale 1, bias 0."""
    spec = _spec((32, 32, 3))
    cnn_g = models.make_generator(_model_config(name='sngan_cnn'), spec)
    res_d = models.make_discriminator(_model_config(name='sngan_resnet'), spec)

    @jax.jit
    def init():
        return (
            cnn_g.init(jax.random.key(0), jnp.zeros((1, 128)), train=False)['params'],
            res_d.init(jax.random.key(0), jnp.zeros((1, *spec.shape)), train=False)['params'],
        )

    cnn, res = init()
    for layer in ('Dense_0', 'UpsampleConv_0', 'Conv_0'):
        kernel = np.asarray(cnn[layer]['kernel'])
        assert abs(kernel.std() - 0.02) < 0.1 * 0.02 and abs(kernel.mean()) < 0.002
        assert not np.any(cnn[layer]['bias'])
    assert np.all(cnn['BatchNorm_0']['scale'] == 1) and not np.any(cnn['BatchNorm_0']['bias'])
    for path, fan_in in (
        (('block0', 'conv1'), 27),
        (('block1', 'conv2'), 9 * 128),
        (('block1', 'shortcut'), 128),
        (('linear',), 128),
    ):
        layer = functools.reduce(lambda tree, key: tree[key], path, res)
        kernel = np.asarray(layer['kernel'])
        expected = math.sqrt(2 / fan_in)
        assert abs(kernel.std() - expected) < 0.15 * expected, path
        assert not np.any(layer['bias'])


@pytest.mark.parametrize('name', ['sngan_cnn', 'sngan_resnet'])
def test_sngan_spectral_norm_and_stats_mask(name):
    """Every Conv and Linear spectrally normalized; `update_stats=False` leaves the power
    iteration's state unchanged; `stats_mask` is accepted and changes nothing (no BatchNorm)."""
    spec = _spec((32, 32, 3))
    config = _model_config(name=name, d_width=4, d_spectral_norm=True)
    discriminator = models.make_discriminator(config, spec)
    assert not discriminator.uses_batch_statistics
    apply = functools.partial(discriminator.apply, mutable=['batch_stats'])

    @jax.jit
    def run(x):
        variables = discriminator.init(jax.random.key(1), x, train=False)
        logits, updated = apply(variables, x, train=True)
        _, not_updated = apply(variables, x, train=True, update_stats=False)
        masked, _ = apply(variables, x, train=True, stats_mask=jnp.arange(4) >= 2)
        return variables, logits, updated, not_updated, masked

    x = _normal(np.random.default_rng(0), (4, *spec.shape))
    variables, logits, updated, not_updated, masked = run(x)
    state = jax.tree.leaves(variables['batch_stats'])
    n_layers = 7 + 1 if name == 'sngan_cnn' else 3 + 3 + 2 + 2 + 1
    assert (
        sum(
            1
            for k in jax.tree_util.tree_leaves_with_path(variables['batch_stats'])
            if k[0][-1].key.endswith('sigma')
        )
        == n_layers
    )
    assert any(not np.allclose(a, b) for a, b in zip(state, jax.tree.leaves(updated)))
    assert all(np.array_equal(a, b) for a, b in zip(state, jax.tree.leaves(not_updated)))
    np.testing.assert_array_equal(masked, logits)


def test_resnet_sum_pooling_is_mean_times_area():
    spec = _spec((32, 32, 3))
    mean_d, sum_d = (
        models.make_discriminator(
            _model_config(name='sngan_resnet', d_width=4, resnet_d_pooling=pooling), spec
        )
        for pooling in ('mean', 'sum')
    )

    @jax.jit
    def run(x):
        variables = mean_d.init(jax.random.key(1), x, train=False)
        bias = variables['params']['linear']['bias']
        return (
            mean_d.apply(variables, x, train=True) - bias,
            sum_d.apply(variables, x, train=True) - bias,
        )

    mean_logits, sum_logits = run(_normal(np.random.default_rng(0), (3, *spec.shape)))
    np.testing.assert_allclose(sum_logits, 64 * mean_logits, rtol=1e-5, atol=1e-6)


# Against PyTorch.


@pytest.mark.parametrize(
    'name,image_size,width,channels',
    [
        *[(name, size, 64, 3) for name, size in CASES],  # the reference models
        ('sngan_resnet', 48, 8, 1),
    ],
)
def test_sngan_matches_pytorch(name, image_size, width, channels):
    """Same parameter shapes and counts as the reference, and, with PyTorch's weights copied
    across, the same images (G in training mode), logits (D), and BatchNorm running means."""
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    z_dim, batch = 128, 4
    torch_g, torch_d = _torch_models(torch, name, image_size, z_dim, width, channels)
    if (width, channels) == (64, 3):
        assert (
            sum(p.numel() for p in torch_g.parameters()),
            sum(p.numel() for p in torch_d.parameters()),
        ) == REFERENCE_COUNTS[name, image_size]
    _randomize(torch, torch_g)
    _randomize(torch, torch_d)
    spec = _spec((image_size, image_size, channels))
    config = _model_config(name=name, g_width=width, d_width=width)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    g_vars, d_vars = _abstract_variables(generator, discriminator, z_dim, spec.shape)
    g_params, d_params = _flax_params(torch, name, torch_g, torch_d, image_size)
    assert jax.tree.map(jnp.shape, g_params) == jax.tree.map(jnp.shape, g_vars['params'])
    assert jax.tree.map(jnp.shape, d_params) == jax.tree.map(jnp.shape, d_vars['params'])

    z = np.random.default_rng(0).standard_normal((batch, z_dim)).astype(np.float32)
    with torch.no_grad():
        expected_images = torch_g.train()(torch.from_numpy(z))
        expected_logits = torch_d.train()(expected_images).reshape(-1).numpy()
    expected_images = expected_images.numpy().transpose(0, 2, 3, 1)

    def stats(tree):  # running averages as PyTorch initialises them
        return jax.tree_util.tree_map_with_path(
            lambda path, s: (jnp.zeros if path[-1].key == 'mean' else jnp.ones)(s.shape), tree
        )

    @jax.jit
    def run(g_params, d_params, z, x):
        images, g_state = generator.apply(
            {'params': g_params, 'batch_stats': stats(g_vars['batch_stats'])},
            z,
            train=True,
            mutable=['batch_stats'],
        )
        return (
            images,
            g_state['batch_stats'],
            discriminator.apply({'params': d_params}, x, train=True),
        )

    images, g_state, logits = run(g_params, d_params, jnp.asarray(z), jnp.asarray(expected_images))
    np.testing.assert_allclose(images, expected_images, atol=1e-4, rtol=0)
    np.testing.assert_allclose(logits, expected_logits, atol=1e-4, rtol=1e-4)
    # Logits well above the tolerance, so that the comparison means something.
    assert np.max(np.abs(expected_logits)) > 0.1, expected_logits
    if name == 'sngan_cnn':
        state, torch_bn = g_state['BatchNorm_1'], torch_g.main[3]
    else:
        state, torch_bn = g_state['block1']['bn2'], torch_g.blocks[1].residual[4]
    np.testing.assert_allclose(state['mean'], torch_bn.running_mean.numpy(), atol=1e-5)
