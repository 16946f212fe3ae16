"""Scoring a generator: the metrics of a run's dataset, its primary metric, and the
cached real-data statistics FID needs.

* Embedded datasets with known structure (mixtures, Hadamard, digits, colour digits):
  ``embedded_metrics``; no Inception weights needed.
* Image datasets (the TFDS sets and ``photo_patches``): FID, IS and KID with the FID
  Inception, whose converted weights ``config.eval.inception_weights`` names. The real
  data's pool3 mean and covariance (and a subset of its features, for KID) are
  computed once per dataset, resolution and sample count and kept as ``.npz`` in
  ``config.eval.stats_dir``.

The papers' protocol: FID and IS on 10,000 (NSS, Roth: 10k; GN/PGN: 50k for CIFAR-10
and STL-10) generated samples against the training set's statistics, IS with 10
splits, each reported as mean ± std over independent runs (20 in the NSS paper).
"""

import hashlib
import json
import logging
import math
import os
import zipfile

import jax
import numpy as np
from jax.experimental import multihost_utils

from nssgan import data
from nssgan.evaluation import across_processes, digit_classifier, embedded, inception
from nssgan.evaluation.frechet import RunningStatistics, frechet_distance, gaussian_statistics
from nssgan.evaluation.scores import inception_score, kernel_inception_distance
from nssgan.sharding import make_mesh

STATS_VERSION = 2
KID_FEATURES = 5_000  # Real features kept for KID (its subsets hold 1,000).
STREAM_BATCHES = 4  # Inception batches of real images embedded at a time.

# The metric that picks the best checkpoint, per dataset kind, and its direction.
EMBEDDED_PRIMARY = {
    'ring': ('modes_covered', 'max'),
    'grid': ('modes_covered', 'max'),
    'submanifold7': ('modes_covered', 'max'),
    'hadamard': ('w1_mean', 'min'),
    'digits': ('frechet_distance', 'min'),
    'color_digits': ('frechet_distance', 'min'),
}
INCEPTION_PRIMARY = ('fid', 'min')


def uses_inception(dataset: str) -> bool:
    return dataset not in embedded.SCORED_DATASETS


def primary_metric(config) -> tuple[str, str]:
    """(name, 'min' | 'max') of the metric that ranks checkpoints for ``config``."""
    return EMBEDDED_PRIMARY.get(config.dataset, INCEPTION_PRIMARY)


def improves(value: float, best: float | None, direction: str) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing yet; NaN never beats)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best if direction == 'min' else value > best


def check_eval_config(config) -> None:
    """Raises ValueError (naming the field) when evaluation is asked for but cannot run."""
    settings = config.eval
    if settings.every < 0 or settings.num_samples < 1:
        raise ValueError('config.eval.every must be ≥ 0 (0: off) and config.eval.num_samples ≥ 1.')
    if settings.every and uses_inception(config.dataset):
        path = settings.inception_weights
        if not path:
            raise ValueError(
                f'config.eval.every={settings.every} on {config.dataset!r} needs FID '
                f'Inception weights: set config.eval.inception_weights to a file made '
                f'by `{inception.converter_command()}` (or config.eval.every=0).'
            )
        if not os.path.exists(path):
            raise ValueError(
                f'config.eval.inception_weights={path!r} does not exist; make it with '
                f'`{inception.converter_command(path)}`.'
            )
        inception.load_inception(path)  # Its one-line error names the converter.


