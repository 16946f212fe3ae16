"""NSS-GAN and its ablations SS-GAN and NS-GAN (the NSS paper, §4-5).

D sees real and fake images through Φ_t: the noisy scale-space (``nss``), the
scale-space (``ss``) or the noise-space (``ns``). Following the paper (§4.4, Fig. 6a),
Φ_t is applied to the first half of the real batch and the first half of the fake
batch, the other halves are shown clean; reals and fakes share t and draw
independent noise per sample. t follows ``anneal_time`` of the fraction of training
done, or stays at ``config.stabilizer.fixed_t`` when that is ≥ 0 (the paper's
Hadamard experiment uses t = 8). The generator's loss sees its fakes the same way.

Settings (``config.stabilizer``): ``T`` (256), ``beta`` (20), ``sigma`` (0.15),
``kernel_sigma`` (None: the 3×3 binomial), ``padding`` ('symmetric'), ``method``
('spectral', exact in distribution; 'loop' is the reference), ``fraction`` (0.5 of
each batch transformed), ``fixed_t`` (-1: annealed).
"""

import jax
import jax.numpy as jnp

from nssgan import scale_space
from nssgan.stabilizers.base import Stabilizer, View

DEFAULTS = dict(T=256, beta=20.0, sigma=0.15, kernel_sigma=None,
                padding='symmetric', method='spectral', fraction=0.5, fixed_t=-1)


def transform_part(phi, key: jax.Array, x: jax.Array, fraction: float) -> jax.Array:
    """Applies ``phi(key, x_part)`` to the first ``fraction`` of the batch ``x``."""
    n = int(round(x.shape[0] * fraction))
    if n == 0:
        return x
    return jnp.concatenate([phi(key, x[:n]), x[n:]], axis=0)


class ScaleSpaceStabilizer(Stabilizer):
    """Shows D (and G's loss) images pushed through Φ_t; see the module docstring."""

    name = 'nss'
    defaults = DEFAULTS

    def check(self, spec):
        name = self.config.stabilizer.name
        if spec.kind != 'image':
            raise ValueError(
                f"config.stabilizer.name={name!r} smooths images, but config.dataset="
                f"{spec.name!r} gives vectors; use an image dataset.")
        self.check_fields()
        method, padding = self.setting('method'), self.setting('padding')
        if method not in scale_space.METHODS:
            raise ValueError(f'config.stabilizer.method={method!r} is not valid; '
                             f'choose one of: {", ".join(scale_space.METHODS)}.')
        if padding not in scale_space.PADDINGS:
            raise ValueError(f'config.stabilizer.padding={padding!r} is not valid; '
                             f'choose one of: {", ".join(scale_space.PADDINGS)}.')
        if method == 'spectral' and padding != 'symmetric':
            raise ValueError(
                "config.stabilizer.method='spectral' needs config.stabilizer.padding="
                "'symmetric'; use method='loop' for other borders.")
        if not 0.0 <= self.setting('fraction') <= 1.0:
            raise ValueError('config.stabilizer.fraction must be in [0, 1].')

    def schedule(self, step, num_steps):
        fixed_t = self.setting('fixed_t')
        if fixed_t >= 0:
            return {'t': jnp.asarray(fixed_t, jnp.int32)}
        return {'t': scale_space.anneal_time(step / num_steps, T=self.setting('T'),
                                             beta=self.setting('beta'))}

    def phi(self, key: jax.Array, x: jax.Array, t: jax.Array) -> jax.Array:
        name = self.config.stabilizer.name
        kernel_sigma = self.setting('kernel_sigma')
        kernel = (None if kernel_sigma is None
                  else scale_space.gaussian_kernel(kernel_sigma))
        common = dict(kernel=kernel, padding=self.setting('padding'),
                      method=self.setting('method'))
        if name == 'ns':
            return scale_space.noise_space(key, x, t, sigma=self.setting('sigma'))
        sigma = 0.0 if name == 'ss' else self.setting('sigma')
        return scale_space.noisy_scale_space(key, x, t, sigma=sigma, **common)

    def _view(self, key, x, schedule):
        return transform_part(lambda k, part: self.phi(k, part, schedule['t']), key, x,
                              self.setting('fraction'))

    def discriminator_views(self, scheme_state, key, real, fake, schedule):
        k_real, k_fake = jax.random.split(key)
        return [View(self._view(k_real, real, schedule),
                     self._view(k_fake, fake, schedule))]

    def generator_views(self, scheme_state, key, fake, schedule):
        return [View(None, self._view(key, fake, schedule))]
