"""The command line: a short real run, and one-line errors for bad input."""

import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _main(*args, timeout=300):
    env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '3', 'JAX_PLATFORMS': 'cpu'}
    return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


def test_default_config_runs_from_the_command_line(tmp_path):
    result = _main('--config=configs/default.py', f'--workdir={tmp_path}',
                   '--config.num_train_steps=2', '--config.batch_size=16',
                   '--config.model.g_width=8', '--config.model.d_width=8',
                   '--config.sample_every=2', '--config.log_every=1',
                   '--config.eval.every=0')
    assert result.returncode == 0, result.stderr[-3000:]
    assert glob.glob(str(tmp_path / 'samples' / 'step_0000002.png'))
    assert os.listdir(tmp_path / 'checkpoints') == ['2']


def _assert_one_line_error(result, pattern):
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and pattern in last, result.stderr[-3000:]


def test_bad_field_is_a_one_line_error(tmp_path):
    result = _main('--config=configs/default.py', f'--workdir={tmp_path}',
                   '--config.loss=focal')
    _assert_one_line_error(result, "config.loss='focal'")


def test_missing_dataset_is_a_one_line_error(tmp_path):
    result = _main('--config=configs/nss_celeba.py', f'--workdir={tmp_path}/w',
                   f'--config.data_dir={tmp_path}/tfds')
    _assert_one_line_error(result, f'{tmp_path}/tfds')
