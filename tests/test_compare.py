"""``python -m nssgan.compare``: a config that does not load stops, before anything
trains, with one line."""

import os
import subprocess
import sys

import pytest

from helpers import ROOT, assert_one_line_error


@pytest.mark.parametrize(
    'run, expected',
    [
        ('x=configs/no_such_file.py', 'error: x=configs/no_such_file.py: no config file'),
        ('x=configs/ntgan_ring.py:bogus', "unknown variant 'bogus'; use one of ntgan, gan"),
    ],
    ids=['missing_file', 'unknown_variant'],
)
def test_a_config_that_does_not_load_is_one_line(tmp_path, run, expected):
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'nssgan.compare',
            f'--out={tmp_path}',
            'ok=configs/ntgan_ring.py',
            run,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, 'JAX_PLATFORMS': 'cpu'},
        timeout=300,
    )
    assert_one_line_error(result, expected)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not os.listdir(tmp_path)
