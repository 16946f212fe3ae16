"""The noise-tempered GAN: eq. 4–6 against hand computations on a linear D, the shared
μ and ε, the noise generator's bound, which update owns what, the variants in the
jitted step on 1 and 8 devices, the paper configs and the config errors."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import data, sampling, schemes, step, validation
from nssgan.forward import discriminator_apply
from nssgan.schemes import RunInfo, StepContext
from nssgan.schemes.noise_tempered import NoiseTempered
from nssgan.state import create_train_state, optimizers

from helpers import load_config, run_steps, tiny_dcgan_config, tiny_mlp_config

LR = 2e-4  # base_config's Adam rate for D, G and the noise model.


def _with_settings(config, **settings):
    config.stabilizer.name = 'noise_tempered'
    config.stabilizer.noise_tempered.update(settings)
    return config


def _config(base=tiny_mlp_config, **settings):
    config = _with_settings(base(), **settings)
    validation.validate(config)
    return ml_collections.FrozenConfigDict(config)


def _scheme(config) -> NoiseTempered:
    return schemes.get_scheme(config)


def _run(config):
    return RunInfo.from_config(config, data.dataset_spec(config.dataset, config.image_size))


def _ctx(config, key, d_fn=None):
    return StepContext(run=_run(config), schedule={}, key=key, d_fn=d_fn)


class _Recording(NoiseTempered):
    """The scheme, noting what the step hands its hooks (keys, latents, states)."""

    def __init__(self, config, log):
        scheme = _scheme(config)
        super().__init__(scheme.name, scheme.settings)
        self.log = log

    def discriminator_views(self, state, real, fake, ctx):
        self.log.update(view_key=ctx.key, fake=fake, d_latent=ctx.latent)
        return super().discriminator_views(state, real, fake, ctx)

    def generator_views(self, state, fake, ctx):
        self.log.update(g_view_key=ctx.key, g_latent=ctx.latent)
        return super().generator_views(state, fake, ctx)

    def update_state(self, state, real, fake, ctx):
        self.log.update(update_key=ctx.key, update_in=state, d_fn=ctx.d_fn, u_latent=ctx.latent)
        return super().update_state(state, real, fake, ctx)


# A linear D, a(x) = w·x + b, and a "generator" that shows fixed points plus a learned
# shift: small enough to compute every loss by hand.
W, B = np.array([0.7, -1.3]), 0.2
POINTS = np.random.default_rng(0).normal(size=(8, 2))
REAL = jnp.asarray(np.random.default_rng(1).normal(size=(8, 2)), jnp.float32)


class _LinearD(nn.Module):
    uses_batch_statistics = False

    @nn.compact
    def __call__(self, x, train, update_stats=None, stats_mask=None):
        return nn.Dense(1)(x.reshape(x.shape[0], -1)).reshape(-1)


class _ShiftedPoints(nn.Module):
    @nn.compact
    def __call__(self, z, train):
        shift = self.param('shift', nn.initializers.zeros, (2,))
        return jnp.asarray(POINTS, jnp.float32)[: z.shape[0]] + shift


def _linear_parts(config, log, d_params=None):
    """D and G states and the step's keyword arguments for the linear toy."""
    w, b = (W, B) if d_params is None else d_params
    d_params = {
        'Dense_0': {
            'kernel': jnp.asarray(w, jnp.float32)[:, None],
            'bias': jnp.asarray([b], jnp.float32),
        }
    }
    g_tx, d_tx = optimizers(config)
    d_state = create_train_state(_LinearD(), {'params': d_params}, d_tx)
    g_state = create_train_state(_ShiftedPoints(), {'params': {'shift': jnp.zeros(2)}}, g_tx)
    scheme = _Recording(config, log)
    parts = dict(config=config, scheme=scheme, schedule={})
    return d_state, g_state, scheme, parts


def _a(x, w=W, b=B):
    return np.asarray(x, np.float64).reshape(len(x), -1) @ w + b


def _log_sigmoid(a):
    return -np.logaddexp(0.0, -a)


