"""Evaluation plumbing: primary metrics, config checks, the FID statistics cache and
the Inception metrics (with a cheap stand-in feature extractor; the network itself is
tested against pytorch-fid's in test_inception.py)."""

import functools
import hashlib
import os

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
    # A file that exists but is not converted weights is refused before training.
    (tmp_path / 'garbage.msgpack').write_bytes(b'not weights')
    config.eval.inception_weights = str(tmp_path / 'garbage.msgpack')
    with pytest.raises(ValueError, match='not a converted FID Inception.*convert_inception'):
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


def _photo_patches(seed=0, batch_size=32):
    return data.make_dataset(
        'photo_patches',
        batch_size=batch_size,
        image_size=16,
        seed=seed,
        process_index=0,
        process_count=1,
    )


def test_real_statistics_are_computed_once_and_cached(tmp_path, monkeypatch):
    calls = []
    _fake_features(monkeypatch, calls)
    dataset = _photo_patches()
    stats = functools.partial(
        evaluator.real_statistics, stats_dir=str(tmp_path), weights_sha256='a' * 64
    )
    first = stats(dataset, None, num_samples=100, batch_size=50)
    assert calls == [100] and first['mu'].shape == (64,)
    assert first['sigma'].shape == (64, 64) and first['kid_features'].shape == (100, 64)
    again = stats(dataset, None, num_samples=100)
    assert calls == [100]  # read from the cache
    for k in first:
        np.testing.assert_allclose(again[k], first[k], rtol=1e-6)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith('fid_stats_photo_patches_16px_100_')
    # A truncated cache file is recomputed (and rewritten), not a crash.
    files[0].write_bytes(files[0].read_bytes()[:100])
    recomputed = stats(dataset, None, num_samples=100)
    assert calls == [100, 100]
    np.testing.assert_allclose(recomputed['mu'], first['mu'], rtol=1e-6)
    assert list(tmp_path.iterdir()) == files


def test_cached_statistics_are_never_reused_for_other_weights_or_data(tmp_path, monkeypatch):
    calls = []
    _fake_features(monkeypatch, calls)
    stats = functools.partial(evaluator.real_statistics, num_samples=100, stats_dir=str(tmp_path))
    stats(_photo_patches(), None, weights_sha256='a' * 64)
    stats(_photo_patches(), None, weights_sha256='a' * 64)
    assert len(calls) == 1
    stats(_photo_patches(), None, weights_sha256='b' * 64)  # other Inception weights
    stats(_photo_patches(seed=1), None, weights_sha256='a' * 64)  # another data order
    assert len(calls) == 3 and len(list(tmp_path.iterdir())) == 3
    # A cache file whose stored key does not match (renamed, or a hash collision) is
    # recomputed, not used.
    files = sorted(tmp_path.iterdir(), key=os.path.getmtime)
    os.replace(files[-1], files[0])
    stats(_photo_patches(), None, weights_sha256='a' * 64)
    assert len(calls) == 4


def test_the_statistics_key_names_source_preprocessing_and_weights():
    key = evaluator.statistics_key(_photo_patches(seed=3), 100, 'c' * 64)
    assert key == {
        'dataset': 'photo_patches',
        'split': 'train',
        'data_dir': '',
        'seed': 3,
        'image_size': 16,
        'preprocessing': data.PREPROCESSING_VERSION,
        'num_samples': 100,
        'inception_sha256': 'c' * 64,
        'version': evaluator.STATS_VERSION,
    }


def test_weights_checksum_is_the_files_sha256(tmp_path):
    path = tmp_path / 'w.msgpack'
    path.write_bytes(b'weights' * 100_000)
    assert evaluator.weights_checksum(str(path)) == hashlib.sha256(b'weights' * 100_000).hexdigest()


def test_inception_metrics_on_real_and_on_degenerate_samples(tmp_path, monkeypatch):
    _fake_features(monkeypatch, [])
    dataset = data.make_dataset(
        'photo_patches', batch_size=100, image_size=16, seed=0, process_index=0, process_count=1
    )
    real = evaluator.real_statistics(
        dataset, None, num_samples=400, stats_dir=str(tmp_path), weights_sha256=''
    )
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
