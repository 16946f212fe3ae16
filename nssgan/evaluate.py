"""Evaluating a trained run: samples from a checkpoint, scored by the run's metrics.

``python main.py --mode=eval --config=... --workdir=DIR [--checkpoint=best]`` calls
``evaluate_checkpoint``; the training loop uses ``generate_samples`` and the same
``Evaluator`` every ``config.eval.every`` steps.
"""

import functools

import jax
import ml_collections
import numpy as np

from nssgan import checkpointing, data, train
from nssgan.evaluation import evaluator as evaluator_lib

EVAL_SEED_OFFSET = 2  # Eval latents: PRNGKey(seed + 2) (+1 is the sample grid's).


@functools.lru_cache(maxsize=4)
def _sampler(config: ml_collections.FrozenConfigDict):
    return jax.jit(functools.partial(train.generate, config=config))


def generate_samples(state, config, num_samples: int) -> np.ndarray:
    """``num_samples`` samples of G (the EMA generator when enabled), in batches of
    ``config.batch_size`` on fixed latents: the same for every evaluation of a run."""
    frozen = ml_collections.FrozenConfigDict(config)
    sample = _sampler(frozen)
    key = jax.random.PRNGKey(config.seed + EVAL_SEED_OFFSET)
    batches = []
    for i in range(-(-num_samples // config.batch_size)):
        z = jax.random.normal(jax.random.fold_in(key, i),
                              (config.batch_size, config.model.latent_dim))
        batches.append(np.asarray(sample(state, z)))
    return np.concatenate(batches)[:num_samples]


def make_evaluator(config) -> evaluator_lib.Evaluator:
    """The run's ``Evaluator`` (for FID: with this process's whole view of the data)."""
    dataset = None
    if evaluator_lib.uses_inception(config.dataset):
        dataset = data.make_dataset(config.dataset, batch_size=250,
                                    image_size=config.image_size, seed=config.seed,
                                    process_index=0, process_count=1,
                                    data_dir=config.data_dir)
    return evaluator_lib.Evaluator(config, dataset)


def evaluate_checkpoint(config, workdir: str, which: str = 'latest'
                        ) -> tuple[int, dict[str, float]]:
    """(step, metrics) of the ``which`` ('latest' or 'best') checkpoint in ``workdir``."""
    from nssgan import config_checks
    config_checks.validate(config, num_devices=1, num_processes=1)
    evaluator_lib.check_eval_config(_with_eval_on(config))
    if which not in ('latest', 'best'):
        raise ValueError(f"--checkpoint={which!r} is not valid; choose latest or best.")
    subdir = 'checkpoints' if which == 'latest' else checkpointing.BEST
    state = train.load_state(config, workdir, subdir=subdir)
    metrics = make_evaluator(config)(generate_samples(state, config,
                                                      config.eval.num_samples))
    return int(state.step), metrics


def _with_eval_on(config):
    """``config`` with evaluation on, so its checks apply to an explicit eval run."""
    config = ml_collections.ConfigDict(config.to_dict())
    config.eval.every = max(config.eval.every, 1)
    return config
