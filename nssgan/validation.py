"""Checks a config before anything is built or compiled.

Every problem is reported as a ``ConfigError`` whose one-line message names the field,
the bad value and what would be valid.
"""

import logging
import math
import os
import socket

import jax
import ml_collections

from nssgan import data, losses, models, schemes
from nssgan.evaluation import evaluator
from nssgan.schemes import RunInfo
from nssgan.schemes.base import is_number
from nssgan.stabilizers import penalties
from nssgan.state import COMPUTE_DTYPES, LR_DECAYS
from nssgan.step import EMA_SCHEDULES, penalty_settings


class ConfigError(ValueError):
    """A config field has a value the trainer cannot use."""


_POSITIVE_INTS = (
    'batch_size',
    'num_train_steps',
    'n_dis',
    'log_every',
    'sample_every',
    'checkpoint_every',
    'keep_checkpoints',
    'num_samples',
)


def _check_choice(field: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(
            f'config.{field}={value!r} is not valid; choose one of: {", ".join(choices)}.'
        )


def validate(
    config: ml_collections.ConfigDict,
    *,
    num_devices: int | None = None,
    num_processes: int | None = None,
) -> 'data.DataSpec':
    """Raises ``ConfigError`` for the first problem found; returns the data spec."""
    _check_choice('dataset', config.dataset, data.DATASETS)
    _check_choice('loss', config.loss, tuple(losses.LOSSES))
    _check_choice('stabilizer.name', config.stabilizer.name, tuple(schemes.SCHEMES))
    for field in _POSITIVE_INTS:
        value = config[field]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f'config.{field}={value!r} must be a positive integer.')
    profile = config.get('profile_steps', (0, 0))
    if not (
        isinstance(profile, (tuple, list))
        and len(profile) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in profile)
        and (profile[0] == 0 or profile[0] <= profile[1])
    ):
        raise ConfigError(
            f'config.profile_steps={profile!r} must be (first, last) steps with '
            f'1 ≤ first ≤ last, or (0, 0) for no profile.'
        )
    if not 0.0 <= config.ema_decay < 1.0:
        raise ConfigError(
            f'config.ema_decay={config.ema_decay!r} must be in [0, 1) '
            '(0 disables the generator EMA).'
        )
    _check_choice('compute_dtype', config.get('compute_dtype', 'float32'), COMPUTE_DTYPES)
    _check_choice('ema_schedule', config.get('ema_schedule', 'constant'), EMA_SCHEDULES)
    _check_choice('optimizer.lr_decay', config.optimizer.get('lr_decay', 'none'), LR_DECAYS)
    for field in ('g_lr', 'd_lr'):
        value = config.optimizer[field]
        if not (is_number(value) and 0 < value < math.inf):
            raise ConfigError(
                f'config.optimizer.{field}={value!r} must be a finite positive number.'
            )
    for field in ('b1', 'b2'):
        value = config.optimizer[field]
        if not (is_number(value) and 0 <= value < 1):
            raise ConfigError(
                f"config.optimizer.{field}={value!r} must be in [0, 1) (Adam's moment decay)."
            )

    try:
        spec = data.dataset_spec(config.dataset, config.image_size)
    except data.DatasetError as e:
        raise ConfigError(str(e)) from None
    try:
        models.check_model(config.model, spec)
        schemes.check_sections(config.stabilizer)
        schemes.get_scheme(config).check(RunInfo.from_config(config, spec))
        penalty_name, penalty_weight = penalty_settings(config)
        penalties.check_penalty(penalty_name, config.loss, spec)
        if not 0 <= penalty_weight < math.inf:
            raise ValueError(
                f'config.penalty.weight={penalty_weight!r} must be a finite number ≥ 0.'
            )
        if 'eval' in config:
            evaluator.check_eval_config(config)
    except ValueError as e:
        raise ConfigError(str(e)) from None

    num_devices = jax.device_count() if num_devices is None else num_devices
    num_processes = jax.process_count() if num_processes is None else num_processes
    if config.batch_size % num_devices:
        raise ConfigError(
            f'config.batch_size={config.batch_size} is not divisible by the '
            f'{num_devices} devices; use a multiple of {num_devices}.'
        )
    g_batch_size = config.get('g_batch_size', 0)
    if not isinstance(g_batch_size, int) or g_batch_size < 0 or (g_batch_size % num_devices):
        raise ConfigError(
            f'config.g_batch_size={g_batch_size!r} must be 0 (same as batch_size) or a '
            f'positive multiple of the {num_devices} devices.'
        )
    if config.batch_size % num_processes:
        raise ConfigError(
            f'config.batch_size={config.batch_size} is not divisible by the '
            f'{num_processes} processes; use a multiple of {num_processes}.'
        )
    if config.get('compute_dtype', 'float32') == 'bfloat16':
        penalty_name, _ = penalty_settings(config)
        if schemes.get_scheme(config).input_gradients or penalty_name != 'none':
            logging.warning(
                'config.compute_dtype=bfloat16 with %s: ∇ₓD is computed in bfloat16, a few '
                'percent off float32 in its per-sample norm (see README, Precision); use '
                'float32 where the exact penalty matters.',
                config.stabilizer.name if penalty_name == 'none' else f'penalty {penalty_name}',
            )
    return spec


def check_workdir(workdir) -> None:
    """Raises ``ConfigError`` unless ``workdir`` names a directory that exists (or can
    be created) and that this process can write to; creates it."""
    if not workdir or not str(workdir).strip():
        raise ConfigError(
            '--workdir is empty; give the directory for checkpoints, samples and logs, '
            'e.g. --workdir=runs/nss.'
        )
    workdir = os.fspath(workdir)
    probe = os.path.join(workdir, f'.write-test-{socket.gethostname()}-{os.getpid()}')
    try:
        os.makedirs(workdir, exist_ok=True)
        with open(probe, 'w'):
            pass
        os.remove(probe)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise ConfigError(
            f'--workdir={workdir} cannot be used ({reason}: {e.filename or workdir}); '
            f'give a directory this process can create and write to.'
        ) from None
