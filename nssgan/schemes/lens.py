"""Tempered adversarial networks (Sajjadi et al. 2018): a lens between the reals and D.

D's loss is the GAN's own with L(x) in place of x; G's is unchanged; the lens L is
trained against D with L_L = λ_t·L_A + ‖x − L(x)‖² (the functions of
``nssgan.stabilizers.lens``, which cite the paper's equations).

Decisions where the paper is silent (see also ``nssgan.models.lens``):

* ‖x − L(x)‖² is eq. 2's squared L2 norm of each image (``reconstruction='sum'``, the
  default: the sum over the image's pixels and channels), averaged over the batch;
  ``'mean'`` averages over the elements instead, weighting L_R H·W·C times less
  against L_A (3,072× at 32×32×3), so the lens strays further from the identity.
  Both L_A and L_R are batch means.
* The lens is updated once per iteration (§2.4), after the *last* D update of the
  iteration, against that freshly updated D, on the real batch D just saw. With
  ``config.n_dis > 1`` (WGAN-GP) a counter of D updates in the scheme state selects
  that update (``lax.cond``); the other D updates see the current lens unchanged.
* D in the lens loss is the step's frozen per-sample D (BatchNorm statistics as
  constants with respect to the input, no running-statistics update).
* The lens has its own Adam: learning rate ``lr`` (None: D's ``config.optimizer.d_lr``;
  the paper's configs set its 1e-4), D's b₁ and b₂, no decay.
* K: the paper's text says 10⁵ and its Fig. 2 and Fig. 7 captions 10k; the default is
  10k, the value of its WGAN-GP CIFAR-10 experiment.

Settings (``config.stabilizer.lens``): ``K`` (10_000), ``features`` (64),
``num_blocks`` (8), ``lr`` (None: D's), ``reconstruction`` ('sum', eq. 2 per image, or 'mean').

Logged: ``lens_lambda`` (λ_t), ``lens_loss`` (L_L), ``lens_adversarial`` (L_A),
``lens_reconstruction`` (L_R, as configured) and ``d_lensed_logit`` (D's mean output on
L(x), after D's update; averaged over the iteration's D updates like D's metrics).
"""

import jax
import jax.numpy as jnp
import ml_collections
from ml_collections import config_dict

from nssgan.models.lens import LensNetwork
from nssgan.schemes.base import Scheme, View, is_number, is_positive_int
from nssgan.stabilizers.lens import ADVERSARIAL_LOSSES, RECONSTRUCTIONS, lens_loss, lens_weight
from nssgan.state import create_train_state


class Lens(Scheme):
    """D sees L(x) for reals; L is trained against D; see the module docstring.

    Scheme state: ``{'lens': TrainState, 'd_updates': int32}``, the lens's parameters
    and Adam state and the number of D updates so far (which D update of an iteration
    updates the lens).
    """

    @classmethod
    def defaults(cls):
        return ml_collections.ConfigDict(
            dict(
                K=10_000,
                features=64,
                num_blocks=8,
                lr=config_dict.placeholder(float),  # None: D's learning rate.
                reconstruction='sum',
            )
        )

    def check(self, run):
        if run.spec.kind != 'image':
            raise ValueError(
                f"config.stabilizer.name='lens' is a convolutional image-to-image "
                f'network, but config.dataset={run.spec.name!r} gives vectors; use an '
                f'image dataset.'
            )
        if run.loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"config.stabilizer.name='lens' has no adversarial loss for "
                f'config.loss={run.loss!r}; use one of: '
                f'{", ".join(ADVERSARIAL_LOSSES)}.'
            )
        for field, what in (
            ('K', 'the steps over which λ falls from 1 to 0'),
            ('features', "the lens's hidden channels"),
            ('num_blocks', "the lens's residual blocks"),
        ):
            value = self.settings[field]
            if not is_positive_int(value):
                raise ValueError(
                    f'{self.field(field)}={value!r} must be a positive integer ({what}).'
                )
        lr = self.settings.lr
        if lr is not None and not (is_number(lr) and lr > 0):
            raise ValueError(
                f"{self.field('lr')}={lr!r} must be positive, or None for D's learning rate."
            )
        reconstruction = self.settings.reconstruction
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(
                f'{self.field("reconstruction")}={reconstruction!r} is not '
                f'valid; choose one of: {", ".join(RECONSTRUCTIONS)}.'
            )

    def init_state(self, key, example_batch, run):
        network = LensNetwork(features=self.settings.features, num_blocks=self.settings.num_blocks)
        lens = create_train_state(
            network, network.init(key, example_batch), run.adam(self.settings.lr)
        )
        return {'lens': lens, 'd_updates': jnp.zeros((), jnp.int32)}

    def schedule(self, step, run):
        return {'lens_lambda': lens_weight(step, self.settings.K)}

    def discriminator_views(self, state, real, fake, ctx):
        lens = state['lens']
        lensed = lens.apply_fn({'params': lens.params}, real)
        return [View(jax.lax.stop_gradient(lensed), fake)]

    # generator_views: the base class's (G's loss sees its fakes only; eq. 5, 9, 12).

    def update_state(self, state, real, fake, ctx):
        del fake
        lens = state['lens']

        def loss_fn(params):
            lensed = lens.apply_fn({'params': params}, real)
            return lens_loss(
                lensed,
                real,
                ctx.frozen_d_fn,
                ctx.schedule['lens_lambda'],
                loss=ctx.run.loss,
                reduction=self.settings.reconstruction,
            )

        def update(lens):
            grads, metrics = jax.grad(loss_fn, has_aux=True)(lens.params)
            return lens.apply_gradients(grads=grads), metrics

        def keep(lens):
            return lens, loss_fn(lens.params)[1]

        n_dis = ctx.run.n_dis
        d_updates = state['d_updates']
        if n_dis == 1:
            lens, metrics = update(lens)
        else:  # Once per iteration: after its last D update.
            lens, metrics = jax.lax.cond(d_updates % n_dis == n_dis - 1, update, keep, lens)
        return {'lens': lens, 'd_updates': d_updates + 1}, metrics
