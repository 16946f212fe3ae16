"""SIGTERM and SIGINT sent to a real training process at several moments: it finishes
the step, saves the live state, says so in one line and exits with 128 + the signal's
number; a second Ctrl-C does not break the save; every resumed run equals the
uninterrupted one bitwise."""

import os
import re
import signal
import time

import numpy as np

from helpers import checkpoint_leaves, run_main, start_main_until_step

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


def _train_until_signalled(workdir, signum, after_step=30, times=1, extra=()):
    """Starts main.py (with ``extra`` flags), sends ``signum`` ``times`` times (0.1 s
    apart) once it logged a step ≥ ``after_step``; returns (exit code, stderr after the
    signal)."""
    process = start_main_until_step(
        *ARGS,
        *extra,
        '--config.num_train_steps=1000000',
        f'--workdir={workdir}',
        step=after_step,
    )
    try:
        for i in range(times):
            if i:
                time.sleep(0.1)
            process.send_signal(signum)
        _, rest = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, rest


# (signal, times sent, extra flags): SIGTERM during training steps; a double Ctrl-C with a
# checkpoint saved after every step, so that the signals land while an asynchronous save
# is being written; and SIGKILL there, most likely in the middle of a save: that run
# resumes from the last finalized checkpoint, taking over the lock the dead process left.
MOMENTS = [
    (signal.SIGTERM, 1, ()),
    (signal.SIGINT, 2, ('--config.checkpoint_every=1', '--config.keep_checkpoints=2')),
    (signal.SIGKILL, 1, ('--config.checkpoint_every=1',)),
]


def test_signals_save_the_live_state_and_every_resumed_run_is_bitwise_equal(tmp_path):
    stops = []
    for i, (signum, times, extra) in enumerate(MOMENTS):
        code, stderr = _train_until_signalled(tmp_path / str(i), signum, times=times, extra=extra)
        checkpoints = os.listdir(tmp_path / str(i) / 'checkpoints')
        if signum == signal.SIGKILL:
            assert code == -signal.SIGKILL
            assert os.path.exists(tmp_path / str(i) / 'trainer.lock')
            stops.append(max(int(c) for c in checkpoints if c.isdigit()))
            continue
        assert code == 128 + signum, stderr[-3000:]
        assert 'Traceback' not in stderr, stderr[-3000:]
        last = stderr.strip().splitlines()[-1]
        saved = re.fullmatch(
            rf'interrupted: {signal.Signals(signum).name}: saved step (\d+) in '
            r'\S+checkpoints\. Run the same command to resume\.',
            last,
        )
        assert saved, last
        stops.append(int(saved.group(1)))
        assert str(stops[-1]) in checkpoints and not [c for c in checkpoints if 'tmp' in c]
        assert stops[-1] >= 30
    # Every interrupted run, resumed, reaches the same state as one uninterrupted run.
    target = max(stops) + 3
    for workdir in [*map(str, range(len(MOMENTS))), 'straight']:
        result = run_main(
            *ARGS, f'--config.num_train_steps={target}', f'--workdir={tmp_path / workdir}'
        )
        assert result.returncode == 0, result.stderr[-3000:]
    straight = checkpoint_leaves(tmp_path / 'straight' / 'checkpoints' / str(target))
    for i in range(len(MOMENTS)):
        resumed = checkpoint_leaves(tmp_path / str(i) / 'checkpoints' / str(target))
        assert resumed.keys() == straight.keys()
        for path in resumed:
            np.testing.assert_array_equal(resumed[path], straight[path], err_msg=f'{i} {path}')
