"""The lens scheme (tempered adversarial networks): λ_t, the lens losses against hand
computations, the lens network, which update changes which parameters, convergence to
the identity with λ = 0, jitted steps on 1 and 8 devices, and config errors."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import data, models, schemes, stabilizers, step, validation
from nssgan.base_config import base_config
from nssgan.schemes import RunInfo, StepContext
from nssgan.stabilizers import lens as lens_lib

from helpers import run_steps, tiny_dcgan_config

TINY_LENS = dict(features=8, num_blocks=2, K=4)


def _images(n, shape=(8, 8, 3), seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)), jnp.float32)


def _linear_d(shape=(8, 8, 3), seed=1):
    """A tiny discriminator: one logit per sample, ψ(x) = ⟨w, x⟩ + b."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.3, int(np.prod(shape))).astype(np.float32)
    b = np.float32(0.2)

    def d_fn(x):
        return jnp.reshape(x, (x.shape[0], -1)) @ w + b

    return d_fn, (lambda x: np.asarray(x, np.float64).reshape(len(x), -1) @ w + b)


def _lens_config(loss='non_saturating', n_dis=1, **settings):
    """MLP GAN on 8×8 color digits with a tiny lens: compiles in seconds."""
    config = base_config()
    config.dataset = 'color_digits'
    config.image_size = 8
    config.batch_size = 16
    config.num_train_steps = 4
    config.loss = loss
    config.n_dis = n_dis
    config.model.name = 'mlp'
    config.model.latent_dim = 8
    config.model.mlp_hidden = (32,)
    config.stabilizer.name = 'lens'
    config.stabilizer.lens.update({**TINY_LENS, **settings})
    return config


def _scheme(**kwargs):
    return schemes.get_scheme(_lens_config(**kwargs))


def _run(**kwargs):
    config = _lens_config(**kwargs)
    return RunInfo.from_config(config, data.dataset_spec('color_digits', 8))


def _ctx(schedule=None, d_fn=None, **kwargs):
    return StepContext(
        run=_run(**kwargs), schedule=schedule or {}, key=jax.random.PRNGKey(0), frozen_d_fn=d_fn
    )


def _lensed(state, x):
    lens = state['lens']
    return lens.apply_fn({'params': lens.params}, x)


# λ_t (eq. 4).


