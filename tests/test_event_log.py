"""TensorBoard events across restarts: a finished run re-run writes nothing, a resumed
run does not repeat steps already logged, a file cut short is read up to its end."""

import collections
import glob
import os

from tensorboard.compat.proto import event_pb2

from nssgan import event_log, train

from helpers import run_main, tiny_mlp_config


def _logged(workdir) -> collections.Counter:
    """How often each (tag, step) was written in the workdir's events."""
    counts = collections.Counter()
    for path in glob.glob(os.path.join(workdir, 'events.out.tfevents.*')):
        for record in event_log._records(path):
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                counts[value.tag, event.step] += 1
    return counts


def test_a_resumed_run_writes_each_step_once(tmp_path):
    # As if killed after logging step 4 but before saving it: the resume from step 2
    # repeats steps 3 and 4, and must not log them again.
    settings = dict(log_every=1, checkpoint_every=2, sample_every=2)
    train.train_and_evaluate(tiny_mlp_config(num_train_steps=4, **settings), str(tmp_path))
    os.rename(tmp_path / 'checkpoints' / '4', tmp_path / 'step-4-lost')
    assert event_log.last_written_step(str(tmp_path)) == 4
    train.train_and_evaluate(tiny_mlp_config(num_train_steps=6, **settings), str(tmp_path))
    counts = _logged(tmp_path)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]
    assert {step for _, step in counts} >= {1, 2, 3, 4, 5, 6}
    assert ('d_loss', 5) in counts and ('samples', 6) in counts


def test_a_file_cut_short_is_read_up_to_where_it_ends(tmp_path):
    train.train_and_evaluate(tiny_mlp_config(num_train_steps=4, log_every=1), str(tmp_path))
    (path,) = glob.glob(str(tmp_path / 'events.out.tfevents.*'))
    data = open(path, 'rb').read()
    for cut in (len(data) - 3, len(data) // 2, 5):
        with open(path, 'wb') as f:
            f.write(data[:cut])
        step = event_log.last_written_step(str(tmp_path))
        assert step is None or 0 < step <= 4


def test_re_running_a_finished_run_says_so_and_writes_nothing(tmp_path):
    args = (
        '--config=configs/ntgan_ring.py:gan',
        '--config.model.mlp_hidden=(8,)',
        '--config.num_train_steps=3',
        '--config.log_grad_norms=False',
        f'--workdir={tmp_path}',
    )
    assert run_main(*args).returncode == 0
    before = sorted(os.listdir(tmp_path))
    again = run_main(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stderr.strip().splitlines()[-1] == f'complete: step 3 of 3 in {tmp_path}.'
    assert 'nothing to train' in again.stderr
    assert sorted(os.listdir(tmp_path)) == before  # No new events file.
