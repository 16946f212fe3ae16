"""Gradient penalties on the discriminator: Roth et al.'s Ω and the usual baselines.

Each function is pure and jittable, takes any ``d_fn`` (a batch → per-sample logits;
see ``gradients`` for per-sample gradients under BatchNorm) and returns the penalty
*without* its weight; the caller adds ``weight · penalty`` to D's loss. All are
differentiable with respect to D's parameters (double backprop), which training does.
Given a ``gradients.PerSampleDiscriminator``, the penalties on the update's own real
and fake batch (Ω, R1, CR's unaugmented term) call its ``on_real`` / ``on_fake``, which
reuse the BatchNorm moments of D's loss pass, and take the logits that pass computed
(Ω's weights, CR's D(x)) instead of computing them again.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

from nssgan.stabilizers import gradients
from nssgan.stabilizers.gradients import DiscriminatorFn


def roth_penalty(d_fn: DiscriminatorFn, real: jax.Array, fake: jax.Array) -> jax.Array:
    """Ω of Roth et al. (2017), eq. 20, for the logit ψ = d_fn (without γ/2):

        Ω = E_P[(1 − σ(ψ(x)))² ‖∇ψ(x)‖²] + E_Q[σ(ψ(x))² ‖∇ψ(x)‖²],

    the expectations as batch means, the weights not stop-gradiented, as in
    rothk/Stabilizing_GANs' ``Discriminator_Regularizer``. D's loss adds (γ/2)·Ω.
    """
    real_logits, real_grads = gradients.logits_and_input_gradients(gradients.for_real(d_fn), real)
    fake_logits, fake_grads = gradients.logits_and_input_gradients(gradients.for_fake(d_fn), fake)
    real_logits = gradients.seen_logits(d_fn, 'real', real_logits)
    fake_logits = gradients.seen_logits(d_fn, 'fake', fake_logits)
    return jnp.mean(
        jnp.square(1.0 - jax.nn.sigmoid(real_logits)) * gradients.squared_norms(real_grads)
        + jnp.square(jax.nn.sigmoid(fake_logits)) * gradients.squared_norms(fake_grads)
    )


def r1_penalty(d_fn: DiscriminatorFn, real: jax.Array) -> jax.Array:
    """R1 (Mescheder et al. 2018, "GAN-gr"): E_P[‖∇ψ(x)‖²] on the reals.

    As LMescheder/GAN_stability's ``compute_grad2(...).mean()``; that code adds
    ``reg_param`` × this to D's loss, its reg_param 10 being γ/2 of the paper.
    """
    grads = gradients.input_gradients(gradients.for_real(d_fn), real)
    return jnp.mean(gradients.squared_norms(grads))


def _unit_gradient_penalty(d_fn: DiscriminatorFn, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    grad_norms = gradients.norms(gradients.input_gradients(d_fn, x))
    return jnp.mean(jnp.square(grad_norms - 1.0)), grad_norms


def _per_sample_uniform(key: jax.Array, x: jax.Array) -> jax.Array:
    """α ~ U[0, 1), one per sample, shaped to broadcast over x."""
    return jax.random.uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1), x.dtype)


def wgan_gp_points(key: jax.Array, real: jax.Array, fake: jax.Array) -> jax.Array:
    """x̂ = x_r + α(x_f − x_r), α ~ U[0, 1) per sample (Gulrajani et al. 2017)."""
    return real + _per_sample_uniform(key, real) * (fake - real)


def wgan_gp_penalty(
    d_fn: DiscriminatorFn, real: jax.Array, fake: jax.Array, key: jax.Array
) -> jax.Array:
    """WGAN-GP: E[(‖∇D(x̂)‖ − 1)²] at x̂ = ``wgan_gp_points`` (weight 10 in the paper)."""
    return _unit_gradient_penalty(d_fn, wgan_gp_points(key, real, fake))[0]


def dragan_points(key: jax.Array, real: jax.Array) -> jax.Array:
    """DRAGAN's x̂ = x + α(x_p − x), x_p = x + 0.5·std(x)·U[0, 1), α ~ U[0, 1).

    As the official code (kodalinaveen3/DRAGAN): one scalar std over the whole batch,
    uniform (not Gaussian) perturbations, one α per sample.
    """
    k_perturb, k_alpha = jax.random.split(key)
    perturbed = real + 0.5 * jnp.std(real) * jax.random.uniform(k_perturb, real.shape, real.dtype)
    return real + _per_sample_uniform(k_alpha, real) * (perturbed - real)


def dragan_penalty(d_fn: DiscriminatorFn, real: jax.Array, key: jax.Array) -> jax.Array:
    """DRAGAN: E[(‖∇D(x̂)‖ − 1)²] at x̂ = ``dragan_points`` (weight 10)."""
    return _unit_gradient_penalty(d_fn, dragan_points(key, real))[0]


def flip_and_translate(
    key: jax.Array, images: jax.Array, *, max_shift: float = 0.2, fill: float = -1.0
) -> jax.Array:
    """CR's augmentation T, per image of the NHWC batch: a horizontal flip with
    probability ½, then a translation by whole pixels drawn uniformly from
    [−⌊max_shift·H⌋, ⌊max_shift·H⌋] (and likewise for W), the uncovered border set to
    ``fill``.

    As GNGAN-PyTorch's CR transform (``RandomHorizontalFlip``, ``RandomAffine(0,
    translate=(0.2, 0.2))`` on the image in [0, 1] with black fill): black is −1 for
    images in [−1, 1]. (torchvision rounds a continuous shift, which makes the two
    extreme shifts half as likely; here all shifts are equally likely.)
    """
    n, h, w, c = images.shape
    k_flip, k_dy, k_dx = jax.random.split(key, 3)
    flip = jax.random.bernoulli(k_flip, 0.5, (n,))
    images = jnp.where(flip[:, None, None, None], images[:, :, ::-1], images)
    max_dy, max_dx = int(max_shift * h), int(max_shift * w)
    dy = jax.random.randint(k_dy, (n,), -max_dy, max_dy + 1)
    dx = jax.random.randint(k_dx, (n,), -max_dx, max_dx + 1)
    padded = jnp.pad(
        images, ((0, 0), (max_dy, max_dy), (max_dx, max_dx), (0, 0)), constant_values=fill
    )

    def shift(image, dy, dx):
        # out[i, j] = image[i − dy, j − dx]: the content moves by (dy, dx).
        return jax.lax.dynamic_slice(image, (max_dy - dy, max_dx - dx, 0), (h, w, c))

    return jax.vmap(shift)(padded, dy, dx)


def consistency_penalty(d_fn: DiscriminatorFn, real: jax.Array, key: jax.Array) -> jax.Array:
    """Consistency regularization (Zhang et al. 2020): E[(D(T(x)) − D(x))²] on reals,
    T = ``flip_and_translate`` (weight λ_cr, 10 in CR-GAN)."""
    if real.ndim != 4:
        raise ValueError(f'consistency_penalty augments NHWC images; got shape {real.shape}.')
    augmented = d_fn(flip_and_translate(key, real))
    plain = gradients.seen_logits(d_fn, 'real', None)
    plain = gradients.for_real(d_fn)(real) if plain is None else plain
    return jnp.mean(jnp.square(augmented - plain))


def _roth_term(d_fn, real, fake, key):
    del key
    return roth_penalty(d_fn, real, fake), {}


def _r1_term(d_fn, real, fake, key):
    del fake, key
    return r1_penalty(d_fn, real), {}


def _unit_gradient_term(points):
    def term(d_fn, real, fake, key):
        value, grad_norms = _unit_gradient_penalty(d_fn, points(key, real, fake))
        return value, {'grad_norm_interpolates': jnp.mean(grad_norms)}

    return term


def _cr_term(d_fn, real, fake, key):
    del fake
    return consistency_penalty(d_fn, real, key), {}


# Every penalty as one plain function ``(d_fn, real, fake, key) -> (value, metrics)``,
# without its weight. ``config.penalty.name`` picks one for any scheme (D's loss +=
# ``config.penalty.weight`` × value); schemes use them too (Roth: γ/2 × Ω).
PenaltyFn = Callable[
    [DiscriminatorFn, jax.Array, jax.Array, jax.Array], tuple[jax.Array, dict[str, jax.Array]]
]
PENALTIES: dict[str, PenaltyFn] = {
    'roth': _roth_term,
    'r1': _r1_term,
    'wgan_gp': _unit_gradient_term(wgan_gp_points),
    'dragan': _unit_gradient_term(lambda key, real, fake: dragan_points(key, real)),
    'cr': _cr_term,
}
# Ω weighs by σ(ψ): D must be logistic. CR augments images.
LOGISTIC_LOSSES = ('non_saturating', 'minimax')
NEEDS_LOGISTIC_LOSS = ('roth',)
NEEDS_IMAGES = ('cr',)


def check_penalty(name: str, loss: str, spec, *, field: str = 'config.penalty.name') -> None:
    """Raises ValueError naming ``field`` when the penalty ``name`` cannot be used with
    the GAN loss ``loss`` on data ``spec`` ('none' always can)."""
    if name == 'none':
        return
    if name not in PENALTIES:
        raise ValueError(
            f'{field}={name!r} is not valid; choose one of: none, {", ".join(PENALTIES)}.'
        )
    if name in NEEDS_LOGISTIC_LOSS and loss not in LOGISTIC_LOSSES:
        raise ValueError(
            f'{field}={name!r} regularizes the logistic discriminator, but '
            f'config.loss={loss!r}; use one of: {", ".join(LOGISTIC_LOSSES)}.'
        )
    if name in NEEDS_IMAGES and spec.kind != 'image':
        raise ValueError(
            f'{field}={name!r} augments images, but config.dataset='
            f'{spec.name!r} gives vectors; use another penalty.'
        )
