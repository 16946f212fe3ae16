"""Normalization helpers shared by the models: BatchNorm, its `stats_mask`, spectral norm.

`stats_mask` (every discriminator's optional argument): a boolean (N,) array saying which
examples' statistics the BatchNorm layers use in training mode; all N examples are still
normalized with them. Calling D on `concat([x, stop_gradient(x)])` with the mask
`[False] * N + [True] * N` and keeping the first N logits gives D(x)'s training-mode values,
but each logit's gradient w.r.t. x depends on its own example only: the batch statistics
enter as constants w.r.t. x while still depending on the parameters.
"""

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array


def batch_norm(
    train: bool, scale_init: Callable[..., Array] = nn.initializers.ones, name: str | None = None
) -> nn.BatchNorm:
    """PyTorch's BatchNorm defaults (eps 1e-5, momentum 0.1, i.e. flax's 0.9); scale 1, bias 0.

    One difference remains: flax keeps the biased batch variance in its running average, PyTorch
    the unbiased one (a factor n/(n−1), n = batch·height·width); train-mode outputs are equal.
    """
    return nn.BatchNorm(
        use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=scale_init, name=name
    )


D_NORMALIZATIONS = ('batch', 'layer', 'none')


def normalize_d(
    kind: str,
    x: Array,
    train: bool,
    mask: Array | None,
    make_batch_norm: Callable[[bool], nn.BatchNorm] = batch_norm,
) -> Array:
    """A discriminator's hidden normalization: ``kind`` is one of D_NORMALIZATIONS.

    'batch': ``make_batch_norm(train)`` (the model's BatchNorm; `batch_norm` by default),
    with `stats_mask` (see above). 'layer': over every axis but the
    batch's, with a per-channel scale and offset, as the official WGAN-GP code's
    ``Layernorm`` (eps 1e-5); it keeps each example's logit a function of that example
    only, which the gradient penalties assume. 'none': ``x`` as it is.
    """
    if kind == 'batch':
        return make_batch_norm(train)(x, mask=mask)
    if kind == 'layer':
        axes = tuple(range(1, x.ndim))
        return nn.LayerNorm(epsilon=1e-5, reduction_axes=axes, feature_axes=-1)(x)
    if kind == 'none':
        return x
    raise ValueError(f'unknown D normalization {kind!r}; use one of {D_NORMALIZATIONS}')


def broadcast_stats_mask(stats_mask: Array | None, x: Array) -> Array | None:
    """`stats_mask` (N,) reshaped to (N, 1, ..., 1), broadcastable to `x`, for `nn.BatchNorm`'s
    `mask`; None stays None (every example's statistics)."""
    if stats_mask is None:
        return None
    if stats_mask.shape != x.shape[:1]:
        raise ValueError(
            f'stats_mask must have shape ({x.shape[0]},) for a batch of shape {x.shape}, '
            f'got {stats_mask.shape}'
        )
    return jnp.asarray(stats_mask, bool).reshape(-1, *(1,) * (x.ndim - 1))


def maybe_spectral_norm(layer: nn.Module, x: Array, enabled: bool, update_stats: bool) -> Array:
    """`layer(x)`, with its kernel spectrally normalized (`nn.SpectralNorm`, one power iteration
    per call, state in 'batch_stats', advanced only if `update_stats`) if `enabled`."""
    if enabled:
        return nn.SpectralNorm(layer)(x, update_stats=update_stats)
    return layer(x)
