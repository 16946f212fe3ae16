"""Evaluation during training, and the run's best checkpoint by its primary metric."""

import json
import logging
import os

import jax

from nssgan import checkpointing, run_outputs
from nssgan.evaluation import across_processes
from nssgan.evaluation import evaluator as evaluator_lib
from nssgan.state import GANState


class BestCheckpoint:
    """Evaluates the run and keeps its best state by the primary metric in
    ``<workdir>/checkpoints_best``; the best value so far is in ``best_metric.json``."""

    def __init__(self, config, workdir: str):
        self.config = config
        self.metric, self.direction = evaluator_lib.primary_metric(config)
        self.checkpointer = checkpointing.Checkpointer(
            workdir, max_to_keep=1, subdir=checkpointing.BEST
        )
        self.record = os.path.join(workdir, 'best_metric.json')
        self.best = None
        if os.path.exists(self.record):
            try:
                with open(self.record) as f:
                    self.best = float(json.load(f)['value'])
            except (OSError, ValueError, KeyError, TypeError) as e:
                logging.warning(
                    '%s is unreadable (%s: %s); the next evaluation starts the record again.',
                    self.record,
                    type(e).__name__,
                    e,
                )
        self._evaluator = None

    def evaluate(self, state: GANState, step: int) -> dict[str, float]:
        """Scores ``state`` (each process generating and embedding its share of the
        samples); saves it as the best when it improves the metric."""
        if self._evaluator is None:
            self._evaluator = evaluator_lib.make_evaluator(self.config)
        scores = across_processes.score_samples(
            state, self.config, self._evaluator, self.config.eval.num_samples
        )
        value = float(scores[self.metric])
        logging.info('Step %d: %s', step, evaluator_lib.format_table(scores))
        if evaluator_lib.improves(value, self.best, self.direction):
            self.best = value
            self.checkpointer.save(step, state)
            if jax.process_index() == 0:
                record = {'step': step, 'metric': self.metric, 'value': value}
                run_outputs.write_text_atomic(self.record, json.dumps(record))
        return scores
