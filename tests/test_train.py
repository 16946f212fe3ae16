"""The train step and loop: determinism, sharding, the scheme slot, resume, errors."""

import glob
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from clu import metric_writers, periodic_actions  # noqa: F401  (they jit at import)

from helpers import run_steps, tiny_dcgan_config, tiny_mlp_config
from nssgan import checkpointing, config_checks, data, losses, stabilizers, train


def _assert_trees_equal(a, b):
    jax.tree.map(np.testing.assert_array_equal, a, b)


def _max_abs_difference(a, b):
    return max(jax.tree.leaves(jax.tree.map(
        lambda x, y: float(np.max(np.abs(np.asarray(x, np.float64) - y)))
        if np.size(x) else 0.0, a, b)))


def test_same_seed_same_run_and_other_seed_differs():
    config = tiny_mlp_config()
    first, metrics = run_steps(config, 3)
    second, _ = run_steps(config, 3)
    _assert_trees_equal(first, second)
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
    initial = train.create_state(ml_collections.FrozenConfigDict(config), spec,
                                 jax.random.PRNGKey(config.seed))
    state, _ = run_steps(config, 1)
    expected = jax.tree.map(lambda p0, p1: 0.75 * p0 + 0.25 * p1,
                            initial.generator.params, state.generator.params)
    assert _max_abs_difference(state.ema_params, expected) < 1e-6
    assert _max_abs_difference(state.ema_params, state.generator.params) > 1e-6


class _CountingScheme(stabilizers.Stabilizer):
    """Exercises every hook of the scheme slot with checkable effects."""

    name = 'counting'

    def init_state(self, key, example_batch):
        return {'updates': jnp.zeros((), jnp.int32),
                'example_size': jnp.asarray(example_batch.size, jnp.int32)}

    def schedule(self, step, num_steps):
        return {'fraction': step / num_steps}

    def discriminator_views(self, scheme_state, key, real, fake, schedule):
        # Two views, the second with reals scaled to zero: the loss is their sum.
        return [stabilizers.View(real, fake, 0.5),
                stabilizers.View(real * 0.0, fake, 0.5)]

    def penalty(self, d_fn, real, fake, key, schedule):
        value = 0.0 * jnp.mean(d_fn(real)) + 2.5
        return value, {'toy_penalty': value}

    def update_state(self, scheme_state, key, real, fake, d_fn, schedule):
        return ({**scheme_state, 'updates': scheme_state['updates'] + 1},
                {'toy_updates': scheme_state['updates'] + 1})


def test_scheme_slot_hooks_reach_the_step(monkeypatch):
    monkeypatch.setitem(stabilizers.STABILIZERS, 'counting', _CountingScheme)
    config = tiny_mlp_config(n_dis=2)
    config.stabilizer.name = 'counting'
    state, history = run_steps(config, 3)
    assert int(state.scheme['updates']) == 6  # n_dis updates per step.
    assert int(state.scheme['example_size']) == 2 * 2  # A (2, 2) ring batch.
    np.testing.assert_allclose([m['fraction'] for m in history],
                               [0.0, 0.25, 0.5])
    for m in history:
        np.testing.assert_allclose(m['d_loss'] - m['d_adversarial_loss'], 2.5,
                                   rtol=1e-5)


def _train(config, workdir, monkeypatch=None, interrupt_after=None):
    """train_and_evaluate, optionally interrupted (Ctrl-C) after some batches."""
    if interrupt_after is not None:
        real_make = data.make_dataset

        def make_interrupted(*args, **kwargs):
            dataset = real_make(*args, **kwargs)
            real_iterate = dataset.iterate

            def iterate(start_step=0):
                for i, batch in enumerate(real_iterate(start_step)):
                    if i == interrupt_after:
                        raise KeyboardInterrupt
                    yield batch
            dataset.iterate = iterate
            return dataset
        monkeypatch.setattr(data, 'make_dataset', make_interrupted)
    return jax.device_get(train.train_and_evaluate(config, str(workdir)))


