"""Models: the exact sub-pixel upsampling, DCGAN (against PyTorch's DCGAN), MLPs, the factory."""

import functools
import math
import types

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import models
from nssgan.models import layers, norm


def _spec(kind, shape):
    return types.SimpleNamespace(kind=kind, shape=tuple(shape))


def _model_config(**overrides):
    fields = dict(
        name='dcgan',
        latent_dim=100,
        g_width=64,
        d_width=64,
        g_batchnorm=True,
        d_norm='batch',
        d_spectral_norm=False,
        mlp_hidden=(512, 512, 512),
        mlp_d_activation='relu',
    )
    return ml_collections.ConfigDict({**fields, **overrides})


def _init(model, key, x):
    return jax.jit(functools.partial(model.init, train=False))(key, x)


def _normal(rng, shape):
    # numpy, not jax.random: XLA:CPU compiles sampling of ≥3-D shapes slowly (seconds).
    return jnp.asarray(rng.standard_normal(shape), jnp.float32)


def _num_params(tree):
    return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def _reference_conv_transpose(x, kernel):
    """PyTorch's ConvTranspose2d(4, 2, 1) via lax.conv_transpose (spatially flipped kernel)."""
    return jax.lax.conv_transpose(
        x,
        kernel[::-1, ::-1],
        strides=(2, 2),
        padding=((2, 2), (2, 2)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
    )


# Sub-pixel transposed convolution.

SHAPES = [((2, 4, 4, 3), 5), ((3, 5, 7, 4), 4), ((1, 1, 1, 2), 3), ((2, 8, 3, 6), 2)]


@pytest.mark.parametrize('method', models.UPSAMPLE_METHODS)
@pytest.mark.parametrize('x_shape,c_out', SHAPES)
def test_subpixel_equals_conv_transpose(method, x_shape, c_out):
    rng = np.random.default_rng(0)
    x = _normal(rng, x_shape)
    kernel = _normal(rng, (4, 4, x_shape[-1], c_out))
    out_shape = (x_shape[0], 2 * x_shape[1], 2 * x_shape[2], c_out)
    cotangent = _normal(rng, out_shape)

    @jax.jit
    def value_and_grads(x, kernel):
        fns = (
            functools.partial(models.subpixel_conv_transpose, method=method),
            _reference_conv_transpose,
        )
        results = []
        for fn in fns:
            out, vjp = jax.vjp(fn, x, kernel)
            results.append((out, *vjp(cotangent)))
        return results

    (out, dx, dk), (ref, ref_dx, ref_dk) = value_and_grads(x, kernel)
    assert out.shape == out_shape
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
    np.testing.assert_allclose(dx, ref_dx, atol=1e-4, rtol=0)
    np.testing.assert_allclose(dk, ref_dk, atol=1e-4, rtol=0)


@pytest.mark.parametrize('method', models.UPSAMPLE_METHODS)
def test_subpixel_equals_torch_conv_transpose2d(method):
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)  # NCHW
    weight = rng.standard_normal((3, 4, 4, 4)).astype(np.float32)  # (C_in, C_out, kh, kw)
    expected = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(weight), stride=2, padding=1
    ).numpy()
    out = models.subpixel_conv_transpose(
        jnp.asarray(x.transpose(0, 2, 3, 1)),
        jnp.asarray(weight.transpose(2, 3, 0, 1)),
        method=method,
    )
    np.testing.assert_allclose(out, expected.transpose(0, 2, 3, 1), atol=1e-5, rtol=0)


def test_subpixel_kernel_places_each_tap_once():
    placed = np.asarray(layers.subpixel_kernel(jnp.arange(1.0, 17.0).reshape(4, 4, 1, 1)))
    assert placed.shape == (3, 3, 1, 4)
    taps = placed.ravel()
    assert sorted(taps[taps > 0]) == list(range(1, 17)) and np.sum(taps == 0) == 36 - 16


def test_subpixel_rejects_wrong_kernel():
    with pytest.raises(ValueError, match='kernel'):
        models.subpixel_conv_transpose(jnp.zeros((1, 4, 4, 3)), jnp.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match='method'):
        models.subpixel_conv_transpose(jnp.zeros((1, 4, 4, 3)), jnp.zeros((4, 4, 3, 2)), method='x')


def test_upsample_conv_params():
    x = jnp.zeros((2, 4, 4, 32))
    params = models.UpsampleConv(64).init(jax.random.key(0), x)['params']
    assert jax.tree.map(jnp.shape, params) == {'kernel': (4, 4, 32, 64)}
    assert abs(float(jnp.std(params['kernel'])) - 0.02) < 0.002
    with_bias = models.UpsampleConv(64, use_bias=True).init(jax.random.key(0), x)['params']
    assert with_bias['bias'].shape == (64,)


