"""The papers' image datasets through TFDS and tf.data.

This is the only module that imports TensorFlow; `make_dataset` imports it on
first use of a TFDS dataset.

The stream is the concatenation of epochs over the split; epoch ``e`` is the split
in TFDS's stored order passed through a shuffle buffer seeded from (seed, e). TFDS
writes a split in hashed-key order, so the stored order is already mixed and the
buffer only needs to vary the order between epochs. Step ``s`` takes the stream's
records [s * B, (s + 1) * B) for the global batch size ``B``: resuming at step ``k``
starts at epoch (k * B) // N and skips (k * B) % N still-encoded records, so it reads
at most one epoch but decodes nothing extra.

Every process reads the same (still encoded) stream and decodes only its rows of each
step's batch (``Dataset.local_rows``), so which examples a step holds depends on the
seed and the step only, not on the number of processes; reading the encoded records
of the whole batch costs each process little beside decoding its share.

The order also depends on TensorFlow's global seed: calling
`tf.random.set_seed` changes it (nssgan never does).
"""

import os
from collections.abc import Iterator

import tensorflow as tf
import tensorflow_datasets as tfds

from nssgan.data.base import Batch, Dataset, check_step
from nssgan.data.spec import DatasetError, DatasetNotPreparedError, DataSpec

DEFAULT_SPLITS = {
    # All 8,189 images, as the NSS paper uses.
    'oxford_flowers102': 'train+validation+test',
    'stl10': 'train+unlabelled',
}
DEFAULT_SHUFFLE_BUFFER = 10_000

# Datasets whose source archives TFDS cannot always fetch by itself.
_MANUAL_DOWNLOAD = ('celeb_a', 'lsun/')


def _hide_gpus() -> None:
    try:
        tf.config.set_visible_devices([], 'GPU')
    except RuntimeError:  # TF is already initialized; its devices are fixed.
        pass


