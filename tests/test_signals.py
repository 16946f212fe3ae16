"""SIGTERM and SIGINT sent to a real training process: it finishes the step, saves the
live state, says so in one line and exits with 128 + the signal's number; a second
Ctrl-C does not break the save; the resumed run equals the uninterrupted one bitwise."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import ROOT, checkpoint_leaves, run_main

# A small MLP GAN on the ring that would run for a long time: the signal stops it.
ARGS = (
    '--config=configs/ntgan_ring.py:gan',
    '--config.model.mlp_hidden=(16, 16)',
    '--config.model.latent_dim=4',
    '--config.batch_size=16',
    '--config.log_every=5',
    '--config.log_grad_norms=False',
    '--config.checkpoint_every=20',
    '--config.sample_every=1000000',
    '--config.eval.every=0',
)


def _train_until_signalled(workdir, signum, after_step=30, times=1):
    """Starts main.py, sends ``signum`` ``times`` times (0.1 s apart) once it logged a
    step ≥ ``after_step``; returns (exit code, stderr after the signal)."""
    process = subprocess.Popen(
        [
            sys.executable,
            'main.py',
            *ARGS,
            '--config.num_train_steps=1000000',
            f'--workdir={workdir}',
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, 'JAX_PLATFORMS': 'cpu', 'TF_CPP_MIN_LOG_LEVEL': '3'},
    )
    try:
        for line in process.stderr:
            logged = re.search(r'\] \[(\d+)\] d_', line)
            if logged and int(logged.group(1)) >= after_step:
                break
        for i in range(times):
            if i:
                time.sleep(0.1)
            process.send_signal(signum)
        _, rest = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, rest


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_a_signal_saves_the_live_state_and_the_resumed_run_is_bitwise_equal(tmp_path, signum):
    # Ctrl-C is sent twice, as impatient users do: the second must not break the save.
    times = 2 if signum == signal.SIGINT else 1
    code, stderr = _train_until_signalled(tmp_path / 'run', signum, times=times)
    assert code == 128 + signum, stderr[-3000:]
    assert 'Traceback' not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    saved = re.fullmatch(
        rf'interrupted: {signal.Signals(signum).name}: saved step (\d+) in \S+checkpoints\. '
        r'Run the same command to resume\.',
        last,
    )
    assert saved, last
    step = int(saved.group(1))
    assert step >= 30
    checkpoints = os.listdir(tmp_path / 'run' / 'checkpoints')
    assert str(step) in checkpoints and not [c for c in checkpoints if 'tmp' in c]
    if signum == signal.SIGINT:
        return  # The resume is checked once, after SIGTERM.
    for workdir in ('run', 'straight'):
        result = run_main(
            *ARGS, f'--config.num_train_steps={step + 3}', f'--workdir={tmp_path / workdir}'
        )
        assert result.returncode == 0, result.stderr[-3000:]
    resumed = checkpoint_leaves(tmp_path / 'run' / 'checkpoints' / str(step + 3))
    straight = checkpoint_leaves(tmp_path / 'straight' / 'checkpoints' / str(step + 3))
    assert resumed.keys() == straight.keys()
    for path in resumed:
        np.testing.assert_array_equal(resumed[path], straight[path], err_msg=path)
