"""Periodic checkpoints of the GAN state with Orbax, verified on resume.

The data pipeline is a pure function of the step, so the state (which holds the
step and the run's key) is all a resumed run needs to continue the uninterrupted
one exactly. Each checkpoint also records, in its Orbax metadata, a SHA-256 of the
state's values (computed from the state being saved) and whatever the trainer passes
as ``record`` (its trajectory config). On resume a checkpoint that cannot be read or
whose values do not match their checksum is set aside under
``<workdir>/<subdir>_corrupt/`` and the newest good one is used instead.
"""

import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

from nssgan import data
from nssgan.state import GANState
from nssgan.step import create_state


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored."""


BEST = 'checkpoints_best'  # The best checkpoint by the primary metric, beside the latest.


def state_checksum(state) -> str:
    """SHA-256 of every leaf's path, dtype, shape and bytes (on this host)."""
    digest = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(state))[0]:
        leaf = np.ascontiguousarray(leaf)
        digest.update(f'{jax.tree_util.keystr(path)}|{leaf.dtype}|{leaf.shape}|'.encode())
        digest.update(leaf.tobytes())
    return digest.hexdigest()


def _first_line(e: Exception, limit: int = 300) -> str:
    """``Type: first line`` of ``e``'s message, cut to ``limit`` characters (storage
    errors append their whole configuration). For Orbax's wrapper of a failed array
    read, that of the storage error it wraps."""
    if str(e).startswith('Encountered error while reading') and e.__cause__ is not None:
        e = e.__cause__
    text = str(e).strip().split(' [tensorstore_spec=')[0]
    line = text.splitlines()[0] if text else ''
    line = line if len(line) <= limit else f'{line[:limit]}…'
    return f'{type(e).__name__}: {line}' if line else type(e).__name__


