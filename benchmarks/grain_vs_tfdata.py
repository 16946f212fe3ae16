"""Grain against nssgan's hand-written tf.data pipeline, in images/s.

The same work both ways: CelebA-sized JPEGs (2,000 smooth random 218×178 images
stored as TFDS stores CelebA, made here, no download) decoded, resized to 64 on the
shorter side, centre-cropped, scaled to [-1, 1] and batched by 64 in a reshuffled
order; and the embedded digits (8×8 scans upsampled to 32×32, in memory) shuffled,
batched. nssgan's side is ``Dataset.iterate`` (tf.data for TFDS, numpy
indexing for embedded sets). Grain's side is a ``grain.MapDataset`` over the same
records (TFDS's ``array_record`` copy of the JPEGs through ``as_data_source``; the
digits' array), shuffled with a seed, mapped (PIL decode and resize, as Grain users
write it) and batched, read by threads (``ReadOptions``) or worker processes
(``mp_prefetch``). Each rate is taken over ``--batches`` batches after one warm-up
batch.

Needs ``pip install grain`` (not a dependency of nssgan).

    python benchmarks/grain_vs_tfdata.py [--batches 50] [--markdown BENCHMARKS.md]
"""

import argparse
import io
import itertools
import os
import shutil
import tempfile
import time

import grain
import jax
import numpy as np
from absl import flags
from input_pipeline import celeb_a_like_builder
from PIL import Image
from report import machine, section_name, write_section

from nssgan import data
from nssgan.data.digits import load_digits

BATCH = 64
SIZE = 64


def _rate(batches, count: int) -> float:
    """Images/s over ``count`` batches after one warm-up batch."""
    next(batches)
    start = time.perf_counter()
    for _ in itertools.islice(batches, count):
        pass
    return count * BATCH / (time.perf_counter() - start)


def decode_resize_crop(record: dict) -> np.ndarray:
    """A JPEG record to a [SIZE, SIZE, 3] float32 image in [-1, 1] with PIL."""
    image = Image.open(io.BytesIO(record['image'])).convert('RGB')
    width, height = image.size
    scale = SIZE / min(width, height)
    new_size = (max(SIZE, int(width * scale)), max(SIZE, int(height * scale)))
    image = image.resize(new_size, Image.BILINEAR)
    left, top = round((new_size[0] - SIZE) / 2), round((new_size[1] - SIZE) / 2)
    image = image.crop((left, top, left + SIZE, top + SIZE))
    return np.asarray(image, np.float32) / 127.5 - 1.0


def grain_batches(source, transform, *, processes: int = 0, threads: int = 2):
    """Grain's pipeline over a random-access ``source``: shuffle, map, batch."""
    ds = grain.MapDataset.source(source).shuffle(seed=0).map(transform).repeat()
    ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=threads, prefetch_buffer_size=256))
    ds = ds.batch(BATCH, drop_remainder=True)
    if processes:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=processes))
    return iter(ds)


def celeb_a_rates(count: int) -> dict:
    import tensorflow_datasets as tfds

    root = tempfile.mkdtemp(prefix='nssgan-grain-')
    try:
        builder_cls = celeb_a_like_builder()
        tfrecord_dir, array_record_dir = (os.path.join(root, f) for f in ('tfr', 'ar'))
        builder_cls(data_dir=tfrecord_dir).download_and_prepare()
        array_builder = builder_cls(data_dir=array_record_dir, file_format='array_record')
        array_builder.download_and_prepare()
        dataset = data.make_dataset(
            'celeb_a', batch_size=BATCH, image_size=SIZE, seed=0, data_dir=tfrecord_dir
        )
        rates = {'nssgan (tf.data)': _rate(dataset.iterate(0), count)}
        source = array_builder.as_data_source(
            split='train', decoders={'image': tfds.decode.SkipDecoding()}
        )
        rates['Grain, 2 threads'] = _rate(grain_batches(source, decode_resize_crop), count)
        rates['Grain, 2 worker processes'] = _rate(
            grain_batches(source, decode_resize_crop, processes=2), count
        )
        return rates
    finally:
        shutil.rmtree(root, ignore_errors=True)


def digits_rates(count: int) -> dict:
    dataset = data.make_dataset('digits', batch_size=BATCH, image_size=32, seed=0)
    rates = {'nssgan (numpy)': _rate(dataset.iterate(0), count)}
    images, _ = load_digits(32)
    rates['Grain, 2 threads'] = _rate(grain_batches(images, np.copy), count)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, default=50)
    parser.add_argument('--markdown', help='write the results into this file')
    args = parser.parse_args()
    flags.FLAGS.mark_as_parsed()  # Grain's worker processes read absl flags.
    cases = {
        'celeb_a 64x64x3, 2,000 JPEG 218×178 (decode, crop, resize)': celeb_a_rates(args.batches),
        'digits 32x32x1, embedded (in memory)': digits_rates(args.batches),
    }
    lines = [
        f'`python benchmarks/grain_vs_tfdata.py --batches {args.batches}` on {machine()}, '
        f'grain {grain.__version__}; batch {BATCH}, images/s after one warm-up batch.',
        '',
        '| data | pipeline | images/s |',
        '|---|---|---|',
    ]
    for case, rates in cases.items():
        for pipeline, rate in rates.items():
            print(f'{case:60s} {pipeline:28s} {rate:10,.0f} img/s', flush=True)
            lines.append(f'| {case} | {pipeline} | {rate:,.0f} |')
    jpeg = list(cases.values())[0]
    best_grain = max(rate for name, rate in jpeg.items() if name.startswith('Grain'))
    lines += [
        '',
        f'nssgan keeps its tf.data pipeline: on the JPEGs it is '
        f'{jpeg["nssgan (tf.data)"] / best_grain:.1f}× the faster Grain setting (TensorFlow '
        'decodes and resizes in C++ threads outside the GIL; Grain maps Python functions '
        'per record), the embedded sets are batched by numpy indexing far faster than any '
        'per-record loader, and what Grain adds beside speed (per-process sharding, '
        'checkpointable iterators) nssgan already has: each process takes its rows of a '
        "step's batch, and a batch is a function of the seed and the step, so a resumed "
        'run needs only the step number, no iterator state.',
    ]
    if args.markdown:
        write_section(
            args.markdown,
            section_name('grain_vs_tfdata'),
            f'## Grain against tf.data ({jax.default_backend().upper()})\n\n' + '\n'.join(lines),
        )


if __name__ == '__main__':
    main()
