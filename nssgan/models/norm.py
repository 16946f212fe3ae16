"""Normalization helpers shared by the models: BatchNorm, its `stats_mask`, spectral norm.

A discriminator whose BatchNorm layers use batch statistics couples its logits: each
depends on every example of the batch. The gradient penalties need each logit's input
gradient to be its own example's, with the statistics entering as constants with respect
to the input (but still functions of the parameters). Two ways are offered:

* `MOMENTS` (see `BatchNorm`): a training-mode pass records each layer's batch moments,
  and a second pass normalizes with them as given. This is what `nssgan.forward` does.
* `stats_mask` (every discriminator's optional argument): a boolean (N,) array saying
  which examples' statistics the BatchNorm layers use in training mode; all N examples
  are still normalized with them. Calling D on `concat([x, stop_gradient(x)])` with the
  mask `[False] * N + [True] * N` and keeping the first N logits gives the same logits at
  twice the cost.
"""

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

Array = jax.Array


# The collection in which BatchNorm layers keep the batch moments of a training-mode pass
# (when it is mutable) or find moments to normalize with instead of the batch's own (when
# it holds them and is not mutable); see `BatchNorm`.
MOMENTS = 'batch_moments'


class BatchNorm(nn.Module):
    """`flax.linen.BatchNorm` over the last axis (same parameters, statistics, names and
    values), with the batch moments exposed through the `MOMENTS` collection.

    In training mode the layer normalizes with the (masked) batch mean and biased
    variance, E[x²] − E[x]² clipped at 0, as flax computes them in float32, and updates
    its running averages (when 'batch_stats' is mutable). If the `MOMENTS` collection is
    mutable, the moments it used are stored there; if the collection holds moments and
    is not mutable, the layer normalizes with those instead of the batch's. Moments
    passed in are constants with respect to the input but keep their dependence on the
    parameters: the per-sample discriminator of the gradient penalties
    (`nssgan.forward`) takes them from a pass on the same batch.
    """

    use_running_average: bool
    momentum: float = 0.9
    epsilon: float = 1e-5
    scale_init: Callable[..., Array] = nn.initializers.ones

    @nn.compact
    def __call__(self, x: Array, mask: Array | None = None) -> Array:
        features = (x.shape[-1],)
        ra_mean = self.variable('batch_stats', 'mean', jnp.zeros, features, jnp.float32)
        ra_var = self.variable('batch_stats', 'var', jnp.ones, features, jnp.float32)
        if self.use_running_average:
            mean, var = ra_mean.value, ra_var.value
        elif self.has_variable(MOMENTS, 'mean') and not self.is_mutable_collection(MOMENTS):
            mean, var = self.get_variable(MOMENTS, 'mean'), self.get_variable(MOMENTS, 'var')
        else:
            mean, var = _batch_moments(x, mask)
            if self.is_mutable_collection(MOMENTS) and not self.is_initializing():
                self.put_variable(MOMENTS, 'mean', mean)
                self.put_variable(MOMENTS, 'var', var)
            if not self.is_initializing() and self.is_mutable_collection('batch_stats'):
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
        scale = self.param('scale', self.scale_init, features, jnp.float32)
        bias = self.param('bias', nn.initializers.zeros, features, jnp.float32)
        y = (x - mean) * (jax.lax.rsqrt(var + self.epsilon) * scale) + bias
        return y.astype(jnp.result_type(x, scale, bias))


def _batch_moments(x: Array, mask: Array | None) -> tuple[Array, Array]:
    """Mean and biased variance over all axes but the last, in (at least) float32, as
    flax's BatchNorm computes them (its fast variance)."""
    x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    axes = tuple(range(x.ndim - 1))
    where = None if mask is None else jnp.asarray(mask, bool)
    mean = x.mean(axes, where=where)
    mean2 = jnp.square(x).mean(axes, where=where)
    return mean, jnp.maximum(0.0, mean2 - jnp.square(mean))


def batch_norm(
    train: bool, scale_init: Callable[..., Array] = nn.initializers.ones, name: str | None = None
) -> BatchNorm:
    """PyTorch's BatchNorm defaults (eps 1e-5, momentum 0.1, i.e. flax's 0.9); scale 1, bias 0.

    One difference remains: flax keeps the biased batch variance in its running average, PyTorch
    the unbiased one (a factor n/(n−1), n = batch·height·width); train-mode outputs are equal.
    """
    return BatchNorm(
        use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=scale_init, name=name
    )


D_NORMALIZATIONS = ('batch', 'layer', 'none')


def normalize_d(
    kind: str,
    x: Array,
    train: bool,
    mask: Array | None,
    make_batch_norm: Callable[[bool], BatchNorm] = batch_norm,
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
    """`stats_mask` (N,) reshaped to (N, 1, ..., 1), broadcastable to `x`, for `BatchNorm`'s
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
