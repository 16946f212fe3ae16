"""Joining a multi-process run (TPU pod slices, GPU clusters, several processes on one
machine), and agreeing across its processes on when to stop.

Every process of a run executes the same steps in lockstep, and a checkpoint is written
by all of them together, so a signal that reaches one process (a scheduler's SIGTERM, a
TPU maintenance event, Ctrl-C in one terminal) must stop all of them at the same step.
``StopVote`` does it with a collective over the processes' signal flags, dispatched
with a step and read one step later, so the vote never makes the host wait for the
device.
"""

import signal

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from nssgan.sharding import DATA_AXIS


class DistributedError(RuntimeError):
    """The process could not join the multi-process run."""


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """``jax.distributed.initialize`` with the arguments given; with none, JAX detects
    the cluster (Cloud TPU, SLURM, Open MPI, Kubernetes jobs).

    Raises:
      DistributedError: with what to give, when the arguments are inconsistent or the
        run's processes cannot be joined.
    """
    explicit = {
        'coordinator_address': coordinator_address,
        'num_processes': num_processes,
        'process_id': process_id,
    }
    given = {k: v for k, v in explicit.items() if v is not None}
    if num_processes is not None and num_processes < 1:
        raise DistributedError(f'--num_processes={num_processes} must be at least 1.')
    if process_id is not None and num_processes is not None:
        if not 0 <= process_id < num_processes:
            raise DistributedError(
                f'--process_id={process_id} must be in [0, --num_processes={num_processes}).'
            )
    try:
        jax.distributed.initialize(**given)
    except Exception as e:  # JAX raises ValueError, RuntimeError and XlaRuntimeError here.
        missing = [f'--{k}' for k, v in explicit.items() if v is None]
        how = (
            f'give {", ".join(missing)} as well, or run where JAX detects the cluster '
            f'(a Cloud TPU VM, a SLURM job)'
            if given and missing
            else 'check that every process of the run was started with the same '
            '--coordinator_address and --num_processes and a distinct --process_id, and '
            'that process 0 is reachable at that address'
            if given
            else 'outside a cluster JAX detects (a Cloud TPU VM, a SLURM job), give '
            '--coordinator_address, --num_processes and --process_id'
        )
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DistributedError(f'cannot join the distributed run ({first_line}); {how}.') from e


class StopVote:
    """Whether any process of the run received a stop signal, agreed by all.

    ``vote(flag, step)`` is called by every process after each step with its own signal
    number (0 for none); it returns the largest signal number of the votes of the
    previous call, the same on every process, so all processes stop after the same step.
    JAX's preemption sync point (SIGTERM where JAX's own handler receives it) counts as
    a SIGTERM vote. With one process the flag is returned at once.
    """

    def __init__(self, mesh: Mesh):
        self._many = jax.process_count() > 1
        self._sharding = NamedSharding(mesh, P(DATA_AXIS))
        self._local_devices = len(mesh.local_devices)
        self._max = jax.jit(jnp.max, out_shardings=NamedSharding(mesh, P()))
        self._pending = None

    def vote(self, flag: int, step: int) -> int:
        if not self._many:
            return flag
        previous, self._pending = (
            self._pending,
            self._max(
                jax.make_array_from_process_local_data(
                    self._sharding, np.full((self._local_devices,), flag, np.int32)
                )
            ),
        )
        agreed = 0 if previous is None else int(previous)
        if _reached_preemption_sync_point(step):
            return int(signal.SIGTERM)  # What the platform's preemption notice stands for.
        return agreed


def _reached_preemption_sync_point(step: int) -> bool:
    """JAX's own preemption notice (where the platform sends one and JAX's handler
    received it), agreed across processes by JAX."""
    try:
        return multihost_utils.reached_preemption_sync_point(step)
    except (RuntimeError, AttributeError):  # No preemption sync manager in this run.
        return False
