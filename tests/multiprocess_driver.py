"""``main.py`` as one process of a multi-process test run, which also reports what the
test compares: ``python tests/multiprocess_driver.py REPORT_DIR MAIN_ARGS...``.

Runs ``main.py``'s ``main`` unchanged and, into ``REPORT_DIR``, writes per process:
``state_<p>.npz`` (this process's copy of the final state), ``eval_<p>.npz`` (the
evaluation samples gathered across processes, and their metrics) and
``writes_<p>.json`` (the files under the workdir this process opened for writing,
outside the checkpoint directories, whose files every process writes a part of, and
but the probe file with which each process checks that it can write there).
"""

import builtins
import functools
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import app  # noqa: E402

import main  # noqa: E402
from nssgan import sampling, train  # noqa: E402
from nssgan.evaluation import across_processes  # noqa: E402
from nssgan.evaluation import evaluator as evaluator_lib  # noqa: E402

from helpers import flat_leaves  # noqa: E402

EVAL_SAMPLES = 100

report_dir = sys.argv.pop(1)
writes = []
_open = builtins.open


def _recording_open(file, mode='r', *args, **kwargs):
    if any(m in mode for m in 'wax+'):
        writes.append(os.path.abspath(os.fspath(file)))
    return _open(file, mode, *args, **kwargs)


def _train_and_report(config, workdir, **kwargs):
    process = jax.process_index()
    try:
        state = _train_and_evaluate(config, workdir, **kwargs)
    finally:
        workdir = os.path.abspath(workdir)
        own = [
            path
            for path in writes
            if path.startswith(workdir + os.sep)
            and os.sep + 'checkpoints' not in path
            and not os.path.basename(path).startswith('.write-test-')  # Each checks access.
        ]
        with _open(os.path.join(report_dir, f'writes_{process}.json'), 'w') as f:
            json.dump(own, f)
    local = across_processes.local_copy(state)
    np.savez(os.path.join(report_dir, f'state_{process}.npz'), **flat_leaves(local))
    gathered = across_processes.embed_batches(
        functools.partial(sampling.sample_batches, local, config),
        lambda samples: {'samples': samples},
        EVAL_SAMPLES,
        config.batch_size,
    )['samples']
    scores = across_processes.score_samples(
        state, config, evaluator_lib.make_evaluator(config), EVAL_SAMPLES
    )
    np.savez(
        os.path.join(report_dir, f'eval_{process}.npz'),
        samples=gathered,
        metric_names=np.array(sorted(scores)),
        metric_values=np.array([scores[k] for k in sorted(scores)]),
    )
    return state


_train_and_evaluate = train.train_and_evaluate
train.train_and_evaluate = _train_and_report
builtins.open = _recording_open

if __name__ == '__main__':
    app.run(main.main, flags_parser=main.parse_flags)