def resize_and_center_crop(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes the shorter side to ``size`` and crops the centre square.

    Follows torchvision's Resize(size) + CenterCrop(size), as in the PyTorch
    DCGAN example: the longer side becomes int(size * long / short), the
    resampling is antialiased bilinear, and the crop offset is
    round((length - size) / 2), rounding half to even.

    Args:
      image: a [H, W, C] image of any real dtype.
      size: the output's height and width.

    Returns:
      A float32 [size, size, C] image on the input's scale.
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    short, long_ = tf.minimum(height, width), tf.maximum(height, width)
    long_ = size * long_ // short
    new_height = tf.where(height <= width, size, long_)
    new_width = tf.where(height <= width, long_, size)
    image = tf.image.resize(
        image, tf.stack([new_height, new_width]), method='bilinear', antialias=True
    )
    top = tf.cast(tf.round((new_height - size) / 2), tf.int32)
    left = tf.cast(tf.round((new_width - size) / 2), tf.int32)
    return image[top : top + size, left : left + size]


def _data_dir_root(builder, name: str) -> str:
    """The directory TFDS searched: builder.data_dir less name and version."""
    root = str(builder.data_dir)
    for _ in range(name.count('/') + 2):
        root = os.path.dirname(root)
    return root


def _not_prepared_message(name: str, builder) -> str:
    root = _data_dir_root(builder, name)
    message = (
        f'TFDS dataset {name!r} is not prepared: no data under {root} '
        f'(looked for {builder.data_dir}). On a machine with network access run '
        f'`tfds build {name} --data_dir={root}` (or python -c "import '
        f"tensorflow_datasets as tfds; tfds.builder('{name}', data_dir='{root}')"
        '.download_and_prepare()"), then copy that directory here or point '
        'data_dir / $TFDS_DATA_DIR at it.'
    )
    if name.startswith(_MANUAL_DOWNLOAD):
        message += (
            f' {name} may need its archives downloaded by hand into '
            f'{os.path.join(root, "downloads", "manual")} first.'
        )
    return message


class TfdsDataset(Dataset):
    """A TFDS image dataset in reshuffled epochs, this process's rows of each batch.

    Images are decoded, resized and centre-cropped to the spec's size, scaled
    to [-1, 1]; labels are the dataset's class labels (stl10's unlabelled
    images: -1), or -1 for datasets without any (celeb_a, lsun).
    `batch(step)` reads up to one epoch to get there.
    """

    def __init__(
        self,
        spec: DataSpec,
        *,
        data_dir: str | None = None,
        split: str | None = None,
        shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
        **kwargs,
    ):
        super().__init__(spec, **kwargs)
        if shuffle_buffer < 1:
            raise DatasetError(f'shuffle_buffer={shuffle_buffer} must be >= 1.')
        _hide_gpus()
        self.split = split or DEFAULT_SPLITS.get(spec.name, 'train')
        self.shuffle_buffer = shuffle_buffer
        builder = tfds.builder(spec.name, data_dir=data_dir)
        self.data_dir = _data_dir_root(builder, spec.name)
        self._has_label = 'label' in builder.info.features
        # `builder.is_prepared()` is False under `tfds.testing.mock_data`, whose
        # patched `as_dataset` works regardless; so ask `as_dataset` itself.
        try:
            self._records = builder.as_dataset(
                split=self.split,
                shuffle_files=False,
                decoders={'image': tfds.decode.SkipDecoding()},
            )
        except AssertionError as e:
            raise DatasetNotPreparedError(_not_prepared_message(spec.name, builder)) from e
        num_records = int(self._records.cardinality())
        if num_records < 0:
            num_records = builder.info.splits[self.split].num_examples
        if num_records < 1:
            raise DatasetError(f'Split {self.split!r} of {spec.name!r} has no examples.')
        self.epoch_size = num_records

    def _pipeline(self, start_step: int) -> tf.data.Dataset:
        start_epoch, skip = divmod(start_step * self.global_batch_size, self.epoch_size)
        records = self._records
        seed = tf.constant(self.seed % 2**63, tf.int64)

        def epoch_records(epoch, num_skipped):
            epoch_seed = tf.random.stateless_uniform(
                [], seed=tf.stack([seed, epoch]), minval=None, maxval=None, dtype=tf.int64
            )
            shuffled = records.shuffle(
                self.shuffle_buffer, seed=epoch_seed, reshuffle_each_iteration=False
            )
            return shuffled.skip(num_skipped)

        epochs = tf.data.Dataset.range(start_epoch, 2**62).map(
            lambda e: (
                e,
                tf.where(e == start_epoch, tf.constant(skip, tf.int64), tf.constant(0, tf.int64)),
            )
        )
        ds = epochs.flat_map(epoch_records)
        ds = ds.batch(self.global_batch_size, drop_remainder=True)
        rows = tf.constant(self.local_rows, tf.int64)
        ds = ds.map(lambda batch: tf.nest.map_structure(lambda t: tf.gather(t, rows), batch))
        ds = ds.unbatch()
        ds = ds.map(self._preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(self.local_batch_size, drop_remainder=True)
        ds = ds.prefetch(tf.data.AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = True
        return ds.with_options(options)

    def _preprocess(self, example) -> dict[str, tf.Tensor]:
        size, _, channels = self.spec.shape
        image = tf.io.decode_image(example['image'], channels=channels, expand_animations=False)
        image = resize_and_center_crop(image, size)
        image = tf.clip_by_value(image / 127.5 - 1.0, -1.0, 1.0)
        image = tf.ensure_shape(image, self.spec.shape)
        if self._has_label:
            label = tf.cast(example['label'], tf.int32)
        else:
            label = tf.constant(-1, tf.int32)
        return {'image': image, 'label': label}

    def iterate(self, start_step: int = 0) -> Iterator[Batch]:
        check_step(start_step)
        yield from self._pipeline(start_step).as_numpy_iterator()
