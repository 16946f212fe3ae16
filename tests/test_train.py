"""The training loop: resume equals the uninterrupted run, checkpoints, divergence
and errors before anything compiles."""

import glob
import os

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
import pytest
from clu import metric_writers, periodic_actions  # noqa: F401  (they jit at import)

from nssgan import checkpointing, data, losses, train, validation

from helpers import assert_trees_equal, tiny_dcgan_config, tiny_mlp_config


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
    config = tiny_dcgan_config(num_train_steps=6, checkpoint_every=100, sample_every=3, log_every=3)
    uninterrupted = _train(config, tmp_path / 'a')

    with pytest.raises(KeyboardInterrupt):
        _train(config, tmp_path / 'b', monkeypatch, interrupt_after=3)
    assert sorted(os.listdir(tmp_path / 'b' / 'checkpoints')) == ['3']
    monkeypatch.undo()
    resumed = _train(config, tmp_path / 'b')

    assert int(resumed.step) == 6
    assert_trees_equal(uninterrupted, resumed)  # Bitwise on CPU.
    assert sorted(os.listdir(tmp_path / 'b' / 'checkpoints')) == ['3', '6']
    samples = sorted(glob.glob(str(tmp_path / 'a' / 'samples' / '*.png')))
    assert [os.path.basename(s) for s in samples] == ['step_0000003.png', 'step_0000006.png']
    assert glob.glob(str(tmp_path / 'a' / 'events.out.tfevents.*'))
    assert '"num_train_steps": 6' in (tmp_path / 'a' / 'config.json').read_text()


def test_periodic_checkpoints_keep_the_latest_n(tmp_path):
    config = tiny_mlp_config(num_train_steps=8, checkpoint_every=2, keep_checkpoints=2)
    _train(config, tmp_path)
    assert sorted(os.listdir(tmp_path / 'checkpoints'), key=int) == ['6', '8']


def test_a_run_whose_only_checkpoint_is_corrupt_stops_with_the_fix(tmp_path):
    config = tiny_mlp_config(num_train_steps=2)
    _train(config, tmp_path)
    for path in glob.glob(str(tmp_path / 'checkpoints' / '2' / '**' / '*'), recursive=True):
        if os.path.isfile(path):
            with open(path, 'wb') as f:
                f.write(b'garbage')
    with pytest.raises(
        checkpointing.CheckpointError,
        match=r'no checkpoint in \S+checkpoints is good \(step 2: .*\)\. Move that directory',
    ):
        _train(tiny_mlp_config(num_train_steps=4), tmp_path)
    assert os.listdir(tmp_path / 'checkpoints') == ['2']  # Left as it was, for a look.


def test_divergence_stops_without_saving_the_diverged_state(tmp_path, monkeypatch):
    nan_loss = losses.GANLoss(
        lambda r, f: jnp.mean(r) * jnp.nan, losses.LOSSES['non_saturating'].generator
    )
    monkeypatch.setitem(losses.LOSSES, 'non_saturating', nan_loss)
    config = tiny_mlp_config(num_train_steps=4, log_every=2, checkpoint_every=2)
    with pytest.raises(
        train.TrainingDivergedError, match=r'd_loss.*non-finite by step 2.*no checkpoint'
    ):
        _train(config, tmp_path)
    assert not os.listdir(tmp_path / 'checkpoints')


def test_a_non_finite_state_is_never_saved_even_with_finite_losses(tmp_path, monkeypatch):
    # Two clean steps are saved. Resumed with G's loss given value 0·√0 = 0 (finite) but
    # gradient 0·∞ = NaN, step 3 reports finite losses while G's parameters become NaN:
    # that state is not saved, and the error names G's leaves and step 2.
    _train(tiny_mlp_config(num_train_steps=2, checkpoint_every=1), tmp_path)
    plain = losses.LOSSES['non_saturating']

    def poisoned(fake_logits):
        return plain.generator(fake_logits) + 0.0 * jnp.sqrt(jnp.abs(fake_logits[0] * 0.0))

    monkeypatch.setitem(
        losses.LOSSES, 'non_saturating', losses.GANLoss(plain.discriminator, poisoned)
    )
    config = tiny_mlp_config(num_train_steps=4, log_every=100, checkpoint_every=1)
    with pytest.raises(
        train.TrainingDivergedError,
        match=r"state\.generator\.params\['[^']+'\].*non-finite by step 3 "
        r'\(the last good checkpoint is step 2 in .*checkpoints',
    ):
        _train(config, tmp_path)
    assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['1', '2']


@pytest.mark.parametrize(
    'field, value, message',
    [
        ('dataset', 'imagenet', r"config.dataset='imagenet'.*digits"),
        ('loss', 'focal', r"config.loss='focal'.*non_saturating, minimax"),
        ('image_size', 48, r'config.image_size.*32'),
        ('batch_size', 12, r'config.batch_size=12 .*8 devices'),
        ('n_dis', 0, r'config.n_dis=0 must be a positive integer'),
    ],
)
def test_bad_config_fails_before_compilation(tmp_path, monkeypatch, field, value, message):
    config = tiny_dcgan_config()
    config[field] = value
    monkeypatch.setattr(jax, 'jit', lambda *a, **k: pytest.fail('compiled'))
    with pytest.raises(validation.ConfigError, match=message):
        train.train_and_evaluate(config, str(tmp_path))
    assert not os.path.exists(tmp_path / 'checkpoints')


def test_unknown_scheme_lists_the_registered_ones():
    config = tiny_dcgan_config()
    config.stabilizer.name = 'magic'
    with pytest.raises(validation.ConfigError, match=r"config.stabilizer.name='magic'.*none"):
        validation.validate(config)


def test_a_workdir_that_cannot_be_written_is_a_config_error(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(validation.ConfigError, match=r'--workdir=\S+file/run cannot be used'):
        validation.check_workdir(str(tmp_path / 'file' / 'run'))
    with pytest.raises(validation.ConfigError, match='--workdir is empty'):
        validation.check_workdir('')
    if os.geteuid() != 0:  # root writes to read-only directories
        os.chmod(tmp_path, 0o500)
        try:
            with pytest.raises(validation.ConfigError, match='Permission denied'):
                validation.check_workdir(str(tmp_path / 'run'))
        finally:
            os.chmod(tmp_path, 0o700)
    validation.check_workdir(str(tmp_path / 'new' / 'run'))
    assert os.listdir(tmp_path / 'new' / 'run') == []


def test_a_failed_checkpoint_write_stops_with_one_line_and_keeps_the_earlier_ones(
    tmp_path, monkeypatch
):
    # As when the disk fills: the write of step 4 fails; step 2 stays, and is resumed.
    _train(tiny_mlp_config(num_train_steps=2), tmp_path)
    real_save = ocp.CheckpointManager.save

    def full_disk(self, step, *args, **kwargs):
        if step == 4:
            raise ValueError('RESOURCE_EXHAUSTED: Error writing local file: No space left')
        return real_save(self, step, *args, **kwargs)

    monkeypatch.setattr(ocp.CheckpointManager, 'save', full_disk)
    with pytest.raises(
        checkpointing.CheckpointError,
        match=r'cannot write the checkpoint step 4 in \S+ \(ValueError: RESOURCE_EXHAUSTED: '
        r'.*\)\. The finished checkpoints are intact \(newest: step 2\)',
    ) as raised:
        _train(tiny_mlp_config(num_train_steps=6), tmp_path)
    assert '\n' not in str(raised.value)
    assert sorted(os.listdir(tmp_path / 'checkpoints')) == ['2']
