"""``config.profile_steps`` writes a profiler trace of those steps; --compilation_cache_dir
keeps the run's compiled programs, and a second run reads them."""

import glob
import os

import pytest

from nssgan import validation

from helpers import run_main, tiny_mlp_config

TINY = [
    '--config=configs/ntgan_ring.py:gan',
    '--config.model.mlp_hidden=(16, 16)',
    '--config.batch_size=16',
    '--config.num_train_steps=4',
    '--config.log_every=2',
]


def test_profile_steps_and_the_compilation_cache(tmp_path):
    cache = tmp_path / 'cache'
    args = [*TINY, f'--compilation_cache_dir={cache}', '--config.profile_steps=(2, 3)']
    first = run_main(*args, f'--workdir={tmp_path / "run"}')
    assert first.returncode == 0, first.stderr[-3000:]
    traces = glob.glob(str(tmp_path / 'run' / 'profile' / '**' / '*.xplane.pb'), recursive=True)
    assert len(traces) == 1 and os.path.getsize(traces[0]) > 0
    assert 'Profile of steps 2-3 written to' in first.stderr
    cached = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert len(cached) >= 2  # At least the state's init and the train step.
    second = run_main(*TINY, f'--compilation_cache_dir={cache}', f'--workdir={tmp_path / "b"}')
    assert second.returncode == 0, second.stderr[-3000:]
    # Every program was found there: none added, none compiled and written again.
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == cached


@pytest.mark.parametrize('steps', [(5, 2), (-1, 3), (1, 2, 3)])
def test_bad_profile_steps_are_a_config_error(steps):
    config = tiny_mlp_config(profile_steps=steps)
    with pytest.raises(validation.ConfigError, match='config.profile_steps=.* must be'):
        validation.validate(config, num_devices=1, num_processes=1)
