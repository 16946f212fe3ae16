"""Evaluation during training keeps the best checkpoint, which --mode=eval scores."""

import json
import os

import numpy as np

from nssgan import train
from nssgan.evaluation import evaluator, saved_run

from helpers import tiny_dcgan_config, tiny_mlp_config


class _Scores:
    """An evaluator whose metrics are ``scores(samples)``."""

    def __init__(self, scores):
        self._scores = scores

    def embed(self, samples):
        return {'samples': np.asarray(samples)}

    def score(self, embedded):
        return self._scores(embedded['samples'])


def test_training_evaluates_and_keeps_the_best_checkpoint(tmp_path, monkeypatch):
    values = iter([5.0, 3.0, 4.0])  # steps 2, 4 and 6: the best is step 4

    def fake_evaluator(config):
        return _Scores(
            lambda samples: {'frechet_distance': next(values), 'num_samples': float(len(samples))}
        )

    monkeypatch.setattr(evaluator, 'make_evaluator', fake_evaluator)
    config = tiny_dcgan_config(num_train_steps=6)
    config.eval.every, config.eval.num_samples = 2, 20
    train.train_and_evaluate(config, str(tmp_path))
    assert os.listdir(tmp_path / 'checkpoints_best') == ['4']
    with open(tmp_path / 'best_metric.json') as f:
        assert json.load(f) == {'step': 4, 'metric': 'frechet_distance', 'value': 3.0}

    # --mode=eval's function: the best checkpoint, scored on num_samples samples.
    monkeypatch.setattr(
        evaluator,
        'make_evaluator',
        lambda config: _Scores(
            lambda samples: {'num_samples': float(len(samples)), 'mean': float(np.mean(samples))}
        ),
    )
    step, scores = saved_run.evaluate_checkpoint(config, str(tmp_path), 'best')
    assert step == 4 and scores['num_samples'] == 20
    step, _ = saved_run.evaluate_checkpoint(config, str(tmp_path), 'latest')
    assert step == 6


def test_a_corrupt_best_metric_record_is_started_again(tmp_path, monkeypatch):
    values = iter([2.0, 1.0, 3.0])  # steps 2 and 4, then step 6 after the corruption
    monkeypatch.setattr(
        evaluator,
        'make_evaluator',
        lambda config: _Scores(lambda samples: {'modes_covered': next(values)}),
    )
    config = tiny_mlp_config(num_train_steps=4)
    config.eval.every, config.eval.num_samples = 2, 8
    train.train_and_evaluate(config, str(tmp_path))
    assert json.loads((tmp_path / 'best_metric.json').read_text())['step'] == 2
    (tmp_path / 'best_metric.json').write_text('{"step": 2, "val')  # cut mid-write
    config.num_train_steps = 6
    train.train_and_evaluate(config, str(tmp_path))
    assert json.loads((tmp_path / 'best_metric.json').read_text()) == {
        'step': 6,
        'metric': 'modes_covered',
        'value': 3.0,
    }
    assert not [p for p in os.listdir(tmp_path) if '.tmp' in p]