def test_upsample_auto_method():
    assert layers.resolve_upsample_method('auto', 64, 3) == 'shifted_sum'  # DCGAN's last layer
    assert layers.resolve_upsample_method('auto', 128, 64) == 'matmul'
    assert layers.resolve_upsample_method('phase', 64, 3) == 'phase'


# Space-to-depth strided convolution.


def _reference_conv(x, kernel):
    return jax.lax.conv_general_dilated(
        x,
        kernel,
        window_strides=(2, 2),
        padding=((1, 1), (1, 1)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'),
    )


# Odd sizes, 1×1 outputs, and C_in ≥ 16 (where 'auto' is 'matmul', below it 'im2col').
DOWN_SHAPES = [((2, 8, 8, 3), 5), ((3, 5, 7, 4), 4), ((1, 2, 2, 2), 3), ((2, 6, 3, 16), 3)]


@pytest.mark.parametrize('method', models.DOWNSAMPLE_METHODS)
@pytest.mark.parametrize('x_shape,c_out', DOWN_SHAPES)
def test_strided_conv_equals_conv(method, x_shape, c_out):
    rng = np.random.default_rng(0)
    x = _normal(rng, x_shape)
    # Scaled to outputs of order 1, where float32 rounding is well below the tolerance.
    kernel = _normal(rng, (4, 4, x_shape[-1], c_out)) / np.sqrt(16 * x_shape[-1])
    out_shape = (x_shape[0], x_shape[1] // 2, x_shape[2] // 2, c_out)
    cotangent = _normal(rng, out_shape)

    @jax.jit
    def value_and_grads(x, kernel):
        results = []
        for fn in (functools.partial(models.strided_conv, method=method), _reference_conv):
            out, vjp = jax.vjp(fn, x, kernel)
            results.append((out, *vjp(cotangent)))
        return results

    (out, dx, dk), (ref, ref_dx, ref_dk) = value_and_grads(x, kernel)
    assert out.shape == ref.shape == out_shape
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
    np.testing.assert_allclose(dx, ref_dx, atol=1e-4, rtol=0)
    np.testing.assert_allclose(dk, ref_dk, atol=1e-4, rtol=0)


def test_strided_conv_equals_torch_conv2d():
    torch = pytest.importorskip('torch')
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)  # NCHW
    weight = rng.standard_normal((4, 3, 4, 4)).astype(np.float32)  # (C_out, C_in, kh, kw)
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(weight), stride=2, padding=1
    ).numpy()
    for method in models.DOWNSAMPLE_METHODS:
        out = models.strided_conv(
            jnp.asarray(x.transpose(0, 2, 3, 1)),
            jnp.asarray(weight.transpose(2, 3, 1, 0)),
            method=method,
        )
        np.testing.assert_allclose(out, expected.transpose(0, 2, 3, 1), atol=1e-5, rtol=0)


def test_downsample_kernel_places_each_tap_once():
    kernel = jnp.arange(1.0, 17.0).reshape(4, 4, 1, 1)
    placed = np.asarray(layers.downsample_kernel(kernel))
    assert placed.shape == (2, 2, 4, 1)
    assert sorted(placed.ravel()) == list(range(1, 17))
    # [a, b, 2p + q] holds kernel[2a + p, 2b + q].
    assert placed[1, 0, 2, 0] == kernel[3, 0, 0, 0] and placed[0, 1, 1, 0] == kernel[0, 3, 0, 0]


def test_strided_conv_rejects_wrong_kernel_and_method():
    with pytest.raises(ValueError, match='kernel'):
        models.strided_conv(jnp.zeros((1, 4, 4, 3)), jnp.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match='method'):
        models.strided_conv(jnp.zeros((1, 4, 4, 3)), jnp.zeros((4, 4, 3, 2)), method='x')


def test_downsample_auto_method():
    assert layers.resolve_downsample_method('auto', 3) == 'im2col'  # an RGB input
    assert layers.resolve_downsample_method('auto', 64) == 'matmul'
    assert layers.resolve_downsample_method('conv', 3) == 'conv'