def _d_loss(name, real_logits, fake_logits):
    if name == 'least_squares':
        return 0.5 * (np.mean((real_logits - 1) ** 2) + np.mean(fake_logits**2))
    # −E log D(x) − E log(1 − D(x̃)), log(1 − σ(a)) = log σ(−a).
    return -np.mean(_log_sigmoid(real_logits)) - np.mean(_log_sigmoid(-fake_logits))


def _numerical_grad(f, x, h=1e-6):
    x = np.asarray(x, np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def _first_adam_step(grad, lr=LR):
    """Adam's first update is −lr·g/(|g| + 1e-8) per parameter."""
    return -lr * grad / (np.abs(grad) + 1e-8)


@pytest.mark.parametrize('loss', ['non_saturating', 'least_squares'])
@pytest.mark.parametrize('batch', ['both', 'split'])
def test_discriminator_loss_and_update_match_hand_computation(loss, batch):
    config = _config(
        functools.partial(tiny_mlp_config, loss=loss), noise_model='fixed', sigma=0.7, batch=batch
    )
    log = {}
    d_state, g_state, scheme, parts = _linear_parts(config, log)
    new_d, _, metrics = step.discriminator_update(
        d_state, g_state, {}, REAL, jax.random.PRNGKey(3), **parts
    )
    mu, n = scheme.draws(log['view_key'], log['fake'], _run(config))
    mu, eps = float(mu), 0.7 * np.asarray(n, np.float64)
    real, fake = np.asarray(REAL, np.float64), np.asarray(log['fake'], np.float64)
    np.testing.assert_allclose(fake, POINTS)
    h = 4 if batch == 'split' else 0  # §2.3: first half clean, second half noisy.
    clean, noisy = (slice(None, h) if h else slice(None)), slice(h, None)

    def hand(w_b):
        w, b = w_b[:2], w_b[2]
        clean_loss = _d_loss(loss, _a(real[clean], w, b), _a(fake[clean], w, b))
        noisy_loss = _d_loss(loss, _a(real[noisy] + eps, w, b), _a(fake[noisy] + eps, w, b))
        return mu * clean_loss + (1 - mu) * noisy_loss, clean_loss, noisy_loss

    params = np.array([*W, B])
    total, clean_loss, noisy_loss = hand(params)
    np.testing.assert_allclose(metrics['d_adversarial_loss'], total, rtol=1e-5)
    np.testing.assert_allclose(metrics['d_loss_clean'], clean_loss, rtol=1e-5)
    np.testing.assert_allclose(metrics['d_loss_noisy'], noisy_loss, rtol=1e-5)
    np.testing.assert_allclose(metrics['mu'], mu)
    # D's Adam step follows the gradient of this loss.
    adam_step = _first_adam_step(_numerical_grad(lambda p: hand(p)[0], params))
    new = new_d.params['Dense_0']
    np.testing.assert_allclose(np.asarray(new['kernel'])[:, 0] - W, adam_step[:2], rtol=1e-3)
    np.testing.assert_allclose(np.asarray(new['bias']) - B, adam_step[2:], rtol=1e-3)


def test_views_share_one_noise_between_reals_and_fakes():
    config = _config(noise_model='fixed', sigma=0.5)
    scheme = _scheme(config)
    fake = REAL[::-1] * 0.5
    key = jax.random.PRNGKey(0)
    clean, noisy = scheme.discriminator_views({}, REAL, fake, _ctx(config, key))
    mu, n = scheme.draws(key, fake, _run(config))
    assert 0 < float(mu) < 1 and (clean.name, noisy.name) == ('clean', 'noisy')
    np.testing.assert_array_equal(clean.real, REAL)
    np.testing.assert_array_equal(clean.fake, fake)
    np.testing.assert_allclose(noisy.real - REAL, 0.5 * n, atol=1e-6)
    np.testing.assert_allclose(noisy.fake - fake, 0.5 * n, atol=1e-6)
    np.testing.assert_allclose([clean.weight, noisy.weight], [mu, 1 - mu])
    # A new key draws a new μ and ε (every iteration, Algorithm 1).
    other = scheme.discriminator_views({}, REAL, fake, _ctx(config, jax.random.PRNGKey(1)))
    assert float(other[0].weight) != float(mu)
    assert not np.allclose(other[1].real, noisy.real)
    half_config = _config(noise_model='fixed', mu='half')
    g_views = _scheme(half_config).generator_views({}, fake, _ctx(half_config, key))
    assert [float(v.weight) for v in g_views] == [0.5, 0.5]


@pytest.mark.parametrize('loss', ['non_saturating', 'least_squares'])
def test_generator_loss_and_update_match_hand_computation(loss):
    config = _config(functools.partial(tiny_mlp_config, loss=loss), noise_model='fixed', sigma=0.7)
    log = {}
    d_state, g_state, scheme, parts = _linear_parts(config, log)
    new_g, metrics = step.generator_update(g_state, d_state, {}, jax.random.PRNGKey(4), 8, **parts)
    mu, n = scheme.draws(log['g_view_key'], REAL, _run(config))
    mu, eps = float(mu), 0.7 * np.asarray(n, np.float64)

    def view_loss(logits):
        if loss == 'least_squares':
            return 0.5 * np.mean((logits - 1) ** 2)
        return -np.mean(_log_sigmoid(logits))  # −E log D(x̃)

    def hand(shift):
        fake = POINTS + shift
        return mu * view_loss(_a(fake)) + (1 - mu) * view_loss(_a(fake + eps))

    np.testing.assert_allclose(metrics['g_loss'], hand(np.zeros(2)), rtol=1e-5)
    np.testing.assert_allclose(metrics['g_loss_clean'], view_loss(_a(POINTS)), rtol=1e-5)
    np.testing.assert_allclose(metrics['g_loss_noisy'], view_loss(_a(POINTS + eps)), rtol=1e-5)
    np.testing.assert_allclose(
        new_g.params['shift'], _first_adam_step(_numerical_grad(hand, np.zeros(2))), rtol=1e-3
    )


def _linear_d_fn():
    return lambda x: x.reshape(x.shape[0], -1) @ jnp.asarray(W, jnp.float32) + B


def _noisy_d_loss(eps, fake):
    real = np.asarray(REAL, np.float64)
    return _d_loss('non_saturating', _a(real + eps), _a(fake + eps))


def test_learned_sigma_loss_matches_hand_computation():
    config = _config(noise_model='learned_sigma', sigma=0.8, noise_penalty=0.5)
    scheme = _scheme(config)
    state = scheme.init_state(jax.random.PRNGKey(0), REAL, _run(config))
    key, fake = jax.random.PRNGKey(5), np.asarray(POINTS, np.float32)
    new, metrics = scheme.update_state(state, REAL, fake, _ctx(config, key, _linear_d_fn()))
    mu, n = scheme.draws(key, fake, _run(config))
    mu, n = float(mu), np.asarray(n, np.float64)

    def hand(sigma):  # −(1 − μ)·L_D^noisy + λσ² (eq. 5)
        return -(1 - mu) * _noisy_d_loss(sigma * n, POINTS) + 0.5 * sigma**2

    np.testing.assert_allclose(metrics['noise_loss'], hand(0.8), rtol=1e-5)
    np.testing.assert_allclose(metrics['noise_sigma'], 0.8)
    np.testing.assert_allclose(metrics['mu'], mu)
    np.testing.assert_allclose(
        new.params['sigma'] - 0.8, _first_adam_step(_numerical_grad(hand, 0.8)), rtol=1e-3
    )


def test_noise_generator_loss_matches_hand_computation():
    config = _config(noise_model='generator', noise_penalty=2.0)
    scheme = _scheme(config)
    state = scheme.init_state(jax.random.PRNGKey(0), REAL, _run(config))
    key, fake = jax.random.PRNGKey(6), np.asarray(POINTS, np.float32)
    _, metrics = scheme.update_state(state, REAL, fake, _ctx(config, key, _linear_d_fn()))
    mu, w = scheme.draws(key, fake, _run(config))
    assert w.shape == (8, config.model.latent_dim)  # Independent w ~ N(0, I).
    eps = np.asarray(scheme.noise(state, w)[0], np.float64)
    mu = float(mu)
    # −(1 − μ)·L_D^noisy + λ·mean ε² (eq. 6, the mean as in the authors' code).
    hand = -(1 - mu) * _noisy_d_loss(eps, POINTS) + 2.0 * np.mean(eps**2)
    np.testing.assert_allclose(metrics['noise_loss'], hand, rtol=1e-5)
    np.testing.assert_allclose(metrics['noise_sq_mean'], np.mean(eps**2), rtol=1e-5)


@pytest.mark.parametrize('penalty, grows', [(0.0, True), (100.0, False)])
def test_learned_sigma_moves_to_raise_d_loss_without_penalty(penalty, grows):
    """λ = 0: σ's step raises D's loss on noisy inputs; a large λ shrinks σ."""
    config = tiny_mlp_config()
    config.optimizer.d_lr = 0.05
    config = ml_collections.FrozenConfigDict(
        _with_settings(config, noise_model='learned_sigma', sigma=0.5, noise_penalty=penalty)
    )
    scheme = _scheme(config)
    state = scheme.init_state(jax.random.PRNGKey(0), REAL, _run(config))
    fake = np.asarray(POINTS, np.float32)
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        _, n = scheme.draws(key, fake, _run(config))
        n = np.asarray(n, np.float64)
        new, _ = scheme.update_state(state, REAL, fake, _ctx(config, key, _linear_d_fn()))
        before, after = 0.5, float(new.params['sigma'])
        if grows:
            assert _noisy_d_loss(after * n, POINTS) > _noisy_d_loss(before * n, POINTS)
        else:
            assert abs(after) < before


@pytest.mark.parametrize('base', [tiny_dcgan_config, tiny_mlp_config])
def test_noise_generator_is_the_narrowed_generator_bounded_by_two(base):
    config = _config(base, noise_model='generator')
    scheme = _scheme(config)
    state = scheme.init_state(jax.random.PRNGKey(0), jnp.zeros((2, 1)), _run(config))
    if base is tiny_dcgan_config:  # g_width 8 / 8: 1·4 channels at 4×4, not 8·4.
        assert state.params['base']['Dense_0']['kernel'].shape == (16, 4 * 4 * 4)
    else:  # Hidden (32, 32) / 8.
        assert state.params['base']['Dense_0']['kernel'].shape == (8, 4)
    # Saturate every layer: the output reaches 2·tanh's bound but never passes it.
    params = jax.tree.map(lambda p: 100.0 * p, state.params)
    w = 10.0 * jax.random.normal(jax.random.PRNGKey(1), (16, config.model.latent_dim))
    variables = {'params': params, 'batch_stats': state.batch_stats}
    eps, _ = state.apply_fn(variables, w, train=True, mutable=['batch_stats'])
    spec = data.dataset_spec(config.dataset, config.image_size)
    assert eps.shape == (16, *spec.shape)
    assert float(jnp.max(jnp.abs(eps))) <= 2.0
    assert float(jnp.max(jnp.abs(eps))) > 1.9


def _leaves_equal(a, b):
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_each_update_changes_only_the_parameters_it_owns():
    config = _config(noise_model='generator', noise_input='z')
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step.create_state(config, spec, jax.random.PRNGKey(0))
    log = {}
    parts = dict(config=config, scheme=_Recording(config, log), schedule={})
    copy = jax.tree.map(np.array, state)
    real = jnp.asarray(np.random.default_rng(2).normal(size=(32, 2)), jnp.float32)

    # D's update: D changes; the noise model reaches its own update untouched.
    d1, s1, metrics = step.discriminator_update(
        state.discriminator, state.generator, state.scheme, real, jax.random.PRNGKey(1), **parts
    )
    assert not _leaves_equal(d1.params, copy.discriminator.params)
    assert _leaves_equal(log['update_in'], copy.scheme)
    # The noise-model update: the noise model changes, against the updated D, on the
    # μ and ε of D's views.
    assert not _leaves_equal(s1.params, copy.scheme.params)
    assert int(s1.step) == 1
    d1_logits, _ = discriminator_apply(d1)(real, d1.batch_stats, update_stats=False)
    np.testing.assert_allclose(log['d_fn'](real), d1_logits, rtol=1e-6)
    np.testing.assert_array_equal(log['update_key'], log['view_key'])
    _, w = parts['scheme'].draws(log['view_key'], log['fake'], _run(config), log['d_latent'])
    eps = parts['scheme'].noise(copy.scheme, w)[0]
    np.testing.assert_allclose(metrics['noise_sq_mean'], jnp.mean(eps**2), rtol=1e-5)
    # G's update: only G changes.
    g1, _ = step.generator_update(state.generator, d1, s1, jax.random.PRNGKey(2), 32, **parts)
    assert not _leaves_equal(g1.params, copy.generator.params)
    # None of the calls touched what it was handed.
    assert _leaves_equal(state, copy)


def test_noise_generator_can_share_the_generators_z():
    config = _config(noise_model='generator', noise_input='z', batch='split')
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = step.create_state(config, spec, jax.random.PRNGKey(0))
    log = {}
    scheme = _Recording(config, log)
    parts = dict(config=config, scheme=scheme, schedule={})
    real = jnp.asarray(np.random.default_rng(2).normal(size=(32, 2)), jnp.float32)
    step.discriminator_update(
        state.discriminator, state.generator, state.scheme, real, jax.random.PRNGKey(1), **parts
    )
    z = log['d_latent']
    np.testing.assert_array_equal(log['u_latent'], z)
    fakes, _ = state.generator.apply_train(z)
    np.testing.assert_allclose(log['fake'], fakes, rtol=1e-6)  # z made these fakes.
    _, w = scheme.draws(log['view_key'], log['fake'], _run(config), z)
    np.testing.assert_array_equal(w, z[16:])  # The noisy half's own z.
    step.generator_update(
        state.generator, state.discriminator, state.scheme, jax.random.PRNGKey(2), 32, **parts
    )
    assert log['g_latent'].shape == (32, config.model.latent_dim)


VARIANTS = {  # Together: every noise model and input, μ = ½ and the split batch.
    'fixed_half': dict(noise_model='fixed', mu='half'),
    'learned_sigma_split': dict(noise_model='learned_sigma', batch='split'),
    'generator': dict(noise_model='generator'),
    'generator_z_split': dict(noise_model='generator', noise_input='z', batch='split'),
}


@pytest.mark.parametrize('num_devices', [1, 8])
@pytest.mark.parametrize('variant', list(VARIANTS))
def test_variants_train_under_jit(variant, num_devices):
    n_dis = 2 if variant == 'learned_sigma_split' else 1
    config = _with_settings(tiny_mlp_config(n_dis=n_dis), **VARIANTS[variant])
    validation.validate(config)
    state, history = run_steps(config, 2, devices=jax.devices()[:num_devices])
    expected = {
        'mu',
        'd_loss_clean',
        'd_loss_noisy',
        'g_loss_clean',
        'g_loss_noisy',
        'noise_sq_mean' if 'generator' in variant else 'noise_sigma',
    }
    for metrics in history:
        assert expected <= set(metrics)
        assert all(np.isfinite(v) for v in metrics.values()), metrics
    if variant == 'fixed_half':
        assert all(m['mu'] == 0.5 for m in history)
    else:
        assert int(state.scheme.step) == 2 * n_dis  # One noise update per D update.
        assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(state.scheme))


