"""Checkpoints carry a checksum of their values: damaged data on disk (bytes XOR-ed, single
bits flipped) is never restored; the run resumes from the newest good checkpoint and
still equals the uninterrupted run."""

import functools
import glob
import os
import shutil

import jax
import ml_collections
import numpy as np
import pytest

from nssgan import checkpointing, data, step, train

from helpers import assert_trees_equal, tiny_mlp_config

CONFIG = dict(num_train_steps=4, checkpoint_every=2, keep_checkpoints=5, log_every=100)


def _config():
    """A small MLP with 256-wide layers: its arrays are large enough for Orbax to store
    them as raw data (small ones go into checksummed index nodes)."""
    config = tiny_mlp_config(**CONFIG)
    config.model.mlp_hidden = (256, 256)
    return config


def _data_files(step_dir) -> list[str]:
    """The files that hold the arrays' bytes (Orbax's OCDBT data files), largest first."""
    files = glob.glob(os.path.join(step_dir, 'default', '**', 'd', '*'), recursive=True)
    return sorted(files, key=os.path.getsize, reverse=True)


def _flip(path: str, position: int, mask: int) -> None:
    with open(path, 'r+b') as f:
        f.seek(position)
        byte = f.read(1)[0]
        f.seek(position)
        f.write(bytes([byte ^ mask]))


def _abstract_state(config):
    spec = data.dataset_spec(config.dataset, config.image_size)
    abstract = jax.eval_shape(
        functools.partial(step.create_state, ml_collections.FrozenConfigDict(config), spec),
        jax.random.PRNGKey(config.seed),
    )
    return checkpointing.abstract_like(
        abstract, jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    )


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
    """A run trained to step 4 with checkpoints at 2 and 4, and the states there."""
    workdir = tmp_path_factory.mktemp('run')
    config = _config()
    final = jax.device_get(train.train_and_evaluate(config, str(workdir)))
    at_2 = jax.device_get(checkpointing.load_state(config, str(workdir), 2))
    return workdir, final, at_2


def test_the_checksum_changes_with_any_value_dtype_or_name():
    tree = {'a': np.arange(6, dtype=np.float32), 'b': np.zeros((2, 2), np.int32)}
    reference = checkpointing.state_checksum(tree)
    assert checkpointing.state_checksum(jax.tree.map(np.copy, tree)) == reference
    changed = jax.tree.map(np.copy, tree)
    changed['a'][3] = np.nextafter(changed['a'][3], np.float32(9))
    assert checkpointing.state_checksum(changed) != reference
    assert checkpointing.state_checksum({**tree, 'a': tree['a'].astype(np.int32)}) != reference
    assert checkpointing.state_checksum({'c': tree['a'], 'b': tree['b']}) != reference


def test_a_failed_read_is_described_by_the_storage_error_not_orbax_s_wrapper():
    storage = ValueError('NOT_FOUND: Error reading "g.Dense_0.kernel/0.0" in OCDBT database')
    try:
        try:
            raise storage
        except ValueError as e:
            raise Exception(
                'Encountered error while reading array index: (slice(0, 16, 1),). See full'
                ' TensorStore details: <bound method spec of TensorStore({\n  "base": {}})>.'
            ) from e
    except Exception as wrapper:
        described = checkpointing._first_line(wrapper)
    assert described == f'ValueError: {storage}'
    long = RuntimeError('x' * 400 + ' [tensorstore_spec=...]\nsecond line')
    assert checkpointing._first_line(long) == f'RuntimeError: {"x" * 300}…'


def test_xor_damaged_data_resumes_from_the_previous_checkpoint_and_equals_the_straight_run(
    finished_run, tmp_path, caplog
):
    workdir, final, _ = finished_run
    damaged = tmp_path / 'damaged'
    shutil.copytree(workdir / 'checkpoints', damaged / 'checkpoints')
    largest = _data_files(damaged / 'checkpoints' / '4')[0]
    size = os.path.getsize(largest)
    for position in range(size // 2, min(size, size // 2 + 64)):
        _flip(largest, position, 0xFF)

    # Rerun to step 4: step 4 is damaged, so the run goes back to step 2 and redoes 3, 4.
    resumed = jax.device_get(train.train_and_evaluate(_config(), str(damaged)))
    assert_trees_equal(resumed, final)
    assert any(
        'checkpoint at step 4 is corrupt' in r.getMessage()
        and 'resuming from step 2' in r.getMessage()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    (aside,) = os.listdir(damaged / 'checkpoints_corrupt')
    assert aside.startswith('4-')
    assert sorted(os.listdir(damaged / 'checkpoints'), key=int) == ['2', '4']


def test_no_single_bit_flip_restores_wrong_values(finished_run, tmp_path):
    # 16 flips at random places of the data files: each is caught (the checkpoint is
    # set aside for step 2) or changed nothing that the state holds.
    workdir, final, at_2 = finished_run
    config = _config()
    abstract = _abstract_state(config)
    rng = np.random.default_rng(0)
    caught = 0
    for i in range(16):
        copy = tmp_path / str(i) / 'checkpoints'
        shutil.copytree(workdir / 'checkpoints', copy)
        files = _data_files(copy / '4')
        sizes = np.array([os.path.getsize(f) for f in files], float)
        path = files[rng.choice(len(files), p=sizes / sizes.sum())]
        _flip(path, int(rng.integers(os.path.getsize(path))), 1 << int(rng.integers(8)))
        state, _ = checkpointing.Checkpointer(copy.parent, max_to_keep=None).restore_newest_good(
            abstract
        )
        state = jax.device_get(state)
        if int(state.step) == 2:
            caught += 1
            assert_trees_equal(state, at_2)
            assert os.listdir(copy) == ['2']
        else:
            assert_trees_equal(state, final)
    assert caught >= 8  # Nearly every byte of these files is array data.


def test_a_checkpoint_without_a_checksum_match_is_refused_in_evaluation(finished_run, tmp_path):
    workdir, _, _ = finished_run
    shutil.copytree(workdir / 'checkpoints', tmp_path / 'checkpoints')
    largest = _data_files(tmp_path / 'checkpoints' / '4')[0]
    _flip(largest, os.path.getsize(largest) // 2, 0x10)
    with pytest.raises(checkpointing.CheckpointError, match=r'checkpoints/4: .*\. If it was'):
        checkpointing.load_state(_config(), str(tmp_path), 4)