def test_lens_weight_at_0_half_k_k_and_2k():
    K = 1000
    weights = [float(stabilizers.lens_weight(t, K)) for t in (0, K // 2, K, 2 * K)]
    np.testing.assert_allclose(weights, [1.0, 1.0 - np.sin(np.pi / 4), 0.0, 0.0], atol=1e-6)
    # Traced steps work (the schedule is computed inside the compiled step).
    traced = jax.jit(stabilizers.lens_weight, static_argnums=1)(jnp.int32(K // 2), K)
    np.testing.assert_allclose(traced, 1.0 - np.sqrt(0.5), atol=1e-6)
    np.testing.assert_allclose(
        _scheme(K=10).schedule(jnp.int32(5), 100)['lens_lambda'], 1.0 - np.sqrt(0.5), atol=1e-6
    )


# The lens losses against hand computations.


@pytest.mark.parametrize(
    'loss, hand',
    [
        ('non_saturating', lambda psi: -np.log(1.0 - 1.0 / (1.0 + np.exp(-psi)))),  # eq. 8
        ('minimax', lambda psi: -np.log(1.0 - 1.0 / (1.0 + np.exp(-psi)))),
        ('least_squares', lambda psi: psi**2),  # eq. 11
        ('wasserstein', lambda psi: psi),  # eq. 14
    ],
)
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_lens_loss_matches_hand_computation(loss, hand, reduction):
    d_fn, d_numpy = _linear_d()
    x, lensed = _images(4, seed=2), _images(4, seed=3)
    weight = 0.3
    total, parts = lens_lib.lens_loss(
        lensed, x, d_fn, jnp.float32(weight), loss=loss, reduction=reduction
    )
    psi = d_numpy(lensed)
    squared = (np.asarray(lensed, np.float64) - np.asarray(x, np.float64)) ** 2
    reconstruction = squared.mean() if reduction == 'mean' else squared.reshape(4, -1).sum(1).mean()
    adversarial = hand(psi).mean()
    np.testing.assert_allclose(parts['lens_adversarial'], adversarial, rtol=1e-5)
    np.testing.assert_allclose(parts['lens_reconstruction'], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(total, weight * adversarial + reconstruction, rtol=1e-5)
    np.testing.assert_allclose(parts['d_lensed_logit'], psi.mean(), rtol=1e-5)


@pytest.mark.parametrize('loss', ['non_saturating', 'least_squares', 'wasserstein'])
def test_lens_update_works_against_d(loss):
    """With λ = 1 one lens update moves D's output on L(x) to the fake side: its
    logit down (NS, WGAN), towards LSGAN's fake label 0."""
    scheme = _scheme(loss=loss, lr=1e-2)
    d_fn, _ = _linear_d()
    x = _images(8)
    state = scheme.init_state(jax.random.PRNGKey(0), x, _run(loss=loss))
    ctx = _ctx({'lens_lambda': jnp.float32(1.0)}, d_fn, loss=loss)
    new_state, metrics = jax.jit(lambda s: scheme.update_state(s, x, x, ctx))(state)

    def fake_side(s):  # what L_A measures of D on L(x): lower is further on D's fake side
        logits = d_fn(_lensed(s, x))
        return float(jnp.mean(jnp.square(logits) if loss == 'least_squares' else logits))

    assert fake_side(new_state) < fake_side(state)
    np.testing.assert_allclose(
        metrics['d_lensed_logit'], jnp.mean(d_fn(_lensed(state, x))), rtol=1e-5
    )


def test_d_sees_lensed_reals_and_g_sees_its_fakes():
    scheme = _scheme()
    real, fake = _images(4), _images(4, seed=5)
    state = scheme.init_state(jax.random.PRNGKey(0), real, _run())
    (view,) = scheme.discriminator_views(state, real, fake, _ctx())
    np.testing.assert_allclose(view.real, _lensed(state, real), atol=1e-6)
    assert float(jnp.abs(view.real - real).max()) > 1e-3  # L is not the identity at init
    np.testing.assert_array_equal(view.fake, fake)
    (g_view,) = scheme.generator_views(state, fake, _ctx())
    assert g_view.real is None
    np.testing.assert_array_equal(g_view.fake, fake)


# The lens network (Fig. 4).


def test_lens_network_structure_and_input_output_residual():
    lens = models.LensNetwork()  # 64 channels, 8 blocks by default
    x = _images(2, (16, 16, 3))
    params = lens.init(jax.random.PRNGKey(0), x)['params']
    kernels = [p.shape for p in jax.tree.leaves(params) if p.ndim == 4]
    assert len(kernels) == 1 + 2 * 8 + 1
    assert all(s[:2] == (3, 3) for s in kernels)
    assert params['Conv_in']['kernel'].shape == (3, 3, 3, 64)
    assert params['Conv_out']['kernel'].shape == (3, 3, 64, 3)
    assert lens.apply({'params': params}, x).shape == x.shape
    # r(x) = 0 when the output layer is zero: L is then exactly the identity.
    zeroed = jax.tree.map(jnp.zeros_like, params['Conv_out'])
    identity = lens.apply({'params': {**params, 'Conv_out': zeroed}}, x)
    np.testing.assert_array_equal(identity, x)


def test_lens_converges_to_identity_with_zero_lambda():
    """λ = 0: only ‖x − L(x)‖² is left and L learns the identity. 300 Adam steps
    (η = 3e-3) on fresh batches of 16 random 8×8 RGB images; on a held-out batch the
    relative error ‖L(x) − x‖/‖x‖ falls from 0.76 at init to 0.023 (measured), below
    the tolerance 0.05."""
    scheme = _scheme(lr=3e-3)
    d_fn, _ = _linear_d()
    held_out = _images(32, seed=100)
    state = scheme.init_state(jax.random.PRNGKey(0), held_out, _run(lr=3e-3))
    ctx = _ctx({'lens_lambda': jnp.float32(0.0)}, d_fn, lr=3e-3)
    update = jax.jit(lambda s, x: scheme.update_state(s, x, x, ctx))

    def relative_error(state):
        lensed = _lensed(state, held_out)
        return float(jnp.linalg.norm(lensed - held_out) / jnp.linalg.norm(held_out))

    initial = relative_error(state)
    assert initial > 0.5
    for i in range(300):
        state, metrics = update(state, _images(16, seed=i))
    assert np.isfinite(float(metrics['lens_reconstruction']))
    assert relative_error(state) < 0.05, (initial, relative_error(state))


# The step: who updates what.


def _params(state):
    return {
        'generator': state.generator.params,
        'discriminator': state.discriminator.params,
        'lens': state.scheme['lens'].params,
    }


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_each_update_changes_only_its_own_parameters():
    """One step is D's update, then the lens's, then G's. With a player frozen (η = 0)
    its parameters must come out of the step as they went in (no other update touches
    them), and the other players' must be exactly those of the unfrozen step (its own
    update touches nothing else). D has BatchNorm, whose statistics the lens and G
    updates must not change either."""

    def one_step(g_lr, lens_lr):
        config = _lens_config(loss='least_squares')
        config.model.d_norm = 'batch'
        config.optimizer.g_lr = g_lr
        config.stabilizer.lens.lr = lens_lr
        state, _ = run_steps(config, 1, devices=jax.devices()[:1])
        return _params(state), state.discriminator.batch_stats

    init = _params(
        step.create_state(
            ml_collections.FrozenConfigDict(_lens_config()),
            data.dataset_spec('color_digits', 8),
            jax.random.PRNGKey(0),
        )
    )
    full, full_stats = one_step(2e-4, 2e-4)
    frozen_lens, frozen_lens_stats = one_step(2e-4, 0.0)
    frozen_g, frozen_g_stats = one_step(0.0, 2e-4)
    for player in ('generator', 'discriminator', 'lens'):
        assert not _same(full[player], init[player]), player
    # D's and G's updates leave the lens unchanged; the lens's leaves D and G unchanged.
    assert _same(frozen_lens['lens'], init['lens'])
    assert _same(frozen_lens['discriminator'], full['discriminator'])
    assert _same(frozen_lens['generator'], full['generator'])
    assert _same(frozen_lens_stats, full_stats)
    # D's and the lens's updates leave G unchanged; G's leaves D and the lens unchanged.
    assert _same(frozen_g['generator'], init['generator'])
    assert _same(frozen_g['discriminator'], full['discriminator'])
    assert _same(frozen_g['lens'], full['lens'])
    assert _same(frozen_g_stats, full_stats)


# Jitted steps on 1 and 8 devices.


def _dcgan_lens_config():
    config = tiny_dcgan_config(num_train_steps=3)
    config.stabilizer.name = 'lens'
    config.stabilizer.lens.update(TINY_LENS)
    return config


def _wgan_gp_lens_config():
    config = _lens_config(loss='wasserstein', n_dis=2)
    config.penalty.name = 'wgan_gp'
    return config


@pytest.mark.parametrize(
    'num_devices, make_config',
    [
        (1, _dcgan_lens_config),  # DCGAN-32 with BatchNorm, non-saturating loss
        (8, _wgan_gp_lens_config),  # MLP critic, WGAN-GP, n_dis = 2
    ],
    ids=['1_device_dcgan', '8_devices_wgan_gp'],
)
def test_lens_trains_under_jit(num_devices, make_config):
    config = make_config()
    validation.validate(config, num_devices=num_devices, num_processes=1)
    state, history = run_steps(config, 3, devices=jax.devices()[:num_devices])
    logged = {
        'lens_lambda',
        'lens_loss',
        'lens_adversarial',
        'lens_reconstruction',
        'd_lensed_logit',
        'd_loss',
        'g_loss',
    }
    for metrics in history:
        assert logged <= set(metrics)
        assert all(np.isfinite(v) for v in metrics.values()), metrics
    np.testing.assert_allclose(
        [m['lens_lambda'] for m in history],
        [1.0, 1.0 - np.sin(np.pi / 8), 1.0 - np.sqrt(0.5)],
        atol=1e-6,
    )
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(state))
    # The lens is updated once per iteration, whatever n_dis is (§2.4).
    assert int(state.scheme['lens'].step) == 3
    assert int(state.discriminator.step) == int(state.scheme['d_updates']) == (3 * config.n_dis)


# Config errors.


@pytest.mark.parametrize(
    'change, message',
    [
        (
            lambda c: c.update(loss='hinge'),
            r"'lens' has no adversarial loss for config.loss='hinge'; use one of: "
            r'non_saturating, minimax, least_squares, wasserstein\.$',
        ),
        (lambda c: c.stabilizer.lens.update(K=0), r'config.stabilizer.lens.K=0 must be a positive'),
        (
            lambda c: c.stabilizer.lens.update(features=0),
            r'config.stabilizer.lens.features=0 must be a positive integer',
        ),
        (
            lambda c: c.stabilizer.lens.update(num_blocks=True),
            r'config.stabilizer.lens.num_blocks=True must be a positive integer',
        ),
        (
            lambda c: c.stabilizer.lens.update(lr=-1e-4),
            r'config.stabilizer.lens.lr=-0.0001 must be',
        ),
        (
            lambda c: c.stabilizer.lens.update(reconstruction='l1'),
            r"config.stabilizer.lens.reconstruction='l1' is not valid; choose one of: "
            r'mean, sum',
        ),
        (
            lambda c: c.stabilizer.lens.update(lamda=1.0),
            r"config.stabilizer.lens.lamda is not a setting of 'lens'",
        ),
        (
            lambda c: c.update(
                dataset='ring', model=ml_collections.ConfigDict(dict(c.model, name='mlp'))
            ),
            r"'lens' is a convolutional .* config.dataset='ring'",
        ),
    ],
)
def test_bad_lens_configs(change, message):
    config = _lens_config()
    change(config)
    with pytest.raises(validation.ConfigError, match=message) as error:
        validation.validate(config)
    assert '\n' not in str(error.value)