def test_image_noise_generator_trains_under_jit_on_eight_devices():
    config = _with_settings(tiny_dcgan_config())
    validation.validate(config)
    _, history = run_steps(config, 2)
    assert all(np.isfinite(v) for m in history for v in m.values())
    assert 0 < history[-1]['noise_sq_mean'] < 4


def test_ntgan_configs_follow_the_paper():
    cifar = load_config('ntgan_cifar10.py')
    assert (cifar.dataset, cifar.image_size, cifar.batch_size) == ('cifar10', 32, 64)
    assert cifar.optimizer.g_lr == cifar.optimizer.d_lr == 1e-4
    assert cifar.optimizer.b1 == 0.5 and cifar.num_train_steps == 100_000
    assert cifar.stabilizer.name == 'noise_tempered'
    assert cifar.stabilizer.noise_tempered.to_dict() == dict(
        noise_model='generator',
        sigma=1.0,
        noise_penalty=1.0,
        mu='uniform',
        batch='both',
        noise_input='independent',
        noise_width_divisor=8,
    )
    celeba = load_config('ntgan_celeba.py')
    assert (celeba.dataset, celeba.image_size) == ('celeb_a', 64)
    dcgan = load_config('ntgan_celeba.py', 'dcgan')
    assert dcgan.stabilizer.noise_tempered.noise_penalty == 10.0
    ring = load_config('ntgan_ring.py')
    assert ring.dataset == 'ring' and ring.model.name == 'mlp'
    assert tuple(ring.model.mlp_hidden) == (512, 512)
    assert ring.optimizer.g_lr == ring.optimizer.d_lr == 1e-4
    for config in (cifar, celeba, ring):
        validation.validate(config, num_devices=1, num_processes=1)


