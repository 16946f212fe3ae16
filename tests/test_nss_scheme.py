"""The nss / ss / ns schemes in the train step: schedule, half batches, checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import tiny_dcgan_config, tiny_mlp_config
from nssgan import config_checks, scale_space, stabilizers
from nssgan.configs import scale_space_settings


def _scheme(name, **settings):
    config = tiny_dcgan_config()
    config.stabilizer = scale_space_settings(name, **settings)
    return stabilizers.get_stabilizer(config)


def _batch(n=8):
    return jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (n, 32, 32, 1)),
                       jnp.float32)


@pytest.mark.parametrize('name', ['nss', 'ss', 'ns'])
def test_phi_reaches_first_half_of_each_batch_only(name):
    scheme = _scheme(name)
    real, fake = _batch(), _batch() * 0.5
    schedule = {'t': jnp.asarray(8)}
    (view,) = scheme.discriminator_views({}, jax.random.PRNGKey(0), real, fake,
                                         schedule)
    for shown, original in ((view.real, real), (view.fake, fake)):
        np.testing.assert_array_equal(shown[4:], original[4:])
        assert np.all(np.abs(np.asarray(shown[:4] - original[:4])).max(axis=(1, 2, 3))
                      > 1e-3)
    (g_view,) = scheme.generator_views({}, jax.random.PRNGKey(1), fake, schedule)
    np.testing.assert_array_equal(g_view.fake[4:], fake[4:])


def test_ss_view_is_the_scale_space_and_t_zero_is_clean():
    scheme = _scheme('ss')
    real = _batch()
    (view,) = scheme.discriminator_views({}, jax.random.PRNGKey(0), real, real,
                                         {'t': jnp.asarray(5)})
    np.testing.assert_allclose(view.real[:4], scale_space.scale_space(real[:4], 5),
                               atol=1e-5)
    (clean,) = _scheme('nss').discriminator_views({}, jax.random.PRNGKey(0), real,
                                                  real, {'t': jnp.asarray(0)})
    np.testing.assert_allclose(clean.real, real, atol=1e-6)


def test_nss_noise_is_independent_for_reals_and_fakes():
    scheme = _scheme('nss')
    x = _batch()
    (view,) = scheme.discriminator_views({}, jax.random.PRNGKey(0), x, x,
                                         {'t': jnp.asarray(4)})
    assert float(jnp.abs(view.real[:4] - view.fake[:4]).mean()) > 0.01


def test_schedule_anneals_or_stays_fixed():
    scheme = _scheme('nss')
    t = [int(scheme.schedule(jnp.asarray(s), 100)['t']) for s in (0, 10, 50)]
    assert t == [256, 35, 0]
    fixed = _scheme('ss', fixed_t=8)
    assert int(fixed.schedule(jnp.asarray(70), 100)['t']) == 8


def test_nss_trains_and_logs_t():
    from helpers import run_steps
    config = tiny_dcgan_config(num_train_steps=10)
    config.stabilizer = scale_space_settings('nss')
    _, history = run_steps(config, 2)
    assert [int(m['t']) for m in history] == [256, 35]
    assert all(np.isfinite(v) for m in history for v in m.values())


def test_scale_space_schemes_refuse_vector_data_and_bad_settings():
    config = tiny_mlp_config()
    config.stabilizer = scale_space_settings('nss')
    with pytest.raises(config_checks.ConfigError, match="smooths images.*'ring'"):
        config_checks.validate(config)
    config = tiny_dcgan_config()
    config.stabilizer = scale_space_settings('nss', padding='zeros')
    with pytest.raises(config_checks.ConfigError, match="method='spectral' needs"):
        config_checks.validate(config)