def test_downsample_conv_params_and_spectral_norm():
    """Same parameter as nn.Conv(·, (4, 4), 2, 1); nn.SpectralNorm wraps it as it wraps nn.Conv."""
    x = _normal(np.random.default_rng(0), (2, 8, 8, 32))
    params = models.DownsampleConv(64).init(jax.random.key(0), x)['params']
    assert jax.tree.map(jnp.shape, params) == {'kernel': (4, 4, 32, 64)}
    assert abs(float(jnp.std(params['kernel'])) - 0.02) < 0.002
    with_bias = models.DownsampleConv(64, use_bias=True).init(jax.random.key(0), x)['params']
    assert with_bias['bias'].shape == (64,)

    conv = nn.Conv(64, (4, 4), 2, 1, use_bias=False)
    outputs = []
    for layer in (models.DownsampleConv(64), conv):
        sn = nn.SpectralNorm(layer)
        variables = sn.init(jax.random.key(1), x, update_stats=False)
        variables = {**variables, 'params': {'layer_instance': params}}
        y, state = sn.apply(variables, x, update_stats=True, mutable=['batch_stats'])
        outputs.append((y, jax.tree.leaves(state)))
    (y, state), (ref, ref_state) = outputs
    np.testing.assert_allclose(y, ref, atol=1e-5, rtol=0)
    for a, b in zip(state, ref_state):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_whole_map_conv_equals_valid_conv():
    rng = np.random.default_rng(0)
    x = _normal(rng, (3, 4, 4, 8))
    layer = models.WholeMapConv(2)
    params = layer.init(jax.random.key(0), x)['params']
    assert jax.tree.map(jnp.shape, params) == {'kernel': (4, 4, 8, 2)}
    expected = nn.Conv(2, (4, 4), 1, 'VALID', use_bias=False).apply({'params': params}, x)
    np.testing.assert_allclose(layer.apply({'params': params}, x), expected, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match='4, 4'):
        layer.apply({'params': params}, jnp.zeros((3, 8, 8, 8)))


# DCGAN.