NT = r'config\.stabilizer\.noise_tempered\.'


@pytest.mark.parametrize(
    'settings, message',
    [
        (
            dict(noise_model='gan'),
            NT + r"noise_model='gan' is not valid; "
            r'choose one of: fixed, learned_sigma, generator',
        ),
        (dict(mu='random'), NT + r"mu='random' is not valid.*uniform, half"),
        (dict(batch='half'), NT + r"batch='half' is not valid.*both, split"),
        (dict(noise_input='w'), NT + r"noise_input='w' is not valid"),
        (dict(sigma=0.0), NT + r'sigma=0.0 must be a positive number'),
        (dict(noise_penalty=-1.0), NT + r'noise_penalty=-1.0 must be'),
        (dict(noise_width_divisor=0), NT + r'noise_width_divisor=0 must be'),
        (
            dict(noise_model='fixed', noise_input='z'),
            r"noise_input='z'.*needs config\.stabilizer\.noise_tempered\.noise_model='generator'",
        ),
        (dict(lam=1.0), NT + r"lam is not a setting of 'noise_tempered'"),
        (dict(batch='split', _batch_size=15), r"config.batch_size=15 is odd.*batch='split'"),
    ],
)
def test_bad_settings_give_one_line_errors(settings, message):
    config = tiny_mlp_config()
    if '_batch_size' in settings:
        config.batch_size = settings.pop('_batch_size')
    _with_settings(config, **settings)
    with pytest.raises(validation.ConfigError, match=message) as error:
        validation.validate(config, num_devices=1, num_processes=1)
    assert '\n' not in str(error.value)


