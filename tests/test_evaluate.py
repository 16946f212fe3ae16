"""Evaluation plumbing: primary metrics, config checks, the FID statistics cache and
the Inception metrics (with a cheap stand-in feature extractor; the network itself is
tested against pytorch-fid's in test_inception.py)."""

import os

import numpy as np
import pytest

from helpers import tiny_dcgan_config
from nssgan import data
from nssgan.evaluation import evaluator, inception


def test_primary_metric_and_improvement():
    config = tiny_dcgan_config()
    assert evaluator.primary_metric(config) == ('frechet_distance', 'min')
    config.dataset = 'ring'
    assert evaluator.primary_metric(config) == ('modes_covered', 'max')
    config.dataset = 'celeb_a'
    assert evaluator.primary_metric(config) == ('fid', 'min')
    assert evaluator.improves(3.0, None, 'min') and evaluator.improves(2.0, 3.0, 'min')
    assert not evaluator.improves(4.0, 3.0, 'min') and evaluator.improves(4.0, 3.0, 'max')
    assert not evaluator.improves(float('nan'), None, 'min')


def test_eval_config_errors_name_the_converter(tmp_path):
    config = tiny_dcgan_config(dataset='photo_patches')
    config.eval.every = 100
    with pytest.raises(ValueError, match='convert_inception'):
        evaluator.check_eval_config(config)
    config.eval.inception_weights = str(tmp_path / 'missing.msgpack')
    with pytest.raises(ValueError, match='does not exist.*convert_inception'):
        evaluator.check_eval_config(config)
    config.eval.every = -1
    with pytest.raises(ValueError, match='config.eval.every'):
        evaluator.check_eval_config(config)
    digits = tiny_dcgan_config()
    digits.eval.every = 100
    evaluator.check_eval_config(digits)  # embedded: no weights needed


def _fake_features(monkeypatch, calls):
    projection = np.random.default_rng(0).standard_normal((3 * 16 * 16, 64))

    def features_and_logits(variables, images, batch_size=50):
        calls.append(len(images))
        flat = np.asarray(images, np.float64).reshape(len(images), -1)
        features = np.tanh(flat @ projection)
        return features, features[:, :10] * 5
    monkeypatch.setattr(inception, 'batched_features_and_logits', features_and_logits)


def test_real_statistics_are_computed_once_and_cached(tmp_path, monkeypatch):
    calls = []
    _fake_features(monkeypatch, calls)
    dataset = data.make_dataset('photo_patches', batch_size=32, image_size=16, seed=0,
                                process_index=0, process_count=1)
    first = evaluator.real_statistics(dataset, None, num_samples=100,
                                      stats_dir=str(tmp_path), batch_size=50)
    assert calls == [100] and first['mu'].shape == (64,)
    assert first['sigma'].shape == (64, 64) and first['kid_features'].shape == (100, 64)
    again = evaluator.real_statistics(dataset, None, num_samples=100,
                                      stats_dir=str(tmp_path))
    assert calls == [100]  # read from the cache
    for k in first:
        np.testing.assert_allclose(again[k], first[k], rtol=1e-6)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ['fid_stats_photo_patches_16px_100_v1.npz']


def test_inception_metrics_on_real_and_on_degenerate_samples(tmp_path, monkeypatch):
    _fake_features(monkeypatch, [])
    dataset = data.make_dataset('photo_patches', batch_size=100, image_size=16, seed=0,
                                process_index=0, process_count=1)
    real = evaluator.real_statistics(dataset, None, num_samples=400,
                                     stats_dir=str(tmp_path))
    held_out = np.concatenate([np.asarray(dataset.batch(s)['image'])
                               for s in range(10, 14)])
    good = evaluator.inception_metrics(held_out, None, real)
    bad = evaluator.inception_metrics(np.zeros_like(held_out), None, real)
    assert set(good) == {'fid', 'inception_score', 'inception_score_std', 'kid', 'kid_std'}
    assert 0 <= good['fid'] < 0.2 * bad['fid']
    assert abs(good['kid']) < 0.2 * bad['kid']


def test_evaluator_scores_embedded_digits_without_inception(tmp_path, monkeypatch):
    monkeypatch.setenv('NSSGAN_CACHE', str(tmp_path))
    config = tiny_dcgan_config()
    dataset = data.make_dataset('digits', batch_size=500, image_size=32, seed=0,
                                process_index=0, process_count=1)
    score = evaluator.Evaluator(config)
    real = score(np.asarray(dataset.batch(0)['image']))
    constant = score(np.zeros((500, 32, 32, 1), np.float32) - 1.0)
    assert real['modes_covered'] == 10 and constant['modes_covered'] <= 1
    assert real['frechet_distance'] < 0.1 * constant['frechet_distance']
    table = evaluator.format_table(real, title='digits')
    assert table.splitlines()[0] == 'digits' and 'frechet_distance' in table


def test_training_evaluates_and_keeps_the_best_checkpoint(tmp_path, monkeypatch):
    import json

    from nssgan import evaluate, train
    values = iter([5.0, 3.0, 4.0])  # steps 2, 4 and 6: the best is step 4

    def fake_evaluator(config):
        return lambda samples: {'frechet_distance': next(values),
                                'num_samples': float(len(samples))}
    monkeypatch.setattr(evaluate, 'make_evaluator', fake_evaluator)
    config = tiny_dcgan_config(num_train_steps=6)
    config.eval.every, config.eval.num_samples = 2, 20
    train.train_and_evaluate(config, str(tmp_path))
    assert os.listdir(tmp_path / 'checkpoints_best') == ['4']
    with open(tmp_path / 'best_metric.json') as f:
        assert json.load(f) == {'step': 4, 'metric': 'frechet_distance', 'value': 3.0}

    # --mode=eval's function: the best checkpoint, scored on num_samples samples.
    monkeypatch.setattr(evaluate, 'make_evaluator', lambda config: lambda samples: {
        'num_samples': float(len(samples)), 'mean': float(np.mean(samples))})
    step, scores = evaluate.evaluate_checkpoint(config, str(tmp_path), 'best')
    assert step == 4 and scores['num_samples'] == 20
    step, _ = evaluate.evaluate_checkpoint(config, str(tmp_path), 'latest')
    assert step == 6


def test_eval_mode_without_a_checkpoint_is_a_one_line_error(tmp_path):
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, os.path.join(root, 'main.py'), '--mode=eval',
         '--config=configs/default.py', f'--workdir={tmp_path}'],
        capture_output=True, text=True, timeout=300, cwd=root,
        env={**os.environ, 'JAX_PLATFORMS': 'cpu', 'TF_CPP_MIN_LOG_LEVEL': '3'})
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: no checkpoint in') and 'checkpoints' in last
