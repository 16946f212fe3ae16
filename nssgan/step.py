"""The GAN state's creation and the train step: pure, jittable, nothing of the loop.

``train_step(state, batch, config)`` is one GAN iteration: ``config.n_dis``
discriminator updates followed by one generator update, all in one XLA program. The
stabilization scheme named by ``config.stabilizer.name`` is chosen at trace time and
touches the step only through the hooks of ``nssgan.schemes.Scheme``.

From your own JAX code (``examples/own_training_loop.py`` runs this)::

    frozen = ml_collections.FrozenConfigDict(config)
    state = jax.jit(functools.partial(step.create_state, frozen, spec))(key)
    train = jax.jit(functools.partial(step.train_step, config=frozen))
    state, metrics = train(state, {'image': reals})  # reals: (n_dis, B, *spec.shape)
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax

from nssgan import losses, models, schemes
from nssgan.forward import discriminator_apply, per_sample_discriminator, sample_latent
from nssgan.schemes import RunInfo, StepContext
from nssgan.sharding import constrain_to_data_axis
from nssgan.stabilizers.penalties import PENALTIES
from nssgan.state import GANState, TrainState, create_train_state, optimizers

PyTree = Any


def penalty_settings(config) -> tuple[str, float]:
    """``(config.penalty.name, config.penalty.weight)``; ('none', 0) if absent."""
    if 'penalty' not in config:
        return 'none', 0.0
    return config.penalty.name, float(config.penalty.weight)


def create_state(config: ml_collections.ConfigDict, spec, key: jax.Array) -> GANState:
    """Initializes the GAN state for ``config`` and data ``spec`` (pure;
    ``jax.eval_shape`` gives its structure)."""
    generator = models.make_generator(config.model, spec)
    discriminator = models.make_discriminator(config.model, spec)
    k_g, k_d, k_scheme, k_run = jax.random.split(key, 4)
    z = jnp.zeros((2, config.model.latent_dim), jnp.float32)
    x = jnp.zeros((2, *spec.shape), jnp.float32)
    g_tx, d_tx = optimizers(config)
    dtype = config.get('compute_dtype', 'float32')
    g_state = create_train_state(
        generator, generator.init({'params': k_g}, z, train=False), g_tx, dtype
    )
    d_state = create_train_state(
        discriminator, discriminator.init({'params': k_d}, x, train=False), d_tx, dtype
    )
    scheme = schemes.get_scheme(config)
    return GANState(
        step=jnp.zeros((), jnp.int32),
        generator=g_state,
        discriminator=d_state,
        scheme=scheme.init_state(k_scheme, x, RunInfo.from_config(config, spec)),
        # A copy, not the same arrays: a donated state must not hold a buffer twice.
        ema_params=(jax.tree.map(jnp.copy, g_state.params) if config.ema_decay > 0 else {}),
        key=k_run,
    )


def _mean_logits(logits: jax.Array) -> jax.Array:
    return jnp.mean(logits.astype(jnp.float32))


def discriminator_update(
    d_state: TrainState,
    g_state: TrainState,
    scheme_state: PyTree,
    real: jax.Array,
    key: jax.Array,
    *,
    config,
    scheme: schemes.Scheme,
    schedule: dict[str, jax.Array],
) -> tuple[TrainState, PyTree, dict]:
    """One D update on ``real`` and fresh fakes, then one update of the scheme state."""
    run = RunInfo.from_config(config)
    loss = losses.get_loss(config.loss)
    penalty_name, penalty_weight = penalty_settings(config)
    # Five keys, one unused: the split stays as it was so that runs keep their draws.
    k_z, k_view, k_penalty, _, k_extra = jax.random.split(key, 5)
    z = sample_latent(k_z, real.shape[0], run.latent_dim)
    fake = jax.lax.stop_gradient(g_state.apply_train(z)[0])
    ctx = StepContext(run=run, schedule=schedule, key=k_view, penalty_key=k_penalty, latent=z)
    views = scheme.discriminator_views(scheme_state, real, fake, ctx)

    def d_apply_for(params, record=None):
        return scheme.wrap_discriminator(discriminator_apply(d_state, params, record=record))

    # The penalties on the first view's batches reuse the loss pass's BatchNorm moments
    # and logits, unless spectral norm moved its vectors between the passes (the
    # function differs). A scheme that wraps D records nothing: its logits are not D's.
    reuse_loss_pass = not getattr(d_state.module, 'spectral_norm', False)

    def loss_fn(params):
        recorded = []
        d_apply = d_apply_for(params, record=recorded.append)
        stats = d_state.batch_stats
        adversarial, logged, seen = 0.0, {}, None
        for i, view in enumerate(views):
            real_logits, stats = d_apply(view.real, stats)
            fake_logits, stats = d_apply(view.fake, stats)
            view_loss = loss.discriminator(real_logits, fake_logits)
            adversarial += view.weight * view_loss
            if i == 0:
                if reuse_loss_pass and len(recorded) == 2:
                    seen = ((recorded[0], real_logits), (recorded[1], fake_logits))
                logged = {
                    'd_real_logit': _mean_logits(real_logits),
                    'd_fake_logit': _mean_logits(fake_logits),
                }
            if view.name:
                logged[f'd_loss_{view.name}'] = view_loss
        # Penalties on the pair D compares in the first view (e.g. L(x) and G(z)).
        d_fn = per_sample_discriminator(d_apply, stats, seen)
        seen_real, seen_fake = views[0].real, views[0].fake
        penalty, penalty_metrics = scheme.penalty(
            seen_real, seen_fake, dataclasses.replace(ctx, frozen_d_fn=d_fn)
        )
        extra, extra_metrics = jnp.zeros(()), {}
        if penalty_name != 'none':
            value, extra_metrics = PENALTIES[penalty_name](d_fn, seen_real, seen_fake, k_extra)
            extra = penalty_weight * value
            extra_metrics = {f'{penalty_name}_penalty': value, **extra_metrics}
        total = adversarial + penalty + extra
        metrics = {
            'd_loss': total,
            'd_adversarial_loss': adversarial,
            **logged,
            **penalty_metrics,
            **extra_metrics,
        }
        return total, (stats, metrics)

    grads, (stats, metrics) = jax.grad(loss_fn, has_aux=True)(d_state.params)
    d_state = d_state.apply_gradients(grads=grads, batch_stats=stats)
    d_apply = d_apply_for(d_state.params)
    ctx = dataclasses.replace(
        ctx,
        d_fn=lambda x: d_apply(x, d_state.batch_stats, update_stats=False)[0],
        frozen_d_fn=per_sample_discriminator(d_apply, d_state.batch_stats),
    )
    scheme_state, scheme_metrics = scheme.update_state(scheme_state, real, fake, ctx)
    return d_state, scheme_state, {**metrics, **scheme_metrics}


def generator_update(
    g_state: TrainState,
    d_state: TrainState,
    scheme_state: PyTree,
    key: jax.Array,
    batch_size: int,
    *,
    config,
    scheme: schemes.Scheme,
    schedule: dict[str, jax.Array],
) -> tuple[TrainState, dict]:
    """One G update; D runs in training mode but its statistics are not kept."""
    run = RunInfo.from_config(config)
    loss = losses.get_loss(config.loss)
    k_z, k_view = jax.random.split(key)
    z = sample_latent(k_z, batch_size, run.latent_dim)
    d_apply = scheme.wrap_discriminator(discriminator_apply(d_state))
    ctx = StepContext(run=run, schedule=schedule, key=k_view, latent=z)

    def loss_fn(params):
        fake, g_stats = g_state.apply_train(z, params)
        views = scheme.generator_views(scheme_state, fake, ctx)
        total, logged = 0.0, {}
        for view in views:
            logits, _ = d_apply(view.fake, d_state.batch_stats)
            view_loss = loss.generator(logits)
            total += view.weight * view_loss
            if view.name:
                logged[f'g_loss_{view.name}'] = view_loss
        return total, (g_stats, logged)

    (g_loss, (g_stats, logged)), grads = jax.value_and_grad(loss_fn, has_aux=True)(g_state.params)
    g_state = g_state.apply_gradients(grads=grads, batch_stats=g_stats)
    return g_state, {'g_loss': g_loss, **logged}


EMA_SCHEDULES = ('constant', 'dfgan')


def ema_decay(step: jax.Array, config) -> jax.Array:
    """The weight of the old average in this step's generator EMA update.

    ``config.ema_schedule`` 'constant': ``config.ema_decay``. 'dfgan': as the
    noise-tempered GAN's code (sjenni/dfgan) runs TensorFlow's
    ``ExponentialMovingAverage(decay, num_updates=global_step)`` once with each optimizer
    update, D's and G's alike: the n-th update uses min(decay, (1 + n) / (10 + n)), and
    a step makes n_dis + 1 of them towards the same generator, so the step's weight is
    the product of theirs, for n = (n_dis + 1)·step, ..., (n_dis + 1)·step + n_dis.
    """
    decay = jnp.asarray(config.ema_decay, jnp.float32)
    if config.get('ema_schedule', 'constant') == 'constant':
        return decay
    updates = config.n_dis + 1
    n = (updates * step + jnp.arange(updates)).astype(jnp.float32)
    return jnp.prod(jnp.minimum(decay, (1.0 + n) / (10.0 + n)))


def train_step(
    state: GANState, batch: dict[str, jax.Array], config
) -> tuple[GANState, dict[str, jax.Array]]:
    """One GAN iteration: ``n_dis`` D updates, then one G update.

    Args:
      state: the GAN state (``create_state``).
      batch: ``{'image': reals}`` with reals of shape ``(n_dis, B, *example_shape)``;
        D update ``i`` sees ``reals[i]``.
      config: the run's config; static (hashable, e.g. a ``FrozenConfigDict``).

    Returns:
      The new state and a dict of scalar metrics (D metrics averaged over the
      ``n_dis`` updates, the G loss and the scheme's schedule).
    """
    scheme = schemes.get_scheme(config)
    key = jax.random.fold_in(state.key, state.step)
    k_dis, k_gen = jax.random.split(key)
    schedule = scheme.schedule(state.step, RunInfo.from_config(config))
    parts = dict(config=config, scheme=scheme, schedule=schedule)

    reals = batch['image']
    n_dis, batch_size = reals.shape[:2]

    # A Python loop, not lax.scan: XLA:CPU runs convolutions inside a while loop
    # ~20x slower (2.5 s against 0.12 s for the DCGAN-32 step); n_dis is small.
    d_state, scheme_state = state.discriminator, state.scheme
    d_metrics = []
    for i, k in enumerate(jax.random.split(k_dis, n_dis)):
        d_state, scheme_state, metrics = discriminator_update(
            d_state, state.generator, scheme_state, constrain_to_data_axis(reals[i]), k, **parts
        )
        d_metrics.append(metrics)
    d_metrics = jax.tree.map(lambda *xs: jnp.mean(jnp.stack(xs)), *d_metrics)

    g_state, g_metrics = generator_update(
        state.generator,
        d_state,
        scheme_state,
        k_gen,
        config.get('g_batch_size', 0) or batch_size,
        **parts,
    )
    ema_params = state.ema_params
    if config.ema_decay > 0:
        decay = ema_decay(state.step, config)
        ema_params = optax.incremental_update(g_state.params, ema_params, step_size=1.0 - decay)

    new_state = state.replace(
        step=state.step + 1,
        generator=g_state,
        discriminator=d_state,
        scheme=scheme_state,
        ema_params=ema_params,
    )
    return new_state, {**d_metrics, **g_metrics, **schedule}
