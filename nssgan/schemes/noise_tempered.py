"""Noise-tempered GAN (NTGAN; the noise-tempered GAN paper, eq. 4–6, Algorithm 1).

D is trained on clean and noisy copies of the real and the fake batch, weighted μ and
1 − μ with μ ~ U(0, 1) drawn anew for every D update and every G update (eq. 4,
Algorithm 1):

    L_D = −[μ log D(x) + (1−μ) log D(x+ε)] − [μ log(1−D(x̃)) + (1−μ) log(1−D(x̃+ε))]
    L_G = −[μ log D(x̃) + (1−μ) log D(x̃+ε)]

(batch means), the same ε_i added to the real x_i and to the fake x̃_i. The step sees
two views, ``clean`` (weight μ) and ``noisy`` (weight 1 − μ), so any ``config.loss``
works; with the non-saturating loss they are the lines above. The noise model:

* ``fixed``: ε ~ N(0, σ²I) (Table 2 (d): σ = 1).
* ``learned_sigma``: ε = σ·n, n ~ N(0, I), σ trained on −L_D + λσ² (eq. 5, Table 2 (e)).
* ``generator``: ε = N(w), the run's generator with widths / 8 and output 2·tanh
  (``nssgan.models.noise_generator``), trained on −L_D + λ·mean(ε²) (eq. 6, Table 2
  (f)–(h)). Its input w ~ N(0, I) has G's latent size (``noise_input='independent'``),
  or is G's own z of the fakes it perturbs (``noise_input='z'``, the authors' code
  sjenni/dfgan).

The noise model (a ``TrainState`` in the scheme-state slot) takes one step after every D
update, against the updated D, on the same μ and ε as that D update (its
``update_state`` gets the views' key; ``StepContext.key``),
with D's optimizer settings (Adam; Algorithm 1 has one rate α for all players). Only
L_D's noisy terms depend on it: its loss is −(1 − μ)·L_D^noisy + λ·R
(``noise_model_loss``).

Where the paper is silent or its code differs:

* R = mean(ε²) over batch and elements, as in the authors' code (``mean_squared_error``
  of ε and 0): E[R] = σ² for Gaussian noise, so λ means what it means in eq. 5.
  Algorithm 1's Σᵢ|εᵢ|² is R times batch × example size, a factor λ absorbs.
* The authors' code shows D clean and noisy samples as one batch; here they are two D
  passes, so BatchNorm normalizes each on its own (as reals and fakes already are). Their
  code also takes D's and N's gradients on the same D; here N follows the updated D, in
  Algorithm 1's order.
* σ is trained as such (not log σ); ε = σ·n has the same law for ±σ; |σ| is logged.
* ``mu='half'`` fixes μ = ½ (the authors' code). ``batch='split'`` is §2.3's cheaper
  mini-batch: the first half of each real and fake batch clean, the second half noisy
  (ε for half a batch), still weighted μ and 1 − μ: D sees one batch's worth of samples.
* In D's and G's losses ε is a constant; only the noise model's own update moves it.

Settings (``config.stabilizer.noise_tempered``): ``noise_model`` ('generator'), ``sigma`` (1.0: the
fixed σ, or the learned σ's start), ``noise_penalty`` (λ, 1.0 as Table 2 (g)), ``mu``
('uniform'), ``batch`` ('both'), ``noise_input`` ('independent'),
``noise_width_divisor`` (8).

Logged: ``mu``; ``noise_sigma`` (fixed, learned_sigma) or ``noise_sq_mean``
(generator); ``noise_loss`` (learned models); ``d_loss_clean``, ``d_loss_noisy``,
``g_loss_clean``, ``g_loss_noisy`` (each view's own loss).
"""

import math

import jax
import jax.numpy as jnp
import ml_collections

from nssgan import losses
from nssgan.models.noise_generator import make_noise_generator
from nssgan.schemes.base import Scheme, View, is_number, is_positive_int
from nssgan.state import TrainState, create_train_state

NOISE_MODELS = ('fixed', 'learned_sigma', 'generator')
MU_MODES = ('uniform', 'half')
BATCH_MODES = ('both', 'split')
NOISE_INPUTS = ('independent', 'z')


