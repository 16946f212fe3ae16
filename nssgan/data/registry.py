"""Dataset names, their specs, and `make_dataset`.

`dataset_spec` is cheap and imports neither TensorFlow nor scikit-learn, so a
config can be checked before anything is loaded or compiled.
"""

import numbers

from nssgan.data import digits, hadamard, mixtures, photos
from nssgan.data.base import Dataset
from nssgan.data.spec import DatasetError, DataSpec

EMBEDDED_DATASETS = (
    'hadamard',
    'digits',
    'color_digits',
    'photo_patches',
    'ring',
    'grid',
    'submanifold7',
)
TFDS_DATASETS = (
    'celeb_a',
    'lsun/church_outdoor',
    'lsun/conference_room',
    'oxford_flowers102',
    'cifar10',
    'stl10',
    'mnist',
)
DATASETS = EMBEDDED_DATASETS + TFDS_DATASETS

_EMBEDDED_CLASSES = {
    'hadamard': hadamard.HadamardDataset,
    'digits': digits.DigitsDataset,
    'color_digits': digits.ColorDigitsDataset,
    'photo_patches': photos.PhotoPatchesDataset,
    **{name: mixtures.MixtureDataset for name in mixtures.MIXTURES},
}


def _image_size_error(name: str, image_size, valid: str) -> DatasetError:
    return DatasetError(
        f'config.image_size={image_size!r} does not work for dataset {name!r}: it needs {valid}.'
    )


def dataset_spec(name: str, image_size: int) -> DataSpec:
    """The `DataSpec` of dataset ``name`` at ``image_size``, without loading it.

    Raises:
      DatasetError: for an unknown name or an image size the dataset cannot
        have. Mixtures ignore ``image_size``.
    """
    if name not in DATASETS:
        raise DatasetError(f'Unknown dataset {name!r}; valid names: {", ".join(DATASETS)}.')
    if name in mixtures.MIXTURES:
        return mixtures.mixture_spec(name)
    if (
        not isinstance(image_size, numbers.Integral)
        or isinstance(image_size, bool)
        or image_size < 1
    ):
        raise _image_size_error(name, image_size, 'a positive integer')
    size = int(image_size)
    if name == 'hadamard' and size != hadamard.SIZE:
        raise _image_size_error(name, image_size, f'exactly {hadamard.SIZE}')
    if name == 'photo_patches' and size > photos.PHOTO_HEIGHT:
        raise _image_size_error(
            name, image_size, f'at most {photos.PHOTO_HEIGHT}, the height of the photos'
        )
    channels = 1 if name in ('hadamard', 'digits', 'mnist') else 3
    num_modes = {'digits': 10, 'mnist': 10, 'color_digits': 1000}.get(name)
    return DataSpec(name=name, kind='image', shape=(size, size, channels), num_modes=num_modes)


def make_dataset(
    name: str,
    *,
    batch_size: int,
    image_size: int,
    seed: int,
    process_index: int | None = None,
    process_count: int | None = None,
    data_dir: str | None = None,
    split: str | None = None,
    shuffle_buffer: int | None = None,
    groups: int = 1,
) -> Dataset:
    """This process's endless, step-indexed stream of dataset ``name``.

    The batch of step ``s`` is a pure function of the arguments and ``s``, so
    ``iterate(k)`` continues ``iterate(0)`` from its k-th batch on.

    Args:
      name: one of `DATASETS`.
      batch_size: examples per step over all processes; each process yields
        ``batch_size // process_count`` of them.
      image_size: height and width of images (ignored by mixtures).
      seed: the data seed; any int.
      process_index: this process, default ``jax.process_index()``.
      process_count: the number of processes, default ``jax.process_count()``.
      data_dir: TFDS data directory, default $TFDS_DATA_DIR, else
        ~/tensorflow_datasets. TFDS datasets only.
      split: TFDS split, default 'train' ('train+validation+test' for
        oxford_flowers102, 'train+unlabelled' for stl10). Embedded datasets
        accept only None or 'train'.
      shuffle_buffer: TFDS shuffle-buffer size in (still encoded) records,
        default `tfds_pipeline.DEFAULT_SHUFFLE_BUFFER` (10,000).
      groups: the number of equal parts of a step's batch (one per discriminator
        update); each process yields its share of each part, so the parts hold the
        same examples for any number of processes.

    Returns:
      A `Dataset` with ``spec == dataset_spec(name, image_size)``.

    Raises:
      DatasetError: for a bad name, image size, batch size or process layout.
      DatasetNotPreparedError: for a TFDS dataset not found in its data dir.
    """
    spec = dataset_spec(name, image_size)
    if process_index is None or process_count is None:
        import jax  # Here: the data package itself runs without JAX.

        process_index = jax.process_index() if process_index is None else process_index
        process_count = jax.process_count() if process_count is None else process_count
    kwargs = dict(
        batch_size=batch_size,
        seed=seed,
        process_index=process_index,
        process_count=process_count,
        groups=groups,
    )
    if name in TFDS_DATASETS:
        from nssgan.data import tfds_pipeline  # Here: only TFDS datasets need TensorFlow.

        if shuffle_buffer is None:
            shuffle_buffer = tfds_pipeline.DEFAULT_SHUFFLE_BUFFER
        return tfds_pipeline.TfdsDataset(
            spec, data_dir=data_dir, split=split, shuffle_buffer=shuffle_buffer, **kwargs
        )
    if split not in (None, 'train'):
        raise DatasetError(f'Dataset {name!r} has only one split; got split={split!r}.')
    return _EMBEDDED_CLASSES[name](spec, **kwargs)
