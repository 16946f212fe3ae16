"""One trainer per workdir: a second one stops with the holder's host and pid; a lock
left by a process that is gone is taken over; the lock goes when the run ends."""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from nssgan import train, workdir_lock

from helpers import assert_one_line_error, run_main, start_main_until_step, tiny_mlp_config


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait()
    return process.pid


def test_a_held_lock_stops_a_second_holder_and_is_released(tmp_path):
    with workdir_lock.WorkdirLock(tmp_path) as lock:
        holder = json.loads(open(lock.path).read())
        assert holder['pid'] == os.getpid() and holder['host'] == socket.gethostname()
        with pytest.raises(
            workdir_lock.WorkdirInUseError,
            match=rf'in use by another trainer \(host {socket.gethostname()}, pid '
            rf'{os.getpid()}, since .*delete \S+trainer.lock',
        ):
            workdir_lock.WorkdirLock(tmp_path).acquire()
    assert not os.path.exists(lock.path)


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / workdir_lock.LOCK_NAME
    path.write_text(json.dumps({'host': socket.gethostname(), 'pid': _dead_pid()}))
    with workdir_lock.WorkdirLock(tmp_path):
        assert json.loads(path.read_text())['pid'] == os.getpid()


def test_a_reused_pid_does_not_keep_a_stale_lock(tmp_path):
    # The pid is alive (ours) but started at another time: a different process.
    path = tmp_path / workdir_lock.LOCK_NAME
    holder = {'host': socket.gethostname(), 'pid': os.getpid(), 'process_start': '1'}
    path.write_text(json.dumps(holder))
    with workdir_lock.WorkdirLock(tmp_path):
        assert json.loads(path.read_text())['process_start'] != '1'


def test_a_lock_held_on_another_host_is_not_taken(tmp_path):
    path = tmp_path / workdir_lock.LOCK_NAME
    path.write_text(json.dumps({'host': 'elsewhere', 'pid': _dead_pid(), 'since': 'noon'}))
    with pytest.raises(workdir_lock.WorkdirInUseError, match='host elsewhere'):
        train.train_and_evaluate(tiny_mlp_config(), str(tmp_path))
    assert not os.path.exists(tmp_path / 'checkpoints')


def test_a_second_trainer_process_on_a_busy_workdir_stops_with_one_line(tmp_path):
    args = (
        '--config=configs/ntgan_ring.py:gan',
        '--config.model.mlp_hidden=(8,)',
        '--config.log_every=5',
        '--config.log_grad_norms=False',
        '--config.num_train_steps=1000000',
        f'--workdir={tmp_path}',
    )
    first = start_main_until_step(*args)  # Training.
    try:
        second = run_main(*args, '--config.seed=1')
        assert_one_line_error(second, f'host {socket.gethostname()}, pid {first.pid}')
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
        assert first.returncode == 128 + signal.SIGTERM
    finally:
        first.kill()
    assert not os.path.exists(tmp_path / workdir_lock.LOCK_NAME)


_RACER = r"""
import json, os, sys
from nssgan import workdir_lock
root, rounds = sys.argv[1], int(sys.argv[2])
print('ready', flush=True)
sys.stdin.readline()
outcomes = []
for i in range(rounds):
    try:
        workdir_lock.WorkdirLock(os.path.join(root, str(i))).acquire()
        outcomes.append('took it')
    except workdir_lock.WorkdirInUseError as e:
        outcomes.append('unnamed' if 'a trainer that is starting' in str(e) else 'named')
print(json.dumps(outcomes))
"""


def test_trainers_starting_together_get_one_lock_and_the_others_name_its_holder(tmp_path):
    # Four processes race for each of 300 fresh workdirs. A lock created empty and then
    # written lets racers find it unreadable (about 5% to 100% of rounds measured).
    racers, rounds = 4, 300
    for i in range(rounds):
        os.makedirs(tmp_path / str(i))
    processes = [
        subprocess.Popen(
            [sys.executable, '-c', _RACER, str(tmp_path), str(rounds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(racers)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == 'ready'
    for process in processes:
        process.stdin.write('go\n')
        process.stdin.flush()
    outcomes = [json.loads(process.communicate(timeout=120)[0]) for process in processes]
    for workdir, taken in enumerate(zip(*outcomes)):
        assert sorted(taken) == ['named'] * (racers - 1) + ['took it'], (workdir, taken)
    assert not list(tmp_path.glob('*/*.tmp'))
