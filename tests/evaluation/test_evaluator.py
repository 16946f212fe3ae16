"""Evaluation plumbing: primary metrics, config checks, the FID statistics cache and
the Inception metrics (with a cheap stand-in feature extractor; the network itself is
tested against pytorch-fid's in test_inception.py)."""

import numpy as np
import pytest

from nssgan import data
from nssgan.evaluation import evaluator, inception

from helpers import tiny_dcgan_config


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
    dataset = data.make_dataset(
        'photo_patches', batch_size=32, image_size=16, seed=0, process_index=0, process_count=1
    )
    first = evaluator.real_statistics(
        dataset, None, num_samples=100, stats_dir=str(tmp_path), batch_size=50
    )
    assert calls == [100] and first['mu'].shape == (64,)
    assert first['sigma'].shape == (64, 64) and first['kid_features'].shape == (100, 64)
    again = evaluator.real_statistics(dataset, None, num_samples=100, stats_dir=str(tmp_path))
    assert calls == [100]  # read from the cache
    for k in first:
        np.testing.assert_allclose(again[k], first[k], rtol=1e-6)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == ['fid_stats_photo_patches_16px_100_v1.npz']
    # A truncated cache file is recomputed (and rewritten), not a crash.
    files[0].write_bytes(files[0].read_bytes()[:100])
    recomputed = evaluator.real_statistics(dataset, None, num_samples=100, stats_dir=str(tmp_path))
    assert calls == [100, 100]
    np.testing.assert_allclose(recomputed['mu'], first['mu'], rtol=1e-6)
    assert [f.name for f in tmp_path.iterdir()] == ['fid_stats_photo_patches_16px_100_v1.npz']


def test_inception_metrics_on_real_and_on_degenerate_samples(tmp_path, monkeypatch):
    _fake_features(monkeypatch, [])
    dataset = data.make_dataset(
        'photo_patches', batch_size=100, image_size=16, seed=0, process_index=0, process_count=1
    )
    real = evaluator.real_statistics(dataset, None, num_samples=400, stats_dir=str(tmp_path))
    held_out = np.concatenate([np.asarray(dataset.batch(s)['image']) for s in range(10, 14)])
    good = evaluator.inception_metrics(held_out, None, real)
    bad = evaluator.inception_metrics(np.zeros_like(held_out), None, real)
    assert set(good) == {'fid', 'inception_score', 'inception_score_std', 'kid', 'kid_std'}
    assert 0 <= good['fid'] < 0.2 * bad['fid']
    assert abs(good['kid']) < 0.2 * bad['kid']


def test_evaluator_scores_embedded_digits_without_inception(tmp_path, monkeypatch):
    monkeypatch.setenv('NSSGAN_CACHE', str(tmp_path))
    config = tiny_dcgan_config()
    dataset = data.make_dataset(
        'digits', batch_size=500, image_size=32, seed=0, process_index=0, process_count=1
    )
    score = evaluator.Evaluator(config)
    real = score(np.asarray(dataset.batch(0)['image']))
    constant = score(np.zeros((500, 32, 32, 1), np.float32) - 1.0)
    assert real['modes_covered'] == 10 and constant['modes_covered'] <= 1
    assert real['frechet_distance'] < 0.1 * constant['frechet_distance']
    table = evaluator.format_table(real, title='digits')
    assert table.splitlines()[0] == 'digits' and 'frechet_distance' in table