def weights_checksum(path: str) -> str:
    """SHA-256 of the file at ``path`` (the FID Inception weights)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def statistics_key(dataset, num_samples: int, weights_sha256: str) -> dict:
    """What the real statistics depend on: the data source (dataset, split, data_dir,
    seed), its preprocessing (resolution, pipeline version), the sample count and the
    Inception weights."""
    return {
        'dataset': dataset.spec.name,
        'split': getattr(dataset, 'split', 'train'),
        'data_dir': os.path.abspath(dataset.data_dir) if getattr(dataset, 'data_dir', None) else '',
        'seed': int(dataset.seed),
        'image_size': int(dataset.spec.shape[0]),
        'preprocessing': data.PREPROCESSING_VERSION,
        'num_samples': int(num_samples),
        'inception_sha256': weights_sha256,
        'version': STATS_VERSION,
    }


def _stats_path(stats_dir: str, key: dict) -> str:
    name = key['dataset'].replace('/', '_')
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(
        stats_dir, f'fid_stats_{name}_{key["image_size"]}px_{key["num_samples"]}_{digest}.npz'
    )


def real_statistics(
    dataset,
    variables,
    *,
    num_samples: int,
    stats_dir: str,
    weights_sha256: str,
    batch_size: int = 250,
) -> dict[str, np.ndarray]:
    """{'mu', 'sigma', 'kid_features'} of the real data's pool3 features, from the
    cache in ``stats_dir`` or computed (from ``num_samples`` images of the dataset's
    stream, seed order) and then cached.

    The cache file is named by a hash of ``statistics_key`` and holds that key, so
    statistics are never reused for other data, preprocessing or Inception weights.
    In a multi-process run every process calls this: process 0 reads (and writes) the
    cache and shares what it read; otherwise each embeds its share of the images.

    The images are embedded as they are drawn, ``STREAM_BATCHES * batch_size`` at a
    time, into a float64 `RunningStatistics` (only the first ``KID_FEATURES`` features
    are kept): memory O(D^2), not O(num_samples * D) features nor all the images.

    Args:
      dataset: an ``nssgan.data.Dataset`` (its batches give the images).
      variables: the FID Inception's variables.
      weights_sha256: ``weights_checksum`` of the file ``variables`` came from.
    """
    key = statistics_key(dataset, num_samples, weights_sha256)
    path = _stats_path(stats_dir, key)
    cached = _read_statistics(path, key) if jax.process_index() == 0 else None
    if jax.process_count() > 1:
        if bool(multihost_utils.broadcast_one_to_all(np.int32(cached is not None))):
            return across_processes.broadcast_arrays(cached, _statistics_layout(num_samples))
    if cached is not None:
        return cached
    running, kid_features = _streamed_statistics(dataset, variables, num_samples, batch_size)
    mu, sigma = running.finalize()
    stats = {'mu': mu, 'sigma': sigma, 'kid_features': kid_features}
    if jax.process_index() == 0:
        os.makedirs(stats_dir, exist_ok=True)
        tmp = f'{path}.tmp-{os.getpid()}.npz'
        np.savez(tmp, key=json.dumps(key, sort_keys=True), **stats)
        os.replace(tmp, path)
    return stats


def _streamed_statistics(
    dataset, variables, num_samples: int, batch_size: int
) -> tuple[RunningStatistics, np.ndarray]:
    """The `RunningStatistics` of the pool3 features of the first ``num_samples`` images
    of ``dataset``'s batches 0, 1, ..., and the first ``KID_FEATURES`` of those features
    (float32, in that order), on every process.

    Each process embeds its batches (``across_processes.my_batches``), on its first
    device, in chunks of ``STREAM_BATCHES * batch_size`` images; the processes'
    statistics are then merged (in process order, the same on every process) and the
    KID features gathered in batch order.
    """
    step_rows = dataset.global_batch_size
    num_batches = math.ceil(num_samples / step_rows)
    kid_rows = min(KID_FEATURES, num_samples)
    kid_batches = math.ceil(kid_rows / step_rows)
    mine = across_processes.my_batches(num_batches)
    chunk_rows = STREAM_BATCHES * batch_size
    running = RunningStatistics()
    kid = []  # This process's features of batches < kid_batches, in order.
    kid_wanted = sum(min(step_rows, num_samples - s * step_rows) for s in mine if s < kid_batches)
    kid_kept = 0
    pending, pending_rows, embedded_any = [], 0, False

    def embed(images, final=False):
        nonlocal kid_kept, embedded_any
        count = len(images)
        if final and embedded_any and count < batch_size:  # Padded: no new compiled shape.
            padding = np.zeros((batch_size - count, *images.shape[1:]), images.dtype)
            images = np.concatenate([images, padding])
        features = np.asarray(_features(variables, images, batch_size))[:count]
        embedded_any = True
        running.update(features)
        take = min(kid_wanted - kid_kept, count)
        if take > 0:
            kid.append(features[:take].astype(np.float32))
            kid_kept += take

    with jax.set_mesh(make_mesh(jax.local_devices()[:1])):  # This process's work only.
        for step in mine:
            images = np.asarray(dataset.batch(step)['image'])
            pending.append(images[: num_samples - step * step_rows])  # the last batch: cut
            pending_rows += len(pending[-1])
            while pending_rows >= chunk_rows:
                rows = np.concatenate(pending)
                embed(rows[:chunk_rows])
                pending = [rows[chunk_rows:]]
                pending_rows = len(pending[0])
        if pending_rows:
            embed(np.concatenate(pending), final=True)
    running = _merged_across_processes(running)
    dim = inception.FEATURE_DIM if running.mean is None else len(running.mean)
    local_kid = np.concatenate(kid) if kid else np.zeros((0, dim), np.float32)
    # Padded to whole batches, as across_processes.gather_in_order wants.
    padded_rows = len([s for s in mine if s < kid_batches]) * step_rows
    local_kid = np.concatenate(
        [local_kid, np.zeros((padded_rows - len(local_kid), dim), np.float32)]
    )
    gathered = across_processes.gather_in_order({'kid': local_kid}, kid_batches, step_rows)
    return running, gathered['kid'][:kid_rows]


def _merged_across_processes(running: RunningStatistics) -> RunningStatistics:
    """The processes' statistics merged, in process order (so every process gets the
    same numbers); sent as bytes (JAX would cast float64 to float32)."""
    if jax.process_count() == 1:
        return running
    dim = inception.FEATURE_DIM
    local = np.zeros(1 + dim + dim * dim, np.float64)
    if running.count:
        if len(running.mean) != dim:
            raise ValueError(f'features must be {dim}-d; got {len(running.mean)}.')
        local[0], local[1 : 1 + dim], local[1 + dim :] = (
            running.count,
            running.mean,
            running.scatter.ravel(),
        )
    everyone = np.asarray(
        multihost_utils.process_allgather(np.frombuffer(local.tobytes(), np.uint8))
    )
    merged = RunningStatistics()
    for row in everyone.reshape(jax.process_count(), -1):
        values = np.frombuffer(row.tobytes(), np.float64)
        part = RunningStatistics()
        if values[0] > 0:
            part.count = int(values[0])
            part.mean = values[1 : 1 + dim].copy()
            part.scatter = values[1 + dim :].reshape(dim, dim).copy()
        merged.merge(part)
    return merged


def _statistics_layout(num_samples: int) -> dict[str, tuple[tuple[int, ...], type]]:
    dim = inception.FEATURE_DIM
    return {
        'mu': ((dim,), np.float64),
        'sigma': ((dim, dim), np.float64),
        'kid_features': ((min(KID_FEATURES, num_samples), dim), np.float32),
    }


def _features(variables, images, batch_size):
    return inception.batched_features_and_logits(variables, images, batch_size)[0]


def _read_statistics(path: str, key: dict) -> dict[str, np.ndarray] | None:
    """The statistics cached at ``path`` for ``key``, or None (missing, unreadable)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path) as cached:
            if json.loads(str(cached['key'])) != key:
                raise ValueError('it was computed for other data or weights')
            return {k: cached[k] for k in ('mu', 'sigma', 'kid_features')}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        logging.warning(
            'The FID statistics cache %s is unreadable (%s: %s); computing it again.',
            path,
            type(e).__name__,
            e,
        )
        return None


