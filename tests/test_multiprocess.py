"""Two processes with two CPU devices each train one run through ``main.py`` (CPU
collectives), as on a pod slice: a SIGTERM to one of them stops both at the same
step with a checkpoint, and the resumed run equals the uninterrupted one bitwise; the
processes hold the same state; one step equals one process with the same devices;
only process 0 writes the run's files; evaluation split over the processes scores the
samples one process would score."""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from nssgan import checkpointing, sampling
from nssgan.evaluation import evaluator as evaluator_lib

from helpers import MAIN_ENV, ROOT, assert_trees_equal, flat_leaves, load_config, run_steps

DRIVER = os.path.join(ROOT, 'tests', 'multiprocess_driver.py')
STEPS = 12
# Flags of the run: the tiny ring MLP with two discriminator updates per step (so the
# data order across processes matters), evaluation and samples on.
RUN = dict(
    num_train_steps=STEPS,
    n_dis=2,
    batch_size=16,
    log_every=1,
    sample_every=4,
    checkpoint_every=4,
    keep_checkpoints=20,
    num_samples=16,
)
RUN_EVAL = {'eval.every': 4, 'eval.num_samples': 100}
# After one step, two processes and one agree to float32 rounding of reductions done
# in another order, with one exception: a bias feeding BatchNorm has a true gradient of
# 0, so its computed gradient is rounding noise, which Adam's first update turns into
# ±lr; such parameters (those whose first moment is below NOISE_MOMENT) may differ by
# 2·lr per update, and D's BatchNorm running mean, which sees them, by NOISE_STATS.
# Measured: gradients (first moments) within 1.7e-7, parameters 1.9e-9 (others
# 2.9e-4 ≤ 2·lr·n_dis), running means 3.3e-5.
ONE_STEP_RTOL, ONE_STEP_ATOL = 1e-5, 1e-6
NOISE_MOMENT, NOISE_STATS = 1e-6, 1e-4
MODEL = {'model.mlp_hidden': (32, 32), 'model.latent_dim': 8}


def _config():
    """The config ``main.py`` gets from ``_flags``."""
    config = load_config('ntgan_ring.py', 'gan')
    for field, value in {**RUN, **RUN_EVAL, **MODEL}.items():
        *parents, name = field.split('.')
        node = config
        for parent in parents:
            node = node[parent]
        node[name] = value
    return config


def _flags(workdir, **overrides):
    values = {**RUN, **RUN_EVAL, **MODEL, **overrides}
    flags = ['--config=configs/ntgan_ring.py:gan', f'--workdir={workdir}']
    return flags + [f'--config.{k}={v}' for k, v in values.items()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('localhost', 0))
        return s.getsockname()[1]


