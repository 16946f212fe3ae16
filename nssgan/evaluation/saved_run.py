"""Scores a saved run: samples from one of its checkpoints, scored by the run's metrics
(``python main.py --mode=eval --config=... --workdir=DIR [--checkpoint=best]``)."""

import ml_collections

from nssgan import checkpointing, validation
from nssgan.evaluation import across_processes
from nssgan.evaluation import evaluator as evaluator_lib


def evaluate_checkpoint(
    config, workdir: str, which: str = 'latest'
) -> tuple[int, dict[str, float]]:
    """(step, metrics) of the ``which`` ('latest' or 'best') checkpoint in ``workdir``."""
    validation.validate(config, num_devices=1, num_processes=1)
    evaluator_lib.check_eval_config(_with_eval_on(config))
    if which not in ('latest', 'best'):
        raise ValueError(f'--checkpoint={which!r} is not valid; choose latest or best.')
    subdir = 'checkpoints' if which == 'latest' else checkpointing.BEST
    state = checkpointing.load_state(config, workdir, subdir=subdir)
    scores = across_processes.score_samples(
        state, config, evaluator_lib.make_evaluator(config), config.eval.num_samples
    )
    return int(state.step), scores


def _with_eval_on(config):
    """``config`` with evaluation on, so its checks apply to an explicit eval run."""
    config = ml_collections.ConfigDict(config.to_dict())
    config.eval.every = max(config.eval.every, 1)
    return config