def _dcgan_expected_counts(image_size, channels, latent_dim, g_width, d_width):
    """Parameter counts of PyTorch's DCGAN (bias-free convs, BN weight + bias), generalised
    by size."""
    n = int(math.log2(image_size // 4))
    g_channels = [g_width * 2**i for i in reversed(range(n))]  # e.g. 512, 256, 128, 64
    g = latent_dim * 16 * g_channels[0] + 2 * g_channels[0]
    for c_in, c_out in zip(g_channels, g_channels[1:]):
        g += 16 * c_in * c_out + 2 * c_out
    g += 16 * g_channels[-1] * channels
    d_channels = [d_width * 2**i for i in range(n)]  # e.g. 64, 128, 256, 512
    d = 16 * channels * d_channels[0]
    for c_in, c_out in zip(d_channels, d_channels[1:]):
        d += 16 * c_in * c_out + 2 * c_out
    d += 16 * d_channels[-1]
    return g, d


@pytest.mark.parametrize('image_size', models.IMAGE_SIZES)
def test_dcgan_parameter_counts(image_size):
    spec = _spec('image', (image_size, image_size, 3))
    config = _model_config()
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    g_vars = jax.eval_shape(
        lambda: generator.init(jax.random.key(0), jnp.zeros((2, 100)), train=False)
    )
    d_vars = jax.eval_shape(
        lambda: discriminator.init(jax.random.key(0), jnp.zeros((2, *spec.shape)), train=False)
    )
    expected_g, expected_d = _dcgan_expected_counts(image_size, 3, 100, 64, 64)
    assert _num_params(g_vars['params']) == expected_g
    assert _num_params(d_vars['params']) == expected_d
    plain_conv = models.make_discriminator(_model_config(downsample_method='conv'), spec)
    plain_vars = jax.eval_shape(
        lambda: plain_conv.init(jax.random.key(0), jnp.zeros((2, *spec.shape)), train=False)
    )
    assert jax.tree.map(jnp.shape, plain_vars) == jax.tree.map(jnp.shape, d_vars)
    if image_size == 64:  # the PyTorch DCGAN example's well-known totals
        assert (expected_g, expected_d) == (3_576_704, 2_765_568)


def _run_gan(generator, discriminator, z, *, abstract=False):
    """Initialises both models and runs them in train and eval mode, in one compiled program.

    Returns G's variables, its samples (train mode), D's variables, D's logits in train and in
    eval mode, and G's samples in eval mode for the whole batch and for its first example alone.
    With `abstract`, only their shapes (nothing is compiled).
    """

    def run(z):
        g_vars = generator.init(jax.random.key(1), z, train=False)
        samples, _ = generator.apply(g_vars, z, train=True, mutable=['batch_stats'])
        d_vars = discriminator.init(jax.random.key(2), samples, train=False)
        logits, _ = discriminator.apply(d_vars, samples, train=True, mutable=['batch_stats'])
        eval_logits = discriminator.apply(d_vars, samples, train=False)
        eval_samples = generator.apply(g_vars, z, train=False)
        first_sample = generator.apply(g_vars, z[:1], train=False)
        return g_vars, samples, d_vars, logits, eval_logits, eval_samples, first_sample

    return jax.eval_shape(run, z) if abstract else jax.jit(run)(z)


@pytest.mark.parametrize('image_size,channels', [(32, 1), (64, 3), (128, 3)])
def test_dcgan_shapes(image_size, channels):
    spec = _spec('image', (image_size, image_size, channels))
    config = _model_config(latent_dim=16, g_width=8, d_width=8)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    z = jnp.zeros((4, 16))
    _, samples, _, logits, eval_logits, eval_samples, _ = _run_gan(
        generator, discriminator, z, abstract=True
    )
    assert samples.shape == eval_samples.shape == (4, image_size, image_size, channels)
    assert logits.shape == eval_logits.shape == (4,)


def test_dcgan_runs():
    """Images in [-1, 1]; in eval mode (running averages) each example is computed alone."""
    spec = _spec('image', (32, 32, 3))
    config = _model_config(latent_dim=8, g_width=8, d_width=8)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    z = _normal(np.random.default_rng(0), (4, 8))
    _, images, _, logits, eval_logits, eval_images, first = _run_gan(generator, discriminator, z)
    assert float(jnp.max(jnp.abs(images))) <= 1.0 and float(jnp.std(images)) > 0
    assert np.all(np.isfinite(logits)) and np.all(np.isfinite(eval_logits))
    np.testing.assert_allclose(eval_images[:1], first, atol=1e-6)


def test_dcgan_init_is_dcgans():
    spec = _spec('image', (64, 64, 3))
    generator = models.make_generator(_model_config(), spec)
    params = _init(generator, jax.random.key(0), jnp.zeros((2, 100)))['params']
    for name in ('Dense_0', 'UpsampleConv_1'):
        assert abs(float(jnp.std(params[name]['kernel'])) - 0.02) < 0.001
        assert abs(float(jnp.mean(params[name]['kernel']))) < 0.001
    scale = params['BatchNorm_0']['scale']
    assert abs(float(jnp.mean(scale)) - 1.0) < 0.01 and 0.01 < float(jnp.std(scale)) < 0.03
    assert not jnp.any(params['BatchNorm_0']['bias'])


@pytest.mark.parametrize('image_size', [16, 48, 256])
def test_dcgan_bad_image_size(image_size):
    with pytest.raises(ValueError, match=r'config\.image_size.*32, 64, 128'):
        models.check_image_size('dcgan', image_size)
    with pytest.raises(ValueError, match=r'config\.image_size'):
        models.check_model(_model_config(), _spec('image', (image_size, image_size, 3)))
    with pytest.raises(ValueError, match=r'config\.image_size'):
        models.DCGANGenerator(image_size=image_size).init(
            jax.random.key(0), jnp.zeros((1, 100)), train=False
        )


def test_dcgan_spectral_norm_state_updates_only_when_asked():
    spec = _spec('image', (32, 32, 3))
    config = _model_config(d_width=8, d_norm='none', d_spectral_norm=True)
    discriminator = models.make_discriminator(config, spec)
    apply = functools.partial(discriminator.apply, mutable=['batch_stats'])

    @jax.jit
    def run(x):
        variables = discriminator.init(jax.random.key(1), x, train=False)
        _, updated = apply(variables, x, train=True)
        _, not_updated = apply(variables, x, train=True, update_stats=False)
        eval_logits = discriminator.apply(variables, x, train=False)

        def power_iteration(_, variables):
            _, mutated = apply(variables, x, train=True)
            return {**variables, **mutated}

        converged = jax.lax.fori_loop(0, 30, power_iteration, variables)
        return variables, updated, not_updated, eval_logits, converged

    x = _normal(np.random.default_rng(0), (4, 32, 32, 3))
    variables, updated, not_updated, eval_logits, converged = run(x)
    state = jax.tree.leaves(variables['batch_stats'])
    assert len(variables['batch_stats']) == 4  # one spectral norm per convolution
    assert any(not np.allclose(a, b) for a, b in zip(state, jax.tree.leaves(updated)))
    assert all(np.array_equal(a, b) for a, b in zip(state, jax.tree.leaves(not_updated)))
    assert eval_logits.shape == (4,)

    # The power iteration converges to the largest singular value of the reshaped kernel.
    kernel = np.asarray(converged['params']['Conv_1']['kernel'])
    top = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
    sigma = converged['batch_stats']['SpectralNorm_1']['Conv_1/kernel/sigma']
    np.testing.assert_allclose(sigma, top, rtol=1e-3)


def test_dcgan_discriminator_same_as_with_plain_conv():
    """The default downsampling gives nn.Conv's parameters (names, shapes, initial values) and
    function, with BatchNorm and spectral norm (each method alone: test_strided_conv_*)."""
    spec = _spec('image', (32, 32, 3))
    discriminators = [
        models.make_discriminator(
            _model_config(d_width=8, d_spectral_norm=True, downsample_method=method), spec
        )
        for method in ('auto', 'conv')
    ]

    @jax.jit
    def run(x):
        results = []
        for discriminator in discriminators:
            variables = discriminator.init(jax.random.key(1), x, train=False)

            def logits(params, x, discriminator=discriminator, variables=variables):
                return discriminator.apply(
                    {**variables, 'params': params}, x, train=True, mutable=['batch_stats']
                )

            out, vjp, state = jax.vjp(logits, variables['params'], x, has_aux=True)
            results.append((variables, out, state, vjp(jnp.ones_like(out))))
        return results

    x = _normal(np.random.default_rng(0), (4, 32, 32, 3))
    (variables, logits, state, grads), (ref_variables, ref_logits, ref_state, ref_grads) = run(x)
    assert discriminators[0].downsample_method == 'auto'
    # Equal draws, up to float rounding (the two inits are different programs).
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=0, rtol=1e-6), variables, ref_variables
    )
    np.testing.assert_allclose(logits, ref_logits, atol=1e-5, rtol=1e-5)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=1e-5, rtol=1e-4), state, ref_state
    )
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=1e-4, rtol=1e-4), grads, ref_grads
    )