def _start(report_dir, workdir, **overrides) -> list[subprocess.Popen]:
    port = _free_port()
    env = {**MAIN_ENV, 'JAX_NUM_CPU_DEVICES': '2'}
    return [
        subprocess.Popen(
            [sys.executable, DRIVER, str(report_dir), *_flags(workdir, **overrides)]
            + [f'--coordinator_address=localhost:{port}', '--num_processes=2']
            + [f'--process_id={i}'],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]


def _finish(processes, timeout=240) -> list[tuple[int, str]]:
    results = []
    for process in processes:
        _, stderr = process.communicate(timeout=timeout)
        results.append((process.returncode, stderr))
    return results


def _run(report_dir, workdir, **overrides):
    os.makedirs(report_dir, exist_ok=True)
    return _finish(_start(report_dir, workdir, **overrides))


def _state(report_dir, process):
    with np.load(os.path.join(report_dir, f'state_{process}.npz')) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    """A two-process run to ``STEPS`` with a checkpoint after every step."""
    root = tmp_path_factory.mktemp('uninterrupted')
    results = _run(root / 'report', root / 'run', checkpoint_every=1)
    for code, stderr in results:
        assert code == 0, stderr[-3000:]
        assert stderr.strip().splitlines()[-1].startswith(f'complete: step {STEPS}')
    return root


def test_both_processes_hold_the_same_state_and_one_step_equals_one_process(uninterrupted):
    report = uninterrupted / 'report'
    assert_trees_equal(_state(report, 0), _state(report, 1))
    # The checkpoint (written by both processes) restores in this one process.
    config = _config()
    restored = jax.device_get(checkpointing.load_state(config, str(uninterrupted / 'run'), 1))
    alone, _ = run_steps(config, 1, devices=jax.devices()[:4])
    _assert_one_step_close(flat_leaves(restored), flat_leaves(alone), config)


def _assert_one_step_close(got, want, config):
    assert got.keys() == want.keys()
    adam_bound = 2 * max(config.optimizer.g_lr, config.optimizer.d_lr) * config.n_dis
    for name, value in want.items():
        atol = ONE_STEP_ATOL
        moment = name.replace('.params', '.opt_state[0].mu')
        if '.params' in name and np.max(np.abs(want[moment]), initial=0) < NOISE_MOMENT:
            atol = adam_bound
        elif 'batch_stats' in name and "['mean']" in name:
            atol = NOISE_STATS
        np.testing.assert_allclose(got[name], value, rtol=ONE_STEP_RTOL, atol=atol, err_msg=name)


def test_only_process_0_writes_the_run_s_files(uninterrupted):
    report, run = uninterrupted / 'report', uninterrupted / 'run'
    written = [json.loads((report / f'writes_{p}.json').read_text()) for p in range(2)]
    assert written[1] == []
    assert {os.path.basename(p) for p in written[0]} >= {
        'step_0000004.png',
        'step_0000012.png',
    }
    events = glob.glob(str(run / 'events.out.tfevents.*'))
    assert len(events) == 1
    assert os.path.exists(run / 'config.json') and os.path.exists(run / 'best_metric.json')


def test_evaluation_split_over_processes_scores_what_one_process_would(uninterrupted):
    report, run = uninterrupted / 'report', uninterrupted / 'run'
    config = _config()
    state = checkpointing.load_state(config, str(run))
    alone = sampling.generate_samples(state, config, 100)
    scores_alone = evaluator_lib.make_evaluator(config)(alone)
    for process in range(2):
        with np.load(report / f'eval_{process}.npz') as f:
            np.testing.assert_allclose(f['samples'], alone, rtol=1e-5, atol=1e-6)
            scores = dict(zip(f['metric_names'].tolist(), f['metric_values'].tolist()))
        assert scores.keys() == scores_alone.keys()
        for name in scores:
            np.testing.assert_allclose(scores[name], scores_alone[name], rtol=1e-6, err_msg=name)


def test_sigterm_to_one_process_stops_both_at_one_step_and_the_resume_is_bitwise(
    uninterrupted, tmp_path
):
    report, run = tmp_path / 'report', tmp_path / 'run'
    os.makedirs(report)
    no_eval = {'eval.every': 0}  # Evaluation is the fixture's to test; it adds nothing here.
    processes = _start(report, run, **no_eval)
    for line in processes[0].stderr:  # Process 0 has logged step 5: stop process 1.
        logged = re.search(r'\] \[(\d+)\] d_', line)
        if logged and int(logged.group(1)) >= 5:
            break
    processes[1].send_signal(signal.SIGTERM)
    results = _finish(processes)
    saved = set()
    for code, stderr in results:
        last = stderr.strip().splitlines()[-1]
        assert code == 128 + signal.SIGTERM, stderr[-3000:]
        stop = re.match(r'interrupted: SIGTERM: saved step (\d+) in ', last)
        assert stop, stderr[-3000:]
        saved.add(int(stop.group(1)))
    (step,) = saved  # The same step on both processes.
    assert 5 <= step < STEPS
    assert max(int(d) for d in os.listdir(run / 'checkpoints') if d.isdigit()) == step

    for code, stderr in _run(report, run, **no_eval):
        assert code == 0, stderr[-3000:]
    assert_trees_equal(_state(report, 0), _state(report, 1))
    assert_trees_equal(_state(report, 0), _state(uninterrupted / 'report', 0))
