"""G's and D's forward passes inside the step, and the per-sample discriminator.

``discriminator_apply(d_state)`` is D's forward pass as every update uses it. With
``independent=True`` each logit is a function of its own sample only, so that
``∇ₓ Σ logits`` is the per-sample input gradient the penalties need: D runs on
``[x; stop_gradient(x)]`` with its BatchNorm layers taking their statistics from the
second half only (``stats_mask``), and the first half's logits are returned. Their
values (and the running statistics' update) are those of D on ``x`` in training mode,
and the statistics still depend on D's parameters, so the penalties' parameter
gradients are exact; only the statistics' dependence on the input is cut. Without
BatchNorm this is D itself.
"""

from typing import Any

import jax
import jax.numpy as jnp

from nssgan.schemes.base import DiscriminatorApply
from nssgan.sharding import constrain_to_data_axis
from nssgan.state import TrainState

PyTree = Any


def sample_latent(key: jax.Array, batch_size: int, latent_dim: int) -> jax.Array:
    """z ~ N(0, I), the generator's input."""
    return constrain_to_data_axis(jax.random.normal(key, (batch_size, latent_dim), jnp.float32))


def discriminator_apply(d_state: TrainState, params: PyTree | None = None) -> DiscriminatorApply:
    """D's forward pass with ``params`` (default: the state's): ``(x, batch_stats, *,
    independent=False, update_stats=True) -> (logits, new_batch_stats)``; see the
    module docstring. ``update_stats=False`` leaves the spectral-norm power iterations
    alone."""
    params = d_state.params if params is None else params

    def apply(x, batch_stats, *, independent=False, update_stats=True):
        state = d_state.replace(batch_stats=batch_stats)
        if independent and d_state.module.uses_batch_statistics:
            n = x.shape[0]
            both = jnp.concatenate([x, jax.lax.stop_gradient(x)])
            logits, new_stats = state.apply_train(
                both, params, update_stats=update_stats, stats_mask=jnp.arange(2 * n) >= n
            )
            return logits[:n], new_stats
        return state.apply_train(x, params, update_stats=update_stats)

    return apply