def test_interrupted_and_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    # Checkpoints only at the end, so the mid-run save comes from the interrupt.
    config = tiny_dcgan_config(num_train_steps=6, checkpoint_every=100,
                               sample_every=3, log_every=3)
    uninterrupted = _train(config, tmp_path / 'a')

    with pytest.raises(KeyboardInterrupt):
        _train(config, tmp_path / 'b', monkeypatch, interrupt_after=3)
    assert sorted(os.listdir(tmp_path / 'b' / 'checkpoints')) == ['3']
    monkeypatch.undo()
    resumed = _train(config, tmp_path / 'b')

    assert int(resumed.step) == 6
    _assert_trees_equal(uninterrupted, resumed)  # Bitwise on CPU.
    assert sorted(os.listdir(tmp_path / 'b' / 'checkpoints')) == ['3', '6']
    samples = sorted(glob.glob(str(tmp_path / 'a' / 'samples' / '*.png')))
    assert [os.path.basename(s) for s in samples] == ['step_0000003.png',
                                                      'step_0000006.png']
    assert glob.glob(str(tmp_path / 'a' / 'events.out.tfevents.*'))
    assert '"num_train_steps": 6' in (tmp_path / 'a' / 'config.json').read_text()


def test_periodic_checkpoints_keep_the_latest_n(tmp_path):
    config = tiny_mlp_config(num_train_steps=8, checkpoint_every=2,
                             keep_checkpoints=2)
    _train(config, tmp_path)
    assert sorted(os.listdir(tmp_path / 'checkpoints'), key=int) == ['6', '8']


def test_corrupt_checkpoint_is_reported_with_the_fix(tmp_path):
    config = tiny_mlp_config(num_train_steps=2)
    _train(config, tmp_path)
    for path in glob.glob(str(tmp_path / 'checkpoints' / '2' / '**' / '*'),
                          recursive=True):
        if os.path.isfile(path):
            with open(path, 'wb') as f:
                f.write(b'garbage')
    with pytest.raises(checkpointing.CheckpointError,
                       match=r'cannot restore the checkpoint .*2.* Remove'):
        _train(tiny_mlp_config(num_train_steps=4), tmp_path)


def test_divergence_stops_without_saving_the_diverged_state(tmp_path, monkeypatch):
    nan_loss = losses.GANLoss(lambda r, f: jnp.mean(r) * jnp.nan,
                              losses.LOSSES['non_saturating'].generator)
    monkeypatch.setitem(losses.LOSSES, 'non_saturating', nan_loss)
    config = tiny_mlp_config(num_train_steps=4, log_every=2, checkpoint_every=2)
    with pytest.raises(train.TrainingDivergedError,
                       match=r'd_loss.*non-finite by step 2.*no checkpoint'):
        _train(config, tmp_path)
    assert not os.listdir(tmp_path / 'checkpoints')


@pytest.mark.parametrize('field, value, message', [
    ('dataset', 'imagenet', r"config.dataset='imagenet'.*digits"),
    ('loss', 'focal', r"config.loss='focal'.*non_saturating, minimax"),
    ('image_size', 48, r'config.image_size.*32'),
    ('batch_size', 12, r'config.batch_size=12 .*8 devices'),
    ('n_dis', 0, r'config.n_dis=0 must be a positive integer'),
])
def test_bad_config_fails_before_compilation(tmp_path, monkeypatch, field, value,
                                             message):
    config = tiny_dcgan_config()
    config[field] = value
    monkeypatch.setattr(jax, 'jit', lambda *a, **k: pytest.fail('compiled'))
    with pytest.raises(config_checks.ConfigError, match=message):
        train.train_and_evaluate(config, str(tmp_path))
    assert not os.path.exists(tmp_path / 'checkpoints')


def test_unknown_scheme_lists_the_registered_ones():
    config = tiny_dcgan_config()
    config.stabilizer.name = 'magic'
    with pytest.raises(config_checks.ConfigError,
                       match=r"config.stabilizer.name='magic'.*none"):
        config_checks.validate(config)
