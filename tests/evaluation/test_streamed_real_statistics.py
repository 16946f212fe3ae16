"""The real data's FID statistics are accumulated chunk by chunk (a stand-in feature
extractor replaces the Inception, as in test_evaluator.py): the same numbers as the
statistics of all the features at once, with neither all the images nor all the
features held, and the same cache file."""

import json

import numpy as np
import pytest

from nssgan import data
from nssgan.evaluation import evaluator, frechet, inception

OFFSET = 1e4  # A large common offset of the features: the accumulation must not mind.


def _fake_features(monkeypatch, calls):
    projection = np.random.default_rng(0).standard_normal((3 * 16 * 16, 64))

    def features_and_logits(variables, images, batch_size=50):
        calls.append(len(images))
        flat = np.asarray(images, np.float64).reshape(len(images), -1)
        features = np.tanh(flat @ projection) + OFFSET
        return features.astype(np.float32), features[:, :10].astype(np.float32)

    monkeypatch.setattr(inception, 'batched_features_and_logits', features_and_logits)


def _dataset(batch_size):
    return data.make_dataset(
        'photo_patches',
        batch_size=batch_size,
        image_size=16,
        seed=0,
        process_index=0,
        process_count=1,
    )


@pytest.mark.parametrize('num_samples', [150, 85])
def test_streamed_real_statistics_equal_those_of_all_features(tmp_path, monkeypatch, num_samples):
    calls = []
    _fake_features(monkeypatch, calls)
    monkeypatch.setattr(evaluator, 'KID_FEATURES', 70)  # kept rows end inside a chunk
    dataset = _dataset(32)  # 32-image batches, 4 * 10-image chunks: uneven, the last cut
    stats = evaluator.real_statistics(
        dataset,
        None,
        num_samples=num_samples,
        stats_dir=str(tmp_path),
        weights_sha256='a' * 64,
        batch_size=10,
    )
    # Embedded 40 images at a time (the rest last, padded to a batch of 10), never all.
    chunks = [40] * (num_samples // 40)
    rest = num_samples % 40
    assert calls == chunks + ([max(rest, 10)] if rest else [])
    images = np.concatenate([np.asarray(dataset.batch(s)['image']) for s in range(5)])
    all_features = inception.batched_features_and_logits(None, images[:num_samples])[0]
    mu, sigma = frechet.gaussian_statistics(all_features)
    np.testing.assert_allclose(stats['mu'], mu, rtol=1e-14)
    assert np.abs(stats['sigma'] - sigma).max() < 1e-10 * np.abs(sigma).max()
    assert stats['mu'].dtype == stats['sigma'].dtype == np.float64
    np.testing.assert_array_equal(stats['kid_features'], all_features[:70])
    assert stats['kid_features'].dtype == np.float32
    # The cache file: the same keys and arrays as before streaming.
    (path,) = tmp_path.iterdir()
    with np.load(path) as cached:
        assert sorted(cached.files) == ['key', 'kid_features', 'mu', 'sigma']
        assert json.loads(str(cached['key']))['num_samples'] == num_samples
        for name in ('mu', 'sigma', 'kid_features'):
            np.testing.assert_array_equal(cached[name], stats[name])


def test_fewer_samples_than_kid_features_and_than_a_chunk(tmp_path, monkeypatch):
    calls = []
    _fake_features(monkeypatch, calls)
    dataset = _dataset(32)
    stats = evaluator.real_statistics(
        dataset, None, num_samples=20, stats_dir=str(tmp_path), weights_sha256=''
    )
    assert calls == [20]  # one call, unpadded (nothing compiled before it)
    features = inception.batched_features_and_logits(
        None, np.asarray(dataset.batch(0)['image'])[:20]
    )[0]
    np.testing.assert_array_equal(stats['kid_features'], features)
    mu, sigma = frechet.gaussian_statistics(features)
    np.testing.assert_allclose(stats['mu'], mu, rtol=1e-14)
    assert np.abs(stats['sigma'] - sigma).max() < 1e-10 * np.abs(sigma).max()


def test_statistics_merged_across_processes(monkeypatch):
    # Two processes' statistics, exchanged as bytes (process_allgather stands in for
    # the collective), merged in process order; a process without rows adds nothing.
    dim = 6
    monkeypatch.setattr(inception, 'FEATURE_DIM', dim)
    monkeypatch.setattr(evaluator.jax, 'process_count', lambda: 2)
    rng = np.random.default_rng(8)
    rows0, rows1 = rng.normal(size=(40, dim)) + OFFSET, rng.normal(size=(25, dim)) + OFFSET
    sent = []

    def process_allgather(local):
        sent.append(np.array(local))
        return np.stack([sent[0], sent[-1]])  # [process 0's, this call's]

    monkeypatch.setattr(evaluator.multihost_utils, 'process_allgather', process_allgather)
    process0 = frechet.RunningStatistics().update(rows0)
    assert evaluator._merged_across_processes(process0).count == 80  # itself twice
    process1 = frechet.RunningStatistics().update(rows1[:10]).update(rows1[10:])
    mu, sigma = evaluator._merged_across_processes(process1).finalize()
    expected_mu, expected_sigma = frechet.gaussian_statistics(np.concatenate([rows0, rows1]))
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-14)
    assert np.abs(sigma - expected_sigma).max() < 1e-10 * np.abs(expected_sigma).max()
    empty = evaluator._merged_across_processes(frechet.RunningStatistics())
    np.testing.assert_array_equal(empty.finalize()[0], process0.finalize()[0])
    assert empty.count == 40
