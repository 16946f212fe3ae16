"""Per-sample input gradients of a discriminator, the building block of every
gradient-based stabilizer.

A ``d_fn`` maps a batch (NHWC images or flat vectors) to per-sample logits (N,). The
gradient of ``sum(d_fn(x))`` with respect to ``x`` is, row by row, ∇ₓᵢ d_fn(x)ᵢ
exactly when no logit depends on another sample's input. A discriminator whose
BatchNorm normalizes with the batch's statistics breaks that: every logit depends on
every sample through the batch mean and variance, so the summed gradient mixes
samples (what ``tf.gradients(D_logits, x)`` / ``torch.autograd.grad`` compute in the
reference codes, whose discriminators mostly have no BatchNorm). nssgan's train step
gives these functions a discriminator that normalizes with the batch's moments taken
as constants with respect to the input (``nssgan.forward.discriminator_apply`` with
``independent=True``): the logits are the training-mode logits, the moments still
depend on D's parameters, and the input gradient is per sample. It comes as a
``PerSampleDiscriminator``, which also knows the moments of the two batches D's loss
has just seen (``on_real``, ``on_fake``): a penalty on those batches reuses them.
"""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

DiscriminatorFn = Callable[[jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True)
class PerSampleDiscriminator:
    """A per-sample ``d_fn`` for any batch, with cheaper equivalents for the real and
    the fake batch of the D update it belongs to.

    Calling it calls ``any``. ``on_real`` / ``on_fake``, when given, compute the same
    logits but only for exactly that update's real / fake batch (they normalize with the
    BatchNorm moments D's loss pass recorded on it instead of computing them again);
    ``for_real`` / ``for_fake`` pick them when present. ``real_logits`` /
    ``fake_logits``: the loss pass's logits on those batches, the same values, whose
    parameter gradient joins the loss pass's backward instead of needing one of its own
    (``seen_logits``). Penalties on other points (e.g. WGAN-GP's interpolates) must call
    ``any``.
    """

    any: DiscriminatorFn
    on_real: DiscriminatorFn | None = None
    on_fake: DiscriminatorFn | None = None
    real_logits: jax.Array | None = None
    fake_logits: jax.Array | None = None

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.any(x)


def for_real(d_fn: DiscriminatorFn) -> DiscriminatorFn:
    """The ``d_fn`` to call on the update's real batch (``on_real`` when it has one)."""
    return getattr(d_fn, 'on_real', None) or d_fn


def for_fake(d_fn: DiscriminatorFn) -> DiscriminatorFn:
    """The ``d_fn`` to call on the update's fake batch (``on_fake`` when it has one)."""
    return getattr(d_fn, 'on_fake', None) or d_fn


def seen_logits(d_fn: DiscriminatorFn, batch: str, logits: jax.Array) -> jax.Array:
    """The loss pass's logits on the update's ``batch`` ('real' or 'fake') when ``d_fn``
    carries them, else ``logits`` (the same values, computed again)."""
    seen = getattr(d_fn, f'{batch}_logits', None)
    return logits if seen is None else seen


def logits_and_input_gradients(d_fn: DiscriminatorFn, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(d_fn(x), ∇ₓ Σᵢ d_fn(x)ᵢ)`` with one forward and one backward pass.

    The gradient's row i is ∇ₓᵢ d_fn(x)ᵢ when d_fn treats samples independently
    (see the module docstring). Differentiable again (double backprop).
    """
    logits, vjp = jax.vjp(d_fn, x)
    if logits.shape != x.shape[:1]:
        raise ValueError(
            f'd_fn must return one logit per sample, shape ({x.shape[0]},); got {logits.shape}.'
        )
    (grads,) = vjp(jnp.ones_like(logits))
    return logits, grads


def input_gradients(d_fn: DiscriminatorFn, x: jax.Array) -> jax.Array:
    """∇ₓ d_fn(x), one row per sample (see ``logits_and_input_gradients``)."""
    return logits_and_input_gradients(d_fn, x)[1]


def squared_norms(grads: jax.Array) -> jax.Array:
    """‖gᵢ‖₂² of each sample's gradient, flattened over all but the batch axis."""
    return jnp.sum(jnp.square(grads.reshape(grads.shape[0], -1)), axis=1)


def safe_sqrt(squared: jax.Array) -> jax.Array:
    """√s with gradient 0 instead of ∞·0 = NaN at s = 0 (the value is unchanged)."""
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def norms(grads: jax.Array) -> jax.Array:
    """‖gᵢ‖₂ of each sample's gradient, safe to differentiate at 0."""
    return safe_sqrt(squared_norms(grads))
