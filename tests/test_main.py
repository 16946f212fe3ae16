"""The command line: a short real run, switching schemes and variants, and one-line
errors for bad input."""

import glob
import os

import pytest

from helpers import assert_one_line_error, run_main


def test_default_config_runs_from_the_command_line(tmp_path):
    result = run_main(
        '--config=configs/default.py',
        f'--workdir={tmp_path}',
        '--config.num_train_steps=2',
        '--config.batch_size=16',
        '--config.model.g_width=8',
        '--config.model.d_width=8',
        '--config.sample_every=2',
        '--config.log_every=1',
        '--config.eval.every=0',
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert glob.glob(str(tmp_path / 'samples' / 'step_0000002.png'))
    assert os.listdir(tmp_path / 'checkpoints') == ['2']
    assert '"name": "nss"' in (tmp_path / 'config.json').read_text()
    # Progress and metrics, without the libraries' INFO chatter.
    assert 'd_loss=' in result.stderr
    for noise in ('orbax', 'oneDNN', 'libtpu', 'absl::InitializeLog'):
        assert noise not in result.stderr, noise


def test_bad_field_is_a_one_line_error(tmp_path):
    result = run_main('--config=configs/default.py', f'--workdir={tmp_path}', '--config.loss=focal')
    assert_one_line_error(result, "config.loss='focal'")


def test_missing_dataset_is_a_one_line_error(tmp_path):
    result = run_main(
        '--config=configs/nss_celeba.py',
        f'--workdir={tmp_path}/w',
        f'--config.data_dir={tmp_path}/tfds',
    )
    assert_one_line_error(result, f'{tmp_path}/tfds')


@pytest.mark.parametrize(
    'args',
    [
        ('--config=configs/nss_celeba.py', '--config.stabilizer.name=none'),
        ('--config=configs/nss_celeba.py:gan',),
        (
            '--config=configs/nss_celeba.py',
            '--config.stabilizer.name=lens',
            '--config.stabilizer.lens.K=500',
            '--config.stabilizer.nss.T=128',
        ),
    ],
    ids=['name_none', 'gan_variant', 'lens_with_settings'],
)
def test_switching_the_scheme_reaches_the_data(tmp_path, args):
    # The scheme's settings are accepted; the run stops only at the missing data.
    result = run_main(*args, f'--workdir={tmp_path}/w', f'--config.data_dir={tmp_path}/tfds')
    assert_one_line_error(result, f'{tmp_path}/tfds')


def test_a_bad_scheme_setting_is_a_one_line_error(tmp_path):
    result = run_main(
        '--config=configs/default.py', f'--workdir={tmp_path}', '--config.stabilizer.nss.T=0'
    )
    assert_one_line_error(result, 'config.stabilizer.nss.T=0 must be a positive integer')


@pytest.mark.parametrize(
    'args, expected',
    [
        (('--config.nonexistent_field=1',), "no field 'nonexistent_field'"),
        (
            ('--config.batchsize=8',),
            "no field 'batchsize' (given as --config.batchsize). Did you mean 'batch_size'?",
        ),
        (('--config=configs/no_such_file.py',), 'No such file or directory'),
        (('--config=configs/nss_celeba.py:nonsense',), "'nonsense'"),
        (('--workdir=',), '--workdir is empty'),
    ],
    ids=['unknown_field', 'typo', 'missing_config_file', 'unknown_variant', 'empty_workdir'],
)
def test_command_line_mistakes_are_one_line_errors(tmp_path, args, expected):
    result = run_main('--config=configs/default.py', f'--workdir={tmp_path}', *args)
    assert_one_line_error(result, expected)
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
