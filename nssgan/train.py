"""The GAN train step and the training loop.

``train_step(state, batch, config)`` is one GAN iteration: ``config.n_dis``
discriminator updates followed by one generator update, all in one
XLA program. The stabilization scheme named by ``config.stabilizer.name`` is chosen at
trace time and touches the step only through the hooks of
``nssgan.stabilizers.Stabilizer``.
"""

import functools
import json
import logging
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from nssgan import losses, models, stabilizers
from nssgan.stabilizers import gradients, penalties
from nssgan.state import GANState, ModelState, optimizers

PyTree = Any
DATA_AXIS = 'data'


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int) -> jax.Array:
    """z ~ N(0, I), the generator's input."""
    return _constrain_to_data_axis(
        jax.random.normal(key, (batch_size, latent_dim), jnp.float32))


def _constrain_to_data_axis(x: jax.Array) -> jax.Array:
    """Shards ``x``'s leading (batch) axis over the mesh's data axis, if there is one."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or DATA_AXIS not in mesh.axis_names:
        return x
    return jax.lax.with_sharding_constraint(x, P(DATA_AXIS))


def apply_model(model, params: PyTree, x: jax.Array, batch_stats: PyTree,
                **kwargs) -> tuple[jax.Array, PyTree]:
    """Runs ``model`` in training mode; returns its output and updated batch stats."""
    variables = {'params': params}
    if not batch_stats:
        return model.apply(variables, x, train=True, **kwargs), batch_stats
    variables['batch_stats'] = batch_stats
    out, mutated = model.apply(variables, x, train=True, mutable=['batch_stats'],
                               **kwargs)
    return out, mutated['batch_stats']


def discriminator_apply(discriminator, params: PyTree) -> stabilizers.DiscriminatorApply:
    """D's forward pass in the step: ``(x, batch_stats, *, independent=False,
    update_stats=True) -> (logits, new_batch_stats)``.

    ``independent=True`` makes each logit a function of its own sample only, so that
    ``∇ₓ Σ logits`` is the per-sample input gradient the penalties need: D runs on
    ``[x; stop_gradient(x)]`` with its BatchNorm layers taking their statistics from the
    second half only (``stats_mask``), and the first half's logits are returned. Their
    values (and the running statistics' update) are those of D on ``x`` in training
    mode, and the statistics still depend on D's parameters, so the penalties'
    parameter gradients are exact; only the statistics' dependence on the input is
    cut. Without BatchNorm this is D itself. ``update_stats=False`` leaves the
    spectral-norm power iterations alone.
    """
    def apply(x, batch_stats, *, independent=False, update_stats=True):
        if independent and discriminator.uses_batch_statistics:
            n = x.shape[0]
            both = jnp.concatenate([x, jax.lax.stop_gradient(x)])
            logits, new_stats = apply_model(
                discriminator, params, both, batch_stats, update_stats=update_stats,
                stats_mask=jnp.arange(2 * n) >= n)
            return logits[:n], new_stats
        return apply_model(discriminator, params, x, batch_stats,
                           update_stats=update_stats)
    return apply


def penalty_settings(config) -> tuple[str, float]:
    """``(config.penalty.name, config.penalty.weight)``; ('none', 0) if absent."""
    if 'penalty' not in config:
        return 'none', 0.0
    return config.penalty.name, float(config.penalty.weight)


def build_models(config: ml_collections.ConfigDict, spec):
    """The generator and discriminator modules for ``config`` and data ``spec``."""
    return (models.make_generator(config.model, spec),
            models.make_discriminator(config.model, spec))


def create_state(config: ml_collections.ConfigDict, spec, key: jax.Array
                 ) -> GANState:
    """Initializes the GAN state (pure; ``jax.eval_shape`` gives its structure)."""
    generator, discriminator = build_models(config, spec)
    k_g, k_d, k_scheme, k_run = jax.random.split(key, 4)
    z = jnp.zeros((2, config.model.latent_dim), jnp.float32)
    x = jnp.zeros((2, *spec.shape), jnp.float32)

    def init(model, k, inputs):
        variables = model.init({'params': k}, inputs, train=False)
        return variables['params'], variables.get('batch_stats', {})

    g_params, g_stats = init(generator, k_g, z)
    d_params, d_stats = init(discriminator, k_d, x)
    g_tx, d_tx = optimizers(config)
    g_state = ModelState.create(g_params, g_stats, g_tx)
    d_state = ModelState.create(d_params, d_stats, d_tx)
    scheme = stabilizers.get_stabilizer(config)
    return GANState(
        step=jnp.zeros((), jnp.int32),
        generator=g_state,
        discriminator=d_state,
        scheme=scheme.init_state(k_scheme, x),
        # A copy, not the same arrays: a donated state must not hold a buffer twice.
        ema_params=jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else {},
        key=k_run,
    )


def _mean_logits(logits: jax.Array) -> jax.Array:
    return jnp.mean(logits.astype(jnp.float32))


def _discriminator_update(d_state: ModelState, g_state: ModelState,
                          scheme_state: PyTree, real: jax.Array, key: jax.Array,
                          *, config, generator, discriminator, scheme,
                          schedule) -> tuple[ModelState, PyTree, dict]:
    """One D update on ``real`` and fresh fakes, then one update of the scheme state."""
    loss = losses.get_loss(config.loss)
    penalty_name, penalty_weight = penalty_settings(config)
    k_z, k_view, k_penalty, k_scheme, k_extra = jax.random.split(key, 5)
    z = sample_latent(k_z, real.shape[0], config.model.latent_dim)
    fake, _ = apply_model(generator, g_state.params, z, g_state.batch_stats)
    fake = jax.lax.stop_gradient(fake)
    latent = {'latent': z} if scheme.replays_views else {}
    views = scheme.discriminator_views(scheme_state, k_view, real, fake, schedule,
                                       **latent)

    def d_apply_for(params):
        return scheme.wrap_discriminator(discriminator_apply(discriminator, params))

    def frozen_d_fn(d_apply, batch_stats):
        # D for penalties and scheme updates: per-sample, changes no statistics.
        return lambda x: d_apply(x, batch_stats, independent=True,
                                 update_stats=False)[0]

    def loss_fn(params):
        d_apply = d_apply_for(params)
        stats = d_state.batch_stats
        adversarial, logged = 0.0, {}
        for i, view in enumerate(views):
            real_logits, stats = d_apply(view.real, stats)
            fake_logits, stats = d_apply(view.fake, stats)
            view_loss = loss.discriminator(real_logits, fake_logits)
            adversarial += view.weight * view_loss
            if i == 0:
                logged = {'d_real_logit': _mean_logits(real_logits),
                          'd_fake_logit': _mean_logits(fake_logits)}
            if view.name:
                logged[f'd_loss_{view.name}'] = view_loss
        # Penalties on the pair D compares in the first view (e.g. L(x) and G(z)).
        d_fn = frozen_d_fn(d_apply, stats)
        seen_real, seen_fake = views[0].real, views[0].fake
        penalty, penalty_metrics = scheme.penalty(d_fn, seen_real, seen_fake, k_penalty,
                                                  schedule)
        extra, extra_metrics = penalties.weighted_penalty(
            penalty_name, penalty_weight, d_fn, seen_real, seen_fake, k_extra)
        total = adversarial + penalty + extra
        metrics = {'d_loss': total, 'd_adversarial_loss': adversarial,
                   **logged, **penalty_metrics, **extra_metrics}
        return total, (stats, metrics)

    grads, (stats, metrics) = jax.grad(loss_fn, has_aux=True)(d_state.params)
    d_state = d_state.apply_gradients(grads, optimizers(config)[1], stats)
    d_apply = d_apply_for(d_state.params)
    if scheme.replays_views:
        # The view's key and D as in its loss (see Stabilizer.replays_views).
        k_scheme = k_view
        scheme_d_fn = lambda x: d_apply(x, d_state.batch_stats, update_stats=False)[0]
    else:
        scheme_d_fn = frozen_d_fn(d_apply, d_state.batch_stats)
    scheme_state, scheme_metrics = scheme.update_state(
        scheme_state, k_scheme, real, fake, scheme_d_fn, schedule, **latent)
    return d_state, scheme_state, {**metrics, **scheme_metrics}


def _generator_update(g_state: ModelState, d_state: ModelState,
                      scheme_state: PyTree, key: jax.Array, batch_size: int,
                      *, config, generator, discriminator, scheme,
                      schedule) -> tuple[ModelState, dict]:
    """One G update; D runs in training mode but its statistics are not kept."""
    loss = losses.get_loss(config.loss)
    k_z, k_view = jax.random.split(key)
    z = sample_latent(k_z, batch_size, config.model.latent_dim)
    d_apply = scheme.wrap_discriminator(
        discriminator_apply(discriminator, d_state.params))

    latent = {'latent': z} if scheme.replays_views else {}

    def loss_fn(params):
        fake, g_stats = apply_model(generator, params, z, g_state.batch_stats)
        views = scheme.generator_views(scheme_state, k_view, fake, schedule, **latent)
        total, logged = 0.0, {}
        for view in views:
            logits, _ = d_apply(view.fake, d_state.batch_stats)
            view_loss = loss.generator(logits)
            total += view.weight * view_loss
            if view.name:
                logged[f'g_loss_{view.name}'] = view_loss
        return total, (g_stats, logged)

    (g_loss, (g_stats, logged)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        g_state.params)
    g_state = g_state.apply_gradients(grads, optimizers(config)[0], g_stats)
    return g_state, {'g_loss': g_loss, **logged}


def train_step(state: GANState, batch: dict[str, jax.Array], config
               ) -> tuple[GANState, dict[str, jax.Array]]:
    """One GAN iteration: ``n_dis`` D updates, then one G update.

    Args:
      state: the GAN state.
      batch: ``{'image': reals}`` with reals of shape ``(n_dis, B, *example_shape)``;
        D update ``i`` sees ``reals[i]``.
      config: the run's config; static (hashable, e.g. a ``FrozenConfigDict``).

    Returns:
      The new state and a dict of scalar metrics (D metrics averaged over the
      ``n_dis`` updates, the G loss and the scheme's schedule).
    """
    from nssgan import data  # Local import: data imports nothing heavy at top level.
    spec = data.dataset_spec(config.dataset, config.image_size)
    generator, discriminator = build_models(config, spec)
    scheme = stabilizers.get_stabilizer(config)
    key = jax.random.fold_in(state.key, state.step)
    k_dis, k_gen = jax.random.split(key)
    schedule = scheme.schedule(state.step, config.num_train_steps)
    parts = dict(config=config, generator=generator, discriminator=discriminator,
                 scheme=scheme, schedule=schedule)

    reals = batch['image']
    n_dis, batch_size = reals.shape[:2]

    # A Python loop, not lax.scan: XLA:CPU runs convolutions inside a while loop
    # ~20x slower (2.5 s against 0.12 s for the DCGAN-32 step); n_dis is small.
    d_state, scheme_state = state.discriminator, state.scheme
    d_metrics = []
    for i, k in enumerate(jax.random.split(k_dis, n_dis)):
        d_state, scheme_state, metrics = _discriminator_update(
            d_state, state.generator, scheme_state,
            _constrain_to_data_axis(reals[i]), k, **parts)
        d_metrics.append(metrics)
    d_metrics = jax.tree.map(lambda *xs: jnp.mean(jnp.stack(xs)), *d_metrics)

    g_state, g_metrics = _generator_update(
        state.generator, d_state, scheme_state, k_gen,
        config.get('g_batch_size', 0) or batch_size, **parts)
    ema_params = state.ema_params
    if config.ema_decay > 0:
        ema_params = optax.incremental_update(
            g_state.params, ema_params, step_size=1.0 - config.ema_decay)

    new_state = state.replace(
        step=state.step + 1, generator=g_state, discriminator=d_state,
        scheme=scheme_state, ema_params=ema_params)
    return new_state, {**d_metrics, **g_metrics, **schedule}


def gradient_norms(state: GANState, batch: dict[str, jax.Array], config
                   ) -> dict[str, jax.Array]:
    """Mean per-sample ‖∇ₓD‖ on the batch's first reals and on fresh fakes.

    A diagnostic the trainer logs every ``log_every`` steps (it changes nothing): of D
    itself (``grad_norm_real``, ``grad_norm_fake``) and, for schemes that replace D by
    a normalized f̂ (``gn``, ``pgn``), of f̂ (``grad_norm_real_normalized``, ...).
    """
    from nssgan import data
    spec = data.dataset_spec(config.dataset, config.image_size)
    generator, discriminator = build_models(config, spec)
    scheme = stabilizers.get_stabilizer(config)
    real = batch['image'][0]
    # Its own stream of randomness: the training step's keys are untouched.
    key = jax.random.fold_in(jax.random.fold_in(state.key, state.step), 0x67726164)
    z = sample_latent(key, real.shape[0], config.model.latent_dim)
    fake, _ = apply_model(generator, state.generator.params, z,
                          state.generator.batch_stats)
    plain = discriminator_apply(discriminator, state.discriminator.params)
    applies = {'': plain}
    if type(scheme).wrap_discriminator is not stabilizers.Stabilizer.wrap_discriminator:
        applies['_normalized'] = scheme.wrap_discriminator(plain)
    out = {}
    for suffix, d_apply in applies.items():
        def d_fn(x, d_apply=d_apply):
            return d_apply(x, state.discriminator.batch_stats, independent=True,
                           update_stats=False)[0]
        for name, x in (('real', real), ('fake', fake)):
            out[f'grad_norm_{name}{suffix}'] = jnp.mean(
                gradients.norms(gradients.input_gradients(d_fn, x)))
    return out


def generate(state: GANState, z: jax.Array, config) -> jax.Array:
    """Samples G(z) with the EMA parameters when enabled.

    BatchNorm uses the statistics of the batch ``z``, as the DCGAN reference does when
    it draws its fixed-noise grids (the running averages are not changed).
    """
    from nssgan import data
    generator, _ = build_models(config, data.dataset_spec(config.dataset,
                                                          config.image_size))
    params = state.ema_params if config.ema_decay > 0 else state.generator.params
    samples, _ = apply_model(generator, params, z, state.generator.batch_stats)
    return samples


def make_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all devices) with the batch axis 'data'."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (DATA_AXIS,))


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite; the state at that point is not saved."""


def _check_finite(metrics: dict[str, float], step: int, checkpointer) -> None:
    bad = sorted(k for k, v in metrics.items() if not np.isfinite(v))
    if bad:
        last = checkpointer.latest_step()
        where = (f'the last good checkpoint is step {last} in '
                 f'{checkpointer.directory}' if last is not None
                 else 'no checkpoint was saved yet')
        raise TrainingDivergedError(
            f'training diverged: {", ".join(bad)} became non-finite by step {step} '
            f'({where}, and the diverged state was not saved). Lower '
            f'config.optimizer.d_lr / g_lr, change config.optimizer.b1, or use a '
            f'stabilizer (config.stabilizer.name), then rerun.')


def _flat_hparams(config: ml_collections.ConfigDict) -> dict[str, Any]:
    flat = {}

    def visit(prefix, node):
        for k, v in node.items():
            name = f'{prefix}{k}'
            if isinstance(v, (ml_collections.ConfigDict, dict)):
                visit(f'{name}.', v)
            else:
                flat[name] = v if isinstance(v, (int, float, str, bool)) else str(v)
    visit('', config)
    return flat


def _write_samples(writer, workdir: str, step: int, samples: np.ndarray, spec,
                   real: np.ndarray | None) -> None:
    from nssgan import visualize
    picture = visualize.samples_picture(samples, spec.kind, real,
                                        title=f'step {step}')
    visualize.save_png(
        f'{workdir}/samples/step_{step:07d}.png', picture)
    writer.write_images(step, {'samples': picture[None]})


@functools.lru_cache(maxsize=8)
def _compiled_functions(config: ml_collections.FrozenConfigDict, spec, mesh: Mesh):
    """Jitted init, train step and sampler for ``config`` on ``mesh``.

    Cached, so that training the same config again in one process (resuming,
    notebooks, tests) reuses the compiled programs.
    """
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
    init = jax.jit(functools.partial(create_state, config, spec),
                   out_shardings=replicated)
    step_fn = jax.jit(functools.partial(train_step, config=config),
                      in_shardings=(replicated, batch_sharding),
                      out_shardings=(replicated, replicated),
                      donate_argnums=0)
    sample_fn = jax.jit(functools.partial(generate, config=config))
    norms_fn = jax.jit(functools.partial(gradient_norms, config=config),
                       in_shardings=(replicated, batch_sharding),
                       out_shardings=replicated)
    return init, step_fn, sample_fn, norms_fn


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str
                       ) -> GANState:
    """Trains (or resumes training of) the GAN of ``config`` in ``workdir``.

    Checks the config and the data before compiling anything; resumes from the
    latest checkpoint in ``<workdir>/checkpoints``; writes the config
    (``config.json``), TensorBoard events, PNG sample grids under
    ``<workdir>/samples`` and checkpoints as it goes.

    Returns:
      The final state.
    """
    from clu import metric_writers, periodic_actions

    from nssgan import checkpointing, config_checks, data

    spec = config_checks.validate(config)
    dataset = data.make_dataset(
        config.dataset, batch_size=config.batch_size * config.n_dis,
        image_size=config.image_size, seed=config.seed,
        data_dir=config.data_dir)
    frozen = ml_collections.FrozenConfigDict(config)

    mesh = make_mesh()
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))
    is_chief = jax.process_index() == 0
    writer = metric_writers.create_default_writer(workdir, just_logging=not is_chief)
    checkpointer = checkpointing.Checkpointer(workdir,
                                              max_to_keep=config.keep_checkpoints)
    best = _BestCheckpoint(config, workdir) if config.eval.every else None

    with jax.set_mesh(mesh):
        init, step_fn, sample_fn, norms_fn = _compiled_functions(frozen, spec, mesh)
        key = jax.random.PRNGKey(config.seed)
        state = checkpointer.restore(
            checkpointing.abstract_like(jax.eval_shape(init, key), replicated))
        if state is None:
            state = init(key)
            writer.write_hparams(_flat_hparams(config))
            if is_chief:
                with open(os.path.join(workdir, 'config.json'), 'w') as f:
                    f.write(config.to_json_best_effort(indent=2))
        start_step = int(state.step)
        fixed_z = sample_latent(jax.random.PRNGKey(config.seed + 1),
                                config.num_samples, config.model.latent_dim)

        local_shape = (config.n_dis, dataset.local_batch_size // config.n_dis)
        batches = dataset.iterate(start_step)
        first_real = None
        progress = periodic_actions.ReportProgress(
            num_train_steps=config.num_train_steps, writer=writer)
        pending = []
        step = start_step
        try:
            while step < config.num_train_steps:
                images = next(batches)['image']
                if first_real is None:
                    first_real = images[:config.num_samples]
                batch = {'image': jax.make_array_from_process_local_data(
                    batch_sharding, images.reshape(*local_shape, *spec.shape))}
                with jax.profiler.StepTraceAnnotation('train', step_num=step):
                    state, metrics = step_fn(state, batch)
                step += 1
                pending.append(metrics)
                progress(step)
                last = step == config.num_train_steps
                if step % config.log_every == 0 or last:
                    summary = {k: float(v) for k, v in jax.tree.map(
                        lambda *xs: np.mean(np.stack(xs)), *pending).items()}
                    pending = []
                    if config.get('log_grad_norms', True):
                        summary.update({k: float(v) for k, v in
                                        norms_fn(state, batch).items()})
                    _check_finite(summary, step, checkpointer)
                    writer.write_scalars(step, summary)
                if step % config.sample_every == 0 or last:
                    _write_samples(writer, workdir, step,
                                   np.asarray(sample_fn(state, fixed_z)), spec,
                                   first_real)
                if step % config.checkpoint_every == 0 or last:
                    _check_finite(jax.device_get(metrics), step, checkpointer)
                    checkpointer.save(step, state)
                if best is not None and (step % config.eval.every == 0 or last):
                    scores = best.evaluate(state, step)
                    writer.write_scalars(step, {f'eval/{k}': v for k, v in
                                                scores.items()})
        except KeyboardInterrupt:
            if step > start_step and step != checkpointer.latest_step():
                _check_finite(jax.device_get(metrics), step, checkpointer)
                checkpointer.save(step, state)
                logging.warning('Interrupted: saved step %d in %s.', step,
                                checkpointer.directory)
            raise
        finally:
            checkpointer.wait_until_finished()
            if best is not None:
                best.checkpointer.wait_until_finished()
            writer.flush()
    return state


class _BestCheckpoint:
    """Evaluates the run and keeps its best state by the primary metric in
    ``<workdir>/checkpoints_best``; the best value so far is in ``best_metric.json``."""

    def __init__(self, config, workdir: str):
        from nssgan import checkpointing
        from nssgan.evaluation import evaluator
        self.config = config
        self.metric, self.direction = evaluator.primary_metric(config)
        self.checkpointer = checkpointing.Checkpointer(workdir, max_to_keep=1,
                                                       subdir=checkpointing.BEST)
        self.record = os.path.join(workdir, 'best_metric.json')
        self.best = None
        if os.path.exists(self.record):
            with open(self.record) as f:
                self.best = json.load(f)['value']
        self._evaluator = None

    def evaluate(self, state: GANState, step: int) -> dict[str, float]:
        from nssgan import evaluate as evaluate_lib  # evaluate imports this module
        from nssgan.evaluation import evaluator
        if self._evaluator is None:
            self._evaluator = evaluate_lib.make_evaluator(self.config)
        scores = self._evaluator(evaluate_lib.generate_samples(
            state, self.config, self.config.eval.num_samples))
        value = float(scores[self.metric])
        logging.info('Step %d: %s', step, evaluator.format_table(scores))
        if evaluator.improves(value, self.best, self.direction):
            self.best = value
            self.checkpointer.save(step, state)
            if jax.process_index() == 0:
                with open(self.record, 'w') as f:
                    json.dump({'step': step, 'metric': self.metric, 'value': value}, f)
        return scores


def load_state(config: ml_collections.ConfigDict, workdir: str,
               step: int | None = None, *, subdir: str = 'checkpoints') -> GANState:
    """The state saved in ``<workdir>/<subdir>`` at ``step`` (default: the latest),
    on this host.

    Raises ``checkpointing.CheckpointError`` when there is no such checkpoint.
    """
    from nssgan import checkpointing, data
    spec = data.dataset_spec(config.dataset, config.image_size)
    frozen = ml_collections.FrozenConfigDict(config)
    checkpointer = checkpointing.Checkpointer(workdir, max_to_keep=None, subdir=subdir)
    sharding = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.eval_shape(functools.partial(create_state, frozen, spec),
                              jax.random.PRNGKey(config.seed))
    state = checkpointer.restore(checkpointing.abstract_like(abstract, sharding), step)
    if state is None:
        raise checkpointing.CheckpointError(
            f'no checkpoint in {checkpointer.directory}; train first with '
            f'python main.py --config=... --workdir={workdir}')
    return state
