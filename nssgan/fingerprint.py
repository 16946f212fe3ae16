"""The part of a config that determines a run's trajectory, stored with each checkpoint.

A resumed run continues the uninterrupted one exactly only if it uses the same
trajectory config: every field except how often the run reports (logs, samples,
checkpoints), how it is evaluated, and how long it runs. The length counts too when
something is scheduled over it: NSS's and Roth's annealing, a decaying learning rate.
"""

import dataclasses
from typing import Any

import jax.numpy as jnp
import ml_collections
import numpy as np

from nssgan import run_outputs, schemes

# Fields that change what a run writes, never the states it goes through.
OUTPUT_FIELDS = (
    'log_every',
    'log_grad_norms',
    'sample_every',
    'num_samples',
    'checkpoint_every',
    'keep_checkpoints',
    'profile_steps',
    'eval',
)


def length_matters(config: ml_collections.ConfigDict) -> bool:
    """Whether ``config.num_train_steps`` changes the steps themselves: a decaying
    learning rate, or a scheme whose schedule is spread over the run's length."""
    if config.optimizer.get('lr_decay', 'none') != 'none':
        return True
    scheme = schemes.get_scheme(config)
    run = schemes.RunInfo.from_config(config)
    n = config.num_train_steps
    for step in {n // 4, n // 2, (3 * n) // 4}:
        step = jnp.asarray(step, jnp.int32)
        here = scheme.schedule(step, run)
        longer = scheme.schedule(step, dataclasses.replace(run, num_train_steps=2 * n))
        if any(not np.array_equal(here[k], longer[k]) for k in here):
            return True
    return False


def trajectory_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """{'a.b': value} of every field that determines the trajectory (JSON-ready)."""
    flat = run_outputs.flat_hparams(config)
    skip = OUTPUT_FIELDS if length_matters(config) else (*OUTPUT_FIELDS, 'num_train_steps')
    return {k: v for k, v in flat.items() if k.split('.')[0] not in skip}


# Fields added after checkpoints first held a fingerprint, with the value that trains
# as before they existed: a checkpoint without the field was trained with that value.
ADDED_FIELDS = {'compute_dtype': 'float32', 'data_split': None, 'ema_schedule': 'constant'}
# Fields renamed since, with how a saved value reads under the new name.
RENAMED_FIELDS = {'model.d_batchnorm': ('model.d_norm', {True: 'batch', False: 'none'}.get)}


def _renamed(saved: dict[str, Any]) -> dict[str, Any]:
    saved = dict(saved)
    for old, (new, convert) in RENAMED_FIELDS.items():
        if old in saved and new not in saved:
            saved[new] = convert(saved.pop(old))
    return saved


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """'field: saved → current' for every field that differs (or exists in one only)."""
    missing = object()
    saved = _renamed(saved)
    changes = []
    for field in sorted(set(saved) | set(current)):
        before = saved.get(field, ADDED_FIELDS.get(field, missing))
        after = current.get(field, missing)
        if before != after:
            shown = ['(absent)' if v is missing else repr(v) for v in (before, after)]
            changes.append(f'{field}: {shown[0]} → {shown[1]}')
    return changes