# DCGAN against a PyTorch re-implementation of the PyTorch DCGAN example (pytorch/examples).


def _torch_dcgan(torch, nz, ngf, ndf, nc):
    nn = torch.nn
    generator = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(  # the example's final Sigmoid is left out: we compare logits
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ndf * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
    )

    def weights_init(m):  # the example's
        if 'Conv' in type(m).__name__:
            nn.init.normal_(m.weight.data, 0.0, 0.02)
        elif 'BatchNorm' in type(m).__name__:
            nn.init.normal_(m.weight.data, 1.0, 0.02)
            nn.init.constant_(m.bias.data, 0)

    generator.apply(weights_init)
    discriminator.apply(weights_init)
    return generator, discriminator


def _flax_params(torch_model, kind):
    """Copies a torch Sequential's weights into the flax DCGAN's parameter tree."""
    params, counts = {}, {}

    def name(prefix):
        counts[prefix] = counts.get(prefix, 0) + 1
        return f'{prefix}_{counts[prefix] - 1}'

    for module in torch_model:
        kind_name = type(module).__name__
        if not hasattr(module, 'weight'):
            continue
        w = module.weight.detach().numpy()
        if kind_name == 'BatchNorm2d':
            params[name('BatchNorm')] = {'scale': w, 'bias': module.bias.detach().numpy()}
        elif kind_name == 'Conv2d':
            params[name('Conv')] = {'kernel': w.transpose(2, 3, 1, 0)}
        elif kind == 'generator' and 'Dense_0' not in params:
            params['Dense_0'] = {'kernel': w.transpose(0, 2, 3, 1).reshape(w.shape[0], -1)}
        else:
            params[name('UpsampleConv')] = {'kernel': w.transpose(2, 3, 0, 1)}
    return jax.tree.map(jnp.asarray, params)


def test_dcgan64_matches_pytorch_dcgan():
    torch = pytest.importorskip('torch')
    torch.manual_seed(0)
    nz, batch = 100, 8
    torch_g, torch_d = _torch_dcgan(torch, nz=nz, ngf=64, ndf=64, nc=3)
    spec = _spec('image', (64, 64, 3))
    config = _model_config()
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)

    z = np.random.default_rng(0).standard_normal((batch, nz)).astype(np.float32)
    with torch.no_grad():
        expected_images = torch_g.train()(torch.from_numpy(z)[:, :, None, None])
        expected_logits = torch_d.train()(expected_images).reshape(-1).numpy()
    expected_images = expected_images.numpy().transpose(0, 2, 3, 1)

    g_params = _flax_params(torch_g, 'generator')
    d_params = _flax_params(torch_d, 'discriminator')
    g_vars = jax.eval_shape(
        functools.partial(generator.init, train=False), jax.random.key(0), jnp.zeros((2, nz))
    )
    d_vars = jax.eval_shape(
        functools.partial(discriminator.init, train=False),
        jax.random.key(0),
        jnp.zeros((2, 64, 64, 3)),
    )
    assert jax.tree.map(jnp.shape, g_params) == jax.tree.map(jnp.shape, g_vars['params'])
    assert jax.tree.map(jnp.shape, d_params) == jax.tree.map(jnp.shape, d_vars['params'])

    def stats(tree):  # running averages as PyTorch initialises them (train mode does not read them)
        return jax.tree_util.tree_map_with_path(
            lambda path, s: (jnp.zeros if path[-1].key == 'mean' else jnp.ones)(s.shape), tree
        )

    @jax.jit
    def run(g_params, d_params, z, x):
        images, g_stats = generator.apply(
            {'params': g_params, 'batch_stats': stats(g_vars['batch_stats'])},
            z,
            train=True,
            mutable=['batch_stats'],
        )
        logits, _ = discriminator.apply(
            {'params': d_params, 'batch_stats': stats(d_vars['batch_stats'])},
            x,
            train=True,
            mutable=['batch_stats'],
        )
        return images, g_stats['batch_stats'], logits

    images, g_stats, logits = run(g_params, d_params, jnp.asarray(z), jnp.asarray(expected_images))
    np.testing.assert_allclose(images, expected_images, atol=1e-4, rtol=0)
    np.testing.assert_allclose(logits, expected_logits, atol=1e-4, rtol=1e-4)
    # Same running-mean update (momentum 0.9 here is PyTorch's 0.1).
    np.testing.assert_allclose(
        g_stats['BatchNorm_1']['mean'], torch_g[4].running_mean.numpy(), atol=1e-5
    )


