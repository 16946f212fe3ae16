"""The training loop: data → step → logs, samples, checkpoints and evaluation.

``train_and_evaluate(config, workdir)`` checks the config, builds the data stream and
the compiled step (``nssgan.step``) on a device mesh, resumes from the latest
checkpoint and runs to ``config.num_train_steps``. Everything a step computes lives in
``nssgan.step``; this module only drives it and writes its outputs.
"""

import functools
import logging

import jax
import ml_collections
import numpy as np
from clu import metric_writers, periodic_actions
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from nssgan import checkpointing, data, diagnostics, run_outputs, sampling, step, validation
from nssgan.best_checkpoint import BestCheckpoint
from nssgan.divergence import (
    TrainingDivergedError,
    check_finite,
    check_finite_state,
    finite_leaves,
)
from nssgan.forward import sample_latent
from nssgan.sharding import DATA_AXIS, make_mesh
from nssgan.signals import StopOnSignal, TrainingInterrupted
from nssgan.state import GANState

__all__ = ['TrainingDivergedError', 'TrainingInterrupted', 'train_and_evaluate']


@functools.lru_cache(maxsize=8)
def _compiled_functions(config: ml_collections.FrozenConfigDict, spec, mesh: Mesh):
    """Jitted init, train step, sampler and gradient-norm diagnostic for ``config`` on
    ``mesh``.

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
    sample_fn = jax.jit(functools.partial(sampling.generate, config=config))
    norms_fn = jax.jit(
        functools.partial(diagnostics.gradient_norms, config=config),
        in_shardings=(replicated, batch_sharding),
        out_shardings=replicated,
    )
    return init, step_fn, sample_fn, norms_fn


_finite_leaves = jax.jit(finite_leaves)


def _save_if_finite(checkpointer, step_num: int, state: GANState, metrics) -> None:
    """Saves ``state`` unless its step's metrics or any of its leaves are non-finite."""
    check_finite(jax.device_get(metrics), step_num, checkpointer)
    check_finite_state(jax.device_get(_finite_leaves(state)), step_num, checkpointer)
    checkpointer.save(step_num, state)


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> GANState:
    """Trains (or resumes training of) the GAN of ``config`` in ``workdir``.

    Checks the config and the data before compiling anything; resumes from the
    latest checkpoint in ``<workdir>/checkpoints``; writes the config
    (``config.json``), TensorBoard events, PNG sample grids under
    ``<workdir>/samples`` and checkpoints as it goes.

    Returns:
      The final state.
    """
    spec = validation.validate(config)
    dataset = data.make_dataset(
        config.dataset,
        batch_size=config.batch_size * config.n_dis,
        image_size=config.image_size,
        seed=config.seed,
        data_dir=config.data_dir,
    )
    frozen = ml_collections.FrozenConfigDict(config)

    mesh = make_mesh()
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
    is_chief = jax.process_index() == 0
    writer = metric_writers.create_default_writer(workdir, just_logging=not is_chief)
    checkpointer = checkpointing.Checkpointer(workdir, max_to_keep=config.keep_checkpoints)
    best = BestCheckpoint(config, workdir) if config.eval.every else None

    with jax.set_mesh(mesh), StopOnSignal() as stop:
        init, step_fn, sample_fn, norms_fn = _compiled_functions(frozen, spec, mesh)
        key = jax.random.PRNGKey(config.seed)
        state = checkpointer.restore(
            checkpointing.abstract_like(jax.eval_shape(init, key), replicated)
        )
        if state is None:
            state = init(key)
            writer.write_hparams(run_outputs.flat_hparams(config))
            if is_chief:
                run_outputs.write_config(workdir, config)
        start_step = int(state.step)
        fixed_z = sample_latent(
            jax.random.PRNGKey(config.seed + 1), config.num_samples, config.model.latent_dim
        )

        local_shape = (config.n_dis, dataset.local_batch_size // config.n_dis)
        batches = dataset.iterate(start_step)
        first_real = None
        progress = periodic_actions.ReportProgress(
            num_train_steps=config.num_train_steps, writer=writer
        )
        pending = []
        step_num = start_step
        try:
            while step_num < config.num_train_steps:
                if stop.received is not None:
                    break
                images = next(batches)['image']
                if first_real is None:
                    first_real = images[: config.num_samples]
                batch = {
                    'image': jax.make_array_from_process_local_data(
                        batch_sharding, images.reshape(*local_shape, *spec.shape)
                    )
                }
                with jax.profiler.StepTraceAnnotation('train', step_num=step_num):
                    state, metrics = step_fn(state, batch)
                step_num += 1
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
                    writer.write_scalars(step_num, summary)
                if step_num % config.sample_every == 0 or last:
                    run_outputs.write_samples(
                        writer,
                        workdir,
                        step_num,
                        np.asarray(sample_fn(state, fixed_z)),
                        spec,
                        first_real,
                    )
                if step_num % config.checkpoint_every == 0 or last:
                    _save_if_finite(checkpointer, step_num, state, metrics)
                if best is not None and (step_num % config.eval.every == 0 or last):
                    scores = best.evaluate(state, step_num)
                    writer.write_scalars(step_num, {f'eval/{k}': v for k, v in scores.items()})
            if stop.received is not None and step_num < config.num_train_steps:
                if step_num != checkpointer.latest_step() and step_num > start_step:
                    _save_if_finite(checkpointer, step_num, state, metrics)
                checkpointer.wait_until_finished()
                raise TrainingInterrupted(
                    stop.received, checkpointer.latest_step(), checkpointer.directory
                )
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:
            # Raised by code other than the signal handler (which only sets a flag): the
            # state is saved only if it is live, i.e. not donated to an unfinished step.
            live = not any(x.is_deleted() for x in jax.tree.leaves(state))
            if live and step_num > start_step and step_num != checkpointer.latest_step():
                _save_if_finite(checkpointer, step_num, state, metrics)
                logging.warning(
                    'Interrupted: saved step %d in %s.', step_num, checkpointer.directory
                )
            raise
        finally:
            checkpointer.wait_until_finished()
            if best is not None:
                best.checkpointer.wait_until_finished()
            writer.flush()
    return state
