"""G's and D's forward passes inside the step, and the per-sample discriminator.

``discriminator_apply(d_state)`` is D's forward pass as every update uses it. With
``independent=True`` each logit is a function of its own sample only, so that
``∇ₓ Σ logits`` is the per-sample input gradient the penalties need: a first pass of D
on ``stop_gradient(x)`` computes the BatchNorm moments of the batch (and the running
statistics' update), and a second pass on ``x`` normalizes with those moments as given
(``nssgan.models.norm.MOMENTS``). The logits are those of D on ``x`` in training mode,
and the moments still depend on D's parameters, so the penalties' parameter gradients
are exact; only the moments' dependence on the input is cut. Both passes compute the
same forward values, which XLA computes once; the input gradient runs through the
second pass only. Without BatchNorm this is D itself.

For a batch D's loss has just seen, the first pass is not needed at all: the loss pass
can ``record`` its moments, and ``moments=`` hands them to the per-sample pass
(``per_sample_discriminator``).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from nssgan.models.norm import MOMENTS
from nssgan.schemes.base import DiscriminatorApply
from nssgan.sharding import constrain_to_data_axis
from nssgan.stabilizers.gradients import PerSampleDiscriminator
from nssgan.state import TrainState

PyTree = Any


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int) -> jax.Array:
    """z ~ N(0, I), the generator's input."""
    return constrain_to_data_axis(jax.random.normal(key, (batch_size, latent_dim), jnp.float32))


def _train_pass(
    d_state: TrainState,
    params: PyTree,
    x: jax.Array,
    batch_stats: PyTree,
    *,
    update_stats: bool,
    moments: PyTree | None = None,
    record: bool = False,
) -> tuple[jax.Array, PyTree, PyTree | None]:
    """D in training mode: ``(logits, new_batch_stats, moments)``. Given ``moments``,
    BatchNorm normalizes with them and the statistics are left as they are; ``record``
    returns the moments the pass used (else None)."""
    variables = {'params': params}
    mutable = []
    if batch_stats:
        variables['batch_stats'] = batch_stats
        if moments is None:
            mutable.append('batch_stats')
    if moments is not None:
        variables[MOMENTS] = moments
    elif record:
        mutable.append(MOMENTS)
    if not mutable:
        return (
            d_state.apply_fn(variables, x, train=True, update_stats=update_stats),
            batch_stats,
            None,
        )
    logits, mutated = d_state.apply_fn(
        variables, x, train=True, update_stats=update_stats, mutable=mutable
    )
    return logits, mutated.get('batch_stats', batch_stats), mutated.get(MOMENTS)


def discriminator_apply(
    d_state: TrainState,
    params: PyTree | None = None,
    *,
    record: Callable[[PyTree], None] | None = None,
) -> DiscriminatorApply:
    """D's forward pass with ``params`` (default: the state's): ``(x, batch_stats, *,
    independent=False, update_stats=True, moments=None) -> (logits, new_batch_stats)``;
    see the module docstring. ``update_stats=False`` leaves the spectral-norm power
    iterations alone. ``moments``: BatchNorm moments recorded by a pass on this very
    batch; the logits are then per sample and the statistics are returned unchanged.
    ``record``: called with the moments of every plain (not ``independent``) pass (None
    for a discriminator without BatchNorm)."""
    params = d_state.params if params is None else params
    batch_statistics = d_state.module.uses_batch_statistics

    def apply(x, batch_stats, *, independent=False, update_stats=True, moments=None):
        if batch_statistics and moments is not None:
            logits, _, _ = _train_pass(
                d_state, params, x, batch_stats, update_stats=False, moments=moments
            )
            return logits, batch_stats
        if batch_statistics and independent:
            _, new_stats, moments = _train_pass(
                d_state,
                params,
                jax.lax.stop_gradient(x),
                batch_stats,
                update_stats=update_stats,
                record=True,
            )
            # The old statistics: the power iteration repeats the first pass's exactly.
            logits, _, _ = _train_pass(
                d_state, params, x, batch_stats, update_stats=False, moments=moments
            )
            return logits, new_stats
        # D itself (without BatchNorm, D per sample is D too).
        recording = record is not None and not independent
        logits, new_stats, moments = _train_pass(
            d_state,
            params,
            x,
            batch_stats,
            update_stats=update_stats,
            record=recording and batch_statistics,
        )
        if recording:
            record(moments)
        return logits, new_stats

    return apply


def per_sample_discriminator(
    d_apply: DiscriminatorApply,
    batch_stats: PyTree,
    seen: tuple[tuple[PyTree, jax.Array], tuple[PyTree, jax.Array]] | None = None,
) -> PerSampleDiscriminator:
    """D per sample for the penalties and state updates, nothing kept: ``d_apply`` with
    ``independent=True`` and ``batch_stats``, whose power iteration it does not advance.

    ``seen``: ``((moments, logits), (moments, logits))`` of D's loss pass on its real and
    its fake batch (moments None without BatchNorm). ``on_real`` / ``on_fake`` reuse the
    moments and ``real_logits`` / ``fake_logits`` are those logits (exact only when the
    loss pass computed the same function, i.e. D has no spectral norm, whose vectors
    that pass moved on)."""

    def any_batch(x):
        return d_apply(x, batch_stats, independent=True, update_stats=False)[0]

    if seen is None:
        return PerSampleDiscriminator(any_batch)
    (real_moments, real_logits), (fake_moments, fake_logits) = seen

    def given(moments):
        if moments is None:  # No BatchNorm: D per sample is D itself.
            return None
        return lambda x: d_apply(x, batch_stats, moments=moments)[0]

    return PerSampleDiscriminator(
        any_batch,
        on_real=given(real_moments),
        on_fake=given(fake_moments),
        real_logits=real_logits,
        fake_logits=fake_logits,
    )
