"""What the trainer does when training diverges: stop, name what went non-finite and
where the last good checkpoint is, and never save the diverged state."""

import numpy as np


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite; the state at that point is not saved."""


def check_finite(metrics: dict[str, float], step: int, checkpointer) -> None:
    """Raises ``TrainingDivergedError`` if any of ``metrics`` is not finite."""
    bad = sorted(k for k, v in metrics.items() if not np.isfinite(v))
    if bad:
        last = checkpointer.latest_step()
        where = (
            f'the last good checkpoint is step {last} in {checkpointer.directory}'
            if last is not None
            else 'no checkpoint was saved yet'
        )
        raise TrainingDivergedError(
            f'training diverged: {", ".join(bad)} became non-finite by step {step} '
            f'({where}, and the diverged state was not saved). Lower '
            f'config.optimizer.d_lr / g_lr, change config.optimizer.b1, or use a '
            f'stabilizer (config.stabilizer.name), then rerun.'
        )