def test_a_setting_of_the_wrong_type_is_refused_where_it_is_set():
    config = tiny_mlp_config()
    with pytest.raises(TypeError, match='sigma'):
        config.stabilizer.noise_tempered.sigma = '1'


def test_samples_come_from_the_runs_generator_not_the_noise_generator():
    # Evaluation samples from the state's own generator, never one rebuilt from the
    # config at the noise generator's widths (÷ 8).
    config = _config(tiny_dcgan_config, noise_model='generator')
    spec = data.dataset_spec(config.dataset, config.image_size)
    state = jax.jit(functools.partial(step.create_state, config, spec))(jax.random.PRNGKey(0))
    assert state.generator.module.width == 8 and state.scheme.module.base.width == 1
    samples = sampling.generate_samples(state, config, 20)
    assert samples.shape == (20, 32, 32, 1) and np.all(np.isfinite(samples))
    assert np.max(np.abs(samples)) <= 1  # G's tanh, not the noise generator's 2·tanh.


def test_building_the_noise_generator_leaves_the_run_s_config_alone():
    # It narrows a copy of config.model; FrozenConfigDict(config) shares config's
    # fields, so narrowing in place made the next state's generator the narrow one.
    config = tiny_dcgan_config()
    config.stabilizer.name = 'noise_tempered'
    spec = data.dataset_spec(config.dataset, config.image_size)
    widths = []
    for _ in range(2):
        state = step.create_state(
            ml_collections.FrozenConfigDict(config), spec, jax.random.PRNGKey(0)
        )
        widths.append(state.generator.apply_fn.module.width)
        assert state.scheme.apply_fn.module.base.width == config.model.g_width // 8
    assert config.model.g_width == 8 and widths == [8, 8]
