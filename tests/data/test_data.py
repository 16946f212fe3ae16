"""Tests for nssgan.data: shapes, ranges, step-determinism, resume, process slices."""

import itertools
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from nssgan import data
from nssgan.data import base, digits, mixtures, photos

from tfds_builders import IndexedMnistBuilder

IMAGE_SETS = ('hadamard', 'digits', 'color_digits', 'photo_patches')
MIXTURE_SETS = ('ring', 'grid', 'submanifold7')


def _image_size(name):
    return 8 if name == 'hadamard' else 16


def _make(name, batch_size=8, seed=0, process_index=0, process_count=1, **kw):
    return data.make_dataset(
        name,
        batch_size=batch_size,
        image_size=kw.pop('image_size', _image_size(name)),
        seed=seed,
        process_index=process_index,
        process_count=process_count,
        **kw,
    )


def _take(iterator, n):
    return list(itertools.islice(iterator, n))


def _assert_batches_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


# --- names, specs and errors -------------------------------------------------


def test_names():
    assert set(data.DATASETS) == set(data.EMBEDDED_DATASETS) | set(data.TFDS_DATASETS)
    assert set(data.EMBEDDED_DATASETS) == set(IMAGE_SETS) | set(MIXTURE_SETS)
    assert issubclass(data.DatasetNotPreparedError, data.DatasetError)
    assert issubclass(data.DatasetError, ValueError)


def test_unknown_name_lists_valid_names():
    with pytest.raises(data.DatasetError) as info:
        data.dataset_spec('imagenet', 64)
    for name in data.DATASETS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    'name,image_size',
    [
        ('digits', 0),
        ('celeb_a', -64),
        ('color_digits', 2.5),
        ('hadamard', 16),
        ('photo_patches', 428),
    ],
)
def test_bad_image_size(name, image_size):
    with pytest.raises(data.DatasetError, match=r'config\.image_size'):
        data.dataset_spec(name, image_size)


def test_error_messages_name_the_valid_sizes():
    with pytest.raises(data.DatasetError, match='8'):
        data.dataset_spec('hadamard', 32)
    with pytest.raises(data.DatasetError, match='427'):
        data.dataset_spec('photo_patches', 512)
    assert data.dataset_spec('photo_patches', 427).shape == (427, 427, 3)


def test_mixtures_ignore_image_size():
    assert data.dataset_spec('ring', -1) == data.dataset_spec('ring', 64)


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(batch_size=10, process_count=4),
        dict(batch_size=0),
        dict(process_index=2, process_count=2),
        dict(batch_size=12, process_count=2, groups=4),
    ],
)
def test_bad_batching(kwargs):
    with pytest.raises(data.DatasetError):
        _make('ring', **kwargs)


def test_bad_split_and_step():
    with pytest.raises(data.DatasetError):
        _make('digits', split='test')
    with pytest.raises(data.DatasetError):
        next(_make('digits').iterate(-1))


def test_process_defaults_from_jax():
    ds = data.make_dataset('ring', batch_size=8, image_size=0, seed=0)
    assert (ds.process_index, ds.process_count, ds.local_batch_size) == (0, 1, 8)