# MLP.


def test_mlp_vector_shapes():
    spec = _spec('vector', (2,))
    config = _model_config(
        name='mlp', latent_dim=8, mlp_hidden=(32, 32), g_batchnorm=False, d_norm='none'
    )
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    assert generator.output_activation == 'linear'
    z = _normal(np.random.default_rng(0), (5, 8))
    g_vars, samples, d_vars, logits, eval_logits, _, _ = _run_gan(generator, discriminator, z)
    assert samples.shape == (5, 2)
    assert logits.shape == eval_logits.shape == (5,)
    assert 'batch_stats' not in g_vars and 'batch_stats' not in d_vars


def test_mlp_noise_tempered_toy_layout():
    """3×512 ReLU, BN in every hidden layer of G and all but the first of D."""
    spec = _spec('image', (8, 8, 1))
    config = _model_config(name='mlp', latent_dim=16)
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    z = _normal(np.random.default_rng(0), (4, 16))
    g_vars, images, d_vars, logits, *_ = _run_gan(generator, discriminator, z)
    assert images.shape == (4, 8, 8, 1) and float(jnp.max(jnp.abs(images))) <= 1.0
    assert logits.shape == (4,)

    assert [g_vars['params'][f'Dense_{i}']['kernel'].shape for i in range(4)] == [
        (16, 512),
        (512, 512),
        (512, 512),
        (512, 64),
    ]
    assert len(g_vars['batch_stats']) == 3
    assert [d_vars['params'][f'Dense_{i}']['kernel'].shape for i in range(4)] == [
        (64, 512),
        (512, 512),
        (512, 512),
        (512, 1),
    ]
    assert len(d_vars['batch_stats']) == 2


def test_mlp_discriminator_leaky_and_spectral_norm():
    discriminator = models.MLPDiscriminator(
        hidden=(16,), activation='leaky_relu', spectral_norm=True
    )
    x = _normal(np.random.default_rng(0), (3, 4, 5))

    @jax.jit
    def run(x):
        variables = discriminator.init(jax.random.key(1), x, train=False)
        return discriminator.apply(variables, x, train=True, mutable=['batch_stats'])

    logits, mutated = run(x)
    assert logits.shape == (3,)
    assert set(mutated['batch_stats']) == {'SpectralNorm_0', 'SpectralNorm_1'}


# Per-example input gradients with BatchNorm: D(concat([x, stop_gradient(x)]), stats_mask).


def _bn_discriminator(kind):
    """A small discriminator with BatchNorm (the MLP also with spectral norm), and the shape of
    an input batch of 4."""
    if kind == 'dcgan':
        config = _model_config(d_width=4)
        return models.make_discriminator(config, _spec('image', (32, 32, 3))), (4, 32, 32, 3)
    config = _model_config(name='mlp', mlp_hidden=(16, 16, 16), d_spectral_norm=True)
    return models.make_discriminator(config, _spec('vector', (5,))), (4, 5)


def _independent_logits(discriminator, variables, x):
    """D's training-mode logits for x, the statistics taken from a stop-gradient copy."""
    n = x.shape[0]
    doubled = jnp.concatenate([x, jax.lax.stop_gradient(x)])
    mask = jnp.arange(2 * n) >= n
    logits, state = discriminator.apply(
        variables, doubled, train=True, stats_mask=mask, mutable=['batch_stats']
    )
    return logits[:n], state


def _plain_logits(discriminator, variables, x):
    return discriminator.apply(variables, x, train=True, mutable=['batch_stats'])