class Checkpointer:
    """Saves to and restores from ``<workdir>/<subdir>``, keeping the latest N."""

    def __init__(self, workdir: str, *, max_to_keep: int | None, subdir: str = 'checkpoints'):
        self.directory = os.path.join(os.path.abspath(workdir), subdir)
        self.corrupt_directory = f'{self.directory}_corrupt'
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
            item_handlers=ocp.StandardCheckpointHandler(),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state, record: dict | None = None) -> None:
        """Saves ``state`` (asynchronously) with its checksum and ``record``."""
        metadata = {**(record or {}), 'sha256': state_checksum(state)}
        try:
            self._manager.save(
                step, args=ocp.args.StandardSave(state), force=True, custom_metadata=metadata
            )
        except Exception as e:  # Orbax raises many types; all mean the write failed.
            raise self._write_error(e, step) from e

    def _write_error(self, e: Exception, step: int | None) -> CheckpointError:
        """A write failed (a full disk, a lost file system): what is safe, and the fix."""
        at = f' step {step}' if step is not None else ''
        return CheckpointError(
            f'cannot write the checkpoint{at} in {self.directory} ({_first_line(e)}). The '
            f'finished checkpoints are intact (newest: step {self.latest_step()}); free '
            f'space or fix the file system, then run the same command to resume.'
        )

    def record(self, step: int) -> dict:
        """What ``save`` stored beside the state at ``step`` (its checksum included)."""
        return dict(self._manager.metadata(step).custom_metadata or {})

    def restore(self, abstract_state, step: int | None = None):
        """Restores ``step`` (default: the latest) into ``abstract_state``'s structure
        and checks it against its checksum.

        Returns None when there is no checkpoint; raises ``CheckpointError`` with what
        to do when one exists but cannot be read, does not fit the config, or does not
        match its checksum.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            return None
        state, problem = self._restore_verified(abstract_state, step)
        if problem:
            path = os.path.join(self.directory, str(step))
            raise CheckpointError(
                f'cannot use the checkpoint {path}: {problem}. If it was written with a '
                f'different config (model, dataset, scheme), use that config; otherwise '
                f'it is corrupt: remove it to use the previous checkpoint.'
            )
        return state

    def restore_newest_good(
        self, abstract_state, check_record: Callable[[int, dict], bool] = lambda *_: False
    ) -> tuple[object, dict] | None:
        """(state, record) of the newest checkpoint that reads and matches its checksum.

        ``check_record(step, record)`` runs before a checkpoint is read; what it raises
        propagates (the trainer refuses a different trajectory config there), and it
        returns whether the run's config deliberately differs from the checkpoint's:
        then a checkpoint that cannot be read is not taken for corrupt. Newer
        checkpoints that are unreadable or fail their checksum are logged and moved to
        ``corrupt_directory``. Returns None when there is no checkpoint; raises
        ``CheckpointError`` when there are some and none is good.
        """
        bad = []
        for step in sorted(self._manager.all_steps(), reverse=True):
            try:
                record = self.record(step)
            except Exception as e:  # Orbax raises many types; all mean unreadable.
                bad.append((step, f'its metadata is unreadable ({_first_line(e)})'))
                continue
            changed = check_record(step, record)
            state, problem = self._restore_verified(abstract_state, step, record)
            if problem and changed:
                raise CheckpointError(
                    f'the checkpoint at step {step} in {self.directory} does not fit the '
                    f'changed config ({problem}); a run can only continue with changes that '
                    f'keep the shapes of its state. Use its config or a fresh --workdir.'
                )
            if problem:
                bad.append((step, problem))
                continue
            if bad:
                self._set_aside(bad, good=step)
            return state, record
        if bad:
            listed = '; '.join(f'step {s}: {p}' for s, p in bad)
            raise CheckpointError(
                f'no checkpoint in {self.directory} is good ({listed}). Move that '
                f'directory away to train again from step 0.'
            )
        return None

    def _restore_verified(self, abstract_state, step: int, record: dict | None = None):
        """(state, None), or (None, what is wrong with the checkpoint at ``step``)."""
        try:
            record = self.record(step) if record is None else record
            state = self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        except Exception as e:  # Orbax raises many types; all mean unreadable.
            return None, f'it cannot be read ({_first_line(e)})'
        expected = record.get('sha256')
        if expected is None:
            logging.warning(
                'The checkpoint at step %d in %s has no checksum (written by an older '
                'nssgan); it is used unverified.',
                step,
                self.directory,
            )
        elif state_checksum(state) != expected:
            return None, 'its values do not match the checksum saved with them'
        return state, None

    def _set_aside(self, bad: list[tuple[int, str]], good: int) -> None:
        if jax.process_index() == 0:
            os.makedirs(self.corrupt_directory, exist_ok=True)
            for step, problem in bad:
                target = os.path.join(
                    self.corrupt_directory, f'{step}-{time.strftime("%Y%m%d-%H%M%S")}'
                )
                os.rename(os.path.join(self.directory, str(step)), target)
                logging.warning(
                    'The checkpoint at step %d is corrupt: %s. Moved it to %s; resuming '
                    'from step %d, the newest good checkpoint.',
                    step,
                    problem,
                    target,
                    good,
                )
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices('nssgan: corrupt checkpoints set aside')
        self._manager.reload()

    def wait_until_finished(self) -> None:
        try:
            self._manager.wait_until_finished()
        except Exception as e:  # The asynchronous part of a save failed.
            raise self._write_error(e, None) from e

    def close(self) -> None:
        try:
            self._manager.close()
        except Exception as e:  # A failed save, already reported where it was waited for.
            logging.warning('Closing %s: %s', self.directory, _first_line(e))


def abstract_like(tree, sharding: jax.sharding.Sharding):
    """``tree``'s shapes and dtypes with ``sharding``, for ``Checkpointer.restore``."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree)


def load_state(
    config: ml_collections.ConfigDict,
    workdir: str,
    step: int | None = None,
    *,
    subdir: str = 'checkpoints',
) -> GANState:
    """The state saved in ``<workdir>/<subdir>`` at ``step`` (default: the latest),
    on this host, checked against its checksum.

    Raises ``CheckpointError`` when there is no such checkpoint or it is not good.
    """
    spec = data.dataset_spec(config.dataset, config.image_size)
    frozen = ml_collections.FrozenConfigDict(config)
    checkpointer = Checkpointer(workdir, max_to_keep=None, subdir=subdir)
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.eval_shape(
        functools.partial(create_state, frozen, spec), jax.random.PRNGKey(config.seed)
    )
    try:
        state = checkpointer.restore(abstract_like(abstract, sharding), step)
    finally:
        checkpointer.close()
    if state is None:
        raise CheckpointError(
            f'no checkpoint in {checkpointer.directory}; train first with '
            f'python main.py --config=... --workdir={workdir}'
        )
    return state
