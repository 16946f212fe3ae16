"""Tempered adversarial networks (Sajjadi et al. 2018): a lens between the reals and D.

A residual network L (``nssgan.models.LensNetwork``, L(x) = x + r(x)) maps the real
batch before D sees it: D's loss is the GAN's own with L(x) in place of x (eq. 7, 10,
13), e.g. L_D = −log D(L(x)) − log(1 − D(G(z))). G's loss is unchanged (eq. 5, 9, 12):
G only ever sees its fakes through D. The lens is trained *against* D, with

    L_L = λ_t·L_A + ‖x − L(x)‖²                                  (eq. 2, 3)
    λ_t = 1 − sin(tπ/2K) for t ≤ K, 0 for t > K                  (eq. 4)

and L_A ≈ −L_D's real term, so that early on the lens makes the reals look *fake*:

    non-saturating, minimax:  L_A = −log(1 − D(L(x)))   (eq. 8; softplus of the logit)
    least-squares:            L_A = D(L(x))²            (eq. 11; raw output, no ½)
    Wasserstein:              L_A = D(L(x))             (eq. 14; critic output)

Minimizing each pushes D(L(x)) towards the fake side (logit ↓, LSGAN label 0, critic
↓). Other losses (hinge) are refused: the paper defines no L_A for them. t is the
generator step; once λ_t = 0 the lens is trained on the reconstruction alone and
converges to the identity, and training becomes the plain GAN.

Decisions where the paper is silent (see also ``nssgan.models.lens``):

* ‖x − L(x)‖² is the mean over all elements by default (``reconstruction='mean'``);
  ``'sum'`` sums over each image's pixels and channels (the paper's ‖·‖²₂ per sample)
  and averages over the batch. Both L_A and L_R are batch means.
* The lens is updated once per iteration (§2.4), after the *last* D update of the
  iteration, against that freshly updated D, on the real batch D just saw. With
  ``config.n_dis > 1`` (WGAN-GP) a counter of D updates in the scheme state selects
  that update (``lax.cond``); the other D updates see the current lens unchanged.
* D in the lens loss is the step's frozen per-sample D (BatchNorm statistics as
  constants with respect to the input, no running-statistics update).
* The lens has its own Adam: learning rate ``lr`` (None: D's ``config.optimizer.d_lr``;
  the paper uses 1e-4 for all networks), D's b₁ and b₂, no decay.
* K: the paper's text says 10⁵ and its Fig. 2 and Fig. 7 captions 10k; the default is
  10k, the value of its WGAN-GP CIFAR-10 experiment.

Settings (``config.stabilizer``): ``K`` (10_000), ``features`` (64), ``num_blocks`` (8),
``lr`` (None: D's), ``reconstruction`` ('mean' or 'sum').

Logged: ``lens_lambda`` (λ_t), ``lens_loss`` (L_L), ``lens_adversarial`` (L_A),
``lens_reconstruction`` (L_R, as configured) and ``d_lensed_logit`` (D's mean output on
L(x), after D's update; averaged over the iteration's D updates like D's metrics).
"""

from typing import Callable

import jax
import jax.numpy as jnp

from nssgan.models.lens import LensNetwork
from nssgan.stabilizers.base import Stabilizer, View
from nssgan.state import ModelState, make_optimizer

DEFAULTS = dict(K=10_000, features=64, num_blocks=8, lr=None, reconstruction='mean')
RECONSTRUCTIONS = ('mean', 'sum')


def lens_weight(step, K: int) -> jax.Array:
    """λ_t = 1 − sin(tπ/2K) for t ≤ K and 0 for t > K (eq. 4): 1 at t = 0, 0 from K on."""
    t = jnp.minimum(jnp.asarray(step, jnp.float32), K)
    return 1.0 - jnp.sin(t * (jnp.pi / (2 * K)))


def _log_one_minus_d(logits):
    """−log(1 − D(L(x))) = softplus(ψ), D = σ(ψ) (eq. 8)."""
    return jnp.mean(jax.nn.softplus(logits))


def _squared_output(logits):
    """D(L(x))² (eq. 11)."""
    return jnp.mean(jnp.square(logits))


def _critic_output(logits):
    """D(L(x)) (eq. 14)."""
    return jnp.mean(logits)


# config.loss → the lens's adversarial loss L_A, a batch mean of D's raw outputs on L(x).
ADVERSARIAL_LOSSES: dict[str, Callable[[jax.Array], jax.Array]] = {
    'non_saturating': _log_one_minus_d,
    'minimax': _log_one_minus_d,
    'least_squares': _squared_output,
    'wasserstein': _critic_output,
}


def lens_adversarial_loss(logits: jax.Array, loss: str) -> jax.Array:
    """L_A for the GAN loss ``loss`` from D's per-sample outputs on L(x) (eq. 8, 11, 14)."""
    return ADVERSARIAL_LOSSES[loss](logits.astype(jnp.float32))


