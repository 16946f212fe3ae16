"""The training loop: data → step → logs, samples, checkpoints and evaluation.

``train_and_evaluate(config, workdir)`` checks the config, builds the data stream and
the compiled step (``nssgan.step``) on a device mesh, resumes from the newest good
checkpoint and runs to ``config.num_train_steps``. Everything a step computes lives in
``nssgan.step``; this module only drives it and writes its outputs.
"""

import functools
import logging
import os
import socket
import time

import jax
import ml_collections
import numpy as np
from clu import periodic_actions
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from nssgan import (
    checkpointing,
    data,
    diagnostics,
    distributed,
    event_log,
    fingerprint,
    profiling,
    run_outputs,
    sampling,
    step,
    validation,
    workdir_lock,
)
from nssgan.best_checkpoint import BestCheckpoint
from nssgan.data import prefetch
from nssgan.divergence import (
    TrainingDivergedError,
    check_finite,
    check_finite_state,
    finite_leaves,
)
from nssgan.sharding import DATA_AXIS, make_mesh
from nssgan.signals import StopOnSignal, TrainingInterrupted
from nssgan.state import GANState
from nssgan.workdir_lock import WorkdirInUseError

__all__ = [
    'TrainingDivergedError',
    'TrainingInterrupted',
    'WorkdirInUseError',
    'train_and_evaluate',
]


@functools.lru_cache(maxsize=8)
def _compiled_functions(config: ml_collections.FrozenConfigDict, spec, mesh: Mesh):
    """Jitted init, train step, sample grid and gradient-norm diagnostic for ``config``
    on ``mesh``.

    Cached, so that training the same config again in one process (resuming,
    notebooks, tests) reuses the compiled programs.
    """
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
    init = jax.jit(functools.partial(step.create_state, config, spec), out_shardings=replicated)
    step_fn = jax.jit(
        functools.partial(step.train_step, config=config),
        in_shardings=(replicated, batch_sharding),
        out_shardings=(replicated, replicated),
        donate_argnums=0,
    )
    sample_fn = jax.jit(
        functools.partial(sampling.sample_grid, config=config), out_shardings=replicated
    )
    norms_fn = jax.jit(
        functools.partial(diagnostics.gradient_norms, config=config),
        in_shardings=(replicated, batch_sharding),
        out_shardings=replicated,
    )
    return init, step_fn, sample_fn, norms_fn


_finite_leaves = jax.jit(finite_leaves)


def _save_if_finite(checkpointer, step_num: int, state: GANState, metrics, record) -> None:
    """Saves ``state`` unless its step's metrics or any of its leaves are non-finite."""
    check_finite(jax.device_get(metrics), step_num, checkpointer)
    check_finite_state(jax.device_get(_finite_leaves(state)), step_num, checkpointer)
    checkpointer.save(step_num, state, record)


def _config_check(config, workdir: str, trajectory: dict, allow_change: bool):
    """``check_record`` for ``Checkpointer.restore_newest_good``: refuses a checkpoint
    trained with another trajectory config unless ``allow_change``; notes the change."""
    changes = []

    def check(step_num: int, record: dict) -> bool:
        saved = record.get('config')
        changes[:] = fingerprint.differences(saved, trajectory) if saved is not None else []
        if changes and not allow_change:
            raise validation.ConfigError(
                f'the checkpoint at step {step_num} in {workdir} was trained with another '
                f'config ({"; ".join(changes)}). Resume with its config '
                f'({os.path.join(workdir, "config.json")}), use a fresh --workdir, or pass '
                f'--allow_config_change to continue with this one deliberately.'
            )
        if changes:
            logging.warning(
                'Continuing step %d with a changed config: %s', step_num, '; '.join(changes)
            )
        return bool(changes)

    return check, changes


def train_and_evaluate(
    config: ml_collections.ConfigDict, workdir: str, *, allow_config_change: bool = False
) -> GANState:
    """Trains (or resumes training of) the GAN of ``config`` in ``workdir``.

    Checks the config, the workdir and the data before compiling anything; takes the
    workdir's lock (one trainer per workdir); resumes from the newest good checkpoint
    in ``<workdir>/checkpoints`` (refusing one trained with another trajectory config
    unless ``allow_config_change``); writes the config (``config.json``), TensorBoard
    events, PNG sample grids under ``<workdir>/samples`` and checkpoints as it goes.
    A run that is already complete returns its final state and writes nothing.

    Returns:
      The final state.
    """
    spec = validation.validate(config)
    validation.check_workdir(workdir)
    dataset = data.make_dataset(
        config.dataset,
        batch_size=config.batch_size * config.n_dis,
        image_size=config.image_size,
        seed=config.seed,
        data_dir=config.data_dir,
        split=config.data_split,
        groups=config.n_dis,
    )
    with workdir_lock.lock_run(workdir):
        return _train(config, workdir, spec, dataset, allow_config_change)


def _train(config, workdir, spec, dataset, allow_config_change) -> GANState:
    checkpointer = checkpointing.Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
    try:
        return _run_loop(config, workdir, spec, dataset, allow_config_change, checkpointer)
    finally:
        checkpointer.close()


