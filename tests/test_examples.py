"""The README's "from your own JAX code" example runs as written."""

import os
import runpy
import subprocess
import sys

import numpy as np

from helpers import ROOT


def test_own_training_loop_example_trains_and_calls_the_stabilizers():
    module = runpy.run_path(f'{ROOT}/examples/own_training_loop.py')
    state, values = module['main'](['--steps', '3'])
    assert int(state.step) == 3
    assert all(np.isfinite(float(v)) for v in values.values())
    assert float(values['r1']) > 0


def test_own_training_loop_example_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, 'examples/own_training_loop.py', '--steps', '2'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, 'JAX_PLATFORMS': 'cpu', 'TF_CPP_MIN_LOG_LEVEL': '3'},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'step 2: d_loss' in result.stdout and 'wgan_gp:' in result.stdout
