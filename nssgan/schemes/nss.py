"""NSS-GAN and its ablations SS-GAN and NS-GAN (the NSS paper, §4-5).

D sees real and fake images through Φ_t: the noisy scale-space (``nss``), the
scale-space (``ss``, no noise) or the noise-space (``ns``, no smoothing). Following the
paper (§4.4, Fig. 6a), Φ_t is applied to the first half of the real batch and the first
half of the fake batch, the other halves are shown clean; reals and fakes share t and
draw independent noise per sample. t follows ``anneal_time`` of the fraction of
training done, or stays at ``fixed_t`` when that is ≥ 0 (the paper's Hadamard
experiment uses t = 8). The generator's loss sees its fakes the same way.

Settings (``config.stabilizer.nss``; ``ss`` has no ``sigma``, ``ns`` no kernel,
padding or method): ``T`` (256), ``beta`` (20), ``sigma`` (0.15), ``kernel_sigma``
(None: the 3×3 binomial), ``padding`` ('symmetric'), ``method`` ('spectral', exact in
distribution; 'loop' is the reference), ``fraction`` (0.5 of each batch transformed),
``fixed_t`` (-1: annealed).
"""

import jax
import jax.numpy as jnp
import ml_collections
from ml_collections import config_dict

from nssgan import scale_space
from nssgan.schemes.base import Scheme, View, is_number, is_positive_int


def transform_part(phi, key: jax.Array, x: jax.Array, fraction: float) -> jax.Array:
    """Applies ``phi(key, x_part)`` to the first ``fraction`` of the batch ``x``."""
    n = int(round(x.shape[0] * fraction))
    if n == 0:
        return x
    return jnp.concatenate([phi(key, x[:n]), x[n:]], axis=0)


class NoisyScaleSpace(Scheme):
    """``nss``: D (and G's loss) see images pushed through Φ_t; see the module
    docstring. Subclasses drop the noise (``ss``) or the smoothing (``ns``)."""

    @classmethod
    def defaults(cls):
        return ml_collections.ConfigDict(
            dict(
                T=256,
                beta=20.0,
                sigma=0.15,
                kernel_sigma=config_dict.placeholder(float),  # None: the 3×3 binomial.
                padding='symmetric',
                method='spectral',
                fraction=0.5,
                fixed_t=-1,
            )
        )

    def check(self, run):
        s = self.settings
        if run.spec.kind != 'image':
            raise ValueError(
                f'config.stabilizer.name={self.name!r} smooths images, but '
                f'config.dataset={run.spec.name!r} gives vectors; use an image dataset.'
            )
        if not is_positive_int(s.T):
            raise ValueError(
                f'{self.field("T")}={s.T!r} must be a positive integer '
                f'(the largest t; use config.stabilizer.name=none for no '
                f'{self.name}).'
            )
        if not (is_number(s.beta) and s.beta > 0):
            raise ValueError(
                f'{self.field("beta")}={s.beta!r} must be positive (t = T·exp(−β·i) decays).'
            )
        if not (isinstance(s.fixed_t, int) and not isinstance(s.fixed_t, bool)):
            raise ValueError(
                f'{self.field("fixed_t")}={s.fixed_t!r} must be an integer (-1: annealed).'
            )
        if not (is_number(s.fraction) and 0.0 <= s.fraction <= 1.0):
            raise ValueError(f'{self.field("fraction")}={s.fraction!r} must be in [0, 1].')
        if 'sigma' in s and not (is_number(s.sigma) and s.sigma >= 0):
            raise ValueError(
                f'{self.field("sigma")}={s.sigma!r} must be ≥ 0 (the noise standard deviation).'
            )
        if 'method' in s:
            self._check_smoothing()

    def _check_smoothing(self):
        s = self.settings
        if s.method not in scale_space.METHODS:
            raise ValueError(
                f'{self.field("method")}={s.method!r} is not valid; '
                f'choose one of: {", ".join(scale_space.METHODS)}.'
            )
        if s.padding not in scale_space.PADDINGS:
            raise ValueError(
                f'{self.field("padding")}={s.padding!r} is not valid; '
                f'choose one of: {", ".join(scale_space.PADDINGS)}.'
            )
        if s.method == 'spectral' and s.padding != 'symmetric':
            raise ValueError(
                f"{self.field('method')}='spectral' needs {self.field('padding')}="
                "'symmetric'; use method='loop' for other borders."
            )
        if s.kernel_sigma is not None and not (is_number(s.kernel_sigma) and s.kernel_sigma > 0):
            raise ValueError(
                f'{self.field("kernel_sigma")}={s.kernel_sigma!r} must be '
                'positive, or None for the 3×3 binomial kernel.'
            )

    def schedule(self, step, run):
        s = self.settings
        if s.fixed_t >= 0:
            return {'t': jnp.asarray(s.fixed_t, jnp.int32)}
        return {'t': scale_space.anneal_time(step / run.num_train_steps, T=s.T, beta=s.beta)}

    def phi(self, key: jax.Array, x: jax.Array, t: jax.Array) -> jax.Array:
        """Φ_t(x)."""
        s = self.settings
        kernel = None if s.kernel_sigma is None else scale_space.gaussian_kernel(s.kernel_sigma)
        return scale_space.noisy_scale_space(
            key, x, t, sigma=self.noise_sigma(), kernel=kernel, padding=s.padding, method=s.method
        )

    def noise_sigma(self) -> float:
        return self.settings.sigma

    def _view(self, key, x, schedule):
        return transform_part(
            lambda k, part: self.phi(k, part, schedule['t']), key, x, self.settings.fraction
        )

    def discriminator_views(self, state, real, fake, ctx):
        k_real, k_fake = jax.random.split(ctx.key)
        return [
            View(self._view(k_real, real, ctx.schedule), self._view(k_fake, fake, ctx.schedule))
        ]

    def generator_views(self, state, fake, ctx):
        return [View(None, self._view(ctx.key, fake, ctx.schedule))]


class ScaleSpace(NoisyScaleSpace):
    """``ss``: Φ_t without noise (σ = 0), the scale-space ablation."""

    @classmethod
    def defaults(cls):
        settings = super().defaults()
        del settings['sigma']
        return settings

    def noise_sigma(self):
        return 0.0


class NoiseSpace(NoisyScaleSpace):
    """``ns``: noise without smoothing, y + N(0, tσ²), the noise-space ablation."""

    @classmethod
    def defaults(cls):
        settings = super().defaults()
        for field in ('kernel_sigma', 'padding', 'method'):
            del settings[field]
        return settings

    def phi(self, key, x, t):
        return scale_space.noise_space(key, x, t, sigma=self.settings.sigma)
