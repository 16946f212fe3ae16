"""Periodic checkpoints of the GAN state with Orbax, and resuming from them.

The data pipeline is a pure function of the step, so the state (which holds the
step and the run's key) is all a resumed run needs to continue the uninterrupted
one exactly.
"""

import functools
import os

import jax
import ml_collections
import orbax.checkpoint as ocp

from nssgan import data
from nssgan.state import GANState
from nssgan.step import create_state


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be restored."""


BEST = 'checkpoints_best'  # The best checkpoint by the primary metric, beside the latest.


class Checkpointer:
    """Saves to and restores from ``<workdir>/<subdir>``, keeping the latest N."""

    def __init__(self, workdir: str, *, max_to_keep: int | None, subdir: str = 'checkpoints'):
        self.directory = os.path.join(os.path.abspath(workdir), subdir)
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state) -> None:
        self._manager.save(step, args=ocp.args.StandardSave(state), force=True)

    def restore(self, abstract_state, step: int | None = None):
        """Restores ``step`` (default: the latest) into ``abstract_state``'s structure.

        Returns None when there is no checkpoint; raises ``CheckpointError`` with what
        to do when one exists but cannot be read or does not fit the config.
        """
        step = self.latest_step() if step is None else step
        if step is None:
            return None
        try:
            return self._manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        except Exception as e:  # Orbax raises many types; all mean the same here.
            path = os.path.join(self.directory, str(step))
            raise CheckpointError(
                f'cannot restore the checkpoint {path} ({type(e).__name__}: '
                f'{str(e).splitlines()[0] if str(e) else ""}). It is corrupt or was '
                f'written with a different config (model, dataset, scheme). Remove '
                f'{path} to resume from the previous checkpoint, or use a fresh '
                f'--workdir.'
            ) from e

    def wait_until_finished(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.close()


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
    on this host.

    Raises ``CheckpointError`` when there is no such checkpoint.
    """
    spec = data.dataset_spec(config.dataset, config.image_size)
    frozen = ml_collections.FrozenConfigDict(config)
    checkpointer = Checkpointer(workdir, max_to_keep=None, subdir=subdir)
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.eval_shape(
        functools.partial(create_state, frozen, spec), jax.random.PRNGKey(config.seed)
    )
    state = checkpointer.restore(abstract_like(abstract, sharding), step)
    if state is None:
        raise CheckpointError(
            f'no checkpoint in {checkpointer.directory}; train first with '
            f'python main.py --config=... --workdir={workdir}'
        )
    return state
