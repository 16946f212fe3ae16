"""The trajectory config stored with each checkpoint: a resume with another one stops
with the changed fields, unless the change is deliberate (then config.json records it)."""

import json
import os

import jax
import pytest

from nssgan import fingerprint, train, validation

from helpers import assert_one_line_error, assert_trees_equal, run_main, tiny_mlp_config


def test_output_cadence_evaluation_and_length_are_not_part_of_the_trajectory():
    config = tiny_mlp_config()
    base = fingerprint.trajectory_config(config)
    assert 'seed' in base and 'model.mlp_hidden' in base and 'stabilizer.name' in base
    changed = tiny_mlp_config(
        log_every=7, sample_every=9, checkpoint_every=3, keep_checkpoints=9, num_samples=8
    )
    changed.num_train_steps = 1000
    changed.eval.every = 5
    changed.log_grad_norms = False
    assert fingerprint.trajectory_config(changed) == base
    assert fingerprint.trajectory_config(tiny_mlp_config(seed=1)) != base


@pytest.mark.parametrize(
    'scheme, settings, matters',
    [
        ('none', {}, False),
        ('nss', {}, True),  # t is annealed over the run's length
        ('nss', {'fixed_t': 2}, False),
        ('roth', {}, True),  # γ is annealed over the run's length
        ('roth', {'alpha': 0.0}, False),
        ('lens', {}, False),  # λ decays over a fixed K steps
    ],
)
def test_the_length_is_part_of_the_trajectory_when_something_is_scheduled_over_it(
    scheme, settings, matters
):
    config = tiny_mlp_config(dataset='digits', num_train_steps=1000)
    config.model.name = 'dcgan'
    config.stabilizer.name = scheme
    if settings:
        config.stabilizer[scheme].update(settings)
    assert fingerprint.length_matters(config) is matters
    assert ('num_train_steps' in fingerprint.trajectory_config(config)) is matters
    config.stabilizer.name = 'none'
    config.optimizer.lr_decay = 'linear'
    assert fingerprint.length_matters(config)


def test_differences_name_each_changed_field():
    saved = {'seed': 0, 'dataset': 'ring', 'loss': 'non_saturating'}
    current = {'seed': 1, 'dataset': 'grid', 'loss': 'non_saturating', 'new': 2}
    assert fingerprint.differences(saved, current) == [
        "dataset: 'ring' → 'grid'",
        'new: (absent) → 2',
        'seed: 0 → 1',
    ]


def test_a_checkpoint_from_before_a_field_existed_counts_as_its_old_behaviour():
    current = fingerprint.trajectory_config(tiny_mlp_config())
    older = {k: v for k, v in current.items() if k != 'compute_dtype'}
    assert fingerprint.differences(older, current) == []
    current['compute_dtype'] = 'bfloat16'
    assert fingerprint.differences(older, current) == ["compute_dtype: 'float32' → 'bfloat16'"]


@pytest.mark.parametrize('old, new', [(True, 'batch'), (False, 'none')])
def test_a_checkpoint_with_a_renamed_field_reads_under_its_new_name(old, new):
    current = fingerprint.trajectory_config(tiny_mlp_config())
    current['model.d_norm'] = new
    older = {k: v for k, v in current.items() if k != 'model.d_norm'}
    older['model.d_batchnorm'] = old
    assert fingerprint.differences(older, current) == []
    current['model.d_norm'] = 'layer'
    assert fingerprint.differences(older, current) == [f"model.d_norm: {new!r} → 'layer'"]


def test_a_resume_with_another_config_stops_unless_allowed_and_config_json_records_it(tmp_path):
    config = tiny_mlp_config(num_train_steps=2, sample_every=100)
    train.train_and_evaluate(config, str(tmp_path))
    other = tiny_mlp_config(num_train_steps=4, sample_every=100, seed=1)
    other.loss = 'hinge'
    with pytest.raises(
        validation.ConfigError,
        match=r'checkpoint at step 2 in \S+ was trained with another config \(loss: '
        r"'non_saturating' → 'hinge'; seed: 0 → 1\)\. .*--allow_config_change",
    ):
        train.train_and_evaluate(other, str(tmp_path))
    assert os.listdir(tmp_path / 'checkpoints') == ['2']

    # The same config, longer, is a plain resume; config.json records it.
    train.train_and_evaluate(tiny_mlp_config(num_train_steps=3, sample_every=100), str(tmp_path))
    state = train.train_and_evaluate(other, str(tmp_path), allow_config_change=True)
    assert int(state.step) == 4
    written = json.loads((tmp_path / 'config.json').read_text())
    assert written['seed'] == 1 and written['loss'] == 'hinge'
    assert [r['step'] for r in written['resumes']] == [2, 3]
    assert written['resumes'][0]['config_changes'] == []
    assert written['resumes'][1]['config_changes'] == [
        "loss: 'non_saturating' → 'hinge'",
        'seed: 0 → 1',
    ]
    assert written['resumes'][1]['pid'] == os.getpid()


def test_changing_only_the_cadence_resumes_exactly(tmp_path):
    config = tiny_mlp_config(num_train_steps=4, sample_every=100)
    straight = jax.device_get(train.train_and_evaluate(config, str(tmp_path / 'a')))
    train.train_and_evaluate(tiny_mlp_config(num_train_steps=2), str(tmp_path / 'b'))
    chatty = tiny_mlp_config(num_train_steps=4, log_every=1, checkpoint_every=1)
    resumed = jax.device_get(train.train_and_evaluate(chatty, str(tmp_path / 'b')))
    assert_trees_equal(straight, resumed)


def test_the_command_line_names_the_changed_fields(tmp_path):
    args = (
        '--config=configs/ntgan_ring.py',
        '--config.model.mlp_hidden=(8,)',
        '--config.num_train_steps=1',
        '--config.log_grad_norms=False',
        f'--workdir={tmp_path}',
    )
    assert run_main(*args).returncode == 0
    result = run_main(*args, '--config.stabilizer.name=none')
    assert_one_line_error(result, "stabilizer.name: 'noise_tempered' → 'none'")
    assert '--allow_config_change' in result.stderr.strip().splitlines()[-1]
