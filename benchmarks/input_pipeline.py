"""Images/s of the input pipeline alone, beside the rate at which the train step
consumes them.

For each dataset: the host pipeline (``Dataset.iterate``: decoding, resizing, scaling,
batching) and the trainer's path (the same through ``nssgan.data.prefetch.Prefetch``
with the transfer to the devices), each timed over ``--batches`` batches of
``--batch`` after one warm-up batch. TFDS datasets run under
``tfds.testing.mock_data`` (random examples of the dataset's real shapes, made in Python
as they are read: it measures the mock more than the pipeline) and, for CelebA, from a
data dir prepared here with 2,000 JPEG images of CelebA's size (218×178), read and
decoded as the real set is (no download). The consumption rate is the DCGAN-64 train
step's (batch 64, one D and one G update; ``benchmarks/train_step.py``).

    python benchmarks/input_pipeline.py [--batches 50] [--markdown BENCHMARKS.md]
"""

import argparse
import contextlib
import itertools
import shutil
import tempfile
import time

import jax
import numpy as np
from report import machine, section_name, write_section
from train_step import BATCH as STEP_BATCH
from train_step import time_nssgan

from nssgan import data
from nssgan.data.prefetch import Prefetch
from nssgan.sharding import DATA_AXIS, make_mesh

PREPARED = 'prepared'
# (dataset, image size, source: None (embedded), a mock's example count, or PREPARED)
CASES = (
    ('digits', 32, None),
    ('color_digits', 32, None),
    ('photo_patches', 64, None),
    ('ring', 0, None),
    ('celeb_a', 64, 2_000),
    ('cifar10', 32, 2_000),
    ('celeb_a', 64, PREPARED),
)


def celeb_a_like_builder():
    import tensorflow_datasets as tfds

    class CelebALike(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        """2,000 smooth random 218×178 JPEG images stored as TFDS stores CelebA."""

        name = 'celeb_a'
        VERSION = tfds.builder_cls('celeb_a').VERSION

        def _info(self):  # The real set's features (the pipeline reads them all).
            real = tfds.builder('celeb_a', data_dir=tempfile.mkdtemp()).info.features
            return tfds.core.DatasetInfo(builder=self, features=real)

        def _split_generators(self, dl_manager):
            del dl_manager
            return {'train': self._generate_examples()}

        @property
        def _labels(self) -> dict:
            """Zeros for every feature but the image (attributes, landmarks, identity)."""

            def zeros(feature):
                if isinstance(feature, tfds.features.FeaturesDict):
                    return {k: zeros(v) for k, v in feature.items()}
                return np.zeros((), feature.np_dtype)

            return {k: zeros(v) for k, v in self.info.features.items() if k != 'image'}

        def _generate_examples(self):
            rng = np.random.default_rng(0)
            rows, cols = np.mgrid[0:218, 0:178]
            for i in range(2_000):
                base = rng.uniform(0, 255, 3) * (rows[..., None] / 218 + cols[..., None] / 178) / 2
                noise = rng.normal(0, 8, (218, 178, 3))
                image = np.clip(base + noise, 0, 255).astype(np.uint8)
                yield i, {'image': image, **self._labels}

    return CelebALike


def _source(source, data_dir: str):
    if source is None:
        return contextlib.nullcontext()
    if source == PREPARED:
        celeb_a_like_builder()(data_dir=data_dir).download_and_prepare()
        return contextlib.nullcontext()
    import tensorflow_datasets as tfds

    return tfds.testing.mock_data(num_examples=source)


def _rate(batches, count: int, batch: int) -> float:
    """Images/s over ``count`` batches of ``batches`` after one warm-up batch."""
    next(batches)
    start = time.perf_counter()
    for item in itertools.islice(batches, count):
        jax.block_until_ready(item)
    return count * batch / (time.perf_counter() - start)


def measure(name: str, size: int, source, batch: int, count: int) -> dict:
    mesh = make_mesh()
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(None, DATA_AXIS))
    data_dir = tempfile.mkdtemp(prefix='nssgan-pipeline-') if source == PREPARED else None
    with _source(source, data_dir):
        dataset = data.make_dataset(
            name, batch_size=batch, image_size=size or 32, seed=0, data_dir=data_dir
        )
        host = _rate((b['image'] for b in dataset.iterate(0)), count, batch)

        def to_devices(b):
            images = b['image']
            return jax.make_array_from_process_local_data(sharding, images[None])

        with Prefetch(dataset.iterate(0), to_devices) as ahead:
            trainer = _rate(ahead, count, batch)
    shape = 'x'.join(map(str, dataset.spec.shape))
    if data_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    kind = 'embedded' if source is None else 'prepared' if source == PREPARED else 'mock'
    return {'name': name, 'shape': shape, 'source': kind, 'host': host, 'ahead': trainer}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, default=50)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--markdown', help='write the results into this file')
    args = parser.parse_args()
    rows = []
    for name, size, source in CASES:
        result = measure(name, size, source, args.batch, args.batches)
        rows.append(result)
        print(
            f'{name:14s} {result["shape"]:9s} host {result["host"]:9.0f} img/s, '
            f'loaded ahead onto the devices {result["ahead"]:9.0f} img/s',
            flush=True,
        )
    step_seconds = time_nssgan(3)
    step_rate = STEP_BATCH / step_seconds
    print(f'DCGAN-64 train step: {step_rate:.0f} img/s ({1000 * step_seconds:.0f} ms/step)')
    lines = [
        f'`python benchmarks/input_pipeline.py --batches {args.batches}` on {machine()}; '
        f'batch {args.batch}, images/s after one warm-up batch.',
        '',
        '| dataset | example | source | host pipeline | loaded ahead onto the devices |',
        '|---|---|---|---|---|',
    ]
    for r in rows:
        source = {
            'embedded': 'embedded',
            'mock': 'TFDS `mock_data` (examples made in Python)',
            'prepared': 'TFDS data dir, 2,000 JPEG 218×178 (decode, crop, resize)',
        }[r['source']]
        lines.append(
            f'| {r["name"]} | {r["shape"]} | {source} | {r["host"]:,.0f} | {r["ahead"]:,.0f} |'
        )
    lines += [
        '',
        f'The DCGAN-64 train step consumes **{step_rate:,.0f} images/s** (batch {STEP_BATCH}, '
        f'{1000 * step_seconds:.0f} ms/step) on the same machine. Loaded ahead in a '
        f'background thread, the batches are ready before the step asks whenever the '
        f'pipeline is faster than the step: here by '
        f'{min(r["ahead"] for r in rows if r["source"] != "mock") / step_rate:,.1f}× '
        f'or more (the mocks excepted).',
    ]
    if args.markdown:
        write_section(
            args.markdown,
            section_name('input_pipeline'),
            f'## Input pipeline ({jax.default_backend().upper()})\n\n' + '\n'.join(lines),
        )


if __name__ == '__main__':
    main()