def reconstruction_loss(x: jax.Array, lensed: jax.Array,
                        reduction: str = 'mean') -> jax.Array:
    """L_R = ‖x − L(x)‖² (eq. 2): the mean over all elements ('mean') or the sum over
    each sample's elements averaged over the batch ('sum')."""
    squared = jnp.square((lensed - x).astype(jnp.float32))
    if reduction == 'mean':
        return jnp.mean(squared)
    return jnp.mean(jnp.sum(squared.reshape(x.shape[0], -1), axis=1))


def lens_loss(lensed: jax.Array, x: jax.Array, d_fn: Callable[[jax.Array], jax.Array],
              weight: jax.Array, *, loss: str, reduction: str = 'mean'
              ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """L_L = λ·L_A + L_R (eq. 3) for lensed reals ``lensed`` = L(x); ``d_fn`` maps a
    batch to D's per-sample outputs. Returns L_L and its parts."""
    logits = d_fn(lensed)
    adversarial = lens_adversarial_loss(logits, loss)
    reconstruction = reconstruction_loss(x, lensed, reduction)
    total = weight * adversarial + reconstruction
    return total, {'lens_loss': total, 'lens_adversarial': adversarial,
                   'lens_reconstruction': reconstruction,
                   'd_lensed_logit': jnp.mean(logits.astype(jnp.float32))}


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class LensStabilizer(Stabilizer):
    """D sees L(x) for reals; L is trained against D; see the module docstring.

    Scheme state: ``{'lens': ModelState, 'd_updates': int32}``, the lens's parameters
    and Adam state and the number of D updates so far (which D update of an iteration
    updates the lens).
    """

    name = 'lens'
    defaults = DEFAULTS

    def check(self, spec):
        super().check(spec)
        if spec.kind != 'image':
            raise ValueError(
                f"config.stabilizer.name='lens' is a convolutional image-to-image "
                f"network, but config.dataset={spec.name!r} gives vectors; use an "
                f"image dataset.")
        if self.config.loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"config.stabilizer.name='lens' has no adversarial loss for "
                f"config.loss={self.config.loss!r}; use one of: "
                f"{', '.join(ADVERSARIAL_LOSSES)}.")
        for field, what in (('K', 'the steps over which λ falls from 1 to 0'),
                            ('features', "the lens's hidden channels"),
                            ('num_blocks', "the lens's residual blocks")):
            value = self.setting(field)
            if not _is_positive_int(value):
                raise ValueError(f'config.stabilizer.{field}={value!r} must be a '
                                 f'positive integer ({what}).')
        lr = self.setting('lr')
        if lr is not None and not (isinstance(lr, (int, float)) and lr > 0):
            raise ValueError(f'config.stabilizer.lr={lr!r} must be positive, or None '
                             f"for D's learning rate.")
        reconstruction = self.setting('reconstruction')
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f'config.stabilizer.reconstruction={reconstruction!r} is '
                             f'not valid; choose one of: {", ".join(RECONSTRUCTIONS)}.')

    def network(self) -> LensNetwork:
        return LensNetwork(features=self.setting('features'),
                           num_blocks=self.setting('num_blocks'))

    def optimizer(self):
        """The lens's Adam: ``lr`` (or D's learning rate) with D's b₁, b₂."""
        opt = self.config.optimizer
        lr = self.setting('lr')
        return make_optimizer(opt.d_lr if lr is None else lr, opt.b1, opt.b2)

    def init_state(self, key, example_batch):
        params = self.network().init(key, example_batch)['params']
        return {'lens': ModelState.create(params, {}, self.optimizer()),
                'd_updates': jnp.zeros((), jnp.int32)}

    def apply_lens(self, scheme_state, x: jax.Array) -> jax.Array:
        """L(x) with the lens parameters of ``scheme_state``."""
        return self.network().apply({'params': scheme_state['lens'].params}, x)

    def schedule(self, step, num_steps):
        del num_steps
        return {'lens_lambda': lens_weight(step, self.setting('K'))}

    def discriminator_views(self, scheme_state, key, real, fake, schedule):
        del key, schedule
        lensed = jax.lax.stop_gradient(self.apply_lens(scheme_state, real))
        return [View(lensed, fake)]

    # generator_views: the base class's (G's loss sees its fakes only; eq. 5, 9, 12).

    def update_state(self, scheme_state, key, real, fake, d_fn, schedule):
        del key, fake
        lens_state = scheme_state['lens']
        network = self.network()
        weight = schedule['lens_lambda']

        def loss_fn(params):
            lensed = network.apply({'params': params}, real)
            return lens_loss(lensed, real, d_fn, weight, loss=self.config.loss,
                             reduction=self.setting('reconstruction'))

        def update(lens_state):
            grads, metrics = jax.grad(loss_fn, has_aux=True)(lens_state.params)
            return lens_state.apply_gradients(grads, self.optimizer(), {}), metrics

        def keep(lens_state):
            return lens_state, loss_fn(lens_state.params)[1]

        n_dis = self.config.n_dis
        d_updates = scheme_state['d_updates']
        if n_dis == 1:
            lens_state, metrics = update(lens_state)
        else:  # Once per iteration: after its last D update.
            lens_state, metrics = jax.lax.cond(d_updates % n_dis == n_dis - 1,
                                               update, keep, lens_state)
        return {'lens': lens_state, 'd_updates': d_updates + 1}, metrics