@pytest.mark.parametrize('kind', ['dcgan', 'mlp'])
def test_stats_mask_makes_examples_independent(kind):
    """The masked call's logits, running-statistics update and parameter gradients are those of
    the plain training-mode call, but the Jacobian of its logits w.r.t. x is block diagonal
    (logit i depends on x_i alone); the plain call's is not."""
    discriminator, shape = _bn_discriminator(kind)
    assert discriminator.uses_batch_statistics

    @jax.jit
    def run(x):
        variables = discriminator.init(jax.random.key(1), x, train=False)
        results = []
        for fn in (_independent_logits, _plain_logits):

            def loss(params, fn=fn):
                logits, state = fn(discriminator, {**variables, 'params': params}, x)
                return jnp.sum(logits * jnp.arange(1.0, 5.0)), (logits, state)

            grads, (logits, state) = jax.grad(loss, has_aux=True)(variables['params'])
            jacobian = jax.jacrev(lambda x, fn=fn: fn(discriminator, variables, x)[0])(x)
            results.append((logits, state, grads, jacobian.reshape(4, 4, -1)))
        return results

    x = _normal(np.random.default_rng(0), shape)
    (logits, state, grads, jacobian), (ref_logits, ref_state, ref_grads, ref_jacobian) = run(x)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-5, rtol=1e-5)
    assert jax.tree.structure(state) == jax.tree.structure(ref_state)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=1e-6, rtol=1e-5), state, ref_state
    )
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, atol=1e-5, rtol=1e-4), grads, ref_grads
    )

    jacobian, ref_jacobian = np.asarray(jacobian), np.asarray(ref_jacobian)
    off_diagonal = ~np.eye(4, dtype=bool)
    assert np.all(jacobian[off_diagonal] == 0)
    assert np.all(np.any(ref_jacobian[off_diagonal] != 0, axis=-1))
    assert all(np.any(jacobian[i, i] != 0) for i in range(4))


def test_stats_mask_rejects_wrong_shape():
    discriminator, shape = _bn_discriminator('mlp')
    x = jnp.zeros(shape)
    variables = jax.eval_shape(
        functools.partial(discriminator.init, train=False), jax.random.key(0), x
    )
    with pytest.raises(ValueError, match=r'stats_mask must have shape \(4,\)'):
        jax.eval_shape(
            functools.partial(discriminator.apply, train=True, mutable=['batch_stats']),
            variables,
            x,
            stats_mask=jnp.ones(3, bool),
        )


# Factory and checks.


@pytest.mark.parametrize(
    'overrides,spec,match',
    [
        (dict(name='resnet9'), _spec('image', (32, 32, 3)), r'config\.model\.name.*dcgan, mlp'),
        ({}, _spec('vector', (2,)), r"config\.model\.name='dcgan'.*image"),
        (
            {},
            _spec('image', (32, 64, 3)),
            r"config\.model\.name='dcgan'.*square.*config\.image_size",
        ),
        ({}, _spec('image', (8, 8, 1)), r'config\.image_size=8'),
        (dict(g_width=0), _spec('image', (32, 32, 3)), r'config\.model\.g_width'),
        (
            dict(d_spectral_norm='yes'),
            _spec('image', (32, 32, 3)),
            r'config\.model\.d_spectral_norm',
        ),
        (
            dict(upsample_method='deconv'),
            _spec('image', (32, 32, 3)),
            r'config\.model\.upsample_method.*matmul',
        ),
        (
            dict(downsample_method='strided'),
            _spec('image', (32, 32, 3)),
            r'config\.model\.downsample_method.*auto, matmul, im2col, conv',
        ),
        (
            dict(name='mlp', mlp_d_activation='tanh'),
            _spec('vector', (2,)),
            r'config\.model\.mlp_d_activation.*relu, leaky_relu',
        ),
        (dict(name='mlp', mlp_hidden=()), _spec('vector', (2,)), r'config\.model\.mlp_hidden'),
        (dict(name='mlp', latent_dim=-1), _spec('vector', (2,)), r'config\.model\.latent_dim'),
    ],
)
def test_check_model_errors(overrides, spec, match):
    config = _model_config(**overrides)
    with pytest.raises(ValueError, match=match) as info:
        models.check_model(config, spec)
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match=match):
        models.make_generator(config, spec)


def test_factory_passes_config_through():
    spec = _spec('image', (32, 32, 1))
    config = _model_config(
        latent_dim=7,
        g_width=4,
        d_width=5,
        g_batchnorm=False,
        d_spectral_norm=True,
        upsample_method='conv3x3',
        downsample_method='im2col',
    )
    generator = models.make_generator(config, spec)
    discriminator = models.make_discriminator(config, spec)
    assert (
        generator.image_size,
        generator.channels,
        generator.latent_dim,
        generator.width,
        generator.use_batchnorm,
        generator.upsample_method,
    ) == (32, 1, 7, 4, False, 'conv3x3')
    assert (
        discriminator.width,
        discriminator.normalization,
        discriminator.spectral_norm,
        discriminator.downsample_method,
    ) == (5, 'batch', True, 'im2col')
    defaults = _model_config()
    assert models.make_generator(defaults, spec).upsample_method == 'auto'
    assert models.make_discriminator(defaults, spec).downsample_method == 'auto'
    assert models.MODELS == ('dcgan', 'mlp', 'sngan_cnn', 'sngan_resnet')


