"""What the trainer does when training diverges: stop, name what went non-finite and
where the last good checkpoint is, and never save the diverged state."""

import jax
import jax.numpy as jnp
import numpy as np


class TrainingDivergedError(FloatingPointError):
    """A loss or the state became NaN or infinite; that state is not saved."""


def finite_leaves(state) -> dict[str, jax.Array]:
    """{path: all elements finite} for every floating leaf of ``state`` (jittable; one
    reduction per leaf, on device)."""
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {
        jax.tree_util.keystr(path): jnp.all(jnp.isfinite(leaf))
        for path, leaf in leaves
        if jnp.issubdtype(leaf.dtype, jnp.floating)
    }


def _diverged(what: list[str], step: int, checkpointer) -> TrainingDivergedError:
    last = checkpointer.latest_step()
    where = (
        f'the last good checkpoint is step {last} in {checkpointer.directory}'
        if last is not None
        else 'no checkpoint was saved yet'
    )
    shown = ', '.join(what[:5]) + (f' and {len(what) - 5} more' if len(what) > 5 else '')
    return TrainingDivergedError(
        f'training diverged: {shown} became non-finite by step {step} '
        f'({where}, and the diverged state was not saved). Lower '
        f'config.optimizer.d_lr / g_lr, change config.optimizer.b1, or use a '
        f'stabilizer (config.stabilizer.name), then rerun.'
    )


def check_finite(metrics: dict[str, float], step: int, checkpointer) -> None:
    """Raises ``TrainingDivergedError`` if any of ``metrics`` is not finite."""
    bad = sorted(k for k, v in metrics.items() if not np.isfinite(v))
    if bad:
        raise _diverged(bad, step, checkpointer)


def check_finite_state(flags: dict[str, bool], step: int, checkpointer) -> None:
    """Raises ``TrainingDivergedError`` naming the state's non-finite leaves (``flags``
    from ``finite_leaves``), parameters first."""
    bad = [f'state{path}' for path, finite in flags.items() if not finite]
    bad.sort(key=lambda path: '.params' not in path)
    if bad:
        raise _diverged(bad, step, checkpointer)
