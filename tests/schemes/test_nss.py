"""The nss / ss / ns schemes in the train step: schedule, half batches, checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nssgan import scale_space, schemes, validation
from nssgan.schemes import RunInfo, StepContext

from helpers import run_steps, tiny_dcgan_config, tiny_mlp_config


def _config(name, **settings):
    config = tiny_dcgan_config()
    config.stabilizer.name = name
    config.stabilizer[name].update(settings)
    return config


def _scheme(name, **settings):
    return schemes.get_scheme(_config(name, **settings))


def _ctx(key, t, num_train_steps=100):
    run = RunInfo.from_config(tiny_dcgan_config(num_train_steps=num_train_steps))
    return StepContext(run=run, schedule={'t': jnp.asarray(t)}, key=jax.random.PRNGKey(key))


def _batch(n=8):
    return jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (n, 32, 32, 1)), jnp.float32)


@pytest.mark.parametrize('name', ['nss', 'ss', 'ns'])
def test_phi_reaches_first_half_of_each_batch_only(name):
    scheme = _scheme(name)
    real, fake = _batch(), _batch() * 0.5
    (view,) = scheme.discriminator_views({}, real, fake, _ctx(0, 8))
    for shown, original in ((view.real, real), (view.fake, fake)):
        np.testing.assert_array_equal(shown[4:], original[4:])
        assert np.all(np.abs(np.asarray(shown[:4] - original[:4])).max(axis=(1, 2, 3)) > 1e-3)
    (g_view,) = scheme.generator_views({}, fake, _ctx(1, 8))
    np.testing.assert_array_equal(g_view.fake[4:], fake[4:])


def test_ss_view_is_the_scale_space_and_t_zero_is_clean():
    scheme = _scheme('ss')
    real = _batch()
    (view,) = scheme.discriminator_views({}, real, real, _ctx(0, 5))
    np.testing.assert_allclose(view.real[:4], scale_space.scale_space(real[:4], 5), atol=1e-5)
    (clean,) = _scheme('nss').discriminator_views({}, real, real, _ctx(0, 0))
    np.testing.assert_allclose(clean.real, real, atol=1e-6)


def test_nss_noise_is_independent_for_reals_and_fakes():
    scheme = _scheme('nss')
    x = _batch()
    (view,) = scheme.discriminator_views({}, x, x, _ctx(0, 4))
    assert float(jnp.abs(view.real[:4] - view.fake[:4]).mean()) > 0.01


def test_schedule_anneals_or_stays_fixed():
    scheme = _scheme('nss')
    run = _ctx(0, 0).run
    t = [int(scheme.schedule(jnp.asarray(s), run)['t']) for s in (0, 10, 50)]
    assert t == [256, 35, 0]
    fixed = _scheme('ss', fixed_t=8)
    assert int(fixed.schedule(jnp.asarray(70), run)['t']) == 8


def test_nss_trains_and_logs_t():
    config = _config('nss')
    config.num_train_steps = 10
    _, history = run_steps(config, 2)
    assert [int(m['t']) for m in history] == [256, 35]
    assert all(np.isfinite(v) for m in history for v in m.values())


def test_scale_space_schemes_refuse_vector_data():
    config = tiny_mlp_config()
    config.stabilizer.name = 'nss'
    with pytest.raises(validation.ConfigError, match="smooths images.*'ring'"):
        validation.validate(config)


@pytest.mark.parametrize(
    'name, settings, message',
    [
        ('nss', dict(padding='zeros'), "config.stabilizer.nss.method='spectral' needs"),
        ('nss', dict(T=0), 'config.stabilizer.nss.T=0 must be a positive integer'),
        ('ss', dict(beta=-20.0), r'config.stabilizer.ss.beta=-20.0 must be positive'),
        ('nss', dict(sigma=-1.0), r'config.stabilizer.nss.sigma=-1.0 must be ≥ 0'),
        ('nss', dict(kernel_sigma=-1.0), r'config.stabilizer.nss.kernel_sigma=-1.0 must'),
        ('ns', dict(fraction=1.5), r'config.stabilizer.ns.fraction=1.5 must be in'),
        ('ss', dict(method='fft'), r"config.stabilizer.ss.method='fft' is not valid"),
    ],
)
def test_bad_scale_space_settings_name_their_field(name, settings, message):
    with pytest.raises(validation.ConfigError, match=message):
        validation.validate(_config(name, **settings))


def test_each_ablation_has_only_the_settings_it_reads():
    assert 'sigma' not in schemes.SCHEMES['ss'].defaults()
    assert not {'kernel_sigma', 'padding', 'method'} & set(schemes.SCHEMES['ns'].defaults())
    config = tiny_dcgan_config()
    config.stabilizer.name = 'ss'
    config.stabilizer.ss.sigma = 0.3
    with pytest.raises(
        validation.ConfigError, match=r"config.stabilizer.ss.sigma is not a setting of 'ss'"
    ):
        validation.validate(config)