@pytest.mark.parametrize('name, shape', [('dcgan', (32, 32, 3)), ('mlp', (2,))])
def test_layer_norm_discriminator_is_per_example_and_normalizes_each_example(name, shape):
    """d_norm='layer' (the official WGAN-GP critic): each logit depends on its own example
    only, in training mode too, and the layer's output has zero mean and unit variance
    over every axis but the batch's at initialization (scale 1, offset 0, per channel)."""
    config = _model_config(name=name, d_width=8, d_norm='layer', mlp_hidden=(16, 16))
    discriminator = models.make_discriminator(config, _spec('image', shape))
    x = _normal(np.random.default_rng(0), (4, *shape))
    variables = _init(discriminator, jax.random.key(0), x)
    assert 'batch_stats' not in variables and not discriminator.uses_batch_statistics
    scales = [
        v
        for path, v in jax.tree_util.tree_leaves_with_path(variables)
        if 'LayerNorm' in jax.tree_util.keystr(path) and 'scale' in jax.tree_util.keystr(path)
    ]
    assert scales and all(s.ndim == 1 for s in scales)  # one scale per channel / feature

    @jax.jit
    def logits_and_hidden(x):
        logits, state = discriminator.apply(
            variables, x, train=True, capture_intermediates=True, mutable=['intermediates']
        )
        layer = [
            v
            for p, v in jax.tree_util.tree_leaves_with_path(state)
            if 'LayerNorm' in jax.tree_util.keystr(p)
        ]
        return logits, layer[0]

    logits, hidden = logits_and_hidden(x)
    alone, _ = logits_and_hidden(x[:1])
    np.testing.assert_allclose(alone, logits[:1], rtol=1e-5, atol=1e-6)
    flat = np.asarray(hidden).reshape(4, -1)
    np.testing.assert_allclose(flat.mean(axis=1), 0.0, atol=1e-5)
    # v / (v + eps) for the pre-norm variance v: DCGAN's N(0, 0.02) weights make v small.
    assert np.all((flat.var(axis=1) > 0.95) & (flat.var(axis=1) <= 1.0)), flat.var(axis=1)


@pytest.mark.parametrize('masked', [False, True])
def test_batch_norm_is_flaxs_with_recorded_and_given_moments(masked):
    # nssgan's BatchNorm computes flax's BatchNorm: same variables, outputs and running
    # statistics bitwise, input gradients to float32 round-off; it records its moments
    # in norm.MOMENTS when asked and normalizes with given ones.

    x = 3.0 * jax.random.normal(jax.random.PRNGKey(0), (6, 4, 4, 5)) + 1.0
    mask = (jnp.arange(6) % 2 == 0).reshape(-1, 1, 1, 1) if masked else None
    for train in (True, False):
        ours = norm.BatchNorm(use_running_average=not train)
        flax_bn = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
        variables = ours.init(jax.random.PRNGKey(1), x)
        jax.tree.map(
            np.testing.assert_array_equal, variables, flax_bn.init(jax.random.PRNGKey(1), x)
        )
        variables = {**variables, 'params': {'scale': jnp.linspace(0.5, 2, 5), 'bias': jnp.ones(5)}}

        def apply(module, x):
            return module.apply(variables, x, mask=mask, mutable=['batch_stats'])

        ya, stats_a = apply(ours, x)
        yb, stats_b = apply(flax_bn, x)
        np.testing.assert_array_equal(ya, yb)
        jax.tree.map(np.testing.assert_array_equal, stats_a, stats_b)
        ga, gb = (
            jax.grad(lambda x, m=m: jnp.sum(jnp.sin(apply(m, x)[0])))(x) for m in (ours, flax_bn)
        )
        np.testing.assert_allclose(ga, gb, rtol=1e-6, atol=1e-6)

    ours = norm.BatchNorm(use_running_average=False)
    y, mutated = ours.apply(variables, x, mask=mask, mutable=['batch_stats', norm.MOMENTS])
    moments = mutated[norm.MOMENTS]
    where = np.ones(6, bool) if mask is None else np.asarray(mask).reshape(-1)
    np.testing.assert_allclose(moments['mean'], np.asarray(x)[where].mean((0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(moments['var'], np.asarray(x)[where].var((0, 1, 2)), rtol=1e-5)
    # Given moments: the same output for this batch, and for another batch the output
    # normalized with these moments, not its own; the running averages stay as they were.
    given = {**variables, norm.MOMENTS: moments}
    np.testing.assert_array_equal(ours.apply(given, x, mask=mask), y)
    other = 2.0 * x
    expected = (other - moments['mean']) / np.sqrt(moments['var'] + 1e-5)
    expected = expected * variables['params']['scale'] + variables['params']['bias']
    np.testing.assert_allclose(ours.apply(given, other), expected, rtol=1e-5, atol=1e-5)