def test_dataset_spec_does_not_import_tensorflow():
    code = (
        'import sys, nssgan.data as d\n'
        '[d.dataset_spec(n, 8) for n in d.DATASETS]\n'
        'heavy = {"tensorflow", "tensorflow_datasets"}\n'
        'print(sorted(heavy & set(sys.modules)))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == '[]'


def test_specs():
    assert data.dataset_spec('digits', 32).shape == (32, 32, 1)
    assert data.dataset_spec('color_digits', 32).num_modes == 1000
    assert data.dataset_spec('mnist', 28).shape == (28, 28, 1)
    assert data.dataset_spec('celeb_a', 64).shape == (64, 64, 3)
    spec = data.dataset_spec('submanifold7', 0)
    assert (spec.kind, spec.shape, spec.num_modes, spec.mode_std) == ('vector', (3,), 7, 0.01)
    assert spec.centers.shape == (7, 3)
    hash(spec)
    grid = data.dataset_spec('grid', 0).centers
    assert sorted(set(grid.ravel())) == [-4, -2, 0, 2, 4] and len(grid) == 25
    np.testing.assert_allclose(np.linalg.norm(data.dataset_spec('ring', 0).centers, axis=1), 2)


# --- every embedded dataset --------------------------------------------------


@pytest.mark.parametrize('name', data.EMBEDDED_DATASETS)
def test_embedded_shapes_and_ranges(name):
    ds = _make(name, batch_size=16)
    assert ds.spec == data.dataset_spec(name, _image_size(name))
    batch = ds.batch(0)
    assert set(batch) == {'image', 'label'}
    assert batch['image'].shape == (16, *ds.spec.shape)
    assert batch['image'].dtype == np.float32
    assert batch['label'].shape == (16,) and batch['label'].dtype == np.int32
    if ds.spec.kind == 'image':
        assert -1 <= batch['image'].min() and batch['image'].max() <= 1
    if ds.spec.num_modes:
        assert 0 <= batch['label'].min() and batch['label'].max() < ds.spec.num_modes
    else:
        assert np.all(batch['label'] == -1)


@pytest.mark.parametrize('name', data.EMBEDDED_DATASETS)
def test_embedded_step_determinism(name):
    stream = _take(_make(name).iterate(), 5)
    again = _take(_make(name).iterate(), 5)
    resumed = _take(_make(name).iterate(start_step=3), 2)
    for a, b in zip(stream, again):
        _assert_batches_equal(a, b)
    for a, b in zip(stream[3:], resumed):
        _assert_batches_equal(a, b)
    _assert_batches_equal(stream[4], _make(name).batch(4))
    assert not np.array_equal(stream[0]['image'], stream[1]['image'])
    other_seed = _make(name, seed=1).batch(0)
    assert not np.array_equal(stream[0]['image'], other_seed['image'])


@pytest.mark.parametrize('name', data.EMBEDDED_DATASETS)
def test_embedded_process_slices_make_the_global_batch(name):
    whole = _make(name, batch_size=12).batch(5)
    parts = [
        _make(name, batch_size=12, process_index=p, process_count=3).batch(5) for p in range(3)
    ]
    assert all(part['image'].shape[0] == 4 for part in parts)
    for key in whole:
        np.testing.assert_array_equal(np.concatenate([p[key] for p in parts]), whole[key])


@pytest.mark.parametrize('name', data.EMBEDDED_DATASETS)
def test_each_discriminator_update_sees_the_same_examples_for_any_process_count(name):
    # A step of 3 updates × 8 examples over 2 and 4 processes: each update's examples,
    # gathered over the processes as the device mesh lays them out, are one process's.
    def updates(process_count):
        parts = [
            _make(name, batch_size=24, process_index=p, process_count=process_count, groups=3)
            .batch(7)['image']
            .reshape(3, 8 // process_count, -1)
            for p in range(process_count)
        ]
        return np.concatenate(parts, axis=1)

    alone = updates(1)
    np.testing.assert_array_equal(
        alone.reshape(24, -1), _make(name, batch_size=24).batch(7)['image'].reshape(24, -1)
    )
    for process_count in (2, 4):
        np.testing.assert_array_equal(updates(process_count), alone)


# --- digits --------------------------------------------------------------------


def test_digits_epochs_are_permutations():
    images, _ = digits.load_digits(8)
    n = len(images)
    assert n == 1797 == 3 * 599
    ds = _make('digits', batch_size=599, image_size=8)
    for epoch in range(2):
        seen = np.concatenate([ds.batch(3 * epoch + s)['image'] for s in range(3)])
        assert sorted(map(bytes, seen)) == sorted(map(bytes, images))
    assert not np.array_equal(ds.batch(0)['image'], ds.batch(3)['image'])


def test_digits_resume_across_epoch_boundary():
    ds = _make('digits', batch_size=64, process_index=1, process_count=2)
    boundary = 1797 // 64  # step 28 holds positions 1792..1855
    stream = _take(ds.iterate(), boundary + 2)
    resumed = _take(
        _make('digits', batch_size=64, process_index=1, process_count=2).iterate(boundary), 2
    )
    for a, b in zip(stream[boundary:], resumed):
        _assert_batches_equal(a, b)
    # The global batch at the boundary ends epoch 0 and starts epoch 1.
    perm0, perm1 = ds.permutation(0), ds.permutation(1)
    assert not np.array_equal(perm0, perm1)
    images, labels = digits.load_digits(16)
    expected = np.concatenate([perm0[1792:], perm1[:59]])[32:]
    np.testing.assert_array_equal(stream[boundary]['image'], images[expected])
    np.testing.assert_array_equal(stream[boundary]['label'], labels[expected])


def test_digits_resize_keeps_the_8x8_values():
    images, labels = digits.load_digits(8)
    from sklearn.datasets import load_digits

    raw = load_digits()
    np.testing.assert_allclose(images[..., 0], raw.images / 8 - 1, atol=1e-6)
    np.testing.assert_array_equal(labels, raw.target)
    big, _ = digits.load_digits(32)
    assert big.shape == (1797, 32, 32, 1) and not big.flags.writeable


def test_color_digits_labels_match_channels():
    images, labels = digits.load_digits(8)
    lookup = {}
    for image, label in zip(images, labels):
        lookup.setdefault(image.tobytes(), set()).add(int(label))
    batch = _make('color_digits', batch_size=64, image_size=8).batch(2)
    for image, label in zip(batch['image'], batch['label']):
        r, g, b = (lookup[np.ascontiguousarray(image[..., c : c + 1]).tobytes()] for c in range(3))
        assert label // 100 in r and label // 10 % 10 in g and label % 10 in b


# --- photo patches -------------------------------------------------------------


def test_photo_patches_are_crops_of_the_photos():
    ds = _make('photo_patches', batch_size=4, image_size=32)
    params = ds.draw(base.step_rng(0, 7), 4)
    batch = ds.batch(7)
    assert photos.load_photos().shape == (2, photos.PHOTO_HEIGHT, photos.PHOTO_WIDTH, 3)
    for i, image in enumerate(batch['image']):
        p, top, left = params['photo'][i], params['top'][i], params['left'][i]
        crop = photos.load_photos()[p, top : top + 32, left : left + 32]
        np.testing.assert_array_equal(image, crop[:, ::-1] if params['flip'][i] else crop)


# --- hadamard ------------------------------------------------------------------


def test_hadamard_bases_orthogonal_and_ordered_by_sequency():
    bases = data.hadamard_bases()
    assert bases.shape == (8, 8, 8)
    assert set(np.unique(bases)) == {-1.0, 1.0}
    assert np.all(bases == bases[:, :1, :])  # constant down the rows
    gram = np.einsum('irc,jrc->ij', bases, bases)
    np.testing.assert_array_equal(gram, 64 * np.eye(8))
    sign_changes = (np.diff(bases[:, 0, :], axis=1) != 0).sum(axis=1)
    np.testing.assert_array_equal(sign_changes, np.arange(8))


def test_hadamard_projection_recovers_alpha():
    ds = _make('hadamard', batch_size=256, seed=3)
    alpha = ds.draw(base.step_rng(3, 11), 256)['alpha']
    images = ds.batch(11)['image']
    coeffs, residual = data.hadamard_coefficients(images)
    np.testing.assert_allclose(coeffs, alpha, atol=1e-6)
    assert residual.shape == (256,) and residual.max() < 1e-10
    np.testing.assert_allclose(data.hadamard_coefficients(images[..., 0])[0], coeffs)
    assert np.abs(images).max() <= 1


def test_hadamard_residual_of_horizontal_stripes():
    stripes = np.tile(np.array([1.0, -1.0] * 4)[:, None], (1, 8))[None]
    coeffs, residual = data.hadamard_coefficients(stripes)
    np.testing.assert_allclose(coeffs, 0, atol=1e-12)
    np.testing.assert_allclose(residual, 64)


# --- mixtures ------------------------------------------------------------------


@pytest.mark.parametrize('name', MIXTURE_SETS)
def test_mixture_samples_near_their_modes(name):
    n = 20_000
    ds = _make(name, batch_size=n)
    batch = ds.batch(0)
    centers, std = ds.spec.centers, ds.spec.mode_std
    dist = np.linalg.norm(batch['image'][:, None] - centers[None], axis=-1)
    np.testing.assert_array_equal(dist.argmin(axis=1), batch['label'])
    assert dist.min(axis=1).max() < 6 * std
    # Every mode is drawn, each within 25% of the uniform count (>= 7 sigma).
    counts = np.bincount(batch['label'], minlength=len(centers))
    expected = n / len(centers)
    assert np.all(np.abs(counts - expected) < 0.25 * expected)
    # Spread per in-plane axis is `std`, within 5%.
    offsets = batch['image'] - centers[batch['label']]
    plane = mixtures.MIXTURES[name].embedding
    np.testing.assert_allclose((offsets @ plane).std(axis=0), std, rtol=0.05)


def test_submanifold7_lies_on_a_tilted_plane():
    points = _make('submanifold7', batch_size=4096).batch(1)['image'].astype(np.float64)
    singular = np.linalg.svd(points - points.mean(axis=0), compute_uv=False)
    assert singular[2] < 1e-6 * singular[0]
    normal = np.ones(3) / np.sqrt(3)
    assert np.abs(points @ normal).max() < 1e-6
    assert np.all(points.std(axis=0) > 0.3)  # not aligned with any axis
    np.testing.assert_allclose(
        np.linalg.norm(data.dataset_spec('submanifold7', 0).centers, axis=1), 1
    )


# --- TFDS through tfds.testing.mock_data ---------------------------------------

_INDEXED_EXAMPLES = 30


def _indexed_mnist(self, split, decoders=None, read_config=None, **kwargs):
    """A split-aware mock: example i of 'train' is a 28x28 PNG filled with i."""
    del self, decoders, read_config, kwargs
    infos = tfds.core.SplitDict(
        [tfds.core.SplitInfo(name='train', shard_lengths=[_INDEXED_EXAMPLES], num_bytes=0)]
    )
    if isinstance(split, str):
        split = tfds.core.ReadInstruction.from_spec(split)
    (instruction,) = split.to_absolute(infos)
    start = instruction.from_ or 0
    stop = _INDEXED_EXAMPLES if instruction.to is None else instruction.to
    index = tf.data.Dataset.range(start, stop)
    return index.map(
        lambda i: {
            'image': tf.io.encode_png(tf.fill([28, 28, 1], tf.cast(i, tf.uint8))),
            'label': i % 10,
        }
    )


def _indices(batch):
    """The example indices of an `_indexed_mnist` batch."""
    values = np.round((batch['image'] + 1) * 127.5).astype(int)
    assert np.all(values == values[:, :1, :1])
    return values[:, 0, 0, 0]


def _mock_mnist(**kwargs):
    return _make('mnist', image_size=28, **kwargs)


@pytest.mark.parametrize('name', data.TFDS_DATASETS)
def test_tfds_shapes_and_ranges(name):
    with tfds.testing.mock_data(num_examples=5):
        ds = _make(name, batch_size=4, image_size=12)
        batches = _take(ds.iterate(), 2)
    assert ds.spec == data.dataset_spec(name, 12) and ds.epoch_size == 5
    for batch in batches:
        assert set(batch) == {'image', 'label'}
        assert batch['image'].shape == (4, *ds.spec.shape)
        assert batch['image'].dtype == np.float32 and batch['label'].dtype == np.int32
        assert -1 <= batch['image'].min() and batch['image'].max() <= 1
    if name in ('celeb_a', 'lsun/church_outdoor', 'lsun/conference_room'):
        assert np.all(batch['label'] == -1)


def test_tfds_resume_across_epoch_boundary():
    with tfds.testing.mock_data(as_dataset_fn=_indexed_mnist):
        ds = _mock_mnist(batch_size=4, seed=5)
        stream = [_indices(b) for b in _take(ds.iterate(), 16)]
        resumed = [_indices(b) for b in _take(ds.iterate(start_step=7), 3)]
        again = [_indices(b) for b in _take(_mock_mnist(batch_size=4, seed=5).iterate(), 16)]
        other = [_indices(b) for b in _take(_mock_mnist(batch_size=4, seed=6).iterate(), 16)]
        np.testing.assert_array_equal(_indices(ds.batch(9)), stream[9])
    # Step 7 holds positions 28..31: the end of epoch 0 and the start of epoch 1.
    np.testing.assert_array_equal(np.stack(stream[7:10]), np.stack(resumed))
    np.testing.assert_array_equal(np.stack(stream), np.stack(again))
    assert not np.array_equal(np.stack(stream), np.stack(other))
    flat = np.concatenate(stream)
    epochs = [flat[:30], flat[30:60]]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(30))
    assert not np.array_equal(epochs[0], epochs[1])


def test_tfds_processes_split_each_batch_of_the_one_process_stream():
    # 3 processes, 2 discriminator updates of 6 per step: each update's examples are
    # one process's, whatever the number of processes.
    with tfds.testing.mock_data(as_dataset_fn=_indexed_mnist):
        alone = _mock_mnist(batch_size=12, groups=2)
        whole = [_indices(b).reshape(2, 6) for b in _take(alone.iterate(), 5)]
        parts = []
        for p in range(3):
            ds = _mock_mnist(batch_size=12, process_index=p, process_count=3, groups=2)
            assert ds.local_batch_size == 4 and ds.epoch_size == 30
            parts.append([_indices(b).reshape(2, 2) for b in _take(ds.iterate(start_step=1), 4)])
    for step in range(1, 5):
        together = np.concatenate([parts[p][step - 1] for p in range(3)], axis=1)
        np.testing.assert_array_equal(together, whole[step])


def test_tfds_not_prepared(tmp_path):
    with pytest.raises(data.DatasetNotPreparedError) as info:
        _make('cifar10', data_dir=str(tmp_path))
    message = str(info.value)
    assert str(tmp_path) in message and 'cifar10' in message and 'tfds build' in message
    with pytest.raises(data.DatasetNotPreparedError, match='manual'):
        _make('celeb_a', data_dir=str(tmp_path))


def test_resize_and_center_crop():
    from nssgan.data.tfds_pipeline import resize_and_center_crop

    columns = np.broadcast_to(np.arange(30, dtype=np.float32), (10, 30))[..., None]
    np.testing.assert_array_equal(
        resize_and_center_crop(columns, 10).numpy()[0, :, 0], np.arange(10, 20)
    )
    tall = resize_and_center_crop(np.zeros((60, 20, 3), np.uint8), 8)
    assert tall.shape == (8, 8, 3) and tall.dtype == tf.float32


@pytest.fixture(scope='module')
def prepared_data_dir(tmp_path_factory):
    data_dir = str(tmp_path_factory.mktemp('tfds'))
    IndexedMnistBuilder(data_dir=data_dir).download_and_prepare()
    return data_dir


def test_tfds_reads_a_prepared_data_dir(prepared_data_dir):
    """The real (unmocked) read path: epochs, labels, resume and processes' rows."""

    def make(**kwargs):
        return _mock_mnist(batch_size=8, data_dir=prepared_data_dir, seed=1, **kwargs)

    alone = make()
    assert alone.epoch_size == 31
    batches = _take(alone.iterate(), 8)
    for batch in batches:
        np.testing.assert_array_equal(batch['label'], _indices(batch) % 10)
    for a, b in zip(batches[3:], _take(alone.iterate(start_step=3), 2)):  # epochs 0 and 1
        _assert_batches_equal(a, b)
    stream = np.concatenate([_indices(b) for b in batches])
    assert sorted(stream[:31]) == sorted(stream[31:62]) == list(range(31))
    assert not np.array_equal(stream[:31], stream[31:62])
    parts = [_take(make(process_index=p, process_count=2).iterate(), 8) for p in range(2)]
    for step, batch in enumerate(batches):
        rows = [part[step] for part in parts]
        assert all(len(r['image']) == 4 for r in rows)
        together = np.concatenate([_indices(r) for r in rows])
        np.testing.assert_array_equal(together, _indices(batch))