def inception_metrics(
    samples, variables, real: dict[str, np.ndarray], *, batch_size: int = 250
) -> dict[str, float]:
    """FID, IS (mean, std over 10 splits) and KID (mean, std) of ``samples``."""
    features, logits = inception.batched_features_and_logits(variables, samples, batch_size)
    return inception_metrics_of(features, logits, real)


def inception_metrics_of(features, logits, real: dict[str, np.ndarray]) -> dict[str, float]:
    """``inception_metrics`` from the samples' pool3 ``features`` and ``logits``."""
    mu, sigma = gaussian_statistics(features)
    is_mean, is_std = inception_score(logits, splits=min(10, len(features)))
    kid_mean, kid_std = kernel_inception_distance(features, real['kid_features'])
    return {
        'fid': frechet_distance(mu, sigma, real['mu'], real['sigma']),
        'inception_score': is_mean,
        'inception_score_std': is_std,
        'kid': kid_mean,
        'kid_std': kid_std,
    }


class Evaluator:
    """Scores sample sets for one run: ``evaluator(samples) -> {metric: value}``, i.e.
    ``score(embed(samples))``: ``embed`` maps samples to what the metrics read of each
    one (Inception features and logits; the samples themselves for the embedded data),
    so processes can each embed a share and ``score`` the gathered embeddings."""

    def __init__(self, config, dataset=None):
        """``dataset`` (the run's ``nssgan.data.Dataset``) is needed for FID only."""
        self.config = config
        self.primary, self.direction = primary_metric(config)
        self._inception = None
        self._real = None
        if uses_inception(config.dataset):
            if dataset is None:
                raise ValueError("FID needs the real data: pass the run's dataset.")
            self._inception = inception.load_inception(config.eval.inception_weights)
            weights_sha256 = weights_checksum(config.eval.inception_weights)
            stats_dir = config.eval.stats_dir or os.path.join(
                digit_classifier.default_cache_dir(), 'fid_stats'
            )
            self._real = real_statistics(
                dataset,
                self._inception,
                num_samples=config.eval.num_samples,
                stats_dir=stats_dir,
                weights_sha256=weights_sha256,
            )

    def embed(self, samples) -> dict[str, np.ndarray]:
        """Per-sample arrays the metrics need, row ``i`` for sample ``i``."""
        samples = np.asarray(samples)
        if self._inception is None:
            return {'samples': samples}
        features, logits = inception.batched_features_and_logits(self._inception, samples)
        return {'features': features, 'logits': logits}

    def score(self, embedded_samples: dict[str, np.ndarray]) -> dict[str, float]:
        """The metrics of the samples ``embed`` gave ``embedded_samples`` for."""
        if self._inception is None:
            return embedded.embedded_metrics(
                self.config.dataset,
                embedded_samples['samples'],
                image_size=self.config.image_size,
            )
        return inception_metrics_of(
            embedded_samples['features'], embedded_samples['logits'], self._real
        )

    def __call__(self, samples) -> dict[str, float]:
        return self.score(self.embed(samples))


def make_evaluator(config) -> Evaluator:
    """The run's ``Evaluator`` (for FID: with this process's whole view of the data)."""
    dataset = None
    if uses_inception(config.dataset):
        dataset = data.make_dataset(
            config.dataset,
            batch_size=250,
            image_size=config.image_size,
            seed=config.seed,
            process_index=0,
            process_count=1,
            data_dir=config.data_dir,
            split=config.data_split,
        )
    return Evaluator(config, dataset)


def format_table(metrics: dict[str, float], *, title: str = '') -> str:
    """A two-column text table of ``metrics`` for the terminal."""
    width = max([len(k) for k in metrics] + [6])
    lines = [title] if title else []
    lines += [f'{"metric".ljust(width)}  value', f'{"-" * width}  {"-" * 12}']
    lines += [f'{k.ljust(width)}  {v:.6g}' for k, v in sorted(metrics.items())]
    return '\n'.join(lines)
