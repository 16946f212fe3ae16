"""The train step: determinism, sharding, n_dis, the EMA, and a new scheme through the
scheme interface."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from nssgan import data, schemes, step, validation

from helpers import assert_trees_equal, run_steps, tiny_dcgan_config, tiny_mlp_config
from schemes.toy_scheme import ToyScheme


def _max_abs_difference(a, b):
    return max(
        jax.tree.leaves(
            jax.tree.map(
                lambda x, y: (
                    float(np.max(np.abs(np.asarray(x, np.float64) - y))) if np.size(x) else 0.0
                ),
                a,
                b,
            )
        )
    )


def test_same_seed_same_run_and_other_seed_differs():
    config = tiny_mlp_config()
    first, metrics = run_steps(config, 3)
    second, _ = run_steps(config, 3)
    assert_trees_equal(first, second)
    other, _ = run_steps(tiny_mlp_config(seed=1), 3)
    assert _max_abs_difference(first.generator.params, other.generator.params) > 1e-3
    assert set(metrics[0]) >= {'d_loss', 'g_loss', 'd_real_logit', 'd_fake_logit'}
    assert all(np.isfinite(v) for m in metrics for v in m.values())


def test_one_and_eight_devices_give_the_same_parameters():
    # BatchNorm statistics are reduced over the whole sharded batch, so the only
    # difference is float summation order: tolerance 1e-5 after 3 Adam steps.
    config = tiny_dcgan_config(batch_size=16)
    single, _ = run_steps(config, 3, devices=jax.devices()[:1])
    assert len(jax.devices()) == 8
    sharded, _ = run_steps(config, 3, devices=jax.devices())
    for part in ('generator', 'discriminator'):
        a, b = getattr(single, part), getattr(sharded, part)
        assert _max_abs_difference(a.params, b.params) < 1e-5
        assert _max_abs_difference(a.batch_stats, b.batch_stats) < 1e-5


def test_n_dis_discriminator_updates_per_generator_update():
    config = tiny_mlp_config(n_dis=3)
    state, _ = run_steps(config, 2)
    assert int(state.step) == 2
    assert int(state.generator.step) == 2
    assert int(state.discriminator.step) == 6


def test_generator_ema_follows_its_recursion():
    config = tiny_mlp_config(ema_decay=0.75)
    spec = data.dataset_spec(config.dataset, config.image_size)
    initial = step.create_state(
        ml_collections.FrozenConfigDict(config), spec, jax.random.PRNGKey(config.seed)
    )
    state, _ = run_steps(config, 1)
    expected = jax.tree.map(
        lambda p0, p1: 0.75 * p0 + 0.25 * p1, initial.generator.params, state.generator.params
    )
    assert _max_abs_difference(state.ema_params, expected) < 1e-6
    assert _max_abs_difference(state.ema_params, state.generator.params) > 1e-6


@pytest.mark.parametrize('n_dis', [1, 3])
def test_dfgan_ema_schedule_is_tensorflows_ema_once_per_optimizer_update(n_dis):
    """TensorFlow's ExponentialMovingAverage(0.9999, num_updates=n) applied after each
    of a step's n_dis + 1 optimizer updates, written out as a loop."""
    config = tiny_mlp_config(ema_decay=0.9999, ema_schedule='dfgan', n_dis=n_dis)
    for k in (0, 1, 7, 1000, 10**6):
        weight = 1.0
        for n in range((n_dis + 1) * k, (n_dis + 1) * (k + 1)):
            weight *= min(0.9999, (1 + n) / (10 + n))
        np.testing.assert_allclose(step.ema_decay(jnp.int32(k), config), weight, rtol=1e-6)
    constant = tiny_mlp_config(ema_decay=0.9999)
    assert float(step.ema_decay(jnp.int32(5), constant)) == np.float32(0.9999)


def test_a_new_scheme_is_one_module_and_one_registry_line(monkeypatch):
    monkeypatch.setitem(schemes.SCHEMES, 'toy', ToyScheme)
    config = tiny_mlp_config(n_dis=2)  # Built after registering: it has the section.
    config.stabilizer.name = 'toy'
    config.stabilizer.toy.penalty = 1.5
    validation.validate(config)
    state, history = run_steps(config, 3)
    assert int(state.scheme['updates']) == 6  # n_dis updates per step.
    assert int(state.scheme['example_size']) == 2 * 2  # A (2, 2) ring batch.
    np.testing.assert_allclose([m['fraction'] for m in history], [0.0, 0.25, 0.5])
    for m in history:
        np.testing.assert_allclose(m['d_loss'] - m['d_adversarial_loss'], 1.5, rtol=1e-5)


def test_the_step_imports_nothing_of_the_loop():
    # A user who only wants the step (or the stabilizers) gets no TensorFlow, Orbax, clu,
    # data pipeline or evaluation.
    code = (
        'import sys, nssgan.step, nssgan.sampling, nssgan.diagnostics, nssgan.stabilizers\n'
        "loop = ('tensorflow', 'orbax', 'clu', 'torch', 'sklearn', 'nssgan.train',\n"
        "        'nssgan.data', 'nssgan.checkpointing', 'nssgan.evaluation')\n"
        'print(sorted(m for m in sys.modules if m.startswith(loop)))\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == '[]'