def sample_mu(key: jax.Array, mode: str = 'uniform') -> jax.Array:
    """μ ~ U(0, 1), drawn every iteration (eq. 4), or μ = ½ (``mode='half'``)."""
    if mode == 'half':
        return jnp.asarray(0.5, jnp.float32)
    return jax.random.uniform(key, (), jnp.float32)


def noisy_part(x: jax.Array, split: bool) -> jax.Array:
    """The rows of ``x`` that get noise: all, or the second half (§2.3's mini-batch)."""
    return x[x.shape[0] // 2 :] if split else x


def clean_part(x: jax.Array, split: bool) -> jax.Array:
    """The rows of ``x`` shown clean: all, or the first half (§2.3's mini-batch)."""
    return x[: x.shape[0] // 2] if split else x


def tempered_views(
    real: jax.Array | None, fake: jax.Array, eps: jax.Array, mu: jax.Array, *, split: bool = False
) -> list[View]:
    """Eq. 4's two terms: the clean view (weight μ) and the noisy one (weight 1 − μ).

    The same ``eps`` (one ε_i per row) is added to the reals and to the fakes. With
    ``split`` the first halves are clean and the second halves noisy (``eps`` then has
    the rows of a half). ``real`` is None for G's views.
    """

    def clean(x):
        return None if x is None else clean_part(x, split)

    def noisy(x):
        return None if x is None else noisy_part(x, split) + eps

    return [
        View(clean(real), clean(fake), mu, 'clean'),
        View(noisy(real), noisy(fake), 1.0 - mu, 'noisy'),
    ]


def noise_model_loss(
    d_loss_noisy: jax.Array, mu: jax.Array, regularizer: jax.Array, noise_penalty: float
) -> jax.Array:
    """The noise model's loss −L_D + λ·R (eq. 5: R = σ², eq. 6: R = mean ε²).

    Of L_D = μ·L_D^clean + (1 − μ)·L_D^noisy only the noisy term depends on the noise, so
    this is −(1 − μ)·L_D^noisy + λ·R (Algorithm 1's ω update).
    """
    return -(1.0 - mu) * d_loss_noisy + noise_penalty * regularizer


def _standard_normal(key: jax.Array, shape) -> jax.Array:
    # Sampled flat: XLA:CPU compiles ≥3-D random sampling slowly (layers.flat_normal).
    return jax.random.normal(key, (math.prod(shape),), jnp.float32).reshape(shape)


class NoiseTempered(Scheme):
    """Clean and noisy views weighted μ, 1 − μ, and a noise model trained against D."""

    @classmethod
    def defaults(cls):
        return ml_collections.ConfigDict(
            dict(
                noise_model='generator',
                sigma=1.0,
                noise_penalty=1.0,
                mu='uniform',
                batch='both',
                noise_input='independent',
                noise_width_divisor=8,
            )
        )

    def check(self, run):
        s = self.settings
        for field, choices in (
            ('noise_model', NOISE_MODELS),
            ('mu', MU_MODES),
            ('batch', BATCH_MODES),
            ('noise_input', NOISE_INPUTS),
        ):
            if s[field] not in choices:
                raise ValueError(
                    f'{self.field(field)}={s[field]!r} is not valid; '
                    f'choose one of: {", ".join(choices)}.'
                )
        if not (is_number(s.sigma) and s.sigma > 0):
            raise ValueError(
                f'{self.field("sigma")}={s.sigma!r} must be a positive '
                'number (the noise standard deviation).'
            )
        if not (is_number(s.noise_penalty) and s.noise_penalty >= 0):
            raise ValueError(
                f'{self.field("noise_penalty")}={s.noise_penalty!r} must be a number ≥ 0 (λ).'
            )
        if not is_positive_int(s.noise_width_divisor):
            raise ValueError(
                f'{self.field("noise_width_divisor")}='
                f'{s.noise_width_divisor!r} must be a positive integer.'
            )
        if s.noise_input == 'z' and s.noise_model != 'generator':
            raise ValueError(
                f"{self.field('noise_input')}='z' feeds the noise "
                f'generator; it needs {self.field("noise_model")}='
                "'generator'."
            )
        if self.split:
            for field, size in (('batch_size', run.batch_size), ('g_batch_size', run.g_batch_size)):
                if size % 2:
                    raise ValueError(
                        f'config.{field}={size} is odd, but {self.field("batch")}='
                        "'split' shows half of each batch clean and half noisy; use an "
                        'even size.'
                    )

    @property
    def split(self) -> bool:
        return self.settings.batch == 'split'

    def init_state(self, key, example_batch, run):
        """The noise model's ``TrainState`` with D's optimizer (Adam, D's rate, decay
        and n_dis steps per G step); ``{}`` for fixed noise."""
        model = self.settings.noise_model
        if model == 'fixed':
            return {}
        tx = run.discriminator_optimizer()
        if model == 'learned_sigma':
            sigma = jnp.asarray(self.settings.sigma, jnp.float32)
            return TrainState.create(apply_fn=None, params={'sigma': sigma}, tx=tx)
        network = make_noise_generator(run.model, run.spec, self.settings.noise_width_divisor)
        w = jnp.zeros((example_batch.shape[0], run.latent_dim), jnp.float32)
        return create_train_state(network, network.init({'params': key}, w, train=False), tx)

    def draws(
        self, key: jax.Array, x: jax.Array, run, latent: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """(μ, the noise model's input) for an update on the batch ``x``.

        The input is n ~ N(0, I) shaped like the noisy rows of ``x`` (fixed and learned
        σ), w ~ N(0, I) of G's latent size, or the rows of ``latent`` (G's z) that made
        the noisy fakes. The same ``key`` gives the same draws, which is how the noise
        model's update replays D's views.
        """
        k_mu, k_noise = jax.random.split(key)
        mu = sample_mu(k_mu, self.settings.mu)
        n = noisy_part(x, self.split).shape[0]
        if self.settings.noise_model != 'generator':
            return mu, _standard_normal(k_noise, (n, *x.shape[1:]))
        if self.settings.noise_input == 'z':
            return mu, noisy_part(latent, self.split)
        return mu, _standard_normal(k_noise, (n, run.latent_dim))

    def noise(self, state, base: jax.Array, params=None) -> tuple[jax.Array, dict]:
        """ε for the noise model's input ``base`` (``params``: the model's parameters,
        default the state's), and the noise generator's new batch statistics."""
        model = self.settings.noise_model
        if model == 'fixed':
            return self.settings.sigma * base, {}
        params = state.params if params is None else params
        if model == 'learned_sigma':
            return params['sigma'] * base, state.batch_stats
        return state.apply_train(base, params)

    def _views(self, state, real, fake, ctx):
        mu, base = self.draws(ctx.key, fake, ctx.run, ctx.latent)
        eps, _ = self.noise(state, base)
        return tempered_views(real, fake, jax.lax.stop_gradient(eps), mu, split=self.split)

    def discriminator_views(self, state, real, fake, ctx):
        return self._views(state, real, fake, ctx)

    def generator_views(self, state, fake, ctx):
        return self._views(state, None, fake, ctx)

    def update_state(self, state, real, fake, ctx):
        """One step of the noise model on −L_D + λ·R against D as in its loss
        (``ctx.d_fn``), on the μ and ε of the D update that shares ``ctx.key``; logs
        μ and the noise level."""
        mu, base = self.draws(ctx.key, fake, ctx.run, ctx.latent)
        model = self.settings.noise_model
        if model == 'fixed':
            return state, {'mu': mu, 'noise_sigma': jnp.float32(self.settings.sigma)}
        loss = losses.get_loss(ctx.run.loss)

        def loss_fn(params):
            eps, batch_stats = self.noise(state, base, params)
            _, noisy = tempered_views(real, fake, eps, mu, split=self.split)
            d_loss_noisy = loss.discriminator(ctx.d_fn(noisy.real), ctx.d_fn(noisy.fake))
            regularizer = (
                jnp.square(params['sigma'])
                if model == 'learned_sigma'
                else jnp.mean(jnp.square(eps))
            )
            value = noise_model_loss(d_loss_noisy, mu, regularizer, self.settings.noise_penalty)
            return value, (batch_stats, eps)

        (value, (batch_stats, eps)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        new_state = state.apply_gradients(grads=grads, batch_stats=batch_stats)
        metrics = {'mu': mu, 'noise_loss': value}
        if model == 'learned_sigma':
            metrics['noise_sigma'] = jnp.abs(state.params['sigma'])
        else:
            metrics['noise_sq_mean'] = jnp.mean(jnp.square(eps))
        return new_state, metrics