def _run_loop(config, workdir, spec, dataset, allow_config_change, checkpointer) -> GANState:
    frozen = ml_collections.FrozenConfigDict(config)
    trajectory = fingerprint.trajectory_config(config)
    mesh = make_mesh()
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
    is_chief = jax.process_index() == 0
    with jax.set_mesh(mesh), StopOnSignal() as stop:
        stop_vote = distributed.StopVote(mesh)
        init, step_fn, sample_fn, norms_fn = _compiled_functions(frozen, spec, mesh)
        key = jax.random.PRNGKey(config.seed)
        check_record, changes = _config_check(config, workdir, trajectory, allow_config_change)
        restored = checkpointer.restore_newest_good(
            checkpointing.abstract_like(jax.eval_shape(init, key), replicated), check_record
        )
        if restored is None:
            state = init(key)
        else:
            state = restored[0]
        start_step = int(state.step)
        if start_step >= config.num_train_steps:
            logging.info(
                'The run in %s is complete (step %d of %d); nothing to train.',
                workdir,
                start_step,
                config.num_train_steps,
            )
            return state
        writer = event_log.create_writer(workdir, is_chief=is_chief, resumed=restored is not None)
        if is_chief:
            resumes = run_outputs.read_resumes(workdir) if restored is not None else []
            if restored is not None:
                resumes.append(
                    {
                        'step': start_step,
                        'time': time.strftime('%Y-%m-%d %H:%M:%S %Z'),
                        'host': socket.gethostname(),
                        'pid': os.getpid(),
                        'config_changes': list(changes),
                    }
                )
            run_outputs.write_config(workdir, config, resumes)
        if restored is None:
            writer.write_hparams(run_outputs.flat_hparams(config))
        best = BestCheckpoint(config, workdir) if config.eval.every else None
        record = {'config': trajectory}
        grid_key = jax.random.PRNGKey(config.seed + sampling.GRID_SEED_OFFSET)

        local_shape = (config.n_dis, dataset.local_batch_size // config.n_dis)

        def to_devices(batch):
            images = batch['image']
            local = images.reshape(*local_shape, *spec.shape)
            return images, {'image': jax.make_array_from_process_local_data(batch_sharding, local)}

        batches = prefetch.Prefetch(dataset.iterate(start_step), to_devices)
        first_real = None
        progress = periodic_actions.ReportProgress(
            num_train_steps=config.num_train_steps, writer=writer
        )
        pending = []
        step_num = start_step
        stopping = stop.received or 0
        trace = profiling.StepTrace(config.get('profile_steps', (0, 0)), workdir)
        try:
            while step_num < config.num_train_steps and not stopping:
                images, batch = next(batches)
                if first_real is None:
                    first_real = images[: config.num_samples]
                trace.before(step_num + 1)
                with jax.profiler.StepTraceAnnotation('train', step_num=step_num):
                    state, metrics = step_fn(state, batch)
                step_num += 1
                trace.after(step_num, state)
                pending.append(metrics)
                progress(step_num)
                last = step_num == config.num_train_steps
                if step_num % config.log_every == 0 or last:
                    summary = {
                        k: float(v)
                        for k, v in jax.tree.map(
                            lambda *xs: np.mean(np.stack(xs)), *pending
                        ).items()
                    }
                    pending = []
                    if config.get('log_grad_norms', True):
                        summary.update({k: float(v) for k, v in norms_fn(state, batch).items()})
                    check_finite(summary, step_num, checkpointer)
                    summary.update(diagnostics.memory_usage())
                    writer.write_scalars(step_num, summary)
                if step_num % config.sample_every == 0 or last:
                    grid = np.asarray(sample_fn(state, grid_key))
                    if is_chief:
                        run_outputs.write_samples(writer, workdir, step_num, grid, spec, first_real)
                if step_num % config.checkpoint_every == 0 or last:
                    _save_if_finite(checkpointer, step_num, state, metrics, record)
                if best is not None and (step_num % config.eval.every == 0 or last):
                    scores = best.evaluate(state, step_num)
                    writer.write_scalars(step_num, {f'eval/{k}': v for k, v in scores.items()})
                stopping = stop_vote.vote(stop.received or 0, step_num)
            if stopping and step_num < config.num_train_steps:
                if step_num != checkpointer.latest_step() and step_num > start_step:
                    _save_if_finite(checkpointer, step_num, state, metrics, record)
                checkpointer.wait_until_finished()
                raise TrainingInterrupted(
                    stopping, checkpointer.latest_step(), checkpointer.directory
                )
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:
            # Raised by code other than the signal handler (which only sets a flag): the
            # state is saved only if it is live, i.e. not donated to an unfinished step,
            # and the run has one process (a save needs all of them).
            live = not any(x.is_deleted() for x in jax.tree.leaves(state))
            alone = jax.process_count() == 1
            if alone and live and step_num > start_step and step_num != checkpointer.latest_step():
                _save_if_finite(checkpointer, step_num, state, metrics, record)
                logging.warning(
                    'Interrupted: saved step %d in %s.', step_num, checkpointer.directory
                )
            raise
        finally:
            batches.close()
            trace.close()
            checkpointer.wait_until_finished()
            if best is not None:
                best.checkpointer.close()
            try:
                writer.flush()
            except Exception as e:  # E.g. a full disk: the error being raised says more.
                logging.warning('Could not write the TensorBoard events: %s', str(e)[:300])
    return state
